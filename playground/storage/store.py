"""The experiment store: every run with its configs, hashes and per-question rows, in `experiments.sqlite3`.

Each row is written in its own transaction as soon as it is scored, so a killed process loses at most the row
in flight. A run still marked 'running' whose process is gone becomes 'incomplete' (`mark_interrupted`, at
start-up) and can be resumed: `done_keys` says which (variant, question) pairs are already in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground import __version__
from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.ingest.question_rows import (
    QuestionRow,
    content_hash,
    problems,
    rows_from_records,
    to_question_set,
    to_record,
    with_ids,
)
from playground.ingest.questions import QuestionSet
from playground.storage.sqlite_db import Database

STATUSES = ("running", "complete", "incomplete", "stopped")
# Tells this process's runs from an earlier process's that had the same pid (pid 1 in a container, say).
PROCESS_TOKEN = uuid.uuid4().hex
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete', 'stopped')),
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        process_token TEXT NOT NULL,
        corpus TEXT NOT NULL,
        corpus_hash TEXT NOT NULL,
        index_keys TEXT NOT NULL,
        questions TEXT NOT NULL,
        question_set_hash TEXT NOT NULL,
        version TEXT NOT NULL,
        configs TEXT NOT NULL,
        meta TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS run_rows (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        variant TEXT NOT NULL,
        qid TEXT NOT NULL,
        repeat_index INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        row TEXT NOT NULL,
        PRIMARY KEY (run_id, variant, qid, repeat_index))""",
    # Named question sets (typed in the browser's table or generated). A store written before this table
    # existed gets it when opened: CREATE ... IF NOT EXISTS is the whole migration, the runs are untouched.
    """CREATE TABLE IF NOT EXISTS question_sets (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        corpus TEXT NOT NULL,
        corpus_hash TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        questions INTEGER NOT NULL,
        row_count INTEGER NOT NULL,
        rows TEXT NOT NULL)""",
)
_RUN_COLUMNS = (
    "id",
    "created_at",
    "finished_at",
    "status",
    "corpus",
    "corpus_hash",
    "questions",
    "question_set_hash",
    "version",
)


MAX_SET_NAME = 80


@dataclass(frozen=True)
class SavedQuestionSet:
    """A named question set in the store: `questions` usable ones out of `row_count` rows."""

    name: str
    created_at: str
    updated_at: str
    corpus: str
    corpus_hash: str
    content_hash: str
    questions: int
    row_count: int


_SET_COLUMNS = tuple(f.name for f in dataclasses.fields(SavedQuestionSet))


def _set_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise InputError("Give the question set a name before saving it.")
    if len(cleaned) > MAX_SET_NAME:
        raise InputError(f"That name is too long: use at most {MAX_SET_NAME} characters.")
    return cleaned


def store_path(settings: Settings) -> Path:
    return settings.data_dir / "experiments.sqlite3"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    """json.dumps fallback: dataclasses, pydantic models, numpy scalars, paths and sets."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the experiment store")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_jsonable, ensure_ascii=False)


def _config_dict(config: Any) -> dict[str, Any]:
    return config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)


def _index_keys(configs: Sequence[Any]) -> dict[str, str]:
    """Variant name -> index key, for the retrieval variants of VariantConfig objects."""
    return {c.name: c.index.key() for c in configs if getattr(c, "use_retrieval", False)}


def _orphaned(host: str, pid: int, token: str) -> bool:
    """Whether the process that wrote a 'running' run is gone (runs from other machines are left alone)."""
    if host != socket.gethostname() or token == PROCESS_TOKEN:
        return False
    return pid == os.getpid() or not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ExperimentStore:
    """Runs and their per-question rows in one SQLite file; safe to share between threads."""

    def __init__(self, where: Settings | Path) -> None:
        path = store_path(where) if isinstance(where, Settings) else Path(where)
        self.db = Database(path, _SCHEMA, pragmas=("foreign_keys=ON",))

    def start_run(
        self,
        *,
        corpus: str,
        corpus_hash: str,
        questions: str,
        question_set_hash: str,
        configs: Sequence[Any],
        index_keys: Mapping[str, str] | None = None,
        version: str = __version__,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a new run as 'running' and return its id; configs are VariantConfigs or their dicts."""
        keys = dict(index_keys) if index_keys is not None else _index_keys(configs)
        values = (
            _now(),
            socket.gethostname(),
            os.getpid(),
            PROCESS_TOKEN,
            corpus,
            corpus_hash,
            _dumps(keys),
            questions,
            question_set_hash,
            version,
            _dumps([_config_dict(c) for c in configs]),
            _dumps(dict(meta or {})),
        )
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (created_at, status, host, pid, process_token, corpus, corpus_hash, "
                "index_keys, questions, question_set_hash, version, configs, meta) "
                "VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            return int(cursor.lastrowid or 0)

    def add_row(self, run_id: int, variant_name: str, row: Any, repeat: int = 0) -> None:
        """Save one scored question (a QuestionResult or its dict) in its own transaction."""
        data = dataclasses.asdict(row) if dataclasses.is_dataclass(row) and not isinstance(row, type) else row
        text = _dumps(data)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO run_rows VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, variant_name, str(data["qid"]), repeat, _now(), text),
            )

    def finish_run(self, run_id: int, status: str = "complete") -> None:
        """Close a run as 'complete', 'stopped' (by the user) or 'incomplete'."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        with self.db.transaction() as conn:
            conn.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, _now(), run_id))

    def resume_run(self, run_id: int) -> set[tuple[str, str]]:
        """Mark a run 'running' again in this process; returns the (variant, qid) pairs already done."""
        self._require(run_id)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = 'running', finished_at = NULL, host = ?, pid = ?, "
                "process_token = ? WHERE id = ?",
                (socket.gethostname(), os.getpid(), PROCESS_TOKEN, run_id),
            )
        return self.done_keys(run_id)

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, newest first, with its variant names and the number of saved rows."""
        rows = self.db.query(
            f"SELECT {', '.join('r.' + c for c in _RUN_COLUMNS)}, r.configs, "
            "(SELECT COUNT(*) FROM run_rows WHERE run_id = r.id) FROM runs r ORDER BY r.id DESC"
        )
        return [
            dict(zip(_RUN_COLUMNS, r[:-2], strict=True))
            | {"variants": [c.get("name") for c in json.loads(r[-2])], "rows": int(r[-1])}
            for r in rows
        ]

    def _require(self, run_id: int) -> tuple[Any, ...]:
        columns = ", ".join((*_RUN_COLUMNS, "index_keys", "configs", "meta"))
        found = self.db.query(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,))
        if not found:
            raise InputError(f"There is no saved run #{run_id}. Pick one from the list of runs.")
        return found[0]

    def load_run(self, run_id: int) -> dict[str, Any]:
        """The run's record, configs, index keys, meta and rows: {variant: [row dicts with "repeat"]}."""
        record = self._require(run_id)
        run = dict(zip(_RUN_COLUMNS, record, strict=False))
        configs = json.loads(record[-2])
        run |= {"index_keys": json.loads(record[-3]), "configs": configs, "meta": json.loads(record[-1])}
        grouped: dict[str, list[dict[str, Any]]] = {c.get("name"): [] for c in configs}
        for variant, repeat, text in self.db.query(
            "SELECT variant, repeat_index, row FROM run_rows WHERE run_id = ? ORDER BY rowid", (run_id,)
        ):
            grouped.setdefault(variant, []).append(json.loads(text) | {"repeat": repeat})
        return run | {"rows": grouped}

    def done_keys(self, run_id: int, repeat: int | None = 0) -> set[tuple[str, str]]:
        """(variant, qid) pairs saved for the run, for one repeat (None: any repeat)."""
        sql, params = "SELECT variant, qid FROM run_rows WHERE run_id = ?", [run_id]
        if repeat is not None:
            sql, params = sql + " AND repeat_index = ?", [run_id, repeat]
        return {(str(v), str(q)) for v, q in self.db.query(sql, params)}

    def set_human_verdict(
        self, run_id: int, variant: str, qid: str, repeat: int, verdict: str | None, score: float | None
    ) -> None:
        """Keep a person's verdict on one answer in its row, with the `human` metric it gives, so every view of the
        run reads it like any other score; a verdict of None removes both."""
        where = "WHERE run_id = ? AND variant = ? AND qid = ? AND repeat_index = ?"
        params: tuple[Any, ...] = ()
        if verdict is None:
            sql = f"UPDATE run_rows SET row = json_remove(row, '$.human', '$.metrics.human') {where}"
        else:
            sql = f"UPDATE run_rows SET row = json_set(row, '$.human', ?, '$.metrics.human', ?) {where}"
            params = (verdict, score)
        with self.db.transaction() as conn:
            changed = conn.execute(sql, (*params, run_id, variant, str(qid), repeat)).rowcount
        if not changed:
            raise InputError(
                f"Run #{run_id} has no saved answer of '{variant}' to {qid}: reopen the run and try again."
            )

    def mark_interrupted(self) -> list[int]:
        """Turn 'running' runs whose process has died into 'incomplete'; returns their ids."""
        running = self.db.query("SELECT id, host, pid, process_token FROM runs WHERE status = 'running'")
        dead = [int(run_id) for run_id, host, pid, token in running if _orphaned(host, pid, token)]
        if dead:
            with self.db.transaction() as conn:
                conn.executemany(
                    "UPDATE runs SET status = 'incomplete' WHERE id = ? AND status = 'running'",
                    [(run_id,) for run_id in dead],
                )
        return dead

    def delete_run(self, run_id: int) -> None:
        """Remove a run and all its rows."""
        self._require(run_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM run_rows WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # --- named question sets ------------------------------------------------------------------------------

    def save_question_set(
        self,
        name: str,
        rows: Sequence[QuestionRow],
        *,
        corpus: str = "",
        corpus_hash: str = "",
        replace: bool = False,
    ) -> SavedQuestionSet:
        """Save every non-blank row under `name`, usable or not, so nothing typed is lost; ids are filled in.

        A set of that name (any case) is replaced only with `replace`."""
        name = _set_name(name)
        kept = [r for r in with_ids(rows) if not r.blank]
        if not kept:
            raise InputError("The table is empty. Add at least one question with its gold answer, then save.")
        now = _now()
        with self.db.transaction() as conn:
            found = conn.execute("SELECT created_at FROM question_sets WHERE name = ?", (name,)).fetchone()
            if found and not replace:
                raise InputError(
                    f"There is already a saved question set named '{name}'. Choose another name, or "
                    "replace it."
                )
            created = found[0] if found else now
            usable = sum(not problems(r) for r in kept)
            saved = SavedQuestionSet(
                name, created, now, corpus, corpus_hash, content_hash(kept), usable, len(kept)
            )
            conn.execute("DELETE FROM question_sets WHERE name = ?", (name,))
            conn.execute(
                "INSERT INTO question_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*dataclasses.astuple(saved), _dumps([to_record(r) for r in kept])),
            )
        return saved

    def list_question_sets(self) -> list[SavedQuestionSet]:
        """The saved question sets, the last changed first."""
        rows = self.db.query(
            f"SELECT {', '.join(_SET_COLUMNS)} FROM question_sets ORDER BY updated_at DESC, name"
        )
        return [SavedQuestionSet(*row) for row in rows]

    def load_question_rows(self, name: str) -> list[QuestionRow]:
        """A saved set's rows as they were saved (with their 'reviewed' marks and unfinished rows)."""
        found = self.db.query("SELECT rows FROM question_sets WHERE name = ?", (str(name).strip(),))
        if not found:
            raise InputError(
                f"There is no saved question set named '{name}'. Pick one from the list of saved sets."
            )
        return rows_from_records(json.loads(found[0][0]))

    def load_question_set(self, name: str) -> QuestionSet:
        """A saved set's usable rows as a question set, ready to evaluate."""
        return to_question_set(self.load_question_rows(name), _set_name(name))

    def delete_question_set(self, name: str) -> None:
        self.load_question_rows(name)  # a clear error when there is no such set
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM question_sets WHERE name = ?", (str(name).strip(),))

    def close(self) -> None:
        self.db.close()
