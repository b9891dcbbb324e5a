"""A workshop room's page latency under load (issue 13), with the room's own server and a real headless Chromium.

1. A participant's rerun after a cheap widget change (the Evaluate page's "How many questions": no model work),
   first in an idle room, then while nine other participants' evaluations run at once on the shared 0.5B model.
2. The Leaderboard's rerun (the presenter view toggled) with ten participants' runs stored, against the same
   toggle on the same room's empty leaderboard, measured at the start of the same benchmark run.

    .venv/bin/python -m bench workshop
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Figure, machine, report, scratch_data_dir
from playground.core.settings import Settings
from playground.workshop.access import RoomCodes
from playground.workshop.room import RoomSettings, save_room
from tests.streamlit_server import chromium, go_to, join_room, room_server, wait_for_run

MODEL = "local:qwen2.5-0.5b"
PARTICIPANTS = int(os.environ.get("BENCH_WORKSHOP_PARTICIPANTS", "10"))  # the observer is the last of them
QUESTIONS = 4
REPEATS = int(os.environ.get("BENCH_WORKSHOP_REPEATS", "15"))  # fewer for a smoke run
CODES = RoomCodes(participant="room-bench-code", facilitator="facilitate-bench-code")
LONG_MS = 900_000  # a join or a run beside ten browser pages on two shared cores
STYLES = ("in one word", "in at most five words", "as a short phrase", "in one short sentence", "plainly")
LIMIT_LABEL = "How many questions"
PRESENTER = "Presenter view"
LOG_PROBLEMS = ("Traceback", "database is locked", "Exception", "ERROR")


@dataclass
class Samples:
    """Seconds per rerun, and how many other evaluations were in flight when each rerun started."""

    seconds: list[float] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)
    first_s: float = 0.0  # an untimed warm-up rerun before the samples, kept to show a slow first one
    unflipped: int = 0  # reruns the script-state attribute never showed, timed by the "finished" message

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        # Nearest rank: with 15 samples this is the slowest but one, a rerun users do meet.
        ranked = sorted(self.seconds)
        return ranked[max(0, round(0.95 * len(ranked)) - 1)]


@dataclass
class Measured:
    idle: Samples
    busy: Samples
    board_empty: Samples
    board_full: Samples
    joins_s: list[float]
    board_first_s: float
    in_flight_after: int


# --- the room ---------------------------------------------------------------------------------------------------


def variant_file(folder: Path, n: int) -> Path:
    """Participant `n`'s own prompt variant, as the load test writes it; every second one retrieves."""
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


@contextmanager
def room(folder: Path) -> Iterator[tuple[str, Path]]:
    """The room's server (`ui.workshop_app`) on settings written beforehand: the fictional sample, the 0.5B model
    only, at most QUESTIONS per run. Yields (url, log file)."""
    data = folder / "data"
    save_room(
        Settings(data_dir=data), RoomSettings(room_id="bench", models=(MODEL,), max_questions=QUESTIONS)
    )
    log = folder / "room.log"
    with room_server(CODES, data, log, env={"PLAYGROUND_MODEL": MODEL}) as url:
        yield url, log


def join(browser: Any, url: str, name: str, code: str) -> Any:
    context = browser.new_context(viewport={"width": 1300, "height": 1100})
    context.add_init_script(_HOOK)  # before the app opens its websocket
    return join_room(context.new_page(), url, name, code, LONG_MS)


def upload(page: Any, variants: Path) -> None:
    """The Evaluate page with this variants file chosen, ready to Run."""
    go_to(page, "Evaluate", LONG_MS)
    page.get_by_text("Upload a variants file").click()
    wait_for_run(page, LONG_MS)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(variants))
    page.get_by_text(variants.stem.replace("-", " ")).first.wait_for(timeout=LONG_MS)
    wait_for_run(page, LONG_MS)


def start_run(page: Any) -> None:
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=LONG_MS)


def finished(page: Any) -> None:
    page.get_by_role("button", name="Everything (JSON)").wait_for(timeout=LONG_MS)
    wait_for_run(page, LONG_MS)


def running(page: Any) -> bool:
    """Whether this page's evaluation is still going: its script runs and its results are not shown yet."""
    state = page.locator("[data-testid='stApp']").get_attribute("data-test-script-state")
    return bool(state == "running" and page.get_by_role("button", name="Everything (JSON)").count() == 0)


# --- timing a rerun ---------------------------------------------------------------------------------------------

# A rerun is timed in the page, from the input as the page receives it (a capturing pointerdown listener, not
# Playwright's click call, whose actionability checks wait for animation frames) to the moment the app's
# script-state attribute goes back to notRunning once the server has said that the whole script run finished.
# That message (ForwardMsg field 6, read off the page's websocket: status 0 a whole run, 2 one interrupted, 3 a
# fragment's run) tells our rerun's end from the leaderboard's own 5 s redraw, which flips the attribute too.
# A starved browser may handle "running" and "finished" before React draws either, so the attribute never flips:
# such a rerun ends when the message arrived, and is counted.
_HOOK = """(() => {
  const Native = window.WebSocket;
  window.__finished = [];
  const finishStatus = (b) => {  // the top-level protobuf field 6 (a varint), or null
    let i = 0;
    const varint = () => {
      let v = 0, scale = 1;
      while (i < b.length) { const x = b[i++]; v += (x & 127) * scale; scale *= 128; if (x < 128) break; }
      return v;
    };
    while (i < b.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag % 8;
      if (field === 6 && wire === 0) return varint();
      if (wire === 0) varint();
      else if (wire === 2) { const length = varint(); i += length; }  // not `i += varint()`: i is read first
      else if (wire === 1) i += 8; else if (wire === 5) i += 4; else return null;
    }
    return null;
  };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (!(e.data instanceof ArrayBuffer)) return;
        const status = finishStatus(new Uint8Array(e.data));
        if (status !== null) window.__finished.push([performance.now(), status]);
      });
    }
  };
})();"""
_WATCH = """() => {
  if (window.__watch) return;
  const app = document.querySelector("[data-testid='stApp']");
  const w = window.__watch = {inputAt: null, events: [], state: () => app.getAttribute('data-test-script-state')};
  document.addEventListener('pointerdown', () => { if (w.inputAt === null) w.inputAt = performance.now(); }, true);
  new MutationObserver(() => w.events.push([performance.now(), w.state()]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
_RESET = "() => { const w = window.__watch; w.inputAt = null; w.events = []; window.__finished = []; }"
# [milliseconds, whether the attribute flipped], or false while the rerun goes on.
_DONE_MS = """() => {
  const w = window.__watch;
  if (w.inputAt === null) return false;
  const whole = window.__finished.find(([t, status]) => t >= w.inputAt && status <= 1);
  if (!whole) return false;
  const shown = w.events.find(([t, state]) => t >= whole[0] && state === 'notRunning');
  if (shown) return [shown[0] - w.inputAt, true];
  return w.state() === 'notRunning' && [whole[0] - w.inputAt, false];
}"""
_SHOW = "() => JSON.stringify({watch: window.__watch, finished: window.__finished})"
SAMPLE_MS = 300_000  # one rerun, however busy the room; past it the bench stops and shows what the page saw


def rerun_seconds(page: Any, act: Callable[[], None]) -> tuple[float, bool]:
    """Seconds from the input `act()` makes to the end of the rerun it starts, and whether the page's
    script-state attribute showed the rerun (else the server's "finished" message timed it)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate(_RESET)
    act()
    try:
        ms, flipped = page.wait_for_function(_DONE_MS, polling=20, timeout=SAMPLE_MS).json_value()
    except PlaywrightTimeout as e:
        raise TimeoutError(f"a rerun did not end in {SAMPLE_MS / 1000:.0f} s: {page.evaluate(_SHOW)}") from e
    return float(ms) / 1000, bool(flipped)


def rerun_samples(
    page: Any, act: Callable[[], None], check: Callable[[], None], others: list[Any] | None = None
) -> Samples:
    """REPEATS reruns of `act()` after one warm-up, each checked by `check()` after it is timed; with `others`,
    how many of their evaluations were in flight as each rerun started."""
    page.evaluate(_WATCH)
    found = Samples(first_s=rerun_seconds(page, act)[0])
    check()
    settled(page)
    for _ in range(REPEATS):
        if others is not None:
            found.in_flight.append(sum(running(p) for p in others))
        seconds, flipped = rerun_seconds(page, act)
        found.seconds.append(seconds)
        found.unflipped += not flipped
        check()
        settled(page)
    return found


def settled(page: Any) -> None:
    """Wait out a redraw that followed the rerun (the leaderboard's own), so the next input starts from rest."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=LONG_MS)


def step_limit(page: Any) -> tuple[Callable[[], None], Callable[[], None]]:
    """The observer's widget: "How many questions" stepped between QUESTIONS - 1 and QUESTIONS, from wherever
    the last series left it."""
    box = page.get_by_test_id("stNumberInput").filter(has_text=LIMIT_LABEL)
    limit = box.get_by_test_id("stNumberInputField")
    expected = [""]

    def act() -> None:
        down = limit.input_value() == str(QUESTIONS)
        expected[0] = str(QUESTIONS - 1 if down else QUESTIONS)
        box.get_by_test_id("stNumberInputStepDown" if down else "stNumberInputStepUp").click()

    def check() -> None:
        assert limit.input_value() == expected[0], f"the limit reads {limit.input_value()}, not {expected[0]}"

    return act, check


def toggle_presenter(page: Any, entries: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """The Leaderboard's presenter view, flipped; when on, a full board shows its leader in large type."""
    was_on = [False]

    def is_on() -> bool:
        return "present=1" in page.url  # the address follows the toggle

    def act() -> None:
        was_on[0] = is_on()
        page.get_by_text(PRESENTER, exact=True).click()

    def check() -> None:
        assert is_on() != was_on[0], "the presenter view did not change"
        if entries:  # the browser may draw it a moment after the script has finished
            big = page.get_by_text(f"#1 of {entries}").first
            big.wait_for(state="visible" if is_on() else "hidden", timeout=60_000)

    return act, check


# --- the phases -------------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[workshop bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def leaderboard_reruns(browser: Any, url: str, entries: int) -> tuple[Samples, float]:
    """A facilitator's presenter-view reruns on the Leaderboard showing `entries` entries (0: the empty board);
    also the seconds its first render took. The facilitator leaves after, so its 5 s redraw adds no load."""
    page = join(browser, url, "Facilitator", CODES.facilitator)
    started = time.perf_counter()
    go_to(page, "Leaderboard", LONG_MS)
    shown = f"{entries} entries" if entries else "No complete runs yet"
    page.get_by_text(shown).first.wait_for(timeout=LONG_MS)
    wait_for_run(page, LONG_MS)
    first = time.perf_counter() - started
    found = rerun_samples(page, *toggle_presenter(page, entries))
    page.context.close()
    return found, first


def joined_and_ready(browser: Any, url: str, folder: Path, numbers: range) -> tuple[list[Any], list[float]]:
    """Participants `numbers` in the room, each on the Evaluate page with its own variant chosen; and the seconds
    each join took."""
    pages, seconds = [], []
    for n in numbers:
        started = time.perf_counter()
        page = join(browser, url, f"Participant {n:02d}", CODES.participant)
        seconds.append(time.perf_counter() - started)
        upload(page, variant_file(folder, n))
        pages.append(page)
    return pages, seconds


def busy_reruns(observer: Any, others: list[Any]) -> tuple[Samples, int]:
    """The observer's reruns while every other participant's evaluation runs (each started and seen running
    first); and how many were still running once the last rerun was timed."""
    for page in others:
        start_run(page)
    found = rerun_samples(observer, *step_limit(observer), others=others)
    return found, sum(running(p) for p in others)


def measure(browser: Any, url: str, folder: Path) -> Measured:
    say("facilitator: the empty leaderboard")
    board_empty, _ = leaderboard_reruns(browser, url, 0)
    say("observer: its own run (loads the model, the embedder and the index)")
    [observer], [observer_join] = joined_and_ready(
        browser, url, folder, range(PARTICIPANTS, PARTICIPANTS + 1)
    )
    start_run(observer)
    finished(observer)
    say(f"{PARTICIPANTS - 1} more participants join and choose their variants")
    others, joins = joined_and_ready(browser, url, folder, range(1, PARTICIPANTS))
    say("observer: reruns in the idle room")
    idle = rerun_samples(observer, *step_limit(observer))
    say(f"observer: reruns while {len(others)} evaluations run")
    busy, in_flight_after = busy_reruns(observer, others)
    say("waiting for every run to finish")
    for page in others:
        finished(page)
    say(f"facilitator: the leaderboard with {PARTICIPANTS} entries")
    board_full, board_first = leaderboard_reruns(browser, url, PARTICIPANTS)
    return Measured(
        idle, busy, board_empty, board_full, [observer_join, *joins], board_first, in_flight_after
    )


# --- reporting --------------------------------------------------------------------------------------------------


def log_problems(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if any(word in line for word in LOG_PROBLEMS)]


def load_note(m: Measured) -> str:
    going = m.busy.in_flight
    return (
        f"busy: {len(going)} reruns while {min(going)}-{max(going)} of {PARTICIPANTS - 1} other participants' "
        f"evaluations ({QUESTIONS} questions each, {MODEL}, max_tokens 24, one shared model serving calls in "
        f"turn) were in flight (median {statistics.median(going)}); {m.in_flight_after} still running after the "
        f"last rerun; {PARTICIPANTS} browser pages and the room's server on {machine()}, shared with other work"
    )


def figures(m: Measured) -> list[Figure]:
    """Names fit common.report's 48-character column; the notes say what the baseline is."""
    observer = "Evaluate page rerun, busy room"
    board = f"Leaderboard rerun, {PARTICIPANTS} runs stored"
    idle, empty = "baseline: the same rerun, idle room", "baseline: the same toggle, empty board"
    return [
        Figure(f"{observer}: median, s", m.busy.median, m.idle.median, "s", idle),
        Figure(f"{observer}: p95, s", m.busy.p95, m.idle.p95, "s", idle),
        Figure(f"{board}: median, s", m.board_full.median, m.board_empty.median, "s", empty),
        Figure(f"{board}: p95, s", m.board_full.p95, m.board_empty.p95, "s", empty),
    ]


def details(m: Measured, problems: list[str]) -> dict[str, Any]:
    def rounded(values: list[float]) -> list[float]:
        return [round(v, 3) for v in values]

    return {
        "repeats": REPEATS,
        "participants": PARTICIPANTS,
        "questions_per_run": QUESTIONS,
        "model": MODEL,
        "load": load_note(m),
        "busy_in_flight_per_rerun": m.busy.in_flight,
        "still_running_after_busy": m.in_flight_after,
        "baselines": f"observer: the same widget in the same room before the other runs started, all "
        f"{PARTICIPANTS} participants joined and idle; leaderboard: the same toggle (presenter view) on the same "
        "room's empty board, measured first",
        "timing": "from the input (pointerdown) to the script-state attribute back at notRunning after the "
        f"server's 'script finished' message; {REPEATS} reruns after one warm-up each; p95 is the nearest rank",
        "samples_s": {
            "observer_idle": rounded(m.idle.seconds),
            "observer_busy": rounded(m.busy.seconds),
            "leaderboard_empty": rounded(m.board_empty.seconds),
            "leaderboard_full": rounded(m.board_full.seconds),
        },
        "timed_by_finished_message": {
            "observer_idle": m.idle.unflipped,
            "observer_busy": m.busy.unflipped,
            "leaderboard_empty": m.board_empty.unflipped,
            "leaderboard_full": m.board_full.unflipped,
        },
        "warm_up_rerun_s": {
            "observer_idle": round(m.idle.first_s, 3),
            "observer_busy": round(m.busy.first_s, 3),
            "leaderboard_empty": round(m.board_empty.first_s, 3),
            "leaderboard_full": round(m.board_full.first_s, 3),
        },
        "join_s": rounded(m.joins_s),
        "leaderboard_first_render_s": round(m.board_first_s, 3),
        "room_log_problems": problems[:20],
    }


def main() -> None:
    folder = scratch_data_dir()
    with room(folder) as (url, log), chromium() as browser:
        say(f"the room's log: {log}")
        measured = measure(browser, url, folder)
    problems = log_problems(log)
    report("Workshop", figures(measured))
    print(load_note(measured))
    print(f"room log: {len(problems)} problem line(s){': ' + problems[0] if problems else ''}")
    out = RESULTS / "workshop.json"
    out.write_text(json.dumps(json.loads(out.read_text()) | details(measured, problems), indent=1))


if __name__ == "__main__":
    main()
