"""CSV and JSON Lines files: one Document per row that has text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from playground.core.documents import Document
from playground.core.errors import InputError
from playground.ingest.decoding import decode_text
from playground.ingest.formats.common import clean_text, make_document, short_title, stem

TEXT_COLUMNS = ("text", "content", "body", "passage")
TITLE_COLUMNS = ("title", "name", "question")


def parse_csv(name: str, data: bytes, category: str) -> list[Document]:
    """Rows under a header; the delimiter is a comma, else the first of ; tab | found in the header."""
    text = decode_text(name, data)
    header = text.split("\n", 1)[0]
    delimiter = "," if "," in header else next((d for d in ";\t|" if d in header), ",")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header_row = next(reader, [])
        rows = [(n, dict(zip(header_row, row, strict=False))) for n, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise InputError(f"{name} is not valid CSV ({exc}); check the quoting, or export it again.") from exc
    return _records_to_documents(name, rows, list(header_row), category, "CSV header")


def parse_jsonl(name: str, data: bytes, category: str) -> list[Document]:
    """One JSON object per line; lines that are not objects are skipped while any line can be read."""
    records: list[tuple[int, dict[str, Any]]] = []
    first_bad = 0
    for n, line in enumerate(decode_text(name, data).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if isinstance(record, dict):
            records.append((n, record))
        elif not first_bad:
            first_bad = n
    if not records:
        raise InputError(
            f"{name}: line {first_bad} is not a JSON object and no line could be read; "
            'write one JSON object per line, like {"title": "...", "text": "..."}.'
        )
    keys = list(dict.fromkeys(key for _, record in records for key in record))
    return _records_to_documents(name, records, keys, category, "JSON keys")


def _records_to_documents(
    name: str, rows: Sequence[tuple[int, dict[str, Any]]], columns: list[str], category: str, what: str
) -> list[Document]:
    """One Document per row with text; each row uses the first accepted text and title column it has."""
    if _pick_column(columns, TEXT_COLUMNS) is None:
        raise InputError(
            f"{name} has no text column: the {what} found are {', '.join(map(repr, columns)) or 'none'}; "
            f"name the column with the passage text one of {', '.join(TEXT_COLUMNS)}."
        )
    documents = [doc for n, row in rows if (doc := _row_document(name, n, row, category))]
    if not documents:
        raise InputError(f"{name} has no rows with text in them; fill in the text column and upload again.")
    return documents


def _row_document(name: str, n: int, row: dict[str, Any], category: str) -> Document | None:
    text_key = _pick_column(list(row), TEXT_COLUMNS)
    text = _scalar_text(row.get(text_key)) if text_key else ""
    if not text.strip():
        return None
    title_key = _pick_column(list(row), TITLE_COLUMNS)
    title = short_title(_scalar_text(row.get(title_key))) if title_key else ""
    metadata = {str(k): _scalar_text(v) for k, v in row.items() if k and k not in (text_key, title_key)}
    title = title or f"{stem(name)} row {n}"
    return make_document(name, text, title, category, doc_id=f"{name}#row={n}", metadata=metadata)


def _pick_column(columns: list[str], accepted: tuple[str, ...]) -> str | None:
    by_lower = {str(c).strip().lower(): c for c in reversed(columns)}
    return next((by_lower[a] for a in accepted if a in by_lower), None)


def _scalar_text(value: Any) -> str:
    return "" if value is None or isinstance(value, dict | list) else clean_text(str(value))
