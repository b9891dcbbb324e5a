"""A workshop room under load, in a real headless Chromium (issue 13): ten participants join one room with the access
code, each uploads a different prompt variant and runs it on two questions with the 0.5B model, all at once.

Checked: every run finishes and is stored under its participant, with no storage error; the leaderboard shows the
ten entries, each matching its stored run; one copy of each model is loaded; the shared model served the calls
round-robin (read from the room's log, which names whose call it serves and the turn's round). Without the code,
no page content and no app state are reachable (tests/test_room_gate.py checks pages, machinery and websocket).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.core.settings import Settings
from playground.storage.store import ExperimentStore
from playground.workshop import leaderboard as lb
from playground.workshop.access import RoomCodes
from playground.workshop.room import RoomSettings, save_room

from .streamlit_server import CHROMIUM, ROOT, chromium, go_to, join_room, room_server, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PARTICIPANTS = int(os.environ.get("PLAYGROUND_LOAD_PARTICIPANTS", "10"))  # fewer while debugging the test
MODEL = "local:qwen2.5-0.5b"
CODES = RoomCodes(participant="room-load-test", facilitator="facilitate-load-test")
RUN_MS = 900_000  # 20 answers of the 0.5B model, one at a time, beside ten browser pages on two cores
SHOTS = ROOT / "docs" / "screenshots"
SERVED = re.compile(r"serving a call for (.+); waiting: (.+)$")


STYLES = ("in one word", "in at most five words", "as a short phrase", "in one short sentence", "plainly")


def _variant_file(folder: Path, n: int) -> Path:
    """A variants file with one variant whose instruction is participant `n`'s own; every second one retrieves
    (so the room shares one embedder and one index too)."""
    text = (
        "variants:\n"
        f"  - name: prompt {n:02d}\n"
        f"    model: {MODEL}\n"
        f"    use_retrieval: {str(n % 2 == 0).lower()}\n"
        f"    top_k: {2 + n % 3}\n"
        "    max_tokens: 24\n"
        f'    system_prompt: "Answer the question {STYLES[n % 5]}. Participant {n} wrote this prompt."\n'
    )
    path = folder / f"prompt-{n:02d}.yaml"
    path.write_text(text)
    return path


def _room_log_lines(log: Path) -> list[str]:
    return log.read_text(errors="replace").splitlines()


def _served(lines: list[str]) -> list[tuple[str, set[str]]]:
    """(whose call was served, who else was waiting then), in the order served."""
    found = [m for line in lines if (m := SERVED.search(line))]
    return [(m.group(1), set(m.group(2).split(", ")) - {"nobody"}) for m in found]


def _round_robin(served: list[tuple[str, set[str]]]) -> None:
    """Whoever was waiting when a party was served is served before that party is served again: nobody's second
    call went ahead of another's waiting one."""
    for i, (party, waiting) in enumerate(served):
        later = [p for p, _ in served[i + 1 :]]
        again = later.index(party) if party in later else len(later)
        skipped = waiting - {party} - set(later[:again])
        assert not skipped, f"{party} was served twice while {skipped} waited (call {i}): {served}"


@pytest.fixture
def room(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The room server with its settings written beforehand: the fictional sample, its questions, the 0.5B
    model only, at most two questions per run. Yields (url, data folder, log file)."""
    data = tmp_path / "data"
    save_room(
        Settings(data_dir=data),
        RoomSettings(room_id="loadtest", models=(MODEL,), max_questions=2),
    )
    log = tmp_path / "room.log"
    with room_server(CODES, data, log, env={"PLAYGROUND_MODEL": MODEL}) as url:
        yield url, data, log


def _join(browser: Any, url: str, name: str, code: str) -> Any:
    page = browser.new_context(viewport={"width": 1300, "height": 1100}).new_page()
    return join_room(page, url, name, code, RUN_MS)


def _start_run(page: Any, variants: Path) -> None:
    go_to(page, "Evaluate", RUN_MS)
    page.get_by_text("Upload a variants file").click()
    wait_for_run(page, RUN_MS)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(variants))
    page.get_by_text(variants.stem.replace("-", " ")).first.wait_for(timeout=RUN_MS)
    wait_for_run(page, RUN_MS)
    page.get_by_role("button", name="Run", exact=True).click()


def _finished(page: Any) -> None:
    page.get_by_role("button", name="Everything (JSON)").wait_for(timeout=RUN_MS)
    wait_for_run(page, RUN_MS)


@pytest.mark.timeout(2400)
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test`")
def test_ten_participants_evaluate_at_once_and_the_leaderboard_shows_them_all(
    room: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, data, log = room
    names = [f"Participant {n:02d}" for n in range(1, PARTICIPANTS + 1)]
    with chromium() as browser:
        pages = [_join(browser, url, name, CODES.participant) for name in names]
        for n, page in enumerate(pages, start=1):
            _start_run(page, _variant_file(tmp_path, n))
        for page in pages:
            _finished(page)
        facilitator = _join(browser, url, "Facilitator", CODES.facilitator)
        go_to(facilitator, "Leaderboard", RUN_MS)
        facilitator.get_by_text(re.compile(rf"{PARTICIPANTS} entries")).first.wait_for(timeout=60_000)
        wait_for_run(facilitator, RUN_MS)
        facilitator.locator("[data-testid='stDataFrame'] canvas").first.wait_for(timeout=60_000)
        facilitator.wait_for_timeout(1500)  # the grid draws its cells on the canvas a moment later
        # The README's screenshot is refreshed on request only; a plain test run leaves the repository as it was.
        shots = (
            SHOTS if os.environ.get("PLAYGROUND_UPDATE_SCREENSHOTS") == "1" else ROOT / "tests" / "artifacts"
        )
        shots.mkdir(parents=True, exist_ok=True)
        facilitator.screenshot(path=str(shots / "leaderboard.png"), full_page=True)

    store = ExperimentStore(data / "experiments.sqlite3")
    runs = store.list_runs()
    assert len(runs) == PARTICIPANTS and {r["status"] for r in runs} == {"complete"}, runs
    who = {store.load_run(r["id"])["meta"].get("participant") for r in runs}
    assert who == set(names), "each run is kept under its participant"

    board = lb.build_board(lb.room_runs(store, "loadtest"))
    assert sorted(e.participant for e in board.entries) == names
    for entry in board.entries:  # each entry is its participant's stored run, scored as stored
        rows = store.load_run(entry.run_id)["rows"][entry.variant]
        assert entry.questions == len(rows) == 2
        assert entry.accuracy == pytest.approx(sum(r["metrics"]["contains"] for r in rows) / len(rows))

    lines = _room_log_lines(log)
    assert not [line for line in lines if "Traceback" in line or "database is locked" in line]
    loads = [line for line in lines if ": loaded " in line]
    # One copy of each model for the whole room: the LLM and the embedder each loaded once.
    assert sum(MODEL in line for line in loads) == 1 and sum("minilm" in line for line in loads) == 1, loads
    served = _served(lines)
    assert len(served) >= 2 * PARTICIPANTS and {p for p, _ in served} == set(names), served
    assert any(waiting for _, waiting in served), "the runs overlapped: calls had to wait for their turn"
    _round_robin(served)
