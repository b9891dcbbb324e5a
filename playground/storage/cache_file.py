"""The cache file: one SQLite file, `<data_dir>/cache/cache.sqlite3`, one table per kind of cached output.

The response cache and the embedding cache share it; neither the file nor any row holds an API key.
"""

from __future__ import annotations

import re
from pathlib import Path

from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.storage.sqlite_db import Database

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS llm (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, value REAL NOT NULL, created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS embedding (identity TEXT NOT NULL, text_hash TEXT NOT NULL, "
    "dim INTEGER NOT NULL, vector BLOB NOT NULL, created_at REAL NOT NULL, "
    "PRIMARY KEY (identity, text_hash))",
    "CREATE TABLE IF NOT EXISTS retrieval (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at REAL NOT NULL)",
)
TABLES = ("llm", "scores", "embedding", "retrieval")
KEYED_TABLES = ("llm", "scores", "retrieval")  # tables whose rows are found by one hex key
HEX64 = re.compile(r"[0-9a-f]{64}")  # a key or text hash, as an imported row must carry it


def cache_path(settings: Settings) -> Path:
    return settings.data_dir / "cache" / "cache.sqlite3"


def open_cache(where: Settings | Path) -> Database:
    """The cache file of a data folder (from its settings), or at a path."""
    return Database(cache_path(where) if isinstance(where, Settings) else Path(where), SCHEMA)


def damaged_entry(what: str) -> InputError:
    """The error for an imported row that is not what an export writes."""
    return InputError(
        f"The cache file holds a damaged {what} entry, so nothing was imported. Export the "
        "bundle again from the playground that made it."
    )
