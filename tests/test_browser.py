"""The app in a real headless Chromium: upload a file, build the index, compare two variants on the RAG lab, run a
small evaluation, and save screenshots in tests/artifacts/ (docs/screenshots/ come from test_newcomer_browser.py).

Runs the real local stack (embedder, chromadb, llama.cpp with the 0.5B model).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import FAST_LOCAL_MODEL, FICTIONAL_DOCS
from .streamlit_server import CHROMIUM, chromium, go_to, streamlit_app, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).parent / "artifacts"
QUESTIONS = (
    '{"id": "b1", "question": "How many days do customers have to return a product?", "answers": ["30 days"], '
    '"evidence": ["You can return any product within 30 days of delivery"]}\n'
    '{"id": "b2", "question": "What format does a return code have?", "answers": ["RMA-2024-00000"], '
    '"evidence": ["You will receive a return code in the format RMA-2024-00000"]}\n'
)


def _shot(page, name: str, anchor: str | None = None) -> None:
    """Screenshot the viewport, scrolled so that `anchor` (a text) is at the top."""
    ARTIFACTS.mkdir(exist_ok=True)
    if anchor:
        page.get_by_text(anchor, exact=True).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"sample-{name}.png"))


def _go(page, label: str) -> None:
    go_to(page, label)


@pytest.fixture
def upload_files(tmp_path: Path) -> list[Path]:
    files = [
        FICTIONAL_DOCS / "policies" / "returns-and-refunds.md",
        FICTIONAL_DOCS / "policies" / "travel.md",
    ]
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    return [*files, empty]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test`")
def test_upload_index_rag_lab_and_evaluate_in_a_real_browser(tmp_path, upload_files):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(QUESTIONS)
    env = {"PLAYGROUND_DATA_DIR": str(tmp_path / "data"), "PLAYGROUND_MODEL": FAST_LOCAL_MODEL}
    with streamlit_app(env=env, log=tmp_path / "streamlit.log") as (url, _proc, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.goto(url)
        wait_for_run(page)
        assert page.get_by_text("The optimisation map").is_visible()

        _go(page, "Corpus")
        page.get_by_text("Upload my own files").click()
        wait_for_run(page)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(
            [str(p) for p in upload_files]
        )
        page.get_by_text("Your upload (3 files)").first.wait_for(timeout=60_000)  # page and sidebar
        wait_for_run(page)
        assert page.get_by_text("empty.txt").first.is_visible(), "the bad file is named"
        page.get_by_role("button", name="Build the index").click()
        page.get_by_text("Index ready").wait_for(timeout=180_000)
        _shot(page, "corpus")

        _go(page, "RAG lab")
        page.get_by_label("Your question", exact=True).and_(page.locator("input")).fill(
            "How many days do customers have to return a product?"
        )
        page.keyboard.press("Enter")
        wait_for_run(page)
        page.get_by_role("button", name="Ask every variant").click()
        page.get_by_text("Exact prompt sent").first.wait_for(timeout=300_000)
        wait_for_run(page, timeout_ms=300_000)
        assert page.get_by_text("Retrieval on").first.is_visible()
        assert page.get_by_text("30 days").first.is_visible(), (
            "the RAG variant's answer or chunk shows the fact"
        )
        _shot(page, "rag_lab", anchor="Variant 1")
        page.get_by_role("button", name="Use these variants on the Evaluate page").click()
        wait_for_run(page)

        _go(page, "Evaluate")
        page.get_by_text("Upload a question file", exact=True).click()
        wait_for_run(page)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(questions))
        page.get_by_text("2 of 2 questions").wait_for(timeout=60_000)
        wait_for_run(page)
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_role("button", name="Everything (JSON)").wait_for(timeout=400_000)
        wait_for_run(page, timeout_ms=400_000)
        summary = page.locator("[data-testid='stDataFrame']").first
        assert summary.is_visible()
        assert (
            page.get_by_text("no retrieval").first.is_visible()
            and page.get_by_text("top-4").first.is_visible()
        )
        _shot(page, "evaluate", anchor="4 · Results")
        assert "Traceback" not in page.content()
