"""The first ten minutes of a facilitator with their own documents (issue 15), in a real headless Chromium.

Four short plain-text articles the project has never seen (tests/data/newcomer/), the 0.5B model chosen on
Settings, then the Prompt lab, the RAG lab with a re-ranked column, the Evaluate page and the History, checking
what tripped a new user: the sidebar names the chosen model, corpus and question set right after each change; no
sample question set is offered ready-made for an upload; no icon is an emoji (an empty box without an emoji
font) and the first sidebar entry is Home; every column of the results tables is visible; a time estimate is shown
before each model run. Saves the screenshots of docs/screenshots/ (with PLAYGROUND_UPDATE_SCREENSHOTS=1).

Runs the real local stack (embedder, chromadb, llama.cpp with the 0.5B model), on one or two answers per page.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from ui.widgets import PAGES

from .streamlit_server import CHROMIUM, chromium, go_to, streamlit_app, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTICLES = Path(__file__).parent / "data" / "newcomer"
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
QUESTIONS = (
    '{"id": "n1", "question": "How long was the insert cloned into the plasmid pTA-7?", '
    '"answers": ["544 base pairs"], "evidence": ["the cloned insert measured 544 base pairs"]}\n'
    '{"id": "n2", "question": "What lateral natural frequency did engineers measure on the Orrin Quay '
    'footbridge?", "answers": ["0.9 hertz"], "evidence": ["Engineers measured a lateral natural frequency of '
    '0.9 hertz"]}\n'
)
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")
LONG_RUN_MS = 400_000


def _shot(page: Any, name: str, anchor: str | None = None) -> None:
    """Screenshot the viewport, scrolled so that `anchor` (a text) is at the top."""
    ARTIFACTS.mkdir(exist_ok=True)
    if anchor:
        page.get_by_text(anchor, exact=True).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if os.environ.get("PLAYGROUND_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")


def _sidebar(page: Any) -> str:
    return str(page.locator("[data-testid='stSidebar']").inner_text())


def _no_emoji(page: Any) -> None:
    """No text on the page, icons included, is an emoji (Material icons are ligature names, not emoji)."""
    shown = page.locator("body").inner_text()
    assert not EMOJI.findall(shown), f"emoji on the page: {set(EMOJI.findall(shown))}"
    assert "Traceback" not in page.content()


def _choose(page: Any, label: str, option: str | re.Pattern[str]) -> None:
    """Pick an option of the select box labelled `label`."""
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option", name=option).first.click()
    wait_for_run(page)


def _slide_to_left(page: Any, label: str, steps: int, nth: int = 0) -> None:
    """Move a slider down by `steps` with the keyboard."""
    thumb = page.locator("[data-testid='stSlider']").filter(has_text=label).nth(nth).get_by_role("slider")
    thumb.focus()
    for _ in range(steps):
        thumb.press("ArrowLeft")
    wait_for_run(page)


_WIDTHS_AFTER = """([els, heading]) => {
  const start = [...document.querySelectorAll('h1, h2, h3')].find(h => h.textContent.includes(heading));
  return els.filter(e => start && start.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING)
    .map(e => [e.scrollWidth, e.clientWidth]);
}"""


def _tables_fit(page: Any, heading: str) -> list[tuple[int, int]]:
    """(scroll width, visible width) of every table's grid below `heading`; equal when no column is cut off."""
    grids = page.locator("[data-testid='stDataFrame'] .dvn-scroller")
    return grids.evaluate_all(f"els => ({_WIDTHS_AFTER})([els, {heading!r}])")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test`")
def test_a_facilitator_with_their_own_articles_in_a_real_browser(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(QUESTIONS)
    env = {"PLAYGROUND_DATA_DIR": str(tmp_path / "data"), "PLAYGROUND_MODEL": ""}
    with streamlit_app(env=env, log=tmp_path / "streamlit.log") as (url, _proc, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.goto(url)
        wait_for_run(page)
        links = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']")
        assert links.first.inner_text().strip().endswith("Home") and links.count() == len(PAGES)
        assert "stSidebarNav" not in page.content(), "Streamlit's own page list (with 'app') is hidden"
        _no_emoji(page)
        _shot(page, "home")

        # Settings: the faster model; the sidebar names it after this very change.
        go_to(page, "Settings")
        _choose(page, "Local model", re.compile("0.5B"))
        assert "0.5B" in _sidebar(page)
        _no_emoji(page)

        # Corpus: four articles the project has never seen.
        go_to(page, "Corpus")
        page.get_by_text("Upload my own files").click()
        wait_for_run(page)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(
            sorted(str(p) for p in ARTICLES.glob("*.txt"))
        )
        page.get_by_text("Your upload (4 files)").first.wait_for(timeout=60_000)
        wait_for_run(page)
        status = _sidebar(page)
        assert "Your upload (4 files)" in status and "no question set yet" in status
        assert "Tansywick" not in status
        page.get_by_role("button", name="Build the index").click()
        page.get_by_text("Index ready").wait_for(timeout=180_000)
        _no_emoji(page)
        _shot(page, "corpus")

        # Prompt lab: two prompt-only variants; the time each takes is said before asking.
        go_to(page, "Prompt lab")
        _slide_to_left(page, "Variants side by side", 1)
        page.get_by_label("Your question", exact=True).and_(page.locator("input")).fill(
            "How long was the insert cloned into the plasmid pTA-7?"
        )
        page.keyboard.press("Enter")
        wait_for_run(page)
        assert page.get_by_text("Estimated time:").count() == 2
        page.get_by_role("button", name="Ask every variant").click()
        page.get_by_text("Exact prompt sent").nth(1).wait_for(timeout=LONG_RUN_MS)
        wait_for_run(page, timeout_ms=LONG_RUN_MS)
        assert "organisation" not in page.content()  # starter prompts written for any documents
        _no_emoji(page)
        _shot(page, "prompt_lab", anchor="Variant 1")

        # RAG lab: the second column re-ranks (3 candidates, top 2); its estimate says so before asking.
        go_to(page, "RAG lab")
        page.get_by_label("Your question", exact=True).and_(page.locator("input")).fill(
            "How long was the insert cloned into the plasmid pTA-7?"
        )
        page.keyboard.press("Enter")
        wait_for_run(page)
        page.get_by_text("Chunking and techniques (HyDE, re-ranking, …)").nth(1).click()
        page.get_by_text("Re-rank the pieces with the model").nth(1).click()
        wait_for_run(page)
        candidates = page.get_by_label("Candidates to re-rank").and_(page.locator("input")).nth(1)
        candidates.fill("3")
        candidates.press("Enter")
        wait_for_run(page)
        _slide_to_left(page, "Pieces to retrieve (top-k)", 2, nth=1)
        assert page.get_by_text("re-ranking asks the model about each of the 3 candidates").is_visible()
        page.get_by_role("button", name="Ask every variant").click()
        page.get_by_text("Exact prompt sent").nth(1).wait_for(timeout=LONG_RUN_MS)
        wait_for_run(page, timeout_ms=LONG_RUN_MS)
        assert page.get_by_text("relevance (re-ranker)").first.is_visible()
        assert page.get_by_text("on different scales", exact=False).first.is_visible()
        _no_emoji(page)
        _shot(page, "rag_lab", anchor="Variant 1")
        page.get_by_role("button", name="Use these variants on the Evaluate page").click()
        wait_for_run(page)

        # Evaluate: nothing pre-selected for an upload, Run waits with a sentence saying what to do.
        go_to(page, "Evaluate")
        assert page.get_by_text("Your documents need questions about them").is_visible()
        assert page.get_by_role("button", name="Run", exact=True).is_disabled()
        question_sets = page.locator("[data-testid='stRadio']").filter(has_text="Sample questions")
        assert question_sets.locator("input:checked").count() == 0, "no sample set is chosen for an upload"
        page.get_by_text("Upload a question file", exact=True).click()
        wait_for_run(page)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(questions))
        page.get_by_text("2 of 2 questions").wait_for(timeout=60_000)
        wait_for_run(page)
        assert "Uploaded: questions.jsonl" in _sidebar(page)
        limit = page.get_by_label("How many questions").and_(page.locator("input"))
        limit.fill("1")
        limit.press("Enter")
        page.get_by_text("1 of 2 questions").wait_for(timeout=60_000)
        wait_for_run(page)
        assert page.get_by_text("Estimated time:").first.is_visible()  # before the run
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_role("button", name="Everything (JSON)").wait_for(timeout=LONG_RUN_MS)
        wait_for_run(page, timeout_ms=LONG_RUN_MS)
        fits = _tables_fit(page, "4 · Results")
        assert len(fits) >= 3 and all(scroll <= visible + 1 for scroll, visible in fits), fits
        assert page.get_by_text("Score the answers by").is_visible()  # the chart's metric is chosen here
        _no_emoji(page)
        _shot(page, "evaluate", anchor="4 · Results")

        # History: the run is saved, with the same readable tables.
        go_to(page, "History")
        page.get_by_text("1 · Saved runs").wait_for(timeout=60_000)
        fits = _tables_fit(page, "2 · Open a run")
        assert len(fits) >= 3 and all(scroll <= visible + 1 for scroll, visible in fits), fits
        _no_emoji(page)
        _shot(page, "history", anchor="2 · Open a run")
