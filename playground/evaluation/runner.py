"""Run variants over a question set and score every answer and every retrieval.

Questions run in the outer loop and variants in the inner one, so live charts move for all variants together and
a stopped run still compares them on the same questions. Against hosted models several answers are computed at
once (a thread pool); rows are still recorded, saved and reported in that order, by the calling thread.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from playground import __version__
from playground.core.config import VariantConfig
from playground.core.documents import Corpus
from playground.core.errors import PlaygroundError
from playground.core.settings import Settings
from playground.evaluation import metrics as m
from playground.ingest.questions import EvidenceLocator, Question, QuestionSet, Span, holds
from playground.models import pricing
from playground.models.embedders import Embedder, get_embedder
from playground.models.llms import LLM, get_llm
from playground.rag.pipeline import Pipeline, PipelineResult, build_pipeline
from playground.retrieval.index import ScoredChunk
from playground.storage.cache import (
    KINDS,
    CachedEmbedder,
    CachedLLM,
    CachedRetriever,
    EmbeddingCache,
    ResponseCache,
    call_log,
    model_identity,
)
from playground.storage.store import ExperimentStore

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
    repeat: int = 0
    # Cache traffic behind this answer: {"hits": {kind: n}, "misses": {kind: n}, "keys": [...], "tokens": {...}}.
    cache: dict[str, Any] = field(default_factory=dict)
    # What every model call behind the answer costs at the provider's list price (0 locally, None if unknown).
    cost_usd: float | None = None

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


@dataclass
class VariantResult:
    variant: VariantConfig
    rows: list[QuestionResult] = field(default_factory=list)

    def cache_counts(self) -> dict[str, dict[str, int]]:
        """Cache hits and misses per kind (llm, embedding, retrieval) over every row, resumed ones included."""
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

    def aggregates(self) -> dict[str, float | None]:
        ok = [r for r in self.rows if not r.error]
        out: dict[str, float | None] = {"n": float(len(self.rows)), "errors": float(len(self.rows) - len(ok))}
        for name in ANSWER_METRICS + RETRIEVAL_METRICS:
            values = [r.metrics[name] for r in ok if r.metrics.get(name) is not None]
            out[name] = m.mean(values) if values else None
        for name in ("latency_s", "prompt_tokens", "completion_tokens"):
            out[name] = m.mean([float(getattr(r, name)) for r in ok]) if ok else None
        costs = [r.cost_usd for r in ok if r.cost_usd is not None]
        out["cost_usd"] = m.mean(costs) if costs else None
        low, high = m.bootstrap_ci([r.metrics[PRIMARY_METRIC] or 0.0 for r in ok]) if ok else (None, None)
        out[f"{PRIMARY_METRIC}_ci_low"], out[f"{PRIMARY_METRIC}_ci_high"] = low, high
        return out

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "started_at": self.started_at,
            "run_id": self.run_id,
            "corpus": self.corpus,
            "questions": self.questions,
            "question_set_hash": self.question_set_hash,
            "stopped": self.stopped,
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


# --- scoring ------------------------------------------------------------------------------------------------


def _evidence_labels(hits: Sequence[ScoredChunk], located: list[list[Span]]) -> list[str]:
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
    findable = {f"evidence-{i}" for i, spans in enumerate(located) if spans}
    if not findable:
        return dict.fromkeys(RETRIEVAL_METRICS)
    labels = _evidence_labels(hits[:k], located)
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


def answer_metrics(
    answer: str, golds: Sequence[str], embed: Callable[[list[str]], Any] | None
) -> dict[str, float]:
    scores = {
        "exact_match": m.exact_match(answer, golds),
        "token_f1": m.token_f1(answer, golds),
        "contains": m.contains_gold(answer, golds),
    }
    if embed is not None:
        scores["semantic_sim"] = m.semantic_similarity(answer, golds, embed)
    return scores


def _retrieved_dicts(hits: Sequence[ScoredChunk], located: list[list[Span]]) -> list[dict[str, Any]]:
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


def score_result(
    q: Question,
    result: PipelineResult,
    located: list[list[Span]],
    top_k: int,
    embed: Callable[[list[str]], Any] | None,
) -> QuestionResult:
    metrics: dict[str, float | None] = dict.fromkeys(ANSWER_METRICS + RETRIEVAL_METRICS)
    if result.error is None:
        metrics.update(answer_metrics(result.answer, q.answers, embed))
        if result.retrieved or located:
            metrics.update(
                retrieval_metrics(result.retrieved, located, top_k)
                if result.retrieved
                else dict.fromkeys(RETRIEVAL_METRICS)
            )
    return QuestionResult(
        qid=q.qid,
        question=q.question,
        golds=list(q.answers),
        answer=result.answer,
        raw_output=result.raw_output,
        retrieved=_retrieved_dicts(result.retrieved, located),
        metrics=metrics,
        prompt=result.prompt.text,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        latency_s=round(result.latency_s, 4),
        timings={k: round(v, 4) for k, v in result.timings.items()},
        evidence_in_corpus=(any(located) if q.evidence else None),
        error=result.error,
        steps=result.steps,
    )


# --- running ------------------------------------------------------------------------------------------------

RowCallback = Callable[[VariantResult, QuestionResult, int, int], None]
StageCallback = Callable[[str, int, int], None]


LLMSource = LLM | Callable[[str], LLM] | None


@dataclass
class RunOptions:
    """How a sweep runs: caching, repeats (for temperature above zero) and where it is recorded."""

    use_cache: bool = True
    repeats: int = 1
    store: ExperimentStore | None = None
    resume_run_id: int | None = None
    # Answers computed at once; None: the PLAYGROUND_CONCURRENCY setting, else see `sweep_concurrency`.
    concurrency: int | None = None


HOSTED_PROVIDERS = ("openai:", "openai-compatible:")
HOSTED_CONCURRENCY = 4


def sweep_concurrency(variants: Sequence[VariantConfig], settings: Settings, options: RunOptions) -> int:
    """How many answers a sweep computes at once: the option, else the setting, else 4 when every model is
    hosted (a server answers requests in parallel) and 1 otherwise (a local llama.cpp model answers one call at
    a time behind its lock, so more threads would only queue)."""
    chosen = options.concurrency or settings.concurrency
    if chosen:
        return max(1, chosen)
    hosted = bool(variants) and all(v.model.startswith(HOSTED_PROVIDERS) for v in variants)
    return HOSTED_CONCURRENCY if hosted else 1


def _resolve_llm(source: LLMSource, name: str, settings: Settings) -> LLM:
    if source is None:
        return get_llm(name, settings)
    return source(name) if callable(source) and not hasattr(source, "chat") else source  # type: ignore[return-value]


def prepare_pipelines(
    variants: Sequence[VariantConfig],
    corpus: Corpus | None,
    settings: Settings,
    llm: LLMSource = None,
    on_stage: StageCallback | None = None,
    caches: tuple[ResponseCache, EmbeddingCache] | None = None,
) -> list[Pipeline]:
    """One pipeline per variant; with `caches`, its LLM and embedder answer from the cache when they can."""
    pipelines = []
    for variant in variants:

        def progress(done: int, total: int, name: str = variant.name) -> None:
            if on_stage:
                on_stage(f"Indexing the corpus for '{name}'", done, total)

        model = _resolve_llm(llm, variant.model, settings)
        wrap = None
        if caches is not None:
            model = CachedLLM(model, caches[0], model_identity(variant.model, settings))
            wrap = lambda e, c=caches[1]: CachedEmbedder(e, c)  # noqa: E731
        pipeline = build_pipeline(
            variant, corpus, settings, llm=model, on_progress=progress, wrap_embedder=wrap
        )
        if caches is not None and pipeline.retriever is not None and pipeline.index is not None:
            index = pipeline.index
            pipeline.retriever = CachedRetriever(pipeline.retriever, caches[0], index.key, index.chunks)
        pipelines.append(pipeline)
    return pipelines


def _semantic_embed(settings: Settings, cache: EmbeddingCache | None) -> Callable[[list[str]], Any] | None:
    try:
        embedder: Embedder = get_embedder("local:all-minilm-l6-v2", settings)
    except PlaygroundError:
        return None
    return (CachedEmbedder(embedder, cache) if cache is not None else embedder).embed_documents


def _open_caches(settings: Settings, options: RunOptions) -> tuple[ResponseCache, EmbeddingCache] | None:
    if not options.use_cache:
        return None
    try:
        return ResponseCache(settings), EmbeddingCache(settings)
    except PlaygroundError:
        return None  # an unwritable data folder: run without a cache rather than not at all


def _start_record(
    options: RunOptions, run: EvalRun, corpus: Corpus | None, variants: Sequence[VariantConfig]
) -> tuple[int | None, set[tuple[str, str, int]]]:
    """Start (or resume) the run in the store; returns its id and the (variant, qid, repeat) already done."""
    store = options.store
    if store is None:
        return None, set()
    if options.resume_run_id is not None:
        store.resume_run(options.resume_run_id)
        saved = store.load_run(options.resume_run_id)["rows"]
        done = {(name, r["qid"], int(r.get("repeat", 0))) for name, rows in saved.items() for r in rows}
        for result in run.variants:
            for r in saved.get(result.variant.name, []):
                result.rows.append(_row_from_dict(r))
        return options.resume_run_id, done
    run_id = store.start_run(
        corpus=run.corpus,
        corpus_hash=corpus.content_hash if corpus else "",
        questions=run.questions,
        question_set_hash=run.question_set_hash,
        configs=list(variants),
        meta={"repeats": options.repeats},
    )
    return run_id, set()


def _row_from_dict(data: dict[str, Any]) -> QuestionResult:
    fields = {f for f in QuestionResult.__dataclass_fields__}
    return QuestionResult(**{k: v for k, v in data.items() if k in fields})


def run_evaluation(
    variants: Sequence[VariantConfig],
    corpus: Corpus | None,
    questions: QuestionSet,
    settings: Settings,
    *,
    llm: LLMSource = None,
    on_row: RowCallback | None = None,
    on_stage: StageCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    options: RunOptions | None = None,
) -> EvalRun:
    """Every variant on every question (and repeat). A failing question is recorded with its error and the sweep
    goes on; with a store, each finished row is saved at once, so a killed run keeps what it finished."""
    options = options or RunOptions()
    for variant in variants:
        pricing.price(variant.model)  # a malformed PLAYGROUND_PRICES stops the run here, with what to fix
    caches = _open_caches(settings, options)
    pipelines = prepare_pipelines(variants, corpus, settings, llm, on_stage, caches)
    locator = EvidenceLocator(corpus) if corpus is not None else None
    embed = _semantic_embed(settings, caches[1] if caches else None)
    results = [VariantResult(p.variant) for p in pipelines]
    run = EvalRun(
        corpus=corpus.name if corpus else "",
        questions=questions.name,
        question_set_hash=questions.content_hash,
        variants=results,
    )
    run_id, done_before = _start_record(options, run, corpus, variants)
    run.run_id = run_id
    total = len(questions.questions) * len(pipelines) * options.repeats
    recorder = _Recorder(options.store, run_id, on_row, total, len(done_before))
    workers = sweep_concurrency(variants, settings, options)
    status = "incomplete"
    try:
        _sweep(
            run,
            pipelines,
            questions,
            locator,
            embed,
            options.repeats,
            done_before,
            recorder,
            should_stop,
            workers,
        )
        status = "stopped" if run.stopped else "complete"
    finally:
        if options.store is not None and run_id is not None:
            options.store.finish_run(run_id, status)
    return run


@dataclass
class _Task:
    """One answer to compute: a question, for one variant, in one repeat."""

    question: Question
    located: list[list[Span]]
    pipeline: Pipeline
    result: VariantResult
    repeat: int

    def answer(self, embed: Callable[[list[str]], Any] | None) -> QuestionResult:
        """Runs on a worker thread; a failure becomes a row with its error (`run_safely`)."""
        with call_log() as log:
            outcome = self.pipeline.run_safely(self.question.question)
            row = score_result(self.question, outcome, self.located, self.pipeline.variant.top_k, embed)
        row.repeat = self.repeat
        row.cache = log.as_dict()
        row.cost_usd = _answer_cost(self.pipeline.variant.model, row, log.tokens)
        return row


def _answer_cost(model: str, row: QuestionResult, logged: dict[str, int]) -> float | None:
    """The list price of every call behind the answer; without a cache (nothing logged), of the answer call."""
    if row.error:
        return None
    used = (
        logged if any(logged.values()) else {"prompt": row.prompt_tokens, "completion": row.completion_tokens}
    )
    return pricing.cost_usd(
        model, used["prompt"], used["completion"]
    )  # prices were checked at the run's start


@dataclass
class _Recorder:
    """Keeps each finished row: in its variant, in the store, and through the progress callback."""

    store: ExperimentStore | None
    run_id: int | None
    on_row: RowCallback | None
    total: int
    done: int

    def record(self, task: _Task, row: QuestionResult) -> None:
        task.result.rows.append(row)
        if self.store is not None and self.run_id is not None:
            self.store.add_row(self.run_id, task.result.variant.name, row, repeat=task.repeat)
        self.done += 1
        if self.on_row:
            self.on_row(task.result, row, self.done, self.total)


def _tasks(
    run: EvalRun,
    pipelines: list[Pipeline],
    questions: QuestionSet,
    locator: EvidenceLocator | None,
    repeat: int,
    done_before: set[tuple[str, str, int]],
) -> Iterator[_Task]:
    """This repeat's answers still to compute, question by question, each for every variant."""
    for q in questions.questions:
        located = locator.locate_all(q) if locator else []
        for pipeline, result in zip(pipelines, run.variants, strict=False):
            if (result.variant.name, q.qid, repeat) not in done_before:
                yield _Task(q, located, pipeline, result, repeat)


def _sweep(
    run: EvalRun,
    pipelines: list[Pipeline],
    questions: QuestionSet,
    locator: EvidenceLocator | None,
    embed: Callable[[list[str]], Any] | None,
    repeats: int,
    done_before: set[tuple[str, str, int]],
    recorder: _Recorder,
    should_stop: Callable[[], bool] | None,
    workers: int,
) -> None:
    """At most `workers` answers in flight; rows are recorded in task order by this thread, so callbacks and the
    store see the same order as a sequential run. A stop request lets the answers in flight finish and keeps them."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep")
    try:
        for repeat in range(repeats):
            for pipeline in pipelines:
                if hasattr(pipeline.llm, "repeat"):
                    pipeline.llm.repeat = repeat  # type: ignore[union-attr]
            pending: deque[tuple[_Task, Future[QuestionResult]]] = deque()
            for task in _tasks(run, pipelines, questions, locator, repeat, done_before):
                if should_stop and should_stop():
                    run.stopped = True
                    break
                pending.append((task, pool.submit(task.answer, embed)))
                if len(pending) >= workers:
                    oldest, future = pending.popleft()
                    recorder.record(oldest, future.result())
            # Drained before the next repeat starts: the cached model's `repeat` is shared by its calls.
            while pending:
                oldest, future = pending.popleft()
                recorder.record(oldest, future.result())
            if run.stopped:
                return
    finally:
        # Normally every answer is recorded by now; after an error (or a page's script being stopped) the
        # answers in flight finish on their own rather than holding up the caller.
        pool.shutdown(wait=False, cancel_futures=True)
