"""What re-ranking did, on the pages (AppTest): each chunk's rank before and after in the RAG lab with the gold
evidence marked, and on Evaluate the move per answer in the inspector and the chart of moves per variant."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from playground.models.fake import FakeLLM
from playground.models.llms import Message
from tests.test_app_pages import MakeApp, make_app, ok, small_corpus, texts  # noqa: F401

MOVE = re.compile(r"#(\d+) :material/arrow_forward: #(\d+) by re-ranking")


@pytest.fixture(autouse=True)
def wayfarer_reranker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo model, as a reranker, is sure about the passages that hold a question's answer and no other:
    those naming the travel portal for t2 (whose evidence the search ranks second), those giving the 30 days for
    t1 (whose evidence the search ranks first)."""

    def yes_probability(self: FakeLLM, messages: list[Message]) -> float:
        question, _, passage = messages[-1]["content"].partition("Passage:")
        answer = "Wayfarer" if "portal" in question else "30 days"
        return 1.0 if answer in passage else 0.0

    monkeypatch.setattr(FakeLLM, "yes_probability", yes_probability, raising=False)


def _rerank_t2(at: AppTest) -> AppTest:
    at.selectbox(key="rag_question_pick").set_value("t2")
    ok(at.checkbox(key="rag1_rerank").check().run())
    return ok(at.button(key="rag_ask").click().run())


def test_the_rag_lab_shows_each_chunks_rank_before_and_after_with_the_evidence(
    make_app: MakeApp,  # noqa: F811
) -> None:
    at = _rerank_t2(make_app("pages/3_RAG_lab.py"))
    moves = [(int(a), int(b)) for m in at.markdown for a, b in MOVE.findall(m.value)]
    assert (2, 1) in moves, moves  # the evidence came up
    assert any(before == 1 and after > 1 for before, after in moves), moves  # the first chunk went down
    assert all(b == i for i, (_, b) in enumerate(moves, start=1)), "one line per kept chunk, in order"
    shown = texts(at)
    assert ":material/arrow_upward:] Re-ranking moved the gold evidence up: #2" in shown
    assert "The gold evidence is in retrieved chunk #1." in shown and "holds the gold evidence" in shown
    # Asked without a gold (a typed question), the chunks still show their moves but nothing about evidence.
    ok(at.radio(key="rag_question_mode").set_value("Type my own").run())
    ok(at.text_input(key="rag_question_text").input("Which portal takes train bookings?").run())
    ok(at.button(key="rag_ask").click().run())
    assert any(MOVE.search(m.value) for m in at.markdown)
    assert "gold evidence" not in texts(at)


def test_evaluate_counts_the_moves_per_variant_and_says_each_answers_move(
    make_app: MakeApp,  # noqa: F811
) -> None:
    at = _rerank_t2(make_app("pages/3_RAG_lab.py"))
    ok(at.button(key="rag_keep").click().run())
    ok(at.switch_page("pages/4_Evaluate.py").run())
    at.number_input(key="ev_limit").set_value(3)
    ok(at.button(key="ev_run").click().run())
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    (chart,) = [s for s in specs if "Re-ranking: where did the gold evidence go?" in s]
    assert '"top-4"' in chart and '"no retrieval"' not in chart, "only the variant that re-ranks"
    ok(at.selectbox(key="ev_cell_q").set_value("t2").run())
    ok(at.selectbox(key="ev_cell_v").set_value("top-4").run())
    shown = texts(at)
    assert "Re-ranking moved the gold evidence up: #2 :material/arrow_forward: #1." in shown
    assert any(MOVE.search(m.value) for m in at.markdown)
    ok(at.selectbox(key="ev_cell_q").set_value("t1").run())
    assert "Re-ranking left the gold evidence at #1." in texts(at)


def test_no_moves_chart_without_a_variant_that_reranks(make_app: MakeApp) -> None:  # noqa: F811
    at = make_app("pages/4_Evaluate.py")
    at.number_input(key="ev_limit").set_value(2)
    ok(at.button(key="ev_run").click().run())
    assert not any("Re-ranking:" in c.proto.spec for c in at.get("plotly_chart"))
