"""PDF and Word (.docx) files: one Document per PDF page, one per Word file."""

from __future__ import annotations

import io
from typing import Any

from playground.core.documents import Document
from playground.core.errors import InputError
from playground.ingest.decoding import require_text
from playground.ingest.formats.common import first_line, make_document, short_title, stem


def parse_pdf(name: str, data: bytes, category: str) -> list[Document]:
    """One Document per page with text ("name#page=3"), titled by the metadata, else the first line."""
    reader = _open_pdf(name, data)
    try:
        pages = [(page.extract_text() or "") for page in reader.pages]
        meta_title = str(getattr(reader.metadata, "title", None) or "").strip()
    except Exception as exc:  # pypdf raises many exception types on damaged files
        raise InputError(
            f"{name} could not be read as a PDF ({exc}); it may be damaged, so export it again."
        ) from exc
    texts = [(n, _clean_page(text)) for n, text in enumerate(pages, start=1)]
    texts = [(n, text) for n, text in texts if text.strip()]
    if not texts:
        raise InputError(
            f"{name} has no extractable text (it is probably scanned images); run OCR on it first, "
            "for example with ocrmypdf, and upload the result."
        )
    title = short_title(meta_title) or first_line(texts[0][1]) or stem(name)
    return [
        make_document(name, text, title, category, doc_id=f"{name}#page={n}", page=n) for n, text in texts
    ]


def _open_pdf(name: str, data: bytes) -> Any:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:  # PdfReadError, but also ValueError/KeyError/... on damaged files
        raise InputError(
            f"{name} could not be read as a PDF ({exc}); it may be damaged, so export it again."
        ) from exc
    if encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # e.g. AES needs the optional `cryptography` package
            raise InputError(
                f"{name} is encrypted and could not be opened ({exc}); remove the encryption, then upload."
            ) from exc
        if not opened:
            raise InputError(f"{name} is password-protected; remove the password and upload again.")
    return reader


def _clean_page(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.strip()


def parse_docx(name: str, data: bytes, category: str) -> list[Document]:
    """Paragraphs and tables in body order, titled by the document's title, else its first heading."""
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        lines, heading = _docx_lines(document)
        core_title = (document.core_properties.title or "").strip()
    except Exception as exc:  # python-docx raises zip, XML and KeyError exceptions on bad files
        raise InputError(
            f"{name} could not be read as a Word .docx file ({exc}); it may be damaged or an old .doc file, "
            "so save it as .docx and upload again."
        ) from exc
    text = require_text(name, "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n"))
    return [make_document(name, text, short_title(core_title) or heading or stem(name), category)]


def _docx_lines(document: Any) -> tuple[list[str], str]:
    """Paragraph and table lines in body order, and the first heading's text."""
    from docx.table import Table

    lines: list[str] = []
    heading = ""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
            continue
        lines.append(block.text)
        style = (block.style.name if block.style is not None else "") or ""
        if not heading and style.startswith(("Heading", "Title")) and block.text.strip():
            heading = short_title(block.text)
    return lines, heading
