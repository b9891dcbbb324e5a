"""App responsiveness in a real headless Chromium: first paint after `streamlit run`, and the rerun after a widget
change once models are loaded. Each figure is a ratio against a one-widget hello-world app measured the same way."""

from __future__ import annotations

import statistics
import tempfile
import time

from bench.common import Figure, report
from tests.streamlit_server import chromium, streamlit_app, wait_for_run

REPEATS = 5


def _first_paint(browser, script: str, env: dict[str, str]) -> tuple[float, object]:
    """Seconds from launching `streamlit run` until the page is rendered and its script has finished."""
    started = time.perf_counter()
    ctx = streamlit_app(script, env=env)
    url, _proc, _ = ctx.__enter__()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    wait_for_run(page)
    return time.perf_counter() - started, (ctx, page)


_WATCH_RUNS = """() => {
  window.__runs = [];
  const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => window.__runs.push([performance.now(), app.getAttribute('data-test-script-state')]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
_FINISHED_AFTER = "t0 => window.__runs.some(r => r[0] > t0 && r[1] === 'notRunning')"
_FINISH_TIME = "t0 => window.__runs.find(r => r[0] > t0 && r[1] === 'notRunning')[0]"


def _rerun_time(page, act) -> float:
    """Median seconds from a widget change to the end of the rerun it causes, timed by the browser's own clock
    (a MutationObserver on the app's script state), so polling does not blur a sub-second figure."""
    page.evaluate(_WATCH_RUNS)
    samples = []
    for i in range(REPEATS):
        t0 = page.evaluate("performance.now()")
        act(i)
        page.wait_for_function(_FINISHED_AFTER, arg=t0, timeout=120_000)
        samples.append((page.evaluate(_FINISH_TIME, t0) - t0) / 1000)
        wait_for_run(page)
    return statistics.median(samples)


_WATCH_TEXT = """marker => {
  window.__seen = null;
  const seen = () => window.__seen === null && document.body.innerText.includes(marker);
  new MutationObserver(() => { if (seen()) window.__seen = performance.now(); })
    .observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _hello_rerun_time(page) -> float:
    """The same figure for the hello-world app, timed until its run counter shows the new run."""
    samples = []
    for run in range(2, REPEATS + 2):
        page.evaluate(_WATCH_TEXT, f"runs: {run}")
        t0 = page.evaluate("performance.now()")
        page.get_by_text("a widget").click()
        page.wait_for_function("() => window.__seen !== null", timeout=120_000)
        samples.append((page.evaluate("window.__seen") - t0) / 1000)
    return statistics.median(samples)


def _go(page, label: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text=label).first.click()
    wait_for_run(page, timeout_ms=300_000)


def main() -> None:
    env = {
        "PLAYGROUND_DATA_DIR": tempfile.mkdtemp(prefix="playground-bench-app-"),
        "PLAYGROUND_MODEL": "local:qwen2.5-0.5b",
    }
    with chromium() as browser:
        hello_paint, (hello_ctx, hello) = _first_paint(browser, "bench/hello_app.py", {})
        hello_rerun = _hello_rerun_time(hello)
        hello_ctx.__exit__(None, None, None)

        app_paint, (app_ctx, page) = _first_paint(browser, "app.py", env)
        _go(page, "RAG lab")
        page.get_by_role("button", name="Ask every variant").click()  # loads the embedder, index and model
        page.get_by_text("Exact prompt sent").first.wait_for(timeout=600_000)
        wait_for_run(page, timeout_ms=600_000)
        slider_toggle = page.get_by_text("Look things up in the documents (RAG)").first
        app_rerun = _rerun_time(page, lambda i: slider_toggle.click())
        _go(page, "Corpus")
        step_up = page.locator(
            "[data-testid='stNumberInputStepUp']"
        ).first  # chunk size: re-chunks the corpus
        corpus_rerun = _rerun_time(page, lambda i: step_up.click())
        app_ctx.__exit__(None, None, None)
    report(
        "App",
        [
            Figure(
                "first page interactive after `streamlit run`, s",
                app_paint,
                hello_paint,
                "s",
                "baseline = hello-world app; target < 3 s",
            ),
            Figure(
                "rerun after a widget change (RAG lab, models loaded), s",
                app_rerun,
                hello_rerun,
                "s",
                "baseline = hello-world rerun; target < 0.3 s",
            ),
            Figure(
                "rerun after a chunk-size change (Corpus page), s",
                corpus_rerun,
                hello_rerun,
                "s",
                "re-chunks the whole sample corpus",
            ),
        ],
    )


if __name__ == "__main__":
    main()
