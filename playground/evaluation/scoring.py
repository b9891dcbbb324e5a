"""Scores: every metric of one answer and its retrieval, and a variant's aggregates over its answers.

`score_answer` is the one place where an answer's scores are computed and `aggregate` the one place where a
variant's are summed up: a new metric added to `score_answer`'s dict (listed in `ANSWER_METRICS`, or not) is
averaged by `aggregate` with no other change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from playground.evaluation import metrics as m
from playground.evaluation.answer_judge import count_failures
from playground.ingest.questions import Question, Span, holds
from playground.rag.pipeline import PipelineResult
from playground.retrieval.index import ScoredChunk

ANSWER_METRICS = ("exact_match", "token_f1", "contains", "semantic_sim")
RETRIEVAL_METRICS = ("hit@k", "recall@k", "mrr", "ndcg@k", "context_precision", "context_recall")
PRIMARY_METRIC = "contains"

Embed = Callable[[list[str]], Any]  # texts -> one vector per text, for meaning similarity


# --- one answer -----------------------------------------------------------------------------------------------


def evidence_labels(hits: Sequence[ScoredChunk], located: list[list[Span]]) -> list[str]:
    """Label each retrieved chunk with the first evidence piece it newly covers (else a unique filler).

    The plain ranking metrics then score evidence, not chunks: two overlapping chunks holding the same quote
    count once, so the metrics mean the same thing for every chunking.
    """
    covered: set[int] = set()
    labels = []
    for pos, hit in enumerate(hits):
        new = [
            i
            for i, spans in enumerate(located)
            if i not in covered and any(holds(hit.chunk, s) for s in spans)
        ]
        if new:
            covered.add(new[0])
            labels.append(f"evidence-{new[0]}")
        else:
            labels.append(f"other-{pos}")
    return labels


def retrieval_metrics(
    hits: Sequence[ScoredChunk], located: list[list[Span]], k: int
) -> dict[str, float | None]:
    """Ranking metrics of the top `k` hits against the located evidence (None each when none was found)."""
    findable = {f"evidence-{i}" for i, spans in enumerate(located) if spans}
    if not findable:
        return dict.fromkeys(RETRIEVAL_METRICS)
    labels = evidence_labels(hits[:k], located)
    relevant_flags = [any(holds(h.chunk, s) for spans in located for s in spans) for h in hits[:k]]
    found = [f"evidence-{i}" in labels for i in range(len(located)) if located[i]]
    return {
        "hit@k": m.hit_at_k(labels, findable, k),
        "recall@k": m.recall_at_k(labels, findable, k),
        "mrr": m.reciprocal_rank(labels, findable, k),
        "ndcg@k": m.ndcg_at_k(labels, findable, k),
        "context_precision": m.context_precision(relevant_flags),
        "context_recall": m.context_recall(found),
    }


def answer_metrics(answer: str, golds: Sequence[str], embed: Embed | None) -> dict[str, float]:
    """The answer against the gold answers; meaning similarity only when an embedder is at hand."""
    scores = {
        "exact_match": m.exact_match(answer, golds),
        "token_f1": m.token_f1(answer, golds),
        "contains": m.contains_gold(answer, golds),
    }
    if embed is not None:
        scores["semantic_sim"] = m.semantic_similarity(answer, golds, embed)
    return scores


def score_answer(
    question: Question,
    result: PipelineResult,
    located: list[list[Span]],
    top_k: int,
    embed: Embed | None,
) -> dict[str, float | None]:
    """Every metric of one answer: None where it does not apply (a failed answer, a variant without retrieval)."""
    scores: dict[str, float | None] = dict.fromkeys(ANSWER_METRICS + RETRIEVAL_METRICS)
    if result.error is not None:
        return scores
    scores.update(answer_metrics(result.answer, question.answers, embed))
    if result.retrieved:
        scores.update(retrieval_metrics(result.retrieved, located, top_k))
    return scores


# --- a variant's answers --------------------------------------------------------------------------------------


class ScoredAnswer(Protocol):
    """What `aggregate` reads of a result row."""

    metrics: dict[str, float | None]
    error: str | None
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


def metric_names(rows: Sequence[ScoredAnswer]) -> list[str]:
    """The declared metrics, then any other the rows carry (in the order first met)."""
    declared = ANSWER_METRICS + RETRIEVAL_METRICS
    extra = [name for r in rows for name in r.metrics if name not in declared]
    return [*declared, *dict.fromkeys(extra)]


def _mean_or_none(values: Sequence[float]) -> float | None:
    return m.mean(values) if values else None


def aggregate(rows: Sequence[ScoredAnswer]) -> dict[str, float | None]:
    """Means over the rows that did not fail: every metric, latency, tokens and cost; the judge's unread replies,
    failed calls and cost when a judge ran; and the primary metric's bootstrap confidence interval."""
    ok = [r for r in rows if not r.error]
    out: dict[str, float | None] = {"n": float(len(rows)), "errors": float(len(rows) - len(ok))}
    for name in metric_names(ok):
        out[name] = _mean_or_none([v for r in ok if (v := r.metrics.get(name)) is not None])
    out["latency_s"] = _mean_or_none([float(r.latency_s) for r in ok])
    out["prompt_tokens"] = _mean_or_none([float(r.prompt_tokens) for r in ok])
    out["completion_tokens"] = _mean_or_none([float(r.completion_tokens) for r in ok])
    out["cost_usd"] = _mean_or_none([r.cost_usd for r in ok if r.cost_usd is not None])
    out.update(count_failures(rows))
    low, high = m.bootstrap_ci([r.metrics.get(PRIMARY_METRIC) or 0.0 for r in ok]) if ok else (None, None)
    out[f"{PRIMARY_METRIC}_ci_low"], out[f"{PRIMARY_METRIC}_ci_high"] = low, high
    return out
