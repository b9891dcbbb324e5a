"""The question table in the browser, through AppTest: rows checked against the corpus, bad rows with a message
on the row, saved by name, reopened in a new session and in the labs, and run through the real stack.

AppTest cannot type into an `st.data_editor`, so the editor's edits are checked on `apply_edits` (what the
editor's callback does with them) and the page is driven through the table's rows in session state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground.core.settings import Settings
from playground.ingest.loaders import load_folder
from playground.ingest.question_rows import QuestionRow, rows_from_question_set
from playground.ingest.questions import Evidence, QuestionSet, parse_questions
from playground.retrieval.index import forget_loaded_indexes
from playground.storage.store import ExperimentStore
from tests.conftest import ROOT
from ui import question_table, state

APP = str(ROOT / "app.py")
EVALUATE = "pages/4_Evaluate.py"
RETURNS = "You can return any product within 30 days of delivery, for any reason, even if it has been used."
TRAVEL = "Bookings for trains, flights and hotels are made in the Wayfarer travel portal"
QUESTIONS = [
    {
        "id": "t1",
        "question": "How long can I return a product?",
        "answers": ["30 days"],
        "evidence": [RETURNS],
    },
    {"id": "t2", "question": "Where are trains booked?", "answers": ["Wayfarer"], "evidence": [TRAVEL]},
]
MakeApp = Callable[..., AppTest]


def _clear_caches() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()
    forget_loaded_indexes()


@pytest.fixture
def make_app(
    settings: Settings, small_corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MakeApp]:
    """A session on a page with the fake model, four documents and two questions in use."""
    monkeypatch.delenv(state.MODEL_ENV, raising=False)
    _clear_caches()
    corpus = load_folder(small_corpus_dir)
    questions = parse_questions("two.jsonl", "\n".join(json.dumps(q) for q in QUESTIONS).encode())

    def make(page: str = EVALUATE, **session: object) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        values = {
            state.DEFAULT_MODEL: "fake:extractive",
            state.CORPUS: corpus,
            state.CORPUS_LABEL: "four test documents",
            state.CORPUS_SOURCE: "test",
            state.QUESTIONS: questions,
            state.QUESTIONS_LABEL: "two test questions",
            state.QUESTIONS_SOURCE: "test",
        }
        for key, value in (values | session).items():
            at.session_state[key] = value
        at.run()
        ok(at.switch_page(page).run())
        return at

    yield make
    _clear_caches()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest):
    return at.data_editor[0].value


def shown(at: AppTest, kind: str) -> str:
    return "\n".join(str(getattr(e, "value", "")) for e in at.get(kind))


def _rows(at: AppTest) -> list[QuestionRow]:
    return list(at.session_state["lab:ev_table_rows"])


# --- what the editor's callback does with an edit -----------------------------------------------------------


def test_edits_are_applied_like_streamlit_cell_edits_then_deletions_then_added_rows() -> None:
    span = (Evidence(doc_id="policies/travel.md", start=0, end=10),)
    rows = [
        QuestionRow("One?", ("1",), span, qid="a"),
        QuestionRow("Two?", ("2",), qid="b"),
        QuestionRow("3?"),
    ]
    edits = {
        "edited_rows": {0: {"gold": "1 | one", "reviewed": True}, 1: {"question": "Deleted anyway"}},
        "deleted_rows": [1],
        "added_rows": [{"question": "New?", "kind": "unanswerable"}, {}],
    }
    after = question_table.apply_edits(rows, edits)
    assert [r.question for r in after] == ["One?", "3?", "New?", ""]
    assert after[0].answers == ("1", "one") and after[0].reviewed and after[0].evidence == span
    assert [r.qid for r in after] == ["a", "q1", "q2", ""] and after[2].kind == "unanswerable"
    assert question_table.apply_edits(after, {"edited_rows": {0: {"evidence": "a quote"}}})[0].evidence == (
        Evidence("a quote"),
    )


# --- the Evaluate page ---------------------------------------------------------------------------------------


def test_the_table_shows_the_set_in_use_with_its_evidence_found_and_where(make_app: MakeApp) -> None:
    at = make_app()
    frame = table(at)
    assert list(frame["id"]) == ["t1", "t2"] and list(frame["found"]) == ["yes", "yes"]
    assert frame["where"][0].startswith("policies/returns-and-refunds.md, characters ")
    assert "chunk 1 of" in frame["where"][0] and set(frame["message"]) == {""}
    assert "2 rows · 2 usable questions · evidence found for 2 of 2" in shown(at, "caption")


def test_bad_rows_get_a_message_on_their_row_and_the_page_keeps_working(make_app: MakeApp) -> None:
    bad = [
        QuestionRow("How long can I return a product?", ("30 days",), (Evidence(RETURNS),)),
        QuestionRow("Who runs the company?"),
        QuestionRow("What colour is the boathouse?", ("blue",), (Evidence("The boathouse is blue."),)),
        QuestionRow(),
    ]
    at = make_app(**{"lab:ev_table_rows": bad, "lab:ev_table_source": "test"})
    messages = list(table(at)["message"])
    assert messages[0] == "" and messages[1].startswith("no gold answer")
    assert messages[2].startswith("evidence not found") and messages[3].startswith("empty row")
    assert list(table(at)["found"])[:3] == ["yes", "none given", "no"]
    assert "1 row(s) cannot be used yet" in shown(at, "warning")
    ok(at.button(key="ev_table_empty").click().run())
    assert table(at).empty and at.button(key="ev_table_save").disabled
    assert "The table is empty" in shown(at, "caption")


def test_a_typed_set_is_saved_used_reopened_and_run_through_the_real_stack(
    make_app: MakeApp, settings: Settings
) -> None:
    typed = [
        QuestionRow("How long can I return a product?", ("30 days",), (Evidence(RETURNS),), reviewed=True),
        QuestionRow("Where are trains booked?", ("Wayfarer",), (Evidence(TRAVEL),)),
        QuestionRow("Who runs the company?"),  # unfinished: saved, left out of the run
    ]
    at = make_app(**{"lab:ev_table_rows": typed, "lab:ev_table_source": "test", "lab:ev_table_dirty": True})
    at.text_input(key="ev_table_name").input("returns and travel")
    ok(at.button(key="ev_table_save").click().run())
    assert "Saved 'returns and travel' (2 questions)" in shown(at, "success")
    assert "In the table: the saved set 'returns and travel'" in shown(at, "caption")
    assert at.session_state[state.QUESTIONS_SOURCE] == "saved:returns and travel"
    assert at.radio(key="ev_questions_source").value == "current"
    assert [q.qid for q in at.session_state[state.QUESTIONS].questions] == ["q1", "q2"]
    ok(at.button(key="ev_run").click().run())
    run = at.session_state[state.LAST_RUN]
    rag = next(v for v in run.variants if v.variant.use_retrieval)
    assert [r.qid for r in rag.rows] == ["q1", "q2"] and rag.rows[0].metrics["contains"] == 1.0

    again = make_app(**{state.QUESTIONS: None, state.QUESTIONS_SOURCE: None})  # a later session
    ok(again.radio(key="ev_questions_source").set_value("saved").run())
    ok(again.selectbox(key="ev_questions_saved").set_value("saved:returns and travel").run())
    assert again.session_state[state.QUESTIONS_LABEL] == "Saved: returns and travel"
    reopened = _rows(again)
    assert [r.reviewed for r in reopened] == [True, False, False] and reopened[2].answers == ()
    assert again.text_input(key="ev_table_name").value == "returns and travel"
    store = ExperimentStore(settings)
    assert [s.name for s in store.list_question_sets()] == ["returns and travel"]
    store.close()


def test_a_name_in_use_asks_before_replacing_and_a_saved_set_can_be_deleted(
    make_app: MakeApp, settings: Settings
) -> None:
    store = ExperimentStore(settings)
    store.save_question_set("mine", [QuestionRow("Old?", ("old",))])
    at = make_app()
    at.text_input(key="ev_table_name").input("Mine")
    ok(at.button(key="ev_table_save").click().run())
    assert "already a saved question set named 'Mine'" in shown(at, "error")
    ok(at.checkbox(key="ev_table_replace").check().run())
    ok(at.button(key="ev_table_save").click().run())
    assert [q.question for q in store.load_question_set("mine").questions] == [
        q["question"] for q in QUESTIONS
    ]
    ok(at.button(key="ev_table_delete").click().run())
    assert store.list_question_sets() == [] and "Deleted the saved set 'Mine'" in shown(at, "success")
    assert at.session_state[state.QUESTIONS] is not None and len(_rows(at)) == 2
    store.close()


def test_a_generated_set_opens_in_the_table_unsaved_and_named(make_app: MakeApp) -> None:
    written = parse_questions("g.jsonl", b'{"question": "Q?", "answers": ["A"]}').questions
    generated = QuestionSet("generated from four documents", written, (), "abc")
    at = make_app(**{question_table.GENERATED: generated})
    assert [r.question for r in _rows(at)] == ["Q?"]
    assert at.text_input(key="ev_table_name").value == "generated from four documents"
    assert "unsaved changes" in shown(at, "caption")


# --- the labs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("page", "key"), [("pages/2_Prompt_lab.py", "pl"), ("pages/3_RAG_lab.py", "rag")])
def test_a_saved_set_is_selectable_in_the_labs(
    make_app: MakeApp, settings: Settings, page: str, key: str
) -> None:
    store = ExperimentStore(settings)
    rows = rows_from_question_set(parse_questions("x.jsonl", b'{"question": "Saved?", "answers": ["yes"]}'))
    store.save_question_set("saved one", rows)
    store.close()
    at = make_app(page)
    picker = at.selectbox(key=f"{key}_question_saved")
    assert picker.options == ["Current: two test questions", "Saved: saved one"]
    ok(picker.set_value("saved:saved one").run())
    assert at.session_state[state.QUESTIONS_SOURCE] == "saved:saved one"
    assert at.selectbox(key=f"{key}_question_pick").options == ["q1 · Saved?"]


def test_no_saved_set_shows_no_picker_in_the_labs(make_app: MakeApp) -> None:
    at = make_app("pages/2_Prompt_lab.py")
    assert not [s for s in at.selectbox if s.key == "pl_question_saved"]
