"""The HTML report in a real headless Chromium, opened from disk with the network off: every plotly chart
renders, nothing is logged as an error, and planted script in an answer and a chunk shows as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from playground.core.settings import Settings
from playground.ingest.questions import parse_questions
from playground.reporting import export
from tests.streamlit_server import CHROMIUM, chromium
from tests.test_export import PAYLOAD, PROMPT_VARIANTS, QUESTIONS_BYTES, _plant, _run

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test`")
def test_the_report_renders_its_charts_offline_in_chromium(tmp_path: Path, settings: Settings) -> None:
    questions = parse_questions("small.jsonl", QUESTIONS_BYTES)
    report = tmp_path / "report.html"
    report.write_text(export.html_report(_plant(_run(PROMPT_VARIANTS, None, questions, settings))), "utf-8")
    problems: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 1400})
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: problems.append(str(err)))
        page.on("dialog", lambda dialog: _refuse(dialog, problems))
        page.on("request", lambda req: problems.append(req.url) if not req.url.startswith("file:") else None)
        page.goto(report.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5")
        assert page.locator(".js-plotly-plot").count() == 5
        assert page.get_by_text(f"chunk {PAYLOAD}").count() == 1, "the planted script shows as text"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"))
    assert problems == []


def _refuse(dialog: Any, problems: list[str]) -> None:
    problems.append(f"dialog: {dialog.message}")
    dialog.dismiss()
