"""One parser per file format, found by suffix; each turns (name, bytes, category) into Documents."""

from __future__ import annotations

from collections.abc import Callable

from playground.core.documents import Document
from playground.ingest.formats.office import parse_docx, parse_pdf
from playground.ingest.formats.records import parse_csv, parse_jsonl
from playground.ingest.formats.text import parse_html, parse_markdown, parse_text

Parser = Callable[[str, bytes, str], list[Document]]

PARSERS: dict[str, Parser] = {
    ".txt": parse_text,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".pdf": parse_pdf,
    ".html": parse_html,
    ".htm": parse_html,
    ".docx": parse_docx,
    ".csv": parse_csv,
    ".jsonl": parse_jsonl,
}
SUPPORTED_SUFFIXES = tuple(PARSERS)
