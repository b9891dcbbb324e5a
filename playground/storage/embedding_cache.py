"""Cached embedding vectors by (embedder identity, text hash), stored as float32."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from playground.core.settings import Settings
from playground.storage.cache_file import HEX64, damaged_entry, open_cache
from playground.storage.keys import text_hash

_BATCH = 500  # SQLite's limit on host parameters is 999 in old builds; stay well under it


class EmbeddingCache:
    """Embedding vectors by (embedder identity, text hash), stored as float32."""

    def __init__(self, where: Settings | Path) -> None:
        self.db = open_cache(where)

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
                rows.append(_exported_row(identity, digest, int(dim), blob))
        return rows

    def import_entries(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store exported embedding rows (other tables are skipped); returns how many."""
        checked = [checked_embedding_row(r) for r in rows if r.get("table") == "embedding"]
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embedding VALUES (?, ?, ?, ?, ?)", [(*row, now) for row in checked]
            )
        return len(checked)

    def close(self) -> None:
        self.db.close()


def _exported_row(identity: str, digest: str, dim: int, blob: bytes) -> dict[str, Any]:
    return {
        "table": "embedding",
        "identity": identity,
        "text_hash": digest,
        "dim": dim,
        "vector": base64.b64encode(blob).decode("ascii"),
    }


def checked_embedding_row(row: Mapping[str, Any]) -> tuple[str, str, int, bytes]:
    """(identity, text_hash, dim, vector bytes) of an exported embedding row, after checking its shape."""
    identity, digest, dim = row.get("identity"), row.get("text_hash"), row.get("dim")
    try:
        blob = base64.b64decode(str(row.get("vector")), validate=True)
    except ValueError:
        raise damaged_entry("embedding") from None
    if not (
        isinstance(identity, str)
        and isinstance(digest, str)
        and HEX64.fullmatch(digest)
        and isinstance(dim, int)
        and len(blob) == 4 * dim
    ):
        raise damaged_entry("embedding")
    return identity, digest, dim, blob
