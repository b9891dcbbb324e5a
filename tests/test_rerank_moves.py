"""Where reranking put the gold evidence: the verdicts on small examples checked by hand, the counts per
variant, the rows and exports of a run that reranks, the chart, and one run through the real stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from playground.core.config import VariantConfig
from playground.core.documents import Chunk
from playground.core.settings import Settings
from playground.evaluation.rerank_moves import (
    VERDICTS,
    EvidenceMove,
    count_moves,
    evidence_move,
    holding_evidence,
    move_columns,
    rerank_move,
)
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import QuestionSet, Span, load_questions, parse_questions
from playground.models.fake import FakeLLM
from playground.reporting import charts, export
from playground.storage.store import ExperimentStore
from tests.conftest import FAST_LOCAL_MODEL, FICTIONAL_DOCS, FICTIONAL_QUESTIONS
from tests.test_app_pages import QUESTIONS

# --- one answer, by hand ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "evidence", "expected"),
    [
        # the evidence c was the third candidate and the reranker put it first
        (["a", "b", "c", "d"], ["c", "a"], {"c"}, ("up", 3, 1)),
        # a was first, the reranker preferred b: a is second now
        (["a", "b", "c"], ["b", "a"], {"a"}, ("down", 1, 2)),
        # a stays first although the rest changed
        (["a", "b", "c"], ["a", "c"], {"a"}, ("same", 1, 1)),
        # e was the fifth candidate and only two were kept, neither of them e
        (["a", "b", "c", "d", "e"], ["a", "b"], {"e"}, ("dropped", 5, None)),
        # no candidate holds the evidence: nothing for the reranker to find
        (["a", "b", "c"], ["c", "b"], {"z"}, ("missing", None, None)),
        # two evidence chunks: the best-placed one counts (b #2 before; d #1 after)
        (["a", "b", "c", "d"], ["d", "a", "b"], {"b", "d"}, ("up", 2, 1)),
        # a (#1) falls to #3 and b (#2) is dropped: the evidence went down from #1 to #3
        (["a", "b", "c", "d"], ["c", "d", "a"], {"a", "b"}, ("down", 1, 3)),
    ],
)
def test_evidence_move_by_hand(
    before: list[str], after: list[str], evidence: set[str], expected: tuple[str, int | None, int | None]
) -> None:
    move = evidence_move(before, after, evidence)
    assert (move.verdict, move.before, move.after) == expected


def test_each_evidence_chunk_keeps_its_own_ranks() -> None:
    move = evidence_move(["a", "b", "c", "d"], ["d", "a", "b"], {"b", "d"})
    assert move.chunks == {"b": (2, 3), "d": (4, 1)}
    dropped = evidence_move(["a", "b", "c"], ["a"], {"c"})
    assert dropped.chunks == {"c": (3, None)} and dropped.summary() == "dropped (was #3)"
    assert move.summary() == "up (#2 → #1)"
    assert evidence_move(["a"], ["a"], set()).summary() == "missing (no candidate held it)"


def test_a_move_survives_json() -> None:
    move = evidence_move(["a", "b", "c"], ["c", "a"], {"c", "a"})
    back = EvidenceMove.from_dict(json.loads(json.dumps(move.to_dict())))
    assert back == move
    assert EvidenceMove.from_dict(None) is None and EvidenceMove.from_dict({"verdict": "sideways"}) is None


def _chunk(chunk_id: str, start: int, end: int, doc: str = "d") -> Chunk:
    return Chunk(chunk_id, doc, "x" * (end - start), start, end)


def test_holding_evidence_uses_the_half_coverage_rule() -> None:
    # The evidence spans 100-140 of document d: c1 covers 20 of its 40 characters (half: holds it), c2 only 19.
    chunks = [_chunk("c1", 0, 120), _chunk("c2", 121, 300), _chunk("c3", 100, 140, doc="other")]
    assert holding_evidence(chunks, [[Span("d", 100, 140)]]) == {"c1"}
    # a second piece in another document: c3 covers 40 of its 60 characters, but only 40 of a 200-long one
    assert holding_evidence(chunks, [[Span("d", 100, 140)], [Span("other", 90, 150)]]) == {"c1", "c3"}
    assert holding_evidence(chunks, [[Span("other", 0, 200)]]) == set()


def test_rerank_move_reads_the_pipeline_step() -> None:
    chunks = {c.chunk_id: c for c in (_chunk("c1", 0, 50), _chunk("c2", 50, 100), _chunk("c3", 100, 150))}
    steps = {"rerank": {"before": ["c1", "c2", "c3"], "after": ["c3", "c1"], "scores": {}, "method": "text"}}
    located = [[Span("d", 110, 140)]]
    move = rerank_move(steps, located, chunks.__getitem__)
    assert move is not None and (move.verdict, move.before, move.after) == ("up", 3, 1)
    # a candidate the lookup does not know is skipped, not an error
    unknown = {"rerank": {"before": ["gone", "c3"], "after": ["c3"]}}
    found = rerank_move(unknown, located, chunks.__getitem__)
    assert found is not None and (found.verdict, found.before, found.after) == ("up", 2, 1)
    assert rerank_move({}, located, chunks.__getitem__) is None, "not reranked: no verdict"
    assert rerank_move(steps, [[]], chunks.__getitem__) is None, "evidence not in the corpus: no verdict"
    assert rerank_move(steps, [], chunks.__getitem__) is None, "no gold evidence: no verdict"


def test_counts_list_every_verdict_and_none_without_any() -> None:
    moves = [
        evidence_move(["a", "b"], ["b"], {"b"}),  # up
        evidence_move(["a", "b"], ["b"], {"b"}).to_dict(),  # up, as stored
        evidence_move(["a", "b"], ["b"], {"a"}),  # dropped
        None,  # a variant or question without a verdict
    ]
    assert count_moves(moves) == {"up": 2, "same": 0, "down": 0, "dropped": 1, "missing": 0}
    assert count_moves([None, None]) is None and count_moves([]) is None
    assert move_columns(moves[2].to_dict()) == {  # type: ignore[union-attr]
        "rerank_evidence": "dropped",
        "evidence_rank_before": 1,
        "evidence_rank_after": None,
    }
    assert move_columns(None) == {}


# --- a run that reranks -------------------------------------------------------------------------------------


def _row(qid: str, move: EvidenceMove | None) -> QuestionResult:
    return QuestionResult(
        qid, qid, ["g"], "a", "a", [], {"contains": 1.0}, "p", 1, 1, 0.1, {}, True,
        evidence_move=move.to_dict() if move else None,
    )  # fmt: skip


def test_variant_counts_and_the_chart() -> None:
    up, missing = evidence_move(["a", "b"], ["b"], {"b"}), evidence_move(["a"], ["a"], set())
    reranked = VariantResult(
        VariantConfig(name="rerank"), [_row("q1", up), _row("q2", missing), _row("q3", up)]
    )
    plain = VariantResult(VariantConfig(name="plain"), [_row("q1", None)])
    run = EvalRun("c", "q", "h", [plain, reranked])
    assert plain.evidence_moves() is None
    assert reranked.evidence_moves() == {"up": 2, "same": 0, "down": 0, "dropped": 0, "missing": 1}
    assert run.to_dict()["variants"][1]["evidence_moves"]["up"] == 2
    figure = charts.evidence_moves_chart({v.variant.name: v.evidence_moves() for v in run.variants})
    bars: Any = {trace.name: trace for trace in figure.data}
    assert list(bars) == list(charts.MOVE_LABELS.values())
    assert list(bars["moved up"].y) == ["rerank"] and list(bars["moved up"].x) == [2]
    assert list(bars["not among the candidates"].x) == [1] and list(bars["moved down"].x) == [0]
    empty = charts.evidence_moves_chart({"plain": None})
    assert not empty.data and "No variant re-ranked" in empty.layout.annotations[0].text


def _yes_for(phrase: str) -> FakeLLM:
    """A reranker that says yes only to passages holding `phrase`, and answers extractively otherwise."""
    return FakeLLM(rules=[(rf"Passage:[\s\S]*{phrase}", "yes"), (r"Passage:", "no")])


def _check_row(row: QuestionResult, top_k: int) -> None:
    """The verdict agrees with what the evaluation itself says about the kept chunks (hit@k, the flags)."""
    move = EvidenceMove.from_dict(row.evidence_move)
    assert move is not None and move.verdict in VERDICTS
    flags = [c["holds_evidence"] for c in row.retrieved]
    before = row.steps["rerank"]["before"]
    if move.verdict in ("up", "same", "down"):
        assert move.after is not None and flags[move.after - 1] and not any(flags[: move.after - 1])
        assert row.metrics["hit@k"] == 1.0
    else:
        assert not any(flags) and row.metrics["hit@k"] == 0.0
    if move.before is not None:
        assert before[move.before - 1] in move.chunks
        assert not any(c in move.chunks for c in before[: move.before - 1])
    assert len(row.retrieved) <= top_k


def test_a_reranking_run_records_each_move_in_results_store_and_exports(
    small_corpus_dir: Path, settings: Settings
) -> None:
    questions = parse_questions("small.jsonl", "\n".join(json.dumps(q) for q in QUESTIONS).encode())
    variants = [
        VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2),
        VariantConfig(
            name="rerank",
            model="fake:extractive",
            use_retrieval=True,
            top_k=2,
            reranker="llm",
            rerank_candidates=6,
        ),
    ]
    store = ExperimentStore(settings)
    run = run_evaluation(
        variants,
        load_folder(small_corpus_dir),
        questions,
        settings,
        llm=_yes_for("return label costs"),
        options=RunOptions(store=store),
    )
    plain, reranked = run.variants
    assert all(r.evidence_move is None for r in plain.rows) and plain.evidence_moves() is None
    by_qid = {r.qid: r for r in reranked.rows}
    assert by_qid["t4"].evidence_move is None, "no gold evidence: no verdict"
    for qid in ("t1", "t2", "t3"):
        _check_row(by_qid[qid], top_k=2)
    label = EvidenceMove.from_dict(by_qid["t3"].evidence_move)
    assert label is not None and label.after == 1, "the only passage said yes to is ranked first"
    counts = reranked.evidence_moves()
    assert counts is not None and sum(counts.values()) == 3

    saved = json.loads(export.run_json(run.to_dict()))  # results.json
    rows = {r["qid"]: r for r in saved["variants"][1]["rows"]}
    assert rows["t3"]["evidence_move"] == by_qid["t3"].evidence_move
    assert saved["variants"][1]["evidence_moves"] == counts and saved["variants"][0]["evidence_moves"] is None
    stored = export.store_run_to_dict(store.load_run(run.run_id or 0))
    assert stored["variants"][1]["evidence_moves"] == counts

    answers = export.answers_frame(saved).set_index(["question_id", "variant"])
    assert answers.loc[("t3", "rerank"), "rerank_evidence"] == label.verdict
    assert answers.loc[("t3", "rerank"), "evidence_rank_after"] == 1
    assert pd.isna(answers.loc[("t3", "rag"), "rerank_evidence"]), "a variant that does not rerank"
    report = export.html_report(saved)
    assert "evidence after re-ranking" in report and label.summary() in report
    assert "Re-ranking: where did the gold evidence go?" in report


# --- the real stack -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_llm_reranking_records_where_the_evidence_went(tmp_path: Path) -> None:
    """Real embedder, chromadb and the local 0.5B reranker on two questions of the fictional sample."""
    settings = Settings(data_dir=tmp_path / "data")
    questions: QuestionSet = load_questions(FICTIONAL_QUESTIONS).subset(ids=["f03", "f05"])
    variant = VariantConfig(
        name="rerank",
        model=FAST_LOCAL_MODEL,
        use_retrieval=True,
        top_k=2,
        reranker="llm",
        rerank_candidates=5,
        max_tokens=24,
    )
    run = run_evaluation([variant], load_folder(FICTIONAL_DOCS), questions, settings)
    (result,) = run.variants
    assert [r.error for r in result.rows] == [None, None]
    for row in result.rows:
        assert row.steps["rerank"]["method"] == "logits"
        _check_row(row, top_k=2)
    saved = json.loads(export.run_json(run.to_dict()))["variants"][0]
    assert saved["evidence_moves"] == result.evidence_moves()
    assert sum(saved["evidence_moves"].values()) == 2
