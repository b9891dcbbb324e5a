"""Corpus ingestion: turn uploaded files, zips and folders into Documents, collecting per-file errors.

Every parser works on bytes in memory, so the same code serves a folder on disk, a browser upload and a zip.
A file that cannot be used never stops the others: it becomes a `FileError` whose message says what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from playground.core.documents import Corpus, Document, FileError
from playground.core.errors import InputError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx", ".csv", ".jsonl")
ZIP_SUFFIX = ".zip"
TEXT_COLUMNS = ("text", "content", "body", "passage")
TITLE_COLUMNS = ("title", "name", "question")

_MAX_TITLE_CHARS = 120
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_BINARY_CONTROL_RATIO = 0.05
_HTML_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "object", "head")
_HTML_BLOCKS = (
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "summary", "table", "tr", "ul", "caption",
)  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Public entry points


def load_bytes(
    name: str, data: bytes, *, category: str = "", max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Document]:
    """Parse one file's bytes into Documents, choosing the parser by the suffix of `name`.

    `name` becomes the doc_id (a relative posix path such as "policies/travel.md"); a PDF gives one
    Document per page ("name#page=3") and a CSV/JSONL file one per row ("name#row=3").
    """
    _check_size(name, len(data), max_bytes)
    if not data:
        raise InputError(f"{name} is empty; upload a file that has some text in it.")
    parser = _PARSERS.get(_suffix(name))
    if parser is None:
        raise InputError(_unsupported_message(name))
    return parser(name, data, category)


def load_folder(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Corpus:
    """Load every supported file under `path` (recursively, hidden files skipped) into one Corpus.

    Doc names are relative to `path`; the category is the first folder under `path` ("" at the top level).
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; choose a folder that contains your documents.")
    documents: list[Document] = []
    errors: list[FileError] = []
    for file in _visible_files(root):
        rel = file.relative_to(root).as_posix()
        try:
            if _suffix(rel) not in SUPPORTED_SUFFIXES:
                raise InputError(_unsupported_message(rel))
            _check_size(rel, file.stat().st_size, max_bytes)
            documents.extend(load_bytes(rel, file.read_bytes(), category=_category(rel), max_bytes=max_bytes))
        except InputError as exc:
            errors.append(FileError(rel, str(exc)))
        except OSError as exc:
            errors.append(
                FileError(rel, f"{rel} could not be read ({exc.strerror or exc}); check its permissions.")
            )
    return Corpus(name=root.resolve().name, documents=tuple(documents), errors=tuple(errors))


def load_uploads(
    files: Sequence[tuple[str, bytes]], *, name: str = "upload", max_bytes: int = DEFAULT_MAX_BYTES
) -> Corpus:
    """Load uploaded (filename, bytes) pairs into one Corpus; a .zip upload is unpacked in memory.

    Inside a zip the category is the first folder (a single folder wrapping everything is looked through).
    """
    documents: list[Document] = []
    errors: list[FileError] = []
    seen: set[str] = set()
    for filename, data in sorted(files, key=lambda item: item[0]):
        if _suffix(filename) == ZIP_SUFFIX:
            members, zip_errors = _zip_members(filename, data, max_bytes)
            errors.extend(zip_errors)
        else:
            members = [(filename, "", data)]
        for member_name, category, member_data in members:
            if member_name in seen:
                message = f"{member_name} appears twice; rename one of the files and upload again."
                errors.append(FileError(member_name, message))
                continue
            seen.add(member_name)
            try:
                documents.extend(load_bytes(member_name, member_data, category=category, max_bytes=max_bytes))
            except InputError as exc:
                errors.append(FileError(member_name, str(exc)))
    return Corpus(name=name, documents=tuple(documents), errors=tuple(errors))


# ----------------------------------------------------------------------------------------------------------
# Files, folders and zips


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _stem(name: str) -> str:
    return PurePosixPath(name).stem or name


def _category(rel: str) -> str:
    parts = PurePosixPath(rel).parts
    return parts[0] if len(parts) > 1 else ""


def _is_hidden(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise InputError(
            f"{name} is {_human_size(size)}, over the {_human_size(max_bytes)} limit; "
            "split it into smaller files or raise the limit."
        )


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _unsupported_message(name: str) -> str:
    suffix = _suffix(name) or "(no suffix)"
    return (
        f"{name}: {suffix} files are not supported; convert it to one of "
        f"{', '.join(SUPPORTED_SUFFIXES)} (or upload a {ZIP_SUFFIX} of such files)."
    )


def _visible_files(root: Path) -> Iterator[Path]:
    """Regular files under root in sorted order, without descending into hidden folders or following links."""
    found: list[Path] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
        for filename in filenames:
            file = Path(folder, filename)
            if not _is_hidden(filename) and file.is_file() and not file.is_symlink():
                found.append(file)
    yield from sorted(found, key=lambda f: f.relative_to(root).as_posix())


def _zip_members(
    zip_name: str, data: bytes, max_bytes: int
) -> tuple[list[tuple[str, str, bytes]], list[FileError]]:
    """The (name, category, bytes) of each usable member, plus an error for each member that was skipped."""
    try:
        _check_size(zip_name, len(data), max_bytes)
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except InputError as exc:
        return [], [FileError(zip_name, str(exc))]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        return [], [
            FileError(zip_name, f"{zip_name} is not a readable zip file ({exc}); zip the folder again.")
        ]
    errors = [
        FileError(f"{zip_name}:{_member(i)}", "unsafe path inside zip, skipped")
        for i in infos
        if _is_unsafe(i)
    ]
    usable = [
        i for i in infos if not _is_unsafe(i) and not any(map(_is_hidden, PurePosixPath(_member(i)).parts))
    ]
    wrapper = _wrapper_folder([_member(info) for info in usable])
    members: list[tuple[str, str, bytes]] = []
    for info in sorted(usable, key=_member):
        rel = _member(info).removeprefix(wrapper)
        try:
            members.append((rel, _category(rel), _read_member(archive, info, rel, max_bytes)))
        except InputError as exc:
            errors.append(FileError(rel, str(exc)))
    return members, errors


def _member(info: zipfile.ZipInfo) -> str:
    # zips made on Windows sometimes use backslashes; "a//b" and "./a" are normalised away
    return PurePosixPath(info.filename.replace("\\", "/")).as_posix()


def _is_unsafe(info: zipfile.ZipInfo) -> bool:
    member = _member(info)
    path = PurePosixPath(member)
    return path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", member) is not None


def _wrapper_folder(members: list[str]) -> str:
    """The single top-level folder that wraps every member ("corpus/"), or "" when there is none."""
    parts = [PurePosixPath(m).parts for m in members]
    tops = {p[0] for p in parts}
    return f"{tops.pop()}/" if len(tops) == 1 and all(len(p) > 1 for p in parts) else ""


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, max_bytes: int) -> bytes:
    if _suffix(rel) not in SUPPORTED_SUFFIXES:
        raise InputError(_unsupported_message(rel))
    _check_size(rel, info.file_size, max_bytes)
    try:
        # The header's size can lie (zip bombs), so never read past the limit.
        with archive.open(info) as handle:
            data = handle.read(max_bytes + 1)
    except RuntimeError as exc:  # zipfile raises RuntimeError for encrypted members
        raise InputError(f"{rel} is encrypted inside the zip ({exc}); zip it without a password.") from exc
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
        raise InputError(f"{rel} could not be extracted from the zip ({exc}); zip the folder again.") from exc
    _check_size(rel, len(data), max_bytes)
    return data


# ----------------------------------------------------------------------------------------------------------
# Text decoding


def decode_text(name: str, data: bytes) -> str:
    """Decode a text file: UTF-8 (BOM stripped), UTF-16/32 with a BOM, else the best charset guess."""
    text = _decode_with_bom(data)
    if text is None:
        if b"\x00" in data:
            raise InputError(_binary_message(name))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _western_text(data) or _guess_decode(name, data)
    text = text.removeprefix("\ufeff")
    if _mostly_control(text):
        raise InputError(_binary_message(name))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_with_bom(data: bytes) -> str | None:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _western_text(data: bytes) -> str | None:
    """The cp1252 reading when it looks like Western European prose: accents sprinkled among ASCII letters.

    charset_normalizer guesses poorly on short Latin-1 text ("café" comes back as cp775 "cafķ"); Cyrillic,
    Greek or Central European bytes read as cp1252 give mostly accented letters or stray symbols instead.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    high = [ch for ch in text if ord(ch) > 127]
    if any(not _is_western(ch) for ch in high):
        return None
    letters = sum(1 for ch in text if ch.isalpha())
    accented = sum(1 for ch in high if ch.isalpha())
    return text if letters and accented / letters < 0.3 else None


def _is_western(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN") or ch in "\u00a0«»“”‘’„–—…•€£¥§°©®™·"


def _guess_decode(name: str, data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(
            f"{name} is not UTF-8 and its text encoding could not be recognised; "
            "save it as UTF-8 and upload again."
        )
    return str(best)


def _mostly_control(text: str) -> bool:
    sample = text[:20_000]
    if not sample:
        return False
    bad = sum(
        1 for ch in sample if ch not in "\t\n\r\f\v" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
    )
    return bad / len(sample) > _BINARY_CONTROL_RATIO


def _binary_message(name: str) -> str:
    return f"{name} looks like a binary file, not text; export it as plain text (UTF-8) and upload again."


def _require_text(name: str, text: str, what: str = "text") -> str:
    if not text.strip():
        raise InputError(f"{name} contains no {what}; check that it is the file you meant to upload.")
    return text


# ----------------------------------------------------------------------------------------------------------
# Parsers: each takes (name, data, category) and returns the file's Documents


def _document(
    name: str,
    text: str,
    title: str,
    category: str,
    *,
    doc_id: str = "",
    page: int | None = None,
    metadata: dict[str, str] | None = None,
) -> Document:
    return Document(
        doc_id=doc_id or name,
        text=_clean(text),
        title=_clean(title),
        source=name,
        page=page,
        category=category,
        metadata=metadata or {},
    )


def _clean(text: str) -> str:
    """Unix newlines, and no lone surrogates (from JSON escapes), which nothing downstream can encode."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _SURROGATES.sub("\ufffd", text)


def _short(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= _MAX_TITLE_CHARS else line[: _MAX_TITLE_CHARS - 1].rstrip() + "…"


def _parse_text(name: str, data: bytes, category: str) -> list[Document]:
    text = _require_text(name, decode_text(name, data))
    return [_document(name, text, _stem(name), category)]


def _parse_markdown(name: str, data: bytes, category: str) -> list[Document]:
    text = _require_text(name, decode_text(name, data))
    return [_document(name, text, _first_markdown_heading(text) or _stem(name), category)]


def _first_markdown_heading(text: str) -> str:
    """The first level-1 ("# ") heading outside fenced code blocks, or ""."""
    fenced = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^ {0,3}#[ \t]+(.*?)[ \t#]*$", line)) and match.group(1):
            return _short(match.group(1))
    return ""


def _parse_pdf(name: str, data: bytes, category: str) -> list[Document]:
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
    title = _short(meta_title) or _first_line(texts[0][1]) or _stem(name)
    return [_document(name, text, title, category, doc_id=f"{name}#page={n}", page=n) for n, text in texts]


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


def _first_line(text: str) -> str:
    return next((_short(line) for line in text.split("\n") if line.strip()), "")


def _parse_html(name: str, data: bytes, category: str) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(name, data), "html.parser")
    title = _html_title(soup)
    text = _require_text(name, _html_visible_text(soup), "visible text")
    return [_document(name, text, title or _stem(name), category)]


def _html_title(soup: Any) -> str:
    for tag in (soup.find("title"), soup.find("h1")):
        if tag is not None and tag.get_text().strip():
            return _short(tag.get_text())
    return ""


def _html_visible_text(soup: Any) -> str:
    """Visible text with block elements on their own lines; source line breaks count as spaces."""
    from bs4 import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction

    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for string in list(soup.find_all(string=True)):
        if isinstance(string, Comment | Declaration | Doctype | ProcessingInstruction):
            string.extract()
        elif string.find_parent("pre") is None:
            string.replace_with(NavigableString(re.sub(r"\s+", " ", str(string))))
    for br in soup.find_all("br"):
        br.replace_with(NavigableString("\n"))
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before(NavigableString("\n\n"))
        tag.insert_after(NavigableString("\n\n"))
    text = soup.get_text().replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _parse_docx(name: str, data: bytes, category: str) -> list[Document]:
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
    text = _require_text(name, "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n"))
    return [_document(name, text, _short(core_title) or heading or _stem(name), category)]


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
            heading = _short(block.text)
    return lines, heading


def _parse_csv(name: str, data: bytes, category: str) -> list[Document]:
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


def _parse_jsonl(name: str, data: bytes, category: str) -> list[Document]:
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
    title = _short(_scalar_text(row.get(title_key))) if title_key else ""
    metadata = {str(k): _scalar_text(v) for k, v in row.items() if k and k not in (text_key, title_key)}
    title = title or f"{_stem(name)} row {n}"
    return _document(name, text, title, category, doc_id=f"{name}#row={n}", metadata=metadata)


def _pick_column(columns: list[str], accepted: tuple[str, ...]) -> str | None:
    by_lower = {str(c).strip().lower(): c for c in reversed(columns)}
    return next((by_lower[a] for a in accepted if a in by_lower), None)


def _scalar_text(value: Any) -> str:
    return "" if value is None or isinstance(value, dict | list) else _clean(str(value))


_PARSERS: dict[str, Callable[[str, bytes, str], list[Document]]] = {
    ".txt": _parse_text,
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".pdf": _parse_pdf,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".docx": _parse_docx,
    ".csv": _parse_csv,
    ".jsonl": _parse_jsonl,
}
