"""Failure classes, the method's advice and the optimisation journey, on hand-built rows."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import pytest

from playground.core.config import FewShotExample, VariantConfig
from playground.evaluation import diagnosis as d
from playground.evaluation import stats
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.evaluation.scoring import PRIMARY_METRIC
from playground.reporting.charts_journey import (
    GAIN_COLOUR,
    NOISE_COLOUR,
    START_COLOUR,
    gain_label,
    journey_chart,
)

CHUNK = {
    "chunk_id": "c1",
    "doc_id": "d1",
    "title": "t",
    "score": 0.9,
    "rank": 1,
    "text": "x",
    "holds_evidence": True,
}


def row(
    qid: str,
    contains: float | None = 0.0,
    hit: float | None = None,
    *,
    retrieved: bool = True,
    golds: tuple[str, ...] = ("42",),
    answer: str = "something",
    error: str | None = None,
    f1: float = 0.0,
    evidence: bool | None = True,
) -> QuestionResult:
    metrics: dict[str, float | None] = {"contains": contains, "hit@k": hit, "token_f1": f1}
    return QuestionResult(
        qid=qid,
        question=f"question {qid}?",
        golds=list(golds),
        answer=answer,
        raw_output=answer,
        retrieved=[CHUNK] if retrieved else [],
        metrics=metrics,
        prompt="p",
        prompt_tokens=10,
        completion_tokens=2,
        latency_s=0.1,
        timings={},
        evidence_in_corpus=evidence,
        error=error,
    )


def test_primary_metric_mirrors_evaluation() -> None:
    assert d.PRIMARY_METRIC == PRIMARY_METRIC


@pytest.mark.parametrize(
    "r,used,expected",
    [
        (row("a", 1.0, 1.0), True, d.CORRECT),
        (row("b", 0.0, 0.0), True, d.RETRIEVAL_MISS),
        (row("c", 0.0, 1.0), True, d.GENERATION_MISS),
        (row("d", 0.0, golds=("not in the documents",), answer="It is 42."), True, d.UNSUPPORTED),
        (row("e", 1.0, golds=("Not in the documents",), answer="Not in the documents."), True, d.CORRECT),
        (row("f", None, error="model failed"), True, d.ERROR),
        (row("g", 0.0, retrieved=False), False, d.NO_RETRIEVAL),
        (row("h", 0.0, retrieved=False), None, d.NO_RETRIEVAL),
        (row("i", 0.0, None, evidence=False), True, d.UNEXPLAINED),
        # a retrieval variant that routed the question away from the documents
        (row("j", 0.0, None, retrieved=False, evidence=True), True, d.RETRIEVAL_MISS),
        (row("k", 1.0, retrieved=False), False, d.CORRECT),
    ],
)
def test_classify_failure(r: QuestionResult, used: bool | None, expected: str) -> None:
    assert d.classify_failure(r, used) == expected


def test_classify_failure_reads_dict_rows() -> None:
    as_dict = {
        "qid": "x",
        "golds": ["42"],
        "answer": "41",
        "metrics": {"contains": 0.0, "hit@k": 0.0},
        "retrieved": [CHUNK],
        "error": None,
    }
    assert d.classify_failure(as_dict) == d.RETRIEVAL_MISS


def _rag(**changes: Any) -> VariantConfig:
    return VariantConfig(name="rag", use_retrieval=True, **changes)


def test_many_retrieval_misses_advise_retrieval_techniques_not_yet_used() -> None:
    rows = [row(f"q{i}", 0.0, 0.0) for i in range(6)] + [row(f"q{i}", 1.0, 1.0) for i in range(6, 10)]
    result = d.diagnose(VariantResult(_rag(hyde=True, top_k=4), rows))
    assert result.counts[d.RETRIEVAL_MISS] == 6 and result.counts[d.CORRECT] == 4 and result.n == 10
    assert [a.failure for a in result.advice] == [d.RETRIEVAL_MISS]
    advice = result.advice[0]
    assert advice.title == "Improve retrieval"
    assert advice.evidence.startswith("6 of 10 questions (60%) had no gold evidence in the top 4 retrieved")
    assert "For example: q0, q1, q2 and 3 more." in advice.evidence
    assert advice.question_ids == ("q0", "q1", "q2", "q3", "q4", "q5")
    techniques = " | ".join(advice.techniques)
    assert "HyDE" not in techniques  # already on
    for wanted in ("chunking", "reranking", "hybrid", "fine-tuned embeddings", "top_k is 4"):
        assert wanted in techniques


def test_generation_misses_advise_prompting_then_fine_tuning_and_count_near_misses() -> None:
    rows = [
        row("q1", 0.0, 1.0, f1=0.8),
        row("q2", 0.0, 1.0, f1=0.1),
        row("q3", 0.0, 1.0),
        row("q4", 1.0, 1.0),
    ]
    config = _rag(few_shot=(FewShotExample(question="a?", answer="b"),))
    [advice] = d.diagnose(VariantResult(config, rows)).advice
    assert advice.failure == d.GENERATION_MISS
    assert "; 1 close to the gold (token F1 ≥ 0.5)" in advice.evidence
    assert advice.techniques[-1].startswith("then fine-tuning")
    assert not any("few-shot" in t for t in advice.techniques)
    assert any("step by step" in t for t in advice.techniques)


def test_unsupported_answers_advise_saying_not_in_the_documents() -> None:
    unanswerable = ("not in the documents",)
    rows = [
        row("u1", 0.0, golds=unanswerable, answer="Probably 7."),
        row("q2", 1.0, 1.0),
        row("q3", 1.0, 1.0),
        row("q4", 1.0, 1.0),
    ]
    [advice] = d.diagnose(VariantResult(_rag(system_prompt="Be brief."), rows)).advice
    assert advice.failure == d.UNSUPPORTED and advice.question_ids == ("u1",)
    techniques = " | ".join(advice.techniques)
    assert 'an instruction to reply "not in the documents"' in techniques and "fact-check" in techniques


def test_no_retrieval_and_errors_come_first() -> None:
    rows = [
        row("q1", 0.0, retrieved=False),
        row("q2", 0.0, retrieved=False),
        row("q3", 1.0, retrieved=False),
        row("q4", None, retrieved=False, error="ModelError: server down"),
    ]
    result = d.diagnose(VariantResult(VariantConfig(name="prompt only"), rows))
    assert [a.failure for a in result.advice] == [d.ERROR, d.NO_RETRIEVAL]
    assert "the first error: ModelError: server down" in result.advice[0].evidence
    assert result.advice[1].techniques == ("use_retrieval: true",)


def test_below_thresholds_gives_no_advice() -> None:
    rows = [row("q0", 0.0, 0.0)] + [row(f"q{i}", 1.0, 1.0) for i in range(1, 20)]
    result = d.diagnose(VariantResult(_rag(), rows))
    assert result.counts[d.RETRIEVAL_MISS] == 1 and result.advice == []
    assert d.diagnose(VariantResult(_rag(), [])).n == 0


def test_diagnose_reads_a_variant_dict_from_results_json() -> None:
    variant = VariantResult(_rag(), [row("q1", 0.0, 0.0), row("q2", 0.0, 0.0), row("q3", 1.0, 1.0)])
    from_dict = d.diagnose(variant.to_dict())
    assert from_dict.counts == d.diagnose(variant).counts
    assert from_dict.to_dict()["advice"][0]["failure"] == d.RETRIEVAL_MISS


def _run(ladder: dict[str, list[float]]) -> EvalRun:
    variants = [
        VariantResult(
            VariantConfig(name=name), [row(f"q{i}", v, retrieved=False) for i, v in enumerate(vals)]
        )
        for name, vals in ladder.items()
    ]
    return EvalRun(corpus="c", questions="qs", question_set_hash="h", variants=variants)


LADDER = {
    "prompt": [0.0] * 20 + [1.0] * 10,
    "few-shot": [0.0] * 18 + [1.0] * 12,
    "rag": [1.0] * 2 + [0.0] * 4 + [1.0] * 24,
}


def test_journey_with_paired_intervals_matches_stats() -> None:
    run = _run(LADDER)
    steps = d.journey_for_run(run)
    assert [s.variant for s in steps] == ["prompt", "few-shot", "rag"]
    assert steps[0].gain is None and steps[0].score == pytest.approx(1 / 3)
    assert steps[1].gain == pytest.approx(2 / 30) and not steps[1].significant
    expected = stats.paired_interval(LADDER["few-shot"], LADDER["rag"])
    assert (steps[2].gain, steps[2].gain_low, steps[2].gain_high) == pytest.approx(expected)
    assert steps[2].significant and steps[2].n_paired == 30
    assert steps[2].p_value == pytest.approx(stats.paired_test(LADDER["few-shot"], LADDER["rag"])["p_value"])
    assert steps[0].score_low is not None and steps[0].score_low < steps[0].score < steps[0].score_high
    assert [s.variant for s in d.journey_for_run(run.to_dict())] == ["prompt", "few-shot", "rag"]


def test_journey_without_per_question_values_has_gains_but_no_interval() -> None:
    rows = [
        {"variant": "a", "contains": 0.4},
        {"variant": "skipped", "contains": None},
        {"variant": "b", "contains": 0.7},
    ]
    steps = d.journey(rows)
    assert [s.variant for s in steps] == ["a", "b"]
    assert steps[1].gain == pytest.approx(0.3) and steps[1].gain_low is None and not steps[1].significant
    assert d.journey([]) == []


def test_journey_chart_colours_and_labels() -> None:
    steps = d.journey_for_run(_run(LADDER))
    fig = journey_chart(steps)
    assert isinstance(fig, go.Figure)
    bar = fig.data[0]
    assert list(bar.x) == ["prompt", "few-shot", "rag"]
    assert list(bar.marker.color) == [START_COLOUR, NOISE_COLOUR, GAIN_COLOUR]
    assert bar.text[0] == "start" and bar.text[2].startswith("+47 pts (+")
    assert "rag is better than few-shot" in bar.customdata[2]
    worse = d.JourneyStep("x", 0.5, gain=-0.1, gain_low=-0.2, gain_high=0.05)
    assert gain_label(worse) == "−10 pts (−20 to +5)"
    empty = journey_chart([])
    assert empty.layout.annotations[0].text == "No scored variants yet."
