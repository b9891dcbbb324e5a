"""Caches on disk: LLM completions, embeddings and retrieval results, so an unchanged sweep reruns from them.

One SQLite file, `<data_dir>/cache/cache.sqlite3`, one table per kind. Keys hash everything that decides the
output: the model's identity (the GGUF file's SHA-256 and the adapter's for local models, the base URL for
hosted ones), the full messages and the parameters; for retrieval, the index key, the retriever's identity,
the query (text and vector) and the depth. An API key never enters a key, a value or the file.

`call_log()` counts, per answer, the cache hits and misses of every kind and the response keys it used, so a
result can say which answers came from the cache and a replay bundle can carry every call behind a run.

At temperature 0 a repeat index does not change the key (the answer would be the same); above 0 each repeat is
cached on its own, and `CachedLLM` seeds the model with the repeat index so repeats really differ.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from playground.core.errors import InputError, ModelError
from playground.core.settings import Settings
from playground.models.embedders import Embedder
from playground.models.llms import LLM, Completion, Message, split_compatible
from playground.models.local_models import CATALOGUE, file_sha256
from playground.retrieval.index import ScoredChunk
from playground.storage.sqlite_db import Database

OPENAI_URL = "https://api.openai.com/v1"
_BATCH = 500  # SQLite's limit on host parameters is 999 in old builds; stay well under it
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS llm (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, value REAL NOT NULL, created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS embedding (identity TEXT NOT NULL, text_hash TEXT NOT NULL, "
    "dim INTEGER NOT NULL, vector BLOB NOT NULL, created_at REAL NOT NULL, "
    "PRIMARY KEY (identity, text_hash))",
    "CREATE TABLE IF NOT EXISTS retrieval (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at REAL NOT NULL)",
)
TABLES = ("llm", "scores", "embedding", "retrieval")
KEYED_TABLES = ("llm", "scores", "retrieval")  # tables whose rows are found by one hex key


def cache_path(settings: Settings) -> Path:
    return settings.data_dir / "cache" / "cache.sqlite3"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """The key of one text in the embedding cache."""
    return _sha256(text)


# --- identities and keys ------------------------------------------------------------------------------------

_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGESTS_LOCK = threading.Lock()


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, hashed once per process while its size and mtime stay the same."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _DIGESTS_LOCK:
        if memo not in _DIGESTS:
            _DIGESTS[memo] = file_sha256(path)
        return _DIGESTS[memo]


def path_digest(path: Path) -> str:
    """SHA-256 of a file, or of every file (name and content) in a folder such as a LoRA adapter."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path} does not exist, so its answers cannot be cached. Check the path.")
    if path.is_file():
        return _file_digest(path)
    digest = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{f.relative_to(path).as_posix()}:{_file_digest(f)}\n".encode())
    return digest.hexdigest()


def safe_url(url: str) -> str:
    """The URL without user, password, query or fragment: nothing secret may enter a cache key."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def model_identity(name: str, settings: Settings, adapter: Path | None = None) -> str:
    """What decides a model's answers: the GGUF SHA-256 (and adapter's) locally, the base URL when hosted."""
    base, sep, lora = name.partition("+lora:")
    if sep and adapter is None:  # `local:<model>+lora:<adapter.gguf>`, a fine-tuned model
        return model_identity(base, settings, Path(lora))
    provider, _, rest = name.partition(":")
    if provider == "local" and rest in CATALOGUE:
        identity = f"local:{rest}#sha256={CATALOGUE[rest].sha256}"
    elif provider == "local":
        identity = f"local:{Path(rest).name}#sha256={path_digest(Path(rest))}"
    elif provider == "openai":
        identity = f"openai:{rest}@{safe_url(settings.openai_base_url or OPENAI_URL)}"
    elif provider == "openai-compatible":
        model, url = split_compatible(rest)
        identity = f"openai-compatible:{model}@{safe_url(url)}"
    else:
        identity = name
    return identity + (f"+adapter#sha256={path_digest(adapter)}" if adapter is not None else "")


def llm_cache_key(
    model_identity: str,
    messages: Sequence[Message],
    temperature: float,
    max_tokens: int,
    stop: Sequence[str] | None = None,
    seed: int | None = None,
    repeat: int = 0,
    kind: str = "chat",
) -> str:
    """SHA-256 hex of everything that decides a completion; `repeat` counts only above temperature 0."""
    payload = {
        "kind": kind,
        "model": model_identity,
        "messages": [dict(m) for m in messages],
        "temperature": round(float(temperature), 6),
        "max_tokens": int(max_tokens),
        "stop": list(stop) if stop else None,
        "seed": seed,
        "repeat": repeat if temperature > 0 else 0,
    }
    return _sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def retrieval_cache_key(
    index_key: str,
    retriever: str,
    text: str,
    vector: np.ndarray | None,
    k: int,
    categories: Sequence[str] | None,
) -> str:
    """SHA-256 hex of everything that decides a search: index, retriever identity, query, depth and filter."""
    payload = {
        "index": index_key,
        "retriever": retriever,
        "text": text,
        "vector": None
        if vector is None
        else hashlib.sha256(np.asarray(vector, np.float32).tobytes()).hexdigest(),
        "k": int(k),
        "categories": sorted(categories) if categories else None,
    }
    return _sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


# --- what one answer took from the caches -------------------------------------------------------------------

KINDS = ("llm", "embedding", "retrieval")


@dataclass
class CallLog:
    """The cache traffic behind one answer: hits and misses per kind, and the keys of the responses it used."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    misses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    keys: list[str] = field(default_factory=list)
    # Tokens of every model call behind the answer, from the cache or not: what answering it costs.
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0})

    def note(self, kind: str, hits: int, misses: int, key: str | None = None) -> None:
        self.hits[kind] += hits
        self.misses[kind] += misses
        if key is not None and key not in self.keys:
            self.keys.append(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "hits": dict(self.hits),
            "misses": dict(self.misses),
            "keys": list(self.keys),
            "tokens": dict(self.tokens),
        }


_LOG = threading.local()  # one answer runs on one thread, so the log of the answer in flight is per thread


@contextmanager
def call_log() -> Iterator[CallLog]:
    """Collect the cache traffic of the calls made on this thread inside the block."""
    previous, log = getattr(_LOG, "current", None), CallLog()
    _LOG.current = log
    try:
        yield log
    finally:
        _LOG.current = previous


def _note(kind: str, hits: int, misses: int, key: str | None = None) -> None:
    log: CallLog | None = getattr(_LOG, "current", None)
    if log is not None:
        log.note(kind, hits, misses, key)


def _note_tokens(completion: Completion) -> None:
    log: CallLog | None = getattr(_LOG, "current", None)
    if log is not None:
        log.tokens["prompt"] += completion.prompt_tokens
        log.tokens["completion"] += completion.completion_tokens


# --- LLM responses ------------------------------------------------------------------------------------------


class ResponseCache:
    """LLM completions, reranker yes-probabilities and retrieval results by key, in the cache file."""

    def __init__(self, where: Settings | Path) -> None:
        self.db = Database(cache_path(where) if isinstance(where, Settings) else Path(where), _SCHEMA)

    def get(self, key: str) -> Completion | None:
        rows = self.db.query("SELECT value FROM llm WHERE key = ?", (key,))
        try:
            return Completion(**json.loads(rows[0][0])) if rows else None
        except TypeError:  # written when Completion had other fields: a miss, overwritten on the next put
            return None

    def put(self, key: str, completion: Completion) -> None:
        value = json.dumps(asdict(completion), ensure_ascii=False)
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO llm VALUES (?, ?, ?)", (key, value, time.time()))

    def get_score(self, key: str) -> float | None:
        rows = self.db.query("SELECT value FROM scores WHERE key = ?", (key,))
        return float(rows[0][0]) if rows else None

    def put_score(self, key: str, value: float) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO scores VALUES (?, ?, ?)", (key, float(value), time.time()))

    def get_hits(self, key: str) -> list[tuple[str, float, int]] | None:
        """A cached search: (chunk id, score, rank) per hit."""
        rows = self.db.query("SELECT value FROM retrieval WHERE key = ?", (key,))
        return [(str(c), float(s), int(r)) for c, s, r in json.loads(rows[0][0])] if rows else None

    def put_hits(self, key: str, hits: Sequence[ScoredChunk]) -> None:
        value = json.dumps(
            [[h.chunk.chunk_id, float(h.score), int(h.rank)] for h in hits], ensure_ascii=False
        )
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO retrieval VALUES (?, ?, ?)", (key, value, time.time()))

    def export_entries(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Completions, scores and searches as JSON-able rows (all, or those under `keys`), for a bundle."""
        wanted = None if keys is None else set(keys)
        rows: list[dict[str, Any]] = []
        for table in KEYED_TABLES:
            for key, value in self.db.query(f"SELECT key, value FROM {table} ORDER BY key"):
                if wanted is None or key in wanted:
                    rows.append({"table": table, "key": key, "value": value})
        return rows

    def import_entries(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store exported completion, score and search rows (other tables are skipped); returns how many."""
        checked = [_checked_response_row(r) for r in rows if r.get("table") in KEYED_TABLES]
        now = time.time()
        with self.db.transaction() as conn:
            for table, key, value in checked:
                conn.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", (key, value, now))
        return len(checked)

    def missing(self, keys: Iterable[str]) -> set[str]:
        """The keys that no completion, score or search is stored under."""
        left = set(keys)
        for table in KEYED_TABLES:
            found = [k for k in left if self.db.query(f"SELECT 1 FROM {table} WHERE key = ?", (k,))]
            left.difference_update(found)
        return left

    def stats(self) -> dict[str, int]:
        """Entries per table and the bytes on disk (the file is shared with the embedding cache)."""
        counts = {t: int(self.db.query(f"SELECT COUNT(*) FROM {t}")[0][0]) for t in TABLES}
        return counts | {"bytes": self.db.size_bytes()}

    def clear(self, tables: Sequence[str] = TABLES) -> None:
        """Delete the cached entries (all kinds by default) and give the space back."""
        unknown = set(tables) - set(TABLES)
        if unknown:
            raise ValueError(f"unknown cache tables: {sorted(unknown)}")
        with self.db.transaction() as conn:
            for table in tables:
                conn.execute(f"DELETE FROM {table}")
        self.db.compact()

    def close(self) -> None:
        self.db.close()


# Calls being computed right now, by (cache file, key): when two variants send the same prompt at once (a sweep
# against a hosted model runs several answers in parallel), the second waits for the first instead of paying again.
_IN_FLIGHT: dict[tuple[str, str], Future[Completion]] = {}
_IN_FLIGHT_LOCK = threading.Lock()


def _claim(path: Path, key: str) -> tuple[bool, Future[Completion]]:
    """(whether this caller computes the call, the future its answer arrives in)."""
    with _IN_FLIGHT_LOCK:
        found = _IN_FLIGHT.get((str(path), key))
        if found is not None:
            return False, found
        future: Future[Completion] = Future()
        _IN_FLIGHT[(str(path), key)] = future
        return True, future


def _release(
    path: Path,
    key: str,
    future: Future[Completion],
    completion: Completion | None = None,
    error: BaseException | None = None,
) -> None:
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.pop((str(path), key), None)
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(completion)  # type: ignore[arg-type]


class CachedLLM:
    """An LLM that answers from the cache when it can; errors are never cached. Counts `hits` and `misses`."""

    def __init__(self, llm: LLM, cache: ResponseCache, identity: str, repeat: int = 0) -> None:
        self.llm = llm
        self.cache = cache
        self.identity = identity
        self.repeat = repeat
        self.name = llm.name
        self.hits = 0
        self.misses = 0
        self._count_lock = threading.Lock()

    def _count(self, hit: bool, key: str) -> None:
        with self._count_lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1
        _note("llm", int(hit), int(not hit), key)

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> Completion:
        if seed is None and temperature > 0:
            seed = self.repeat  # llama.cpp's default seed is fixed: without this, every repeat is the same
        key = llm_cache_key(self.identity, messages, temperature, max_tokens, stop, seed, self.repeat)
        cached = self.cache.get(key)
        owner, pending = _claim(self.cache.db.path, key) if cached is None else (False, None)
        if pending is not None and not owner:
            cached = pending.result()  # the same call is on its way for another variant: wait for its answer
        self._count(cached is not None, key)
        if cached is not None:
            _note_tokens(cached)
            return cached
        assert pending is not None
        try:
            completion = self.llm.chat(
                messages, temperature=temperature, max_tokens=max_tokens, stop=stop, seed=seed
            )
        except BaseException as err:
            _release(self.cache.db.path, key, pending, error=err)
            raise
        self.cache.put(key, completion)
        _release(self.cache.db.path, key, pending, completion)
        _note_tokens(completion)
        return completion

    def yes_probability(self, messages: list[Message]) -> float | None:
        """The wrapped model's P(yes), cached; None when it cannot score (callers then fall back to chat)."""
        # The cache is read first: a replay's stand-in model cannot score, yet the scores it needs are cached.
        key = llm_cache_key(self.identity, messages, 0.0, 1, kind="yes_probability")
        cached = self.cache.get_score(key)
        scorer: Callable[[list[Message]], float | None] | None = getattr(self.llm, "yes_probability", None)
        if cached is None and not callable(scorer):
            return None
        self._count(cached is not None, key)
        if cached is not None or scorer is None:
            return cached
        value = scorer(messages)
        if value is not None:
            self.cache.put_score(key, value)
        return value

    def __getattr__(self, name: str) -> Any:
        if name == "llm":
            raise AttributeError(name)
        return getattr(self.llm, name)


# --- embeddings ---------------------------------------------------------------------------------------------


class EmbeddingCache:
    """Embedding vectors by (embedder identity, text hash), stored as float32."""

    def __init__(self, where: Settings | Path) -> None:
        self.db = Database(cache_path(where) if isinstance(where, Settings) else Path(where), _SCHEMA)

    def get_many(self, identity: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """text_hash -> vector for the texts already cached."""
        hashes = list(dict.fromkeys(text_hash(t) for t in texts))
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), _BATCH):
            batch = hashes[start : start + _BATCH]
            marks = ",".join("?" * len(batch))
            sql = f"SELECT text_hash, vector FROM embedding WHERE identity = ? AND text_hash IN ({marks})"
            for digest, blob in self.db.query(sql, (identity, *batch)):
                found[digest] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, identity: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text, all in one transaction."""
        rows = np.asarray(vectors, dtype=np.float32)
        if len(texts) != len(rows):
            raise ValueError(f"{len(texts)} texts but {len(rows)} vectors")
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embedding VALUES (?, ?, ?, ?, ?)",
                [
                    (identity, text_hash(t), int(v.size), v.tobytes(), now)
                    for t, v in zip(texts, rows, strict=True)
                ],
            )

    def identities(self) -> list[str]:
        """Every embedder identity with cached vectors (queries have their own, ending in '#query')."""
        return [str(r[0]) for r in self.db.query("SELECT DISTINCT identity FROM embedding ORDER BY identity")]

    def export_entries(
        self, identities: Iterable[str] | None = None, text_hashes: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Vectors as JSON-able rows (base64 float32), optionally only for some identities and text hashes."""
        wanted_ids = None if identities is None else set(identities)
        wanted_hashes = None if text_hashes is None else set(text_hashes)
        rows: list[dict[str, Any]] = []
        for identity, digest, dim, blob in self.db.query(
            "SELECT identity, text_hash, dim, vector FROM embedding ORDER BY identity, text_hash"
        ):
            if (wanted_ids is None or identity in wanted_ids) and (
                wanted_hashes is None or digest in wanted_hashes
            ):
                rows.append(
                    {
                        "table": "embedding",
                        "identity": identity,
                        "text_hash": digest,
                        "dim": int(dim),
                        "vector": base64.b64encode(blob).decode("ascii"),
                    }
                )
        return rows

    def import_entries(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store exported embedding rows (other tables are skipped); returns how many."""
        checked = [_checked_embedding_row(r) for r in rows if r.get("table") == "embedding"]
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embedding VALUES (?, ?, ?, ?, ?)", [(*row, now) for row in checked]
            )
        return len(checked)

    def close(self) -> None:
        self.db.close()


class CachedEmbedder:
    """An Embedder that embeds only the texts missing from the cache; query vectors are cached apart."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.embedder = embedder
        self.cache = cache
        self.name = embedder.name
        self.hits = 0
        self.misses = 0
        self._count_lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self.embedder.identity

    def _embed(
        self, texts: list[str], identity: str, compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """Vectors for `texts` in order: cached ones read, the missing ones computed once and stored."""
        hashes = [text_hash(t) for t in texts]
        found = self.cache.get_many(identity, texts)
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes, strict=True) if h not in found))
        hits = sum(1 for h in hashes if h in found)
        with self._count_lock:
            self.hits += hits
            self.misses += len(missing)
        _note("embedding", hits, len(missing))
        if missing:
            vectors = np.asarray(compute(missing), dtype=np.float32)
            self.cache.put_many(identity, missing, vectors)
            found.update({text_hash(t): v for t, v in zip(missing, vectors, strict=True)})
        return np.stack([found[h] for h in hashes])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self.embedder.embed_documents([])
        return self._embed(texts, self.identity, self.embedder.embed_documents)

    def embed_query(self, text: str) -> np.ndarray:
        def compute(texts: list[str]) -> np.ndarray:
            return np.stack([self.embedder.embed_query(t) for t in texts])

        return self._embed([text], f"{self.identity}#query", compute)[0]

    def __getattr__(self, name: str) -> Any:
        if name == "embedder":
            raise AttributeError(name)
        return getattr(self.embedder, name)


# --- retrieval ----------------------------------------------------------------------------------------------


class CachedRetriever:
    """A retriever whose searches are kept by (index key, retriever identity, query, depth, filter).

    Two variants that differ only in their prompt then search once per question, and a rerun searches not at
    all. A cached hit whose chunk is no longer in the index (it cannot be, as the index key names the chunks,
    but a damaged cache could say so) counts as a miss and is searched again.
    """

    def __init__(self, retriever: Any, cache: ResponseCache, index_key: str, chunks: Sequence[Any]) -> None:
        self.retriever = retriever
        self.cache = cache
        self.index_key = index_key
        self.name = retriever.name
        self.identity = str(getattr(retriever, "identity", retriever.name))
        self._chunks = {c.chunk_id: c for c in chunks}

    def search(self, query: Any, k: int, categories: Sequence[str] | None = None) -> list[ScoredChunk]:
        key = retrieval_cache_key(self.index_key, self.identity, query.text, query.vector, k, categories)
        cached = self.cache.get_hits(key)
        if cached is not None and all(cid in self._chunks for cid, _, _ in cached):
            _note("retrieval", 1, 0, key)
            return [ScoredChunk(self._chunks[cid], score, rank) for cid, score, rank in cached]
        hits = self.retriever.search(query, k, categories)
        self.cache.put_hits(key, hits)
        _note("retrieval", 0, 1, key)
        return hits


# --- export and import (replay bundles) ---------------------------------------------------------------------

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _bad_row(what: str) -> InputError:
    return InputError(
        f"The cache file holds a damaged {what} entry, so nothing was imported. Export the "
        "bundle again from the playground that made it."
    )


def _checked_response_row(row: Mapping[str, Any]) -> tuple[str, str, Any]:
    """(table, key, value) of an exported llm or scores row, after checking its shape."""
    table, key, value = row.get("table"), row.get("key"), row.get("value")
    if not isinstance(key, str) or not _HEX64.fullmatch(key):
        raise _bad_row(str(table))
    if table == "retrieval":
        try:
            [(str(c), float(s), int(r)) for c, s, r in json.loads(str(value))]
        except (TypeError, ValueError):
            raise _bad_row("search") from None
        return "retrieval", key, value
    if table == "scores":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _bad_row("score")
        return "scores", key, float(value)
    try:
        Completion(**json.loads(str(value)))
    except (TypeError, ValueError):
        raise _bad_row("response") from None
    return "llm", key, value


def _checked_embedding_row(row: Mapping[str, Any]) -> tuple[str, str, int, bytes]:
    """(identity, text_hash, dim, vector bytes) of an exported embedding row, after checking its shape."""
    identity, digest, dim = row.get("identity"), row.get("text_hash"), row.get("dim")
    try:
        blob = base64.b64decode(str(row.get("vector")), validate=True)
    except ValueError:
        raise _bad_row("embedding") from None
    if not (
        isinstance(identity, str)
        and isinstance(digest, str)
        and _HEX64.fullmatch(digest)
        and isinstance(dim, int)
        and len(blob) == 4 * dim
    ):
        raise _bad_row("embedding")
    return identity, digest, dim, blob


def export_cache(
    settings: Settings,
    keys: Iterable[str] | None = None,
    identities: Iterable[str] | None = None,
    text_hashes: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Cached responses (by key) and embeddings (by identity and text hash) as JSON-able rows."""
    responses, embeddings = ResponseCache(settings), EmbeddingCache(settings)
    try:
        return responses.export_entries(keys) + embeddings.export_entries(identities, text_hashes)
    finally:
        responses.close()
        embeddings.close()


def import_cache(settings: Settings, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Put exported rows into this data folder's cache; returns the count per kind."""
    responses, embeddings = ResponseCache(settings), EmbeddingCache(settings)
    try:
        answers = responses.import_entries(rows)
        return {"responses": answers, "embeddings": embeddings.import_entries(rows)}
    finally:
        responses.close()
        embeddings.close()


def cache_stats(settings: Settings) -> dict[str, int]:
    """Entries per kind and bytes on disk, for a Settings page or `playground cache`."""
    cache = ResponseCache(settings)
    try:
        return cache.stats()
    finally:
        cache.close()


def clear_cache(settings: Settings) -> dict[str, int]:
    """Delete every cached response, score, embedding and search; returns the (empty) counts."""
    cache = ResponseCache(settings)
    try:
        cache.clear()
        return cache.stats()
    finally:
        cache.close()
