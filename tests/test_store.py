"""The experiment store: runs and rows survive restarts and kills, and storage failures are clear errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from playground import __version__
from playground.core.config import VariantConfig
from playground.core.errors import InputError, PlaygroundError
from playground.core.settings import Settings
from playground.evaluation.results import QuestionResult
from playground.ingest.question_rows import QuestionRow
from playground.ingest.questions import Evidence
from playground.storage import store as s
from playground.storage.sqlite_db import StorageError, explain

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [VariantConfig(name="prompt only"), VariantConfig(name="rag", use_retrieval=True, top_k=3)]


def _start(store: s.ExperimentStore) -> int:
    return store.start_run(
        corpus="fictional",
        corpus_hash="c0ffee",
        questions="fictional questions",
        question_set_hash="q123",
        configs=CONFIGS,
        meta={"repeats": 1},
    )


def _row(qid: str, contains: float = 1.0) -> dict[str, object]:
    return {
        "qid": qid,
        "answer": "30 days",
        "metrics": {"contains": contains},
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "latency_s": 0.25,
        "cost_usd": 0.0,
    }


def test_a_run_round_trips_with_configs_rows_and_hashes(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    run_id = _start(store)
    store.add_row(run_id, "prompt only", _row("q1", 0.0))
    store.add_row(run_id, "rag", _row("q1"))
    store.add_row(run_id, "rag", _row("q2"))
    store.finish_run(run_id)
    reopened = s.ExperimentStore(settings)  # as after an app restart
    run = reopened.load_run(run_id)
    assert run["status"] == "complete" and run["finished_at"] and run["version"] == __version__
    assert (run["corpus"], run["corpus_hash"], run["question_set_hash"]) == ("fictional", "c0ffee", "q123")
    assert run["index_keys"] == {"rag": CONFIGS[1].index.key()}
    assert [VariantConfig.model_validate(c) for c in run["configs"]] == CONFIGS
    assert run["meta"] == {"repeats": 1}
    assert [r["qid"] for r in run["rows"]["rag"]] == ["q1", "q2"]
    assert run["rows"]["prompt only"][0] == _row("q1", 0.0) | {"repeat": 0}
    assert s.store_path(settings).exists()


def test_list_runs_newest_first_with_counts(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    first, second = _start(store), _start(store)
    store.add_row(second, "rag", _row("q1"))
    listed = store.list_runs()
    assert [r["id"] for r in listed] == [second, first]
    assert listed[0]["rows"] == 1 and listed[0]["variants"] == ["prompt only", "rag"]
    assert listed[0]["status"] == "running"


def test_question_results_and_repeats_are_stored(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    run_id = _start(store)
    result = QuestionResult(
        qid="q9",
        question="How long?",
        golds=["30 days"],
        answer="30 days",
        raw_output="x",
        retrieved=[],
        metrics={"contains": 1.0, "hit@k": None},
        prompt="p",
        prompt_tokens=1,
        completion_tokens=1,
        latency_s=0.1,
        timings={"generate": 0.1},
        evidence_in_corpus=None,
    )
    store.add_row(run_id, "rag", result, repeat=0)
    store.add_row(run_id, "rag", result, repeat=1)
    rows = store.load_run(run_id)["rows"]["rag"]
    assert [r["repeat"] for r in rows] == [0, 1] and rows[0]["metrics"] == {"contains": 1.0, "hit@k": None}
    assert store.done_keys(run_id) == {("rag", "q9")}
    assert store.done_keys(run_id, repeat=2) == set()
    assert store.done_keys(run_id, repeat=None) == {("rag", "q9")}


def test_finish_resume_and_delete(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    run_id = _start(store)
    store.add_row(run_id, "rag", _row("q1"))
    store.finish_run(run_id, "stopped")
    assert store.load_run(run_id)["status"] == "stopped"
    assert store.resume_run(run_id) == {("rag", "q1")}
    assert store.load_run(run_id)["status"] == "running" and store.load_run(run_id)["finished_at"] is None
    with pytest.raises(ValueError):
        store.finish_run(run_id, "done")
    store.delete_run(run_id)
    assert store.list_runs() == []
    assert store.db.query("SELECT COUNT(*) FROM run_rows")[0][0] == 0
    with pytest.raises(InputError, match="no saved run #"):
        store.load_run(run_id)


def test_mark_interrupted_leaves_live_runs_alone(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    ours = _start(store)
    assert store.mark_interrupted() == []  # this very process is still running it
    with store.db.transaction() as conn:  # a run left by an earlier process that had our pid
        conn.execute("UPDATE runs SET process_token = 'earlier' WHERE id = ?", (ours,))
    assert store.mark_interrupted() == [ours]
    assert store.load_run(ours)["status"] == "incomplete"


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from playground.storage.store import ExperimentStore

    store = ExperimentStore(Path(sys.argv[1]))
    run_id = store.start_run(corpus="c", corpus_hash="h", questions="q", question_set_hash="qh",
                             configs=[{"name": "a"}, {"name": "b"}])
    print(run_id, flush=True)
    for i in range(100000):
        for variant in ("a", "b"):
            row = {"qid": f"q{i}", "answer": "x" * 2000, "metrics": {"contains": 1.0}}
            store.add_row(run_id, variant, row)
            print(variant, f"q{i}", flush=True)
            time.sleep(0.002)
""")


def test_a_killed_run_keeps_its_rows_and_can_be_resumed(tmp_path: Path) -> None:
    path = tmp_path / "data" / "experiments.sqlite3"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        run_id = int(proc.stdout.readline())
        saved = [tuple(proc.stdout.readline().split()) for _ in range(25)]  # each printed after its commit
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = s.ExperimentStore(path)
    assert store.db.query("PRAGMA integrity_check") == [("ok",)]
    assert store.load_run(run_id)["status"] == "running"
    done = store.done_keys(run_id)
    in_order = [(variant, f"q{i}") for i in range(len(done)) for variant in ("a", "b")]
    assert set(saved) <= done and done == set(in_order[: len(done)])  # every row up to the kill, no gap
    assert store.mark_interrupted() == [run_id]
    assert store.load_run(run_id)["status"] == "incomplete"
    assert store.mark_interrupted() == []
    rows = store.load_run(run_id)["rows"]
    assert all(r["answer"] == "x" * 2000 for variant_rows in rows.values() for r in variant_rows)


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_saved(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    run_id = _start(store)
    store.add_row(run_id, "rag", _row("q1"))
    pages = store.db.query("PRAGMA page_count")[0][0]
    store.db.query(f"PRAGMA max_page_count = {pages + 2}")  # past it SQLite says "database or disk is full"
    with pytest.raises(PlaygroundError, match="full") as caught:
        for i in range(2, 200):
            store.add_row(run_id, "rag", _row(f"q{i}") | {"answer": "y" * 5000})
    assert isinstance(caught.value, StorageError)
    assert "Free some space" in str(caught.value)
    rows = store.load_run(run_id)["rows"]["rag"]
    assert rows[0] == _row("q1") | {"repeat": 0} and all(r["answer"] == "y" * 5000 for r in rows[1:])
    assert store.db.query("PRAGMA integrity_check") == [("ok",)]


def test_a_read_only_store_is_a_clear_error_and_writes_nothing(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    run_id = _start(store)
    store.db.query("PRAGMA query_only = ON")  # SQLite then refuses writes as it does for a read-only file
    with pytest.raises(StorageError, match="read-only"):
        store.add_row(run_id, "rag", _row("q1"))
    with pytest.raises(StorageError, match="PLAYGROUND_DATA_DIR"):
        _start(store)
    assert store.list_runs()[0]["rows"] == 0 and len(store.list_runs()) == 1


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write a read-only folder")
def test_a_read_only_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="read-only"):
            s.ExperimentStore(Settings(data_dir=folder))
    finally:
        folder.chmod(0o755)


def _read_only_mounts() -> bool:
    """Whether this machine lets us mount a read-only file system in a user namespace (`unshare -rm`)."""
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


READ_ONLY_CHECK = """
import sys
from pathlib import Path
from playground.storage.response_cache import ResponseCache
from playground.core.settings import Settings
from playground.storage.sqlite_db import StorageError
from playground.storage.store import ExperimentStore

settings = Settings(data_dir=Path(sys.argv[1]))
for open_it in (ExperimentStore, ResponseCache):
    try:
        open_it(settings)
    except StorageError as err:
        print(err)
    else:
        raise SystemExit(f"{open_it.__name__} opened a read-only data folder")
"""


@pytest.mark.skipif(not _read_only_mounts(), reason="needs user namespaces (unshare -rm) to mount read-only")
def test_a_read_only_file_system_is_a_clear_error_for_the_library_and_the_cli(tmp_path: Path) -> None:
    """A really read-only data folder (a read-only mount, which even root cannot write), not a simulation."""
    data, variants = tmp_path / "data", tmp_path / "v.yaml"
    data.mkdir()
    (tmp_path / "q.jsonl").write_text('{"id": "1", "question": "Why?", "answers": ["because"]}\n')
    variants.write_text(
        "questions: q.jsonl\ndefaults: {model: fake:extractive}\nvariants:\n - {name: baseline}\n"
    )
    mount = f"mount -t tmpfs -o ro none {data}"
    library = f"{sys.executable} -c '{READ_ONLY_CHECK}' {data}"
    cli = f"PLAYGROUND_DATA_DIR={data} {sys.executable} -m playground.cli.main eval --variants {variants}"
    script = f"{mount} && {library} && {{ {cli}; echo exit=$?; }}"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert out.count("is in a read-only folder") == 3 and "PLAYGROUND_DATA_DIR" in out
    assert "exit=2" in out and "Traceback" not in out
    assert list(data.iterdir()) == []


def test_a_data_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="PLAYGROUND_DATA_DIR"):
        s.ExperimentStore(Settings(data_dir=blocker))


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "experiments.sqlite3"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(StorageError, match="damaged"):
        s.ExperimentStore(path)


@pytest.mark.parametrize(
    "error,expected",
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "full"),
        (OSError(28, "No space left on device"), "full"),
        (PermissionError(13, "Permission denied"), "read-only"),
        (sqlite3.OperationalError("database is locked"), "another process"),
    ],
)
def test_explain_maps_storage_errors_to_advice(error: BaseException, expected: str) -> None:
    assert expected in explain(error, Path("/data/experiments.sqlite3"))


def test_many_sessions_opening_a_fresh_store_at_once_all_get_it(tmp_path: Path) -> None:
    """Browser sessions of one app open the store of a fresh data folder at the same moment; the load test caught
    one of three failing ("database is locked" while switching to WAL) and running without a store."""
    import threading

    settings = Settings(data_dir=tmp_path / "fresh")
    barrier, errors, ids = threading.Barrier(8), [], []

    def open_and_start() -> None:
        barrier.wait()
        try:
            ids.append(_start(s.ExperimentStore(settings)))
        except StorageError as err:
            errors.append(str(err))

    threads = [threading.Thread(target=open_and_start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 8


def test_processes_opening_a_fresh_store_at_once_all_get_it(tmp_path: Path) -> None:
    # A barrier across processes: each child imports, says "ready" and blocks on its stdin; the parent releases
    # them together only once all six are waiting, so the opens really race (a start time on the clock did not
    # guarantee that on a loaded machine).
    code = (
        "import sys; from pathlib import Path; from playground.storage.store import ExperimentStore; "
        "print('ready', flush=True); sys.stdin.readline(); ExperimentStore(Path(sys.argv[1]))"
    )
    path = tmp_path / "fresh" / "experiments.sqlite3"
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, **pipes) for _ in range(6)]
    ready = [p.stdout.readline() if p.stdout else "" for p in procs]
    assert ready == ["ready\n"] * 6, [p.communicate(timeout=60) for p in procs]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
    for p in procs:  # written first, flushed back to back: the releases are as close together as they can be
        assert p.stdin is not None
        p.stdin.flush()
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert path.is_file()


# --- named question sets --------------------------------------------------------------------------------------


def _rows() -> list[QuestionRow]:
    returns = "You can return any product within 30 days of delivery"
    return [
        QuestionRow("How long can I return a product?", ("30 days",), (Evidence(returns),), reviewed=True),
        QuestionRow("Who is the chief executive?", ("not in the documents",), kind="unanswerable"),
        QuestionRow("Which portal books trains?"),  # no answer yet: kept, left out of evaluations
        QuestionRow(),  # a blank row the table added: not kept
    ]


def test_a_question_set_is_saved_listed_reopened_and_deleted(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    saved = store.save_question_set("  my   returns ", _rows(), corpus="fictional", corpus_hash="c0ffee")
    assert (saved.name, saved.questions, saved.row_count) == ("my returns", 2, 3)
    store.close()
    store = s.ExperimentStore(settings)  # a new process finds it
    assert store.list_question_sets() == [saved]
    rows = store.load_question_rows("my returns")
    assert [r.qid for r in rows] == ["q1", "q2", "q3"] and [r.reviewed for r in rows] == [True, False, False]
    assert rows[0].evidence == _rows()[0].evidence and rows[2].answers == ()
    found = store.load_question_set("MY RETURNS")
    assert found.name == "MY RETURNS" and [q.qid for q in found.questions] == ["q1", "q2"]
    assert found.content_hash == saved.content_hash and "row 3: no gold answer" in found.warnings[0]
    store.delete_question_set("my returns")
    assert store.list_question_sets() == []
    with pytest.raises(InputError, match="no saved question set named 'my returns'"):
        store.load_question_set("my returns")


def test_a_name_in_use_is_replaced_only_when_asked(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    first = store.save_question_set("Trips", _rows())
    with pytest.raises(InputError, match="already a saved question set named 'trips'"):
        store.save_question_set("trips", _rows()[:1])
    assert store.load_question_set("Trips").questions[0].question == "How long can I return a product?"
    second = store.save_question_set("trips", _rows()[1:2], replace=True)
    assert second.created_at == first.created_at and second.questions == 1
    assert [saved.name for saved in store.list_question_sets()] == ["trips"]


def test_an_empty_table_or_a_bad_name_is_a_clear_error_and_saves_nothing(settings: Settings) -> None:
    store = s.ExperimentStore(settings)
    with pytest.raises(InputError, match="The table is empty"):
        store.save_question_set("empty", [QuestionRow(), QuestionRow()])
    with pytest.raises(InputError, match="Give the question set a name"):
        store.save_question_set("   ", _rows())
    with pytest.raises(InputError, match="at most 80 characters"):
        store.save_question_set("x" * 81, _rows())
    with pytest.raises(InputError, match="no saved question set named 'gone'"):
        store.delete_question_set("gone")
    assert store.list_question_sets() == []


def test_a_store_from_before_question_sets_gains_them_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "experiments.sqlite3"
    old = s.ExperimentStore(path)
    run_id = _start(old)
    old.add_row(run_id, "rag", _row("q1"))
    old.db.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE question_sets")  # what a store written by an earlier version holds
    conn.commit()
    conn.close()
    store = s.ExperimentStore(path)
    assert store.load_run(run_id)["rows"]["rag"][0]["qid"] == "q1"
    store.save_question_set("after the upgrade", _rows())
    assert [saved.name for saved in store.list_question_sets()] == ["after the upgrade"]
