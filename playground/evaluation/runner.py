"""Run variants over a question set, scoring every answer and every retrieval (a sweep).

Questions run in the outer loop and variants in the inner one, so live charts move for all variants together and
a stopped run still compares them on the same questions. Against hosted models several answers are computed at
once (a thread pool); rows are still recorded, saved and reported in that order, by the calling thread.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from playground.core.config import VariantConfig
from playground.core.documents import Corpus
from playground.core.settings import Settings
from playground.evaluation.answer_judge import judge_answer
from playground.evaluation.judge import LLMJudge
from playground.evaluation.rerank_moves import rerank_move
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.evaluation.scoring import Embed, score_answer
from playground.evaluation.sweep_setup import (
    LLMSource,
    StageCallback,
    load_notice,
    open_caches,
    prepare_pipelines,
    run_judge,
    semantic_embed,
)
from playground.ingest.questions import EvidenceLocator, Question, QuestionSet, Span
from playground.models import pricing
from playground.models.llms import LLM
from playground.models.names import try_parse_model_name
from playground.rag.pipeline import Pipeline, PipelineResult
from playground.storage.cached_models import CachedLLM
from playground.storage.call_log import call_log
from playground.storage.store import ExperimentStore

RowCallback = Callable[[VariantResult, QuestionResult, int, int], None]
Done = set[tuple[str, str, int]]  # (variant, qid, repeat) of the rows already recorded

HOSTED_CONCURRENCY = 4


@dataclass(frozen=True)
class RunOptions:
    """How a sweep runs: caching, repeats (for temperature above zero) and where it is recorded."""

    use_cache: bool = True
    repeats: int = 1
    store: ExperimentStore | None = None
    resume_run_id: int | None = None
    # Answers computed at once; None: the PLAYGROUND_CONCURRENCY setting, else see `sweep_concurrency`.
    concurrency: int | None = None
    # The model that judges every answer (judge_correct, faithfulness); None: no judge. `judge_llm` answers as
    # it instead of loading it (a model already loaded, a test's fake, a replay's no-call stand-in).
    judge: str | None = None
    judge_llm: LLM | None = None
    # Kept with the run in the store beside repeats and judge: who ran it in a workshop room ({"participant": name}).
    meta: Mapping[str, Any] = field(default_factory=dict)


def _is_hosted(model: str) -> bool:
    name = try_parse_model_name(model)
    return name is not None and name.is_hosted


def sweep_concurrency(variants: Sequence[VariantConfig], settings: Settings, options: RunOptions) -> int:
    """How many answers a sweep computes at once: the option, else the setting, else 4 when every model is
    hosted (a server answers requests in parallel) and 1 otherwise (a local llama.cpp model answers one call at
    a time through its fair gate, so more threads would only queue)."""
    chosen = options.concurrency or settings.concurrency
    if chosen:
        return max(1, chosen)
    hosted = bool(variants) and all(_is_hosted(v.model) for v in variants)
    return HOSTED_CONCURRENCY if hosted else 1


def _start_record(
    options: RunOptions, run: EvalRun, corpus: Corpus | None, variants: Sequence[VariantConfig]
) -> tuple[int | None, Done]:
    """Start (or resume) the run in the store; returns its id and the (variant, qid, repeat) already done."""
    store = options.store
    if store is None:
        return None, set()
    if options.resume_run_id is not None:
        store.resume_run(options.resume_run_id)
        saved = store.load_run(options.resume_run_id)["rows"]
        done = {(name, r["qid"], int(r.get("repeat", 0))) for name, rows in saved.items() for r in rows}
        for result in run.variants:
            result.rows.extend(QuestionResult.from_dict(r) for r in saved.get(result.variant.name, []))
        return options.resume_run_id, done
    run_id = store.start_run(
        corpus=run.corpus,
        corpus_hash=corpus.content_hash if corpus else "",
        questions=run.questions,
        question_set_hash=run.question_set_hash,
        configs=list(variants),
        meta={"repeats": options.repeats, "judge": options.judge, **options.meta},
    )
    return run_id, set()


# --- running --------------------------------------------------------------------------------------------------


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
    caches = open_caches(settings, options.use_cache)
    judge = run_judge(options.judge, options.judge_llm, settings, caches, load_notice(on_stage))
    pipelines = prepare_pipelines(variants, corpus, settings, llm, on_stage, caches)
    run = EvalRun(
        corpus=corpus.name if corpus else "",
        questions=questions.name,
        question_set_hash=questions.content_hash,
        variants=[VariantResult(p.variant) for p in pipelines],
        judge=options.judge,
    )
    run.run_id, done_before = _start_record(options, run, corpus, variants)
    plan = _Plan(
        run=run,
        pipelines=pipelines,
        questions=questions,
        locator=EvidenceLocator(corpus) if corpus is not None else None,
        repeats=options.repeats,
        done_before=done_before,
        judge=judge,
    )
    total = len(questions.questions) * len(pipelines) * options.repeats
    recorder = _Recorder(
        store=options.store, run_id=run.run_id, on_row=on_row, total=total, done=len(done_before)
    )
    embed = semantic_embed(settings, caches[1] if caches else None, load_notice(on_stage))
    status = "incomplete"
    try:
        _sweep(plan, embed, recorder, should_stop, sweep_concurrency(variants, settings, options))
        status = "stopped" if run.stopped else "complete"
    finally:
        if options.store is not None and run.run_id is not None:
            options.store.finish_run(run.run_id, status)
    return run


def for_repeat(pipeline: Pipeline, repeat: int) -> Pipeline:
    """The pipeline whose model calls are seeded and cached as repeat number `repeat`.

    A copy when the repeat changes anything, so answers of different repeats can be in flight at once. Without a
    cache the model is called as it is (seeded by its own default).
    """
    if not isinstance(pipeline.llm, CachedLLM) or pipeline.llm.repeat == repeat:
        return pipeline
    return dataclasses.replace(pipeline, llm=pipeline.llm.for_repeat(repeat))


@dataclass(frozen=True)
class _Task:
    """One answer to compute: a question, for one variant, in one repeat."""

    question: Question
    located: list[list[Span]]
    pipeline: Pipeline
    result: VariantResult
    repeat: int
    judge: LLMJudge | None = None

    def answer(self, embed: Embed | None) -> QuestionResult:
        """Runs on a worker thread; a failure becomes a row with its error (`run_safely`)."""
        pipeline = for_repeat(self.pipeline, self.repeat)
        with call_log() as log:  # scoring inside: its embeddings count as this answer's cache traffic
            outcome = pipeline.run_safely(self.question.question)
            metrics = score_answer(self.question, outcome, self.located, pipeline.variant.top_k, embed)
            judged = judge_answer(self.judge, self.question, outcome) if self.judge else None
        index = pipeline.index
        moved = rerank_move(outcome.steps, self.located, index.chunk) if index is not None else None
        return QuestionResult.from_answer(
            self.question,
            outcome,
            self.located,
            metrics=metrics | (judged.metrics if judged else {}),
            repeat=self.repeat,
            cache=log.as_dict(),
            cost_usd=_answer_cost(pipeline.variant.model, outcome, log.tokens),
            judge=judged.details if judged else None,
            evidence_move=moved.to_dict() if moved else None,
        )


def _answer_cost(model: str, outcome: PipelineResult, logged: dict[str, int]) -> float | None:
    """The list price of every call behind the answer; without a cache (nothing logged), of the answer call."""
    if outcome.error:
        return None
    # Prices were checked at the run's start, so this cannot fail on a malformed price.
    if any(logged.values()):
        return pricing.cost_usd(model, logged["prompt"], logged["completion"])
    return pricing.cost_usd(model, outcome.prompt_tokens, outcome.completion_tokens)


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


@dataclass(frozen=True)
class _Plan:
    """The answers a sweep computes: every repeat, question and variant not already done."""

    run: EvalRun
    pipelines: list[Pipeline]
    questions: QuestionSet
    locator: EvidenceLocator | None
    repeats: int
    done_before: Done
    judge: LLMJudge | None = None

    def tasks(self) -> Iterator[_Task]:
        """Repeat by repeat, question by question, each for every variant."""
        for repeat in range(self.repeats):
            for q in self.questions.questions:
                located = self.locator.locate_all(q) if self.locator else []
                for pipeline, result in zip(self.pipelines, self.run.variants, strict=False):
                    if (result.variant.name, q.qid, repeat) not in self.done_before:
                        yield _Task(q, located, pipeline, result, repeat, self.judge)


def _sweep(
    plan: _Plan,
    embed: Embed | None,
    recorder: _Recorder,
    should_stop: Callable[[], bool] | None,
    workers: int,
) -> None:
    """At most `workers` answers in flight; rows are recorded in task order by this thread, so callbacks and the
    store see the same order as a sequential run. A stop request lets the answers in flight finish and keeps them."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep")
    pending: deque[tuple[_Task, Future[QuestionResult]]] = deque()
    try:
        for task in plan.tasks():
            if should_stop and should_stop():
                plan.run.stopped = True
                break
            # The answer runs in a copy of this thread's context, so a shared model knows whose call it is.
            pending.append((task, pool.submit(contextvars.copy_context().run, task.answer, embed)))
            if len(pending) >= workers:
                oldest, future = pending.popleft()
                recorder.record(oldest, future.result())
        while pending:
            oldest, future = pending.popleft()
            recorder.record(oldest, future.result())
    finally:
        # Normally every answer is recorded by now; after an error (or a page's script being stopped) the
        # answers in flight finish on their own rather than holding up the caller.
        pool.shutdown(wait=False, cancel_futures=True)
