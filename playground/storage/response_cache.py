"""Cached LLM completions, reranker yes-probabilities and retrieval results, each found by one hex key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from playground.core.settings import Settings
from playground.models.llms import Completion
from playground.retrieval.index import ScoredChunk
from playground.storage.cache_file import HEX64, KEYED_TABLES, TABLES, damaged_entry, open_cache


class ResponseCache:
    """LLM completions, reranker yes-probabilities and retrieval results by key, in the cache file."""

    def __init__(self, where: Settings | Path) -> None:
        self.db = open_cache(where)

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

    def get_scores(self, keys: Sequence[str]) -> dict[str, float]:
        """The cached scores among `keys` (a reranker's scores of many passages, looked up at once)."""
        found: dict[str, float] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):  # well under SQLite's limit on host parameters
            batch = unique[start : start + 500]
            sql = f"SELECT key, value FROM scores WHERE key IN ({','.join('?' * len(batch))})"
            found.update((str(k), float(v)) for k, v in self.db.query(sql, tuple(batch)))
        return found

    def put_scores(self, scores: Mapping[str, float]) -> None:
        """Store many scores in one transaction."""
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?)",
                [(k, float(v), now) for k, v in scores.items()],
            )

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
        checked = [checked_response_row(r) for r in rows if r.get("table") in KEYED_TABLES]
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


def checked_response_row(row: Mapping[str, Any]) -> tuple[str, str, Any]:
    """(table, key, value) of an exported llm, scores or retrieval row, after checking its shape."""
    table, key, value = row.get("table"), row.get("key"), row.get("value")
    if not isinstance(key, str) or not HEX64.fullmatch(key):
        raise damaged_entry(str(table))
    if table == "retrieval":
        try:
            [(str(c), float(s), int(r)) for c, s, r in json.loads(str(value))]
        except (TypeError, ValueError):
            raise damaged_entry("search") from None
        return "retrieval", key, value
    if table == "scores":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise damaged_entry("score")
        return "scores", key, float(value)
    try:
        Completion(**json.loads(str(value)))
    except (TypeError, ValueError):
        raise damaged_entry("response") from None
    return "llm", key, value
