"""What every format's parser shares: building a Document from extracted text, and short titles."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from playground.core.documents import Document

MAX_TITLE_CHARS = 120
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def make_document(
    name: str,
    text: str,
    title: str,
    category: str,
    *,
    doc_id: str = "",
    page: int | None = None,
    metadata: dict[str, str] | None = None,
) -> Document:
    """A Document of file `name` (its doc_id unless `doc_id` is given), with text and title cleaned."""
    return Document(
        doc_id=doc_id or name,
        text=clean_text(text),
        title=clean_text(title),
        source=name,
        page=page,
        category=category,
        metadata=metadata or {},
    )


def clean_text(text: str) -> str:
    """Unix newlines, and no lone surrogates (from JSON escapes), which nothing downstream can encode."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _SURROGATES.sub("\ufffd", text)


def short_title(line: str) -> str:
    """One line, whitespace collapsed, cut to a title's length with an ellipsis."""
    line = " ".join(line.split())
    return line if len(line) <= MAX_TITLE_CHARS else line[: MAX_TITLE_CHARS - 1].rstrip() + "…"


def first_line(text: str) -> str:
    """The first non-blank line, as a title."""
    return next((short_title(line) for line in text.split("\n") if line.strip()), "")


def stem(name: str) -> str:
    """The file name without folders or suffix: the title when nothing better is found."""
    return PurePosixPath(name).stem or name
