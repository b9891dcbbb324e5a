"""Cache keys: SHA-256 of everything that decides an output, and nothing secret.

A model's identity is the GGUF file's SHA-256 (and the adapter's) for local models and the base URL for hosted
ones; a completion's key adds the full messages and the parameters; a search's key the index key, the retriever's
identity, the query (text and vector) and the depth. An API key never enters a key.

At temperature 0 a repeat index does not change the key (the answer would be the same); above 0 each repeat is
keyed on its own.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from playground.core.errors import ModelError
from playground.core.settings import Settings
from playground.models.llms import Message
from playground.models.local_models import CATALOGUE, file_sha256
from playground.models.names import (
    compatible_model_name,
    cross_encoder_name,
    local_model_name,
    parse_model_name,
    rerank_server_name,
)

OPENAI_URL = "https://api.openai.com/v1"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """The key of one text in the embedding cache."""
    return sha256_hex(text)


def _payload_hash(payload: dict[str, Any]) -> str:
    return sha256_hex(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


# --- model identities ---------------------------------------------------------------------------------------

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
    parsed = parse_model_name(name)
    # `local:<model>+lora:<adapter.gguf>`: fine-tuned
    adapter = adapter if adapter is not None else parsed.lora
    model = parsed.base
    if model.is_catalogued:
        identity = f"{model}#sha256={CATALOGUE[model.model].sha256}"
    elif model.provider == "local":
        file = Path(model.model)
        identity = f"{local_model_name(file.name)}#sha256={path_digest(file)}"
    elif model.provider == "openai":
        identity = f"{model}@{safe_url(settings.openai_base_url or OPENAI_URL)}"
    elif model.provider == "openai-compatible":
        identity = str(compatible_model_name(model.model, safe_url(model.base_url or "")))
    else:
        identity = str(model)
    return identity + (f"+adapter#sha256={path_digest(adapter)}" if adapter is not None else "")


CE_READING = "best-window-step-1"


def reranker_identity(name: str) -> str:
    """What decides a reranker's scores: a cross-encoder folder's content SHA-256 (so a retrained model gets new
    keys and a copied one keeps them), else the hub name, or the rerank server's model and address. A
    cross-encoder's also names how it reads a long passage (`CE_READING`), so scores cached under another reading
    (the start only, then half-overlapping windows) are not reused."""
    parsed = parse_model_name(name)
    if parsed.provider == "rerank":
        return str(rerank_server_name(parsed.model, safe_url(parsed.base_url or "")))
    if parsed.provider != "ce":
        return str(parsed)
    folder = Path(parsed.model)
    model = (
        f"{cross_encoder_name(folder.name)}#sha256={path_digest(folder)}" if folder.is_dir() else str(parsed)
    )
    return f"{model}+{CE_READING}"


# --- keys -----------------------------------------------------------------------------------------------------


def llm_cache_key(
    model_identity: str,
    messages: Sequence[Message],
    temperature: float,
    max_tokens: int,
    stop: Sequence[str] | None = None,
    seed: int | None = None,
    repeat: int = 0,
    kind: str = "chat",
    json_schema: dict[str, Any] | None = None,
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
    if json_schema is not None:  # only when asked for, so the keys of plain calls stay as they were
        payload["json_schema"] = json_schema
    return _payload_hash(payload)


def retrieval_cache_key(
    index_key: str,
    retriever: str,
    text: str,
    vector: np.ndarray | None,
    k: int,
    categories: Sequence[str] | None,
) -> str:
    """SHA-256 hex of everything that decides a search: index, retriever identity, query, depth and filter."""
    vector_hash = (
        None if vector is None else hashlib.sha256(np.asarray(vector, np.float32).tobytes()).hexdigest()
    )
    return _payload_hash(
        {
            "index": index_key,
            "retriever": retriever,
            "text": text,
            "vector": vector_hash,
            "k": int(k),
            "categories": sorted(categories) if categories else None,
        }
    )


def rerank_cache_key(reranker_identity: str, query: str, passage: str) -> str:
    """SHA-256 hex of a reranker's score of one passage for one query."""
    return _payload_hash(
        {"kind": "rerank", "reranker": reranker_identity, "query": query, "passage": text_hash(passage)}
    )
