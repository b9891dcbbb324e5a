"""Scores of one answer and a variant's aggregates: the one place each is computed, open to new metrics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from playground.core.config import VariantConfig
from playground.evaluation.results import QuestionResult
from playground.evaluation.scoring import (
    ANSWER_METRICS,
    PRIMARY_METRIC,
    RETRIEVAL_METRICS,
    aggregate,
    score_answer,
)
from playground.ingest.loaders import load_folder
from playground.ingest.questions import EvidenceLocator, parse_questions
from playground.models.fake import FakeLLM
from playground.rag.pipeline import build_pipeline

from .test_pipeline import QUESTIONS


def _row(
    metrics: dict[str, float | None], error: str | None = None, cost: float | None = None
) -> QuestionResult:
    return QuestionResult(
        qid="q",
        question="?",
        golds=["a"],
        answer="a",
        raw_output="a",
        retrieved=[],
        metrics=metrics,
        prompt="",
        prompt_tokens=10,
        completion_tokens=2,
        latency_s=0.5,
        timings={},
        evidence_in_corpus=None,
        error=error,
        cost_usd=cost,
    )


def test_aggregate_averages_every_metric_the_rows_carry_and_skips_failed_rows() -> None:
    rows = [
        _row({PRIMARY_METRIC: 1.0, "judge_correct": 0.5}, cost=0.0),
        _row({PRIMARY_METRIC: 0.0, "judge_correct": 1.0}, cost=0.0),
        _row({PRIMARY_METRIC: None}, error="the server is down"),
    ]
    out = aggregate(rows)
    assert (out["n"], out["errors"]) == (3.0, 1.0)
    assert out[PRIMARY_METRIC] == 0.5 and out["judge_correct"] == 0.75  # a new metric needs no other change
    assert out["token_f1"] is None and out["cost_usd"] == 0.0 and out["latency_s"] == 0.5
    assert out[f"{PRIMARY_METRIC}_ci_low"] is not None
    assert list(out)[2 : 2 + len(ANSWER_METRICS)] == list(ANSWER_METRICS)  # declared metrics keep their order


def test_aggregate_of_no_rows_is_empty_not_an_error() -> None:
    out = aggregate([])
    assert out["n"] == 0.0 and out[PRIMARY_METRIC] is None and out[f"{PRIMARY_METRIC}_ci_low"] is None


def test_score_answer_through_a_real_retrieval_pipeline(small_corpus_dir: Path, settings) -> None:
    corpus = load_folder(small_corpus_dir)
    variant = VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2)
    pipeline = build_pipeline(variant, corpus, settings, llm=FakeLLM())
    question = parse_questions("q.jsonl", QUESTIONS).questions[0]  # the refund window, with its evidence
    result = pipeline.run_safely(question.question)
    located = EvidenceLocator(corpus).locate_all(question)
    scores = score_answer(question, result, located, variant.top_k, embed=None)
    assert set(scores) == set(ANSWER_METRICS + RETRIEVAL_METRICS)
    assert scores["semantic_sim"] is None  # no embedder given: not scored, never a made-up number
    assert scores["contains"] == 1.0 and scores["hit@k"] == 1.0 and scores["token_f1"] is not None
    failed = dataclasses.replace(result, error="the server is down")
    assert all(v is None for v in score_answer(question, failed, located, 2, embed=None).values())


@pytest.mark.parametrize("metric", ANSWER_METRICS + RETRIEVAL_METRICS)
def test_every_declared_metric_is_aggregated(metric: str) -> None:
    assert metric in aggregate([_row({metric: 1.0})])
