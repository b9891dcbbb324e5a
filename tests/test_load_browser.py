"""Several people on one app at once: three Chromium sessions run evaluations on the same `streamlit run` at the
same time, on the real local stack.

Each must see its own results (its own question file), the shared caches must stay consistent (one row per
distinct prompt, an intact SQLite file, every run complete in the store), nothing may deadlock (each run
finishes within its timeout), and the server must hold one copy of the model however many sessions use it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from .conftest import FAST_LOCAL_MODEL, FICTIONAL_QUESTIONS
from .streamlit_server import CHROMIUM, chromium, streamlit_app, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SESSIONS = 3
RUN_TIMEOUT_MS = 600_000


def _question_files(tmp_path: Path) -> list[Path]:
    """One file per session: a question every session asks, and one only this session asks."""
    questions = [json.loads(line) for line in FICTIONAL_QUESTIONS.read_text().splitlines() if line.strip()]
    shared, own = questions[0], questions[1 : 1 + SESSIONS]
    files = []
    for i, question in enumerate(own):
        path = tmp_path / f"questions-session-{i}.jsonl"
        path.write_text("".join(json.dumps(q) + "\n" for q in (shared, question)))
        files.append(path)
    return files


def _open_evaluate(page, url: str, questions: Path) -> None:
    page.goto(f"{url}/Evaluate")
    wait_for_run(page)
    page.get_by_text("Upload a question file").click()
    wait_for_run(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(questions))
    page.get_by_text("2 of 2 questions").wait_for(timeout=60_000)
    wait_for_run(page)


def _gguf_mappings(pid: int) -> dict[str, int]:
    """Model file -> how many times the server process has it mapped (llama.cpp maps a model once per load)."""
    counts: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        if line.endswith(".gguf"):
            name = line.split()[-1]
            counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test`")
def test_three_sessions_evaluate_at_once_each_with_its_own_results(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"PLAYGROUND_DATA_DIR": str(data), "PLAYGROUND_MODEL": FAST_LOCAL_MODEL}
    files = _question_files(tmp_path)
    with streamlit_app(env=env, log=tmp_path / "streamlit.log") as (url, proc, _), chromium() as browser:
        pages = [browser.new_context().new_page() for _ in files]
        for page, questions in zip(pages, files, strict=True):
            _open_evaluate(page, url, questions)
        for page in pages:  # every session starts before any finishes
            page.get_by_role("button", name="Run", exact=True).click()
        for page, questions in zip(pages, files, strict=True):
            page.get_by_role("button", name="Everything (JSON)").wait_for(timeout=RUN_TIMEOUT_MS)
            wait_for_run(page, timeout_ms=RUN_TIMEOUT_MS)
            alerts = page.locator("[data-testid='stAlertContainer']").all_inner_texts()
            assert not any("Cannot" in a or "held too long" in a for a in alerts), alerts
            header = page.get_by_text(re.compile(r"^Run of .* answers$")).first.inner_text()
            assert questions.stem in header, f"the session shows its own run: {header}"
            assert not any(other.stem in header for other in files if other != questions)
            assert "Traceback" not in page.content()
        mapped = _gguf_mappings(proc.pid)
    assert mapped and all(n == 1 for n in mapped.values()), f"one copy of each model: {mapped}"
    _assert_consistent(data, answers_per_run=len(files[0].read_text().splitlines()))


def _assert_consistent(data: Path, answers_per_run: int) -> None:
    with sqlite3.connect(data / "experiments.sqlite3") as store:
        runs = store.execute("SELECT id, status FROM runs").fetchall()
        assert len(runs) == SESSIONS and {status for _, status in runs} == {"complete"}
        per_run = store.execute("SELECT run_id, COUNT(DISTINCT qid) FROM run_rows GROUP BY run_id").fetchall()
        assert [n for _, n in per_run] == [answers_per_run] * SESSIONS
        assert store.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        variants = len(json.loads(store.execute("SELECT configs FROM runs").fetchone()[0]))
    with sqlite3.connect(data / "cache" / "cache.sqlite3") as cache:
        assert cache.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        answers = cache.execute("SELECT COUNT(*) FROM llm").fetchone()[0]
    distinct_questions = 1 + SESSIONS  # the shared one and one of each session's own
    assert answers <= variants * distinct_questions, "the shared question is cached once per prompt"
