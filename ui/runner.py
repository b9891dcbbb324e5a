"""Run library work with visible progress: one question over several variants, or an evaluation.

An evaluation records itself in session state as rows arrive, so a run interrupted by a click (the Stop
button, or leaving the page) still shows the rows that finished, marked as stopped. Its models load only when a
call misses the cache, on the sweep's worker thread; the progress bar says so then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from playground.core.config import VariantConfig
from playground.core.documents import Corpus
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import QuestionSet
from playground.models.lazy import load_count
from playground.models.llms import LLM
from playground.rag.pipeline import PipelineResult
from playground.storage.store import ExperimentStore
from ui import queue_status, resources, state, timing

Refresh = Callable[[EvalRun, int, int], None]
P = ParamSpec("P")


@dataclass(frozen=True)
class Answer:
    """One variant's answer to the lab question, kept in session state so it survives reruns."""

    variant_key: str
    question: str
    result: PipelineResult | None


def _progress_callback(bar: st.delta_generator.DeltaGenerator, what: str) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{what}: {done} of {total} chunks")

    return update


def answer_with(variant: VariantConfig, question: str, corpus: Corpus | None) -> Answer:
    """Answer one question with one variant; an error is shown where the answer would be."""
    bar = st.empty()
    settings = state.settings()

    def run() -> PipelineResult:
        built = resources.pipeline(variant, corpus, settings, _progress_callback(bar, "Building the index"))
        with st.spinner(f"'{variant.name}' is answering…"):
            return built.run(question)

    # Its calls to a shared local model take their turn as this session's; the wait is said where the bar was.
    in_turn = queue_status.as_session(run, queue_status.shown_in_caption(bar))
    result = resources.guarded(f"answering with '{variant.name}'", in_turn)
    bar.empty()
    timing.record(variant.model, result)
    return Answer(variant.key(), question, result)


def _resolve_models(variants: Sequence[VariantConfig], judge: str | None = None) -> list[LLM]:
    """Each model (and the judge) by name, up front, so a bad name stops the run before it starts; a local one
    loads later, and only if a call misses the cache."""
    settings = state.settings()
    names = dict.fromkeys([*(v.model for v in variants), *([judge] if judge else [])])
    return [resources.llm(name, settings, load=False) for name in names]


def _on_any_thread(fn: Callable[P, None]) -> Callable[P, None]:
    """`fn`, callable from the sweep's worker thread too: that thread gets this script run's context, so the
    progress bar it updates (a model loading on a miss) is this session's. The script thread meanwhile waits for
    the answer, so the two never draw at once."""
    ctx = get_script_run_ctx()

    def call(*args: P.args, **kwargs: P.kwargs) -> None:
        if ctx is not None and get_script_run_ctx(suppress_warning=True) is None:
            add_script_run_ctx(threading.current_thread(), ctx)
        fn(*args, **kwargs)

    return call


def evaluate(
    variants: Sequence[VariantConfig],
    corpus: Corpus | None,
    questions: QuestionSet,
    refresh: Refresh | None = None,
    every: int = 1,
    judge: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> EvalRun | None:
    """Run an evaluation with a progress bar; `refresh(run_so_far, done, total)` redraws live charts. With
    `judge`, that model judges every answer; `meta` is stored with the run (who ran it in a workshop room)."""
    state.last_run()  # settles a run that an earlier click interrupted, before this one takes its place
    settings = state.settings()
    bar = st.progress(0.0, text="Preparing the run…")
    models = resources.guarded("preparing the models", _resolve_models, variants, judge)
    if models is None:
        bar.empty()
        return None
    store = resources.guarded("opening the experiment store", ExperimentStore, settings)
    live = EvalRun(
        corpus=corpus.name if corpus else "",
        questions=questions.name,
        question_set_hash=questions.content_hash,
        variants=[],
        judge=judge,
    )
    state.start_live_run(live)
    loaded_before = load_count()
    answered = [0.0]  # the share of answers done, which a model loading midway leaves where it is

    def on_stage(message: str, done: int, total: int) -> None:
        if total:
            bar.progress(done / total, text=f"{message}: {done} of {total} chunks")
        else:  # a model loading because a call missed the cache (said from the worker thread)
            bar.progress(answered[0], text=f"{message}…")

    def on_row(result: VariantResult, row: QuestionResult, done: int, total: int) -> None:
        if result not in live.variants:
            live.variants.append(result)
        answered[0] = done / total
        bar.progress(
            done / total,
            text=f"Answered {done} of {total} (question {row.qid}, variant {result.variant.name})",
        )
        if refresh and (done == 1 or done % every == 0 or done == total):
            refresh(live, done, total)

    waiting = _on_any_thread(queue_status.shown_in_bar(bar, lambda: answered[0]))  # said from a worker thread
    run = resources.guarded(
        "running the evaluation",
        queue_status.as_session(run_evaluation, waiting),  # the answers take turns as this session's
        list(variants),
        corpus,
        questions,
        settings,
        llm=lambda name: resources.llm(name, settings, load=False),  # those resolved above, one copy each
        on_row=on_row,
        on_stage=_on_any_thread(on_stage),
        options=RunOptions(
            store=store,
            judge=judge,
            judge_llm=resources.llm(judge, settings, load=False) if judge else None,
            meta=meta or {},
        ),
    )
    bar.empty()
    if loaded_before != load_count():
        resources.settle_heap()  # freeze what the models that loaded during the run left, as a visible load does
    if run is None:
        if not live.variants:  # failed before any answer: the last results stay as they were
            state.abandon_live_run()
            return None
        live.stopped = True
        state.finish_live_run(live)
        return live
    state.finish_live_run(run)
    return run
