"""One SQLite file shared by threads: WAL mode, writes in transactions, errors a user can act on.

The cache and the experiment store both sit on this. A single connection per object, guarded by a lock, serves
every thread (Streamlit runs each browser session in its own thread); other processes (the CLI beside the app)
open their own and WAL lets readers and one writer work at once. `synchronous=NORMAL` in WAL mode keeps every
committed transaction when the process is killed; only a power cut may lose the last few.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playground.core.errors import PlaygroundError

BUSY_TIMEOUT_S = 30.0


class StorageError(PlaygroundError):
    """The data folder cannot hold the cache or the experiment store; nothing half-written was kept."""

    def __init__(self, message: str, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy  # another connection held the file: worth trying again


_OPENING: dict[str, threading.Lock] = {}
_OPENING_GUARD = threading.Lock()


def _opening_lock(path: Path) -> threading.Lock:
    with _OPENING_GUARD:
        return _OPENING.setdefault(str(path.resolve()), threading.Lock())


def _locked(err: BaseException) -> bool:
    text = str(err).lower()
    return "locked" in text or "busy" in text


def explain(err: BaseException, path: Path) -> str:
    """A message that says what went wrong with the file at `path` and what to do."""
    text = str(err).lower()
    code = err.errno if isinstance(err, OSError) else None
    if code == errno.ENOSPC or "disk is full" in text:
        return (
            f"The disk holding {path} is full, so the last change was not saved (everything saved before "
            "is intact). Free some space and try again."
        )
    folder_locked = path.parent.is_dir() and not os.access(path.parent, os.W_OK)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS) or "readonly" in text or folder_locked:
        return (
            f"{path} is in a read-only folder, so nothing was saved. Make the data folder writable, or "
            "start the playground with PLAYGROUND_DATA_DIR set to a writable folder."
        )
    if "not a database" in text or "malformed" in text:
        return f"{path} is damaged. Move it aside (a fresh one is created on the next start) and try again."
    if "locked" in text or "busy" in text:
        return f"{path} is held too long by another process. Wait for it to finish and try again."
    return (
        f"Cannot use {path} ({err}). Check that the data folder exists and is writable, or set "
        "PLAYGROUND_DATA_DIR to another folder."
    )


class Database:
    """A SQLite file with its schema, one connection shared by threads under a lock."""

    def __init__(self, path: Path, schema: Sequence[str], pragmas: Sequence[str] = ()) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        # Sessions of one app open the same file at once (a fresh data folder, several browsers): opening, the
        # switch to WAL and the schema are done one at a time per file in this process, and retried while
        # another process holds the file (switching the journal mode does not wait on SQLite's busy timeout).
        with _opening_lock(self.path):
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            while True:
                try:
                    self._open(schema, pragmas)
                    return
                except StorageError as err:
                    if hasattr(self, "_conn"):
                        self._conn.close()
                    if not err.busy or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def _open(self, schema: Sequence[str], pragmas: Sequence[str]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", *pragmas):
                self._conn.execute(f"PRAGMA {pragma}")
        except (OSError, sqlite3.Error) as err:
            raise StorageError(explain(err, self.path), busy=_locked(err)) from None
        with self.transaction() as conn:
            for statement in schema:
                conn.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything inside commits together or not at all; a failure becomes a StorageError."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    if self._conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as err:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StorageError(explain(err, self.path), busy=_locked(err)) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only statement."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise StorageError(explain(err, self.path)) from None

    def size_bytes(self) -> int:
        """The file and its write-ahead log, on disk."""
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists())

    def compact(self) -> None:
        """Give freed pages back to the disk; skipped while another process reads the file."""
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.execute("VACUUM")
            except sqlite3.OperationalError:
                pass

    def close(self) -> None:
        with self._lock:
            self._conn.close()
