"""The History page through AppTest: saved runs listed, one opened with its views, comparisons with a verdict,
runs cut off shown as incomplete, downloads, deletion, and a shared bundle replayed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground.core.settings import Settings
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import parse_questions
from playground.reporting import export
from playground.retrieval.index import forget_loaded_indexes
from playground.storage.store import ExperimentStore
from tests.conftest import ROOT
from tests.test_app_pages import texts
from tests.test_export import PROMPT_VARIANTS, QUESTIONS_BYTES, _fake
from ui.widgets import plain

PAGE = "pages/7_History.py"
Open = Callable[[], AppTest]


def _save_run(settings: Settings, limit: int | None = None) -> int:
    questions = parse_questions("small.jsonl", QUESTIONS_BYTES).subset(limit)
    store = ExperimentStore(settings)
    options = RunOptions(store=store)
    run = run_evaluation(PROMPT_VARIANTS, None, questions, settings, llm=_fake(), options=options)
    store.close()
    assert run.run_id is not None
    return run.run_id


def _clear() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()
    forget_loaded_indexes()


@pytest.fixture
def open_page(settings: Settings) -> Iterator[Open]:
    _clear()

    def open_it() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        return ok(at.switch_page(PAGE).run())

    yield open_it
    _clear()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_an_empty_store_says_how_to_fill_it(open_page: Open) -> None:
    at = open_page()
    assert "No saved runs yet" in texts(at)


def test_a_saved_run_opens_with_its_views_and_a_comparison_verdict(
    open_page: Open, settings: Settings
) -> None:
    run_id = _save_run(settings)
    at = open_page()
    listed = at.dataframe[0].value
    assert list(listed["run"]) == [run_id] and list(listed["status"]) == ["complete"]
    assert list(listed["answers saved"]) == [8]
    summary = at.dataframe[1].value
    assert list(summary["variant"]) == ["plain", "short form"] and set(summary["answers"]) == {4.0}
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Accuracy" in s for s in specs) and any("Optimisation journey" in s for s in specs)
    shown = texts(at)
    assert "Not enough questions to tell plain and short form apart" in shown  # 4 questions cannot settle it
    assert "questions answered by both" in shown
    assert {m.label for m in at.metric} >= {"B better", "A better", "Same score", "Difference (B − A)"}
    labels = {b.proto.label for b in at.get("download_button")}
    assert labels == {
        "Summary (CSV)",
        "Every answer (CSV)",
        "Everything (JSON)",
        "Report (HTML)",
        "Variants (YAML)",
        "Replay bundle (zip)",
    }
    assert [t.label for t in at.tabs] == ["plain", "short form"]


def test_two_runs_are_compared_variant_by_variant(open_page: Open, settings: Settings) -> None:
    first, second = _save_run(settings, limit=3), _save_run(settings)
    at = open_page()
    assert at.selectbox(key="hi_run").value == second
    ok(at.selectbox(key="hi_cmp_run_A").set_value(first).run())
    ok(at.selectbox(key="hi_cmp_variant_B").set_value("plain").run())
    shown = texts(at)
    assert plain(f"A = plain (run #{first}) · B = plain (run #{second})") in shown
    assert "scored the same on all 3 questions" in shown  # only the questions both runs answered are paired
    assert "3 questions answered by both" in shown


def test_a_run_whose_process_died_is_shown_as_incomplete(open_page: Open, settings: Settings) -> None:
    run_id = _save_run(settings)
    store = ExperimentStore(settings)
    with store.db.transaction() as conn:  # as if written by a process that was killed mid-run
        conn.execute(
            "UPDATE runs SET status = 'running', process_token = 'gone', pid = 999999999 WHERE id = ?",
            (run_id,),
        )
    at = open_page()
    assert list(at.dataframe[0].value["status"]) == ["incomplete"]
    assert any("cut off before it finished" in w.value for w in at.warning)


def test_a_run_is_deleted_after_confirmation(open_page: Open, settings: Settings) -> None:
    run_id = _save_run(settings)
    at = open_page()
    assert at.button(key="hi_delete").disabled
    ok(at.checkbox(key="hi_delete_sure").check().run())
    ok(at.button(key="hi_delete").click().run())
    assert f"Run #{run_id} was deleted." in texts(at) and "No saved runs yet" in texts(at)
    assert ExperimentStore(settings).list_runs() == []


def test_a_shared_bundle_is_replayed_on_the_page(open_page: Open, settings: Settings) -> None:
    run_id = _save_run(settings)
    run = export.store_run_to_dict(ExperimentStore(settings).load_run(run_id))
    bundle = export.make_bundle(run, QUESTIONS_BYTES, export.run_cache_export(run, settings))
    at = open_page()
    ok(at.file_uploader(key="hi_replay_file").set_value(("bundle.zip", bundle, "application/zip")).run())
    assert any("all 8 answers came from the bundle" in s.value for s in at.success)
