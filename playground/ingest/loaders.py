"""Corpus ingestion: turn uploaded files, zips and folders into Documents, collecting per-file errors.

Every parser works on bytes in memory, so the same code serves a folder on disk, a browser upload and a zip.
A file that cannot be used never stops the others: it becomes a `FileError` whose message says what to do.
The parsers live in `ingest.formats`, one module per format family; files, folders and zips in `ingest.files`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from playground.core.documents import Corpus, Document, FileError
from playground.core.errors import InputError
from playground.ingest.files import (
    DEFAULT_MAX_BYTES,
    ZIP_SUFFIX,
    Member,
    category_of,
    check_size,
    suffix,
    unsupported_message,
    visible_files,
    zip_members,
)
from playground.ingest.formats import PARSERS, SUPPORTED_SUFFIXES


def load_bytes(
    name: str, data: bytes, *, category: str = "", max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Document]:
    """Parse one file's bytes into Documents, choosing the parser by the suffix of `name`.

    `name` becomes the doc_id (a relative posix path such as "policies/travel.md"); a PDF gives one
    Document per page ("name#page=3") and a CSV/JSONL file one per row ("name#row=3").
    """
    check_size(name, len(data), max_bytes)
    if not data:
        raise InputError(f"{name} is empty; upload a file that has some text in it.")
    parser = PARSERS.get(suffix(name))
    if parser is None:
        raise InputError(unsupported_message(name))
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
    for file in visible_files(root):
        rel = file.relative_to(root).as_posix()
        try:
            documents.extend(_load_file(file, rel, max_bytes))
        except InputError as exc:
            errors.append(FileError(rel, str(exc)))
        except OSError as exc:
            errors.append(
                FileError(rel, f"{rel} could not be read ({exc.strerror or exc}); check its permissions.")
            )
    return Corpus(name=root.resolve().name, documents=tuple(documents), errors=tuple(errors))


def _load_file(file: Path, rel: str, max_bytes: int) -> list[Document]:
    """One file of a folder, checked by suffix and size before it is read."""
    if suffix(rel) not in SUPPORTED_SUFFIXES:
        raise InputError(unsupported_message(rel))
    check_size(rel, file.stat().st_size, max_bytes)
    return load_bytes(rel, file.read_bytes(), category=category_of(rel), max_bytes=max_bytes)


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
        members, unpack_errors = _upload_members(filename, data, max_bytes)
        errors.extend(unpack_errors)
        for member_name, member_category, member_data in members:
            if member_name in seen:
                message = f"{member_name} appears twice; rename one of the files and upload again."
                errors.append(FileError(member_name, message))
                continue
            seen.add(member_name)
            try:
                documents.extend(
                    load_bytes(member_name, member_data, category=member_category, max_bytes=max_bytes)
                )
            except InputError as exc:
                errors.append(FileError(member_name, str(exc)))
    return Corpus(name=name, documents=tuple(documents), errors=tuple(errors))


def _upload_members(filename: str, data: bytes, max_bytes: int) -> tuple[list[Member], list[FileError]]:
    """A zip's usable members (and its errors), or the uploaded file itself, at the top level."""
    if suffix(filename) == ZIP_SUFFIX:
        return zip_members(filename, data, max_bytes)
    return [(filename, "", data)], []
