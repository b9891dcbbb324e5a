"""The records that flow through ingestion: documents, chunks, and per-file load errors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One unit of text with where it came from. A PDF gives one Document per page (`page` is 1-based)."""

    doc_id: str
    text: str
    title: str
    source: str
    page: int | None = None
    category: str = ""
    metadata: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Chunk:
    """A piece of one document; `start`/`end` are character offsets into that document's text."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    title: str = ""
    source: str = ""
    page: int | None = None
    category: str = ""


@dataclass(frozen=True)
class FileError:
    """A file that could not be loaded, and a message that says what to do."""

    source: str
    message: str


@dataclass(frozen=True)
class Corpus:
    """The documents loaded from a folder or an upload, with the files that failed."""

    name: str
    documents: tuple[Document, ...]
    errors: tuple[FileError, ...] = ()

    @property
    def content_hash(self) -> str:
        """Stable over document order and independent of where the files were read from."""
        digest = hashlib.sha256()
        for doc in sorted(self.documents, key=lambda d: d.doc_id):
            for part in (doc.doc_id, doc.title, doc.category, str(doc.page), doc.text):
                digest.update(part.encode("utf-8", "surrogatepass"))
                digest.update(b"\0")
        return digest.hexdigest()

    def document(self, doc_id: str) -> Document:
        for doc in self.documents:
            if doc.doc_id == doc_id:
                return doc
        raise KeyError(doc_id)
