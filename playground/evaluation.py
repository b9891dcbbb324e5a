"""Run variants over a question set and score every answer and every retrieval.

Questions run in the outer loop and variants in the inner one, so live charts move for all variants together and
a stopped run still compares them on the same questions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from playground import __version__
from playground import metrics as m
from playground.config import VariantConfig
from playground.documents import Corpus
from playground.embedders import Embedder, get_embedder
from playground.errors import PlaygroundError
from playground.index import ScoredChunk
from playground.llms import LLM
from playground.pipeline import Pipeline, PipelineResult, build_pipeline
from playground.questions import EvidenceLocator, Question, QuestionSet, Span, holds
from playground.settings import Settings

ANSWER_METRICS = ("exact_match", "token_f1", "contains", "semantic_sim")
RETRIEVAL_METRICS = ("hit@k", "recall@k", "mrr", "ndcg@k", "context_precision", "context_recall")
PRIMARY_METRIC = "contains"


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


@dataclass
class VariantResult:
    variant: VariantConfig
    rows: list[QuestionResult] = field(default_factory=list)

    def aggregates(self) -> dict[str, float | None]:
        ok = [r for r in self.rows if not r.error]
        out: dict[str, float | None] = {"n": float(len(self.rows)), "errors": float(len(self.rows) - len(ok))}
        for name in ANSWER_METRICS + RETRIEVAL_METRICS:
            values = [r.metrics[name] for r in ok if r.metrics.get(name) is not None]
            out[name] = m.mean(values) if values else None
        for name in ("latency_s", "prompt_tokens", "completion_tokens"):
            out[name] = m.mean([float(getattr(r, name)) for r in ok]) if ok else None
        low, high = m.bootstrap_ci([r.metrics[PRIMARY_METRIC] or 0.0 for r in ok]) if ok else (None, None)
        out[f"{PRIMARY_METRIC}_ci_low"], out[f"{PRIMARY_METRIC}_ci_high"] = low, high
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.variant.name, "used_retrieval": self.variant.use_retrieval,
                "config": self.variant.model_dump(mode="json"), "aggregates": self.aggregates(),
                "rows": [asdict(r) | {"outcome": r.outcome} for r in self.rows]}


@dataclass
class EvalRun:
    corpus: str
    questions: str
    question_set_hash: str
    variants: list[VariantResult]
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    stopped: bool = False
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "started_at": self.started_at, "corpus": self.corpus,
                "questions": self.questions, "question_set_hash": self.question_set_hash, "stopped": self.stopped,
                "variants": [v.to_dict() for v in self.variants]}

    def summary_rows(self) -> list[dict[str, Any]]:
        """One flat row per variant: name, retrieval on/off, and every aggregate metric."""
        return [{"variant": v.variant.name, "retrieval": v.variant.use_retrieval, "model": v.variant.model}
                | v.aggregates() for v in self.variants]


# --- scoring ------------------------------------------------------------------------------------------------

def _evidence_labels(hits: Sequence[ScoredChunk], located: list[list[Span]]) -> list[str]:
    """Label each retrieved chunk with the first evidence piece it newly covers (else a unique filler).

    The plain ranking metrics then score evidence, not chunks: two overlapping chunks holding the same quote
    count once, so the metrics mean the same thing for every chunking.
    """
    covered: set[int] = set()
    labels = []
    for pos, hit in enumerate(hits):
        new = [i for i, spans in enumerate(located) if i not in covered and any(holds(hit.chunk, s) for s in spans)]
        if new:
            covered.add(new[0])
            labels.append(f"evidence-{new[0]}")
        else:
            labels.append(f"other-{pos}")
    return labels


def retrieval_metrics(hits: Sequence[ScoredChunk], located: list[list[Span]], k: int) -> dict[str, float | None]:
    findable = {f"evidence-{i}" for i, spans in enumerate(located) if spans}
    if not findable:
        return dict.fromkeys(RETRIEVAL_METRICS)
    labels = _evidence_labels(hits[:k], located)
    relevant_flags = [any(holds(h.chunk, s) for spans in located for s in spans) for h in hits[:k]]
    found = [f"evidence-{i}" in labels for i in range(len(located)) if located[i]]
    return {"hit@k": m.hit_at_k(labels, findable, k), "recall@k": m.recall_at_k(labels, findable, k),
            "mrr": m.reciprocal_rank(labels, findable, k), "ndcg@k": m.ndcg_at_k(labels, findable, k),
            "context_precision": m.context_precision(relevant_flags), "context_recall": m.context_recall(found)}


def answer_metrics(answer: str, golds: Sequence[str], embed: Callable[[list[str]], Any] | None) -> dict[str, float]:
    scores = {"exact_match": m.exact_match(answer, golds), "token_f1": m.token_f1(answer, golds),
              "contains": m.contains_gold(answer, golds)}
    if embed is not None:
        scores["semantic_sim"] = m.semantic_similarity(answer, golds, embed)
    return scores


def _retrieved_dicts(hits: Sequence[ScoredChunk], located: list[list[Span]]) -> list[dict[str, Any]]:
    return [{"chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id, "title": h.chunk.title, "score": round(h.score, 6),
             "rank": h.rank, "text": h.chunk.text, "holds_evidence": any(holds(h.chunk, s) for sp in located for s in sp)}
            for h in hits]


def score_result(q: Question, result: PipelineResult, located: list[list[Span]], top_k: int,
                 embed: Callable[[list[str]], Any] | None) -> QuestionResult:
    metrics: dict[str, float | None] = dict.fromkeys(ANSWER_METRICS + RETRIEVAL_METRICS)
    if result.error is None:
        metrics.update(answer_metrics(result.answer, q.answers, embed))
        if result.retrieved or located:
            metrics.update(retrieval_metrics(result.retrieved, located, top_k) if result.retrieved
                           else dict.fromkeys(RETRIEVAL_METRICS))
    return QuestionResult(
        qid=q.qid, question=q.question, golds=list(q.answers), answer=result.answer, raw_output=result.raw_output,
        retrieved=_retrieved_dicts(result.retrieved, located), metrics=metrics, prompt=result.prompt.text,
        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
        latency_s=round(result.latency_s, 4), timings={k: round(v, 4) for k, v in result.timings.items()},
        evidence_in_corpus=(any(located) if q.evidence else None), error=result.error, steps=result.steps)


# --- running ------------------------------------------------------------------------------------------------

RowCallback = Callable[[VariantResult, QuestionResult, int, int], None]
StageCallback = Callable[[str, int, int], None]


def prepare_pipelines(variants: Sequence[VariantConfig], corpus: Corpus | None, settings: Settings,
                      llm: LLM | None = None, on_stage: StageCallback | None = None) -> list[Pipeline]:
    pipelines = []
    for variant in variants:
        def progress(done: int, total: int, name: str = variant.name) -> None:
            if on_stage:
                on_stage(f"Indexing the corpus for '{name}'", done, total)

        pipelines.append(build_pipeline(variant, corpus, settings, llm=llm, on_progress=progress))
    return pipelines


def _semantic_embed(settings: Settings) -> Callable[[list[str]], Any] | None:
    try:
        embedder: Embedder = get_embedder("local:all-minilm-l6-v2", settings)
    except PlaygroundError:
        return None
    return embedder.embed_documents


def run_evaluation(variants: Sequence[VariantConfig], corpus: Corpus | None, questions: QuestionSet,
                   settings: Settings, *, llm: LLM | None = None, on_row: RowCallback | None = None,
                   on_stage: StageCallback | None = None, should_stop: Callable[[], bool] | None = None) -> EvalRun:
    """Every variant on every question. A failing question is recorded with its error and the sweep goes on."""
    pipelines = prepare_pipelines(variants, corpus, settings, llm, on_stage)
    locator = EvidenceLocator(corpus) if corpus is not None else None
    embed = _semantic_embed(settings)
    results = [VariantResult(p.variant) for p in pipelines]
    run = EvalRun(corpus=corpus.name if corpus else "", questions=questions.name,
                  question_set_hash=questions.content_hash, variants=results)
    total, done = len(questions.questions) * len(pipelines), 0
    for q in questions.questions:
        located = locator.locate_all(q) if locator else []
        for pipeline, result in zip(pipelines, results):
            if should_stop and should_stop():
                run.stopped = True
                return run
            row = score_result(q, pipeline.run_safely(q.question), located, pipeline.variant.top_k, embed)
            result.rows.append(row)
            done += 1
            if on_row:
                on_row(result, row, done, total)
    return run
