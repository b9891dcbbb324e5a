"""Judged answers on the pages, through AppTest: the judge chosen on Evaluate, its reasons and the verdict
buttons in the answer inspector, verdicts saved with the run, and the agreement table on History."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground.core.settings import Settings
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import parse_questions
from playground.retrieval.index import forget_loaded_indexes
from playground.storage.store import ExperimentStore
from tests.conftest import ROOT
from tests.test_app_pages import FAKE, MakeApp, make_app, small_corpus, texts  # noqa: F401
from tests.test_export import PROMPT_VARIANTS, QUESTIONS_BYTES, _fake
from ui import state

HISTORY = "pages/7_History.py"
VERDICT = "Your verdict on this answer"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _verdict_buttons(at: AppTest):
    return next(b for b in at.segmented_control if b.label == VERDICT)


def test_evaluate_with_the_judge_shows_its_reasons_and_keeps_a_verdict(
    make_app: MakeApp,  # noqa: F811
    settings: Settings,
) -> None:
    at = make_app("pages/4_Evaluate.py")
    at.number_input(key="ev_limit").set_value(2)
    ok(at.toggle(key="ev_judge_on").set_value(True).run())
    ok(at.selectbox(key="ev_judge_model").set_value(FAKE).run())
    ok(at.button(key="ev_run").click().run())
    judged = next(d.value for d in at.dataframe if "judged correct (LLM judge)" in d.value.columns)
    assert list(judged["variant"]) == ["baseline", "rag"]
    assert list(judged["judge replies unread"]) == [0, 0]
    assert at.radio(key="ev_metric").value == "judge_correct"  # a judged run's chart starts on the verdicts
    ok(at.radio(key="ev_metric").set_value("contains").run())  # the string metrics stay in the chooser
    ok(at.radio(key="ev_metric").set_value("judge_correct").run())
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Answers: judged correct (LLM judge)" in s for s in specs)
    assert "an LLM judge's verdict that the answer states the gold's fact" in texts(at)
    ok(at.selectbox(key="ev_cell_q").set_value("t1").run())
    ok(at.selectbox(key="ev_cell_v").set_value("rag").run())
    shown = texts(at)
    assert "LLM judge: fake:extractive" in shown
    assert "Correct? yes: fake judge: the answer contains a gold answer" in shown
    assert "Faithful to the chunks? 1/1: 1 of 1 claims supported by the retrieved chunks" in shown
    ok(_verdict_buttons(at).set_value("no").run())
    assert _verdict_buttons(at).value == "no"
    run = at.session_state[state.LAST_RUN]
    saved = ExperimentStore(settings).load_run(run.run_id)["rows"]["rag"]
    assert next(r for r in saved if r["qid"] == "t1")["human"] == "no"
    judged = next(d.value for d in at.dataframe if "judged correct (LLM judge)" in d.value.columns)
    assert judged.set_index("variant").loc["rag", "right (your verdicts)"] == 0.0  # the human metric, at once


# --- History --------------------------------------------------------------------------------------------------


def _save_judged_run(settings: Settings) -> int:
    questions = parse_questions("small.jsonl", QUESTIONS_BYTES)
    store = ExperimentStore(settings)
    options = RunOptions(store=store, judge=FAKE)
    run = run_evaluation(PROMPT_VARIANTS, None, questions, settings, llm=_fake(), options=options)
    store.close()
    assert run.run_id is not None
    return run.run_id


@pytest.fixture
def history(settings: Settings) -> Iterator[AppTest]:
    st.cache_resource.clear()
    st.cache_data.clear()
    forget_loaded_indexes()
    run_id = _save_judged_run(settings)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["test_run_id"] = run_id
    yield ok(at.switch_page(HISTORY).run())
    st.cache_resource.clear()
    st.cache_data.clear()


def test_history_asks_for_verdicts_then_shows_the_agreement_table(
    history: AppTest, settings: Settings
) -> None:
    at = history
    assert "Label some answers in the answer inspector" in texts(at)
    run_id = at.session_state["test_run_id"]
    for qid, verdict in (("t1", "yes"), ("t2", "no")):
        ok(at.selectbox(key="hi_cell_q").set_value(qid).run())
        ok(at.selectbox(key="hi_cell_v").set_value("short form").run())
        ok(_verdict_buttons(at).set_value(verdict).run())
    rows = ExperimentStore(settings).load_run(run_id)["rows"]["short form"]
    assert {r["qid"]: r.get("human") for r in rows if r.get("human")} == {"t1": "yes", "t2": "no"}
    table = next(d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns)
    assert list(table["rater"]) == [
        "LLM judge (judge_correct)",
        "contains the gold answer",
        "token F1 >= 0.5",
    ]
    assert set(table["answers compared"]) == {2}
    assert "On the 2 answers you labelled" in texts(at)
    ok(_verdict_buttons(at).set_value(None).run())  # a second click clears the verdict
    rows = ExperimentStore(settings).load_run(run_id)["rows"]["short form"]
    assert [r["qid"] for r in rows if r.get("human")] == ["t1"]
