"""Chunked, embedded corpora in chromadb, keyed so the same settings never re-embed and different ones never collide.

The key hashes (corpus content, chunker, chunk size, overlap, embedder identity). Chunks always go in with
explicit embeddings: the collection is created without an embedding function, so chromadb never tries to fetch
its default model. A manifest written after the last batch marks an index complete; an interrupted build has no
manifest and is rebuilt from scratch next time.

The collections live in an embedded store under the data folder, or, with `Settings.chroma_url`
(PLAYGROUND_CHROMA_URL), on a chromadb server (`chroma run`); the manifests stay in the data folder either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from playground.core.config import IndexConfig
from playground.core.documents import Chunk, Corpus
from playground.core.errors import ConfigError, InputError, PlaygroundError
from playground.core.settings import Settings
from playground.ingest.chunking import chunk_corpus
from playground.models.embedders import Embedder

Progress = Callable[[int, int], None]
_BATCH = 64


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float
    rank: int


def index_key(corpus: Corpus, config: IndexConfig, embedder: Embedder) -> str:
    parts = [
        corpus.content_hash,
        config.chunker,
        str(config.chunk_size),
        str(config.chunk_overlap),
        embedder.identity,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


_CLIENTS: dict[str, Any] = {}
_CLIENT_LOCK = threading.Lock()


def chroma_client(settings: Settings) -> Any:
    """The chromadb server's client when `chroma_url` is set, else one PersistentClient per folder per process
    (chromadb dislikes several on one folder)."""
    if settings.chroma_url:
        return _server_client(settings.chroma_url)
    import chromadb

    path = str(settings.chroma_dir)
    with _CLIENT_LOCK:
        if path not in _CLIENTS:
            try:
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                _CLIENTS[path] = chromadb.PersistentClient(
                    path=path, settings=chromadb.Settings(anonymized_telemetry=False)
                )
            except (OSError, PermissionError) as err:
                raise PlaygroundError(
                    f"Cannot write the index folder {path} ({err}). Choose a writable data "
                    "folder (PLAYGROUND_DATA_DIR) or free some disk space."
                ) from None
        return _CLIENTS[path]


def server_address(url: str) -> tuple[str, int, bool]:
    """`http://host:port` -> (host, port, ssl); chromadb's own default port when none is given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"PLAYGROUND_CHROMA_URL should look like http://127.0.0.1:8000, not '{url}'.")
    try:
        port = parts.port or 8000
    except ValueError:
        raise ConfigError(f"PLAYGROUND_CHROMA_URL has a bad port: '{url}'.") from None
    return parts.hostname, port, parts.scheme == "https"


def unreachable(url: str, err: BaseException) -> PlaygroundError:
    _, port, _ = server_address(url)
    return PlaygroundError(
        f"The chromadb server at {url} did not answer ({err}). Start it (or check its log) with "
        f"`chroma run --path DIR --host 127.0.0.1 --port {port}`, or unset PLAYGROUND_CHROMA_URL to keep "
        "the indexes in the data folder."
    )


@contextlib.contextmanager
def server_errors(url: str | None) -> Iterator[None]:
    """On a chromadb server any failed call is reported with how to start the server; the embedded store's
    errors pass unchanged."""
    try:
        yield
    except Exception as err:
        if url is None:
            raise
        raise unreachable(url, err) from None


def _server_client(url: str) -> Any:
    """One HttpClient per server URL per process; it checks the server answers when it is made."""
    import chromadb

    host, port, ssl = server_address(url)
    with _CLIENT_LOCK:
        if url not in _CLIENTS:
            try:
                _CLIENTS[url] = chromadb.HttpClient(
                    host=host, port=port, ssl=ssl, settings=chromadb.Settings(anonymized_telemetry=False)
                )
            except Exception as err:  # chromadb reports a refused connection as a ValueError, others vary
                raise unreachable(url, err) from None
        return _CLIENTS[url]


class VectorIndex:
    """A built index: its chunks in order and a chromadb collection with their vectors."""

    def __init__(
        self, key: str, chunks: list[Chunk], collection: Any, embedder_name: str, server: str | None = None
    ) -> None:
        self.key = key
        self.chunks = chunks
        self.embedder_name = embedder_name
        self.server = server  # the chromadb server's URL, None for the embedded store
        self._collection = collection
        self._by_id = {c.chunk_id: c for c in chunks}

    def __len__(self) -> int:
        return len(self.chunks)

    def chunk(self, chunk_id: str) -> Chunk:
        return self._by_id[chunk_id]

    def search(
        self, query_vector: np.ndarray, k: int, categories: Sequence[str] | None = None
    ) -> list[ScoredChunk]:
        """The k nearest chunks by cosine similarity; `categories` restricts the search to those documents."""
        if not self.chunks or k < 1:
            return []
        where = None
        if categories:
            where = {"category": {"$in": list(categories)}}
        with server_errors(self.server):
            out = self._collection.query(
                query_embeddings=[np.asarray(query_vector, dtype=np.float32).tolist()],
                n_results=min(k, len(self.chunks)),
                where=where,
                include=["distances"],
            )
        ids, distances = out["ids"][0], out["distances"][0]
        return [
            ScoredChunk(self._by_id[i], 1.0 - float(d), rank)
            for rank, (i, d) in enumerate(zip(ids, distances, strict=False), 1)
        ]


def _manifest_path(settings: Settings, key: str) -> Path:
    return settings.data_dir / "indexes" / f"{key}.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "doc_id": chunk.doc_id,
        "start": chunk.start,
        "end": chunk.end,
        "title": chunk.title,
        "source": chunk.source,
        "page": chunk.page if chunk.page is not None else -1,
        "category": chunk.category,
    }


_INDEXES: dict[str, VectorIndex] = {}
_BUILD_LOCK = threading.Lock()


def _open_existing(key: str, settings: Settings, embedder: Embedder) -> VectorIndex | None:
    manifest = _manifest_path(settings, key)
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    try:
        collection = chroma_client(settings).get_collection(f"ix-{key}", embedding_function=None)
    except Exception:
        return None
    if collection.count() != len(data["chunks"]):
        return None
    chunks = [Chunk(**c) for c in data["chunks"]]
    return VectorIndex(key, chunks, collection, embedder.name, settings.chroma_url)


def corpus_chunks(corpus: Corpus, config: IndexConfig) -> list[Chunk]:
    """The corpus cut into chunks the way `config` says: what an index with that config holds."""
    return chunk_corpus(
        corpus.documents,
        chunker=config.chunker,
        chunk_size=config.chunk_size,
        chunk_overlap=config.chunk_overlap,
    )


def get_or_build_index(
    corpus: Corpus,
    config: IndexConfig,
    embedder: Embedder,
    settings: Settings,
    on_progress: Progress | None = None,
) -> VectorIndex:
    """Open the index for these settings, building it (with progress callbacks) when it does not exist yet."""
    if not corpus.documents:
        raise InputError("The corpus has no documents to index. Upload or pick at least one readable file.")
    key = index_key(corpus, config, embedder)
    cache_key = f"{settings.data_dir.resolve()}|{settings.chroma_url or ''}|{key}"
    with _BUILD_LOCK:
        if cache_key not in _INDEXES:
            _INDEXES[cache_key] = _open_existing(key, settings, embedder) or _build(
                key, corpus, config, embedder, settings, on_progress
            )
        return _INDEXES[cache_key]


def _build(
    key: str,
    corpus: Corpus,
    config: IndexConfig,
    embedder: Embedder,
    settings: Settings,
    on_progress: Progress | None,
) -> VectorIndex:
    chunks = corpus_chunks(corpus, config)
    client = chroma_client(settings)
    name = f"ix-{key}"
    with contextlib.suppress(Exception):
        client.delete_collection(name)
    with server_errors(settings.chroma_url):
        collection = client.create_collection(
            name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedder": embedder.name, "corpus": corpus.name},
        )
    if on_progress:
        on_progress(0, len(chunks))
    for start in range(0, len(chunks), _BATCH):
        batch = chunks[start : start + _BATCH]
        vectors = embedder.embed_documents([c.text for c in batch])
        with server_errors(settings.chroma_url):
            collection.add(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors.tolist(),
                documents=[c.text for c in batch],
                metadatas=[_metadata(c) for c in batch],
            )
        if on_progress:
            on_progress(start + len(batch), len(chunks))
    manifest = {
        "key": key,
        "corpus": corpus.name,
        "config": config.model_dump(mode="json"),
        "embedder": embedder.identity,
        "chunks": [asdict(c) for c in chunks],
    }
    _write_atomic(_manifest_path(settings, key), json.dumps(manifest))
    return VectorIndex(key, chunks, collection, embedder.name, settings.chroma_url)


def forget_loaded_indexes() -> None:
    """Drop the in-process index cache (used when the data folder changes or the cache is cleared)."""
    with _BUILD_LOCK:
        _INDEXES.clear()
    with _CLIENT_LOCK:
        _CLIENTS.clear()
