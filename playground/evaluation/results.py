"""Result records of a sweep: one row per answer, one result per variant, one run; and their summaries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from playground import __version__
from playground.core.config import VariantConfig
from playground.evaluation.rerank_moves import count_moves
from playground.evaluation.scoring import PRIMARY_METRIC, aggregate
from playground.ingest.questions import Question, Span, holds
from playground.rag.pipeline import PipelineResult
from playground.retrieval.index import ScoredChunk
from playground.storage.call_log import KINDS


@dataclass
class QuestionResult:
    qid: str
    question: str
    golds: list[str]
    answer: str
    raw_output: str
    retrieved: list[dict[str, Any]]
    metrics: dict[str, float | None]
    prompt: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    timings: dict[str, float]
    evidence_in_corpus: bool | None
    error: str | None = None
    steps: dict[str, Any] = field(default_factory=dict)
    repeat: int = 0
    # Cache traffic behind this answer: {"hits": {kind: n}, "misses": {kind: n}, "keys": [...], "tokens": {...}}.
    cache: dict[str, Any] = field(default_factory=dict)
    # What every model call behind the answer costs at the provider's list price (0 locally, None if unknown).
    cost_usd: float | None = None
    # The LLM judge's verdicts with their reasons, tokens and cost ({} when the run had no judge), and a
    # person's verdict from the answer inspector ("yes" / "partial" / "no"; None until someone labels it).
    judge: dict[str, Any] = field(default_factory=dict)
    human: str | None = None
    # Where reranking put the gold evidence (`rerank_moves.EvidenceMove.to_dict()`); None when the variant does
    # not rerank or the question has no evidence in the corpus.
    evidence_move: dict[str, Any] | None = None

    @classmethod
    def from_answer(
        cls,
        question: Question,
        result: PipelineResult,
        located: list[list[Span]],
        *,
        metrics: dict[str, float | None],
        repeat: int = 0,
        cache: dict[str, Any] | None = None,
        cost_usd: float | None = None,
        judge: dict[str, Any] | None = None,
        evidence_move: dict[str, Any] | None = None,
    ) -> QuestionResult:
        """The row of one pipeline answer to `question`, with its scores and what computing it took."""
        return cls(
            qid=question.qid,
            question=question.question,
            golds=list(question.answers),
            answer=result.answer,
            raw_output=result.raw_output,
            retrieved=retrieved_dicts(result.retrieved, located),
            metrics=metrics,
            prompt=result.prompt.text,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            latency_s=round(result.latency_s, 4),
            timings={k: round(v, 4) for k, v in result.timings.items()},
            evidence_in_corpus=(any(located) if question.evidence else None),
            error=result.error,
            steps=result.steps,
            repeat=repeat,
            cache=cache or {},
            cost_usd=cost_usd,
            judge=judge or {},
            evidence_move=evidence_move,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionResult:
        """A row as saved (`asdict`); keys that are not fields, such as "outcome", are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def from_cache(self) -> bool:
        """Whether every model call behind this answer was answered from the cache."""
        hits, misses = (self.cache.get(k) or {} for k in ("hits", "misses"))
        return bool(hits.get("llm")) and not misses.get("llm")

    @property
    def outcome(self) -> str:
        """correct / wrong / no evidence retrieved / error, for the question-by-variant matrix."""
        if self.error:
            return "error"
        if (self.metrics.get(PRIMARY_METRIC) or 0.0) >= 1.0:
            return "correct"
        if self.metrics.get("hit@k") == 0.0:
            return "no evidence retrieved"
        return "wrong"


def retrieved_dicts(hits: Sequence[ScoredChunk], located: list[list[Span]]) -> list[dict[str, Any]]:
    """The retrieved chunks as a row keeps them, each marked with whether it holds gold evidence."""
    return [
        {
            "chunk_id": h.chunk.chunk_id,
            "doc_id": h.chunk.doc_id,
            "title": h.chunk.title,
            "score": round(h.score, 6),
            "rank": h.rank,
            "text": h.chunk.text,
            "holds_evidence": any(holds(h.chunk, s) for sp in located for s in sp),
        }
        for h in hits
    ]


@dataclass
class VariantResult:
    variant: VariantConfig
    rows: list[QuestionResult] = field(default_factory=list)

    def cache_counts(self) -> dict[str, dict[str, int]]:
        """Cache hits and misses per kind (llm, embedding, retrieval, rerank) over every row, resumed ones included."""
        counts = {kind: {"hits": 0, "misses": 0} for kind in KINDS}
        for row in self.rows:
            for outcome in ("hits", "misses"):
                for kind, n in (row.cache.get(outcome) or {}).items():
                    counts.setdefault(kind, {"hits": 0, "misses": 0})[outcome] += int(n)
        return counts

    @property
    def cache_hits(self) -> int:
        """Model calls (answers and every technique's calls) answered from the cache."""
        return self.cache_counts()["llm"]["hits"]

    @property
    def cache_misses(self) -> int:
        return self.cache_counts()["llm"]["misses"]

    def repeat_spread(self) -> dict[str, float] | None:
        """Mean, spread and range of the primary metric over repeats, when the variant ran more than once."""
        by_repeat: dict[int, list[float]] = {}
        for r in self.rows:
            if not r.error:
                by_repeat.setdefault(r.repeat, []).append(r.metrics.get(PRIMARY_METRIC) or 0.0)
        if len(by_repeat) < 2:
            return None
        from playground.evaluation.stats import repeat_spread

        return repeat_spread([by_repeat[k] for k in sorted(by_repeat)])

    def evidence_moves(self) -> dict[str, int] | None:
        """How many answers reranking moved the evidence up, down or not at all (or dropped or never saw it);
        None when no answer was reranked against located evidence."""
        return count_moves(r.evidence_move for r in self.rows)

    def aggregates(self) -> dict[str, float | None]:
        """Every metric's mean over the answers, with latency, tokens, cost and a confidence interval."""
        return aggregate(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.variant.name,
            "used_retrieval": self.variant.use_retrieval,
            "config": self.variant.model_dump(mode="json"),
            "aggregates": self.aggregates(),
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "cache": self.cache_counts(),
            "repeat_spread": self.repeat_spread(),
            "evidence_moves": self.evidence_moves(),
            "rows": [asdict(r) | {"outcome": r.outcome} for r in self.rows],
        }


@dataclass
class EvalRun:
    corpus: str
    questions: str
    question_set_hash: str
    variants: list[VariantResult]
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    stopped: bool = False
    version: str = __version__
    run_id: int | None = None
    judge: str | None = None  # the judge model, a run setting: every variant's answers are judged by it

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "started_at": self.started_at,
            "run_id": self.run_id,
            "corpus": self.corpus,
            "questions": self.questions,
            "question_set_hash": self.question_set_hash,
            "stopped": self.stopped,
            "judge": self.judge,
            "variants": [v.to_dict() for v in self.variants],
        }

    def cache_summary(self) -> str:
        """'baseline 4/4, rag 7/8': per variant, the model calls (answers and techniques') from the cache."""
        return ", ".join(
            f"{v.variant.name} {v.cache_hits}/{v.cache_hits + v.cache_misses}" for v in self.variants
        )

    def summary_rows(self) -> list[dict[str, Any]]:
        """One flat row per variant: name, retrieval on/off, and every aggregate metric."""
        return [
            {"variant": v.variant.name, "retrieval": v.variant.use_retrieval, "model": v.variant.model}
            | v.aggregates()
            for v in self.variants
        ]
