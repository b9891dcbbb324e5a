"""Run library work with visible progress: one question over several variants, or an evaluation.

An evaluation records itself in session state as rows arrive, so a run interrupted by a click (the Stop
button, or leaving the page) still shows the rows that finished, marked as stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from playground.core.config import VariantConfig
from playground.core.documents import Corpus
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import QuestionSet
from playground.models.llms import LLM
from playground.rag.pipeline import PipelineResult
from playground.storage.store import ExperimentStore
from ui import resources, state, timing

Refresh = Callable[[EvalRun, int, int], None]


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

    result = resources.guarded(f"answering with '{variant.name}'", run)
    bar.empty()
    timing.record(variant.model, result)
    return Answer(variant.key(), question, result)


def _warm_models(variants: Sequence[VariantConfig], judge: str | None = None) -> list[LLM]:
    """Load each model (and the judge) once, up front and visibly, so the run itself starts answering at once."""
    settings = state.settings()
    names = dict.fromkeys([*(v.model for v in variants), *([judge] if judge else [])])
    return [resources.llm(name, settings) for name in names]


def evaluate(
    variants: Sequence[VariantConfig],
    corpus: Corpus | None,
    questions: QuestionSet,
    refresh: Refresh | None = None,
    every: int = 1,
    judge: str | None = None,
) -> EvalRun | None:
    """Run an evaluation with a progress bar; `refresh(run_so_far, done, total)` redraws live charts. With
    `judge`, that model judges every answer."""
    state.last_run()  # settles a run that an earlier click interrupted, before this one takes its place
    settings = state.settings()
    bar = st.progress(0.0, text="Loading the models…")
    models = resources.guarded("loading the models", _warm_models, variants, judge)
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

    def on_stage(message: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 0.0, text=f"{message}: {done} of {total} chunks")

    def on_row(result: VariantResult, row: QuestionResult, done: int, total: int) -> None:
        if result not in live.variants:
            live.variants.append(result)
        bar.progress(
            done / total,
            text=f"Answered {done} of {total} (question {row.qid}, variant {result.variant.name})",
        )
        if refresh and (done == 1 or done % every == 0 or done == total):
            refresh(live, done, total)

    run = resources.guarded(
        "running the evaluation",
        run_evaluation,
        list(variants),
        corpus,
        questions,
        settings,
        llm=lambda name: resources.llm(name, settings),  # the models loaded above, never a second copy
        on_row=on_row,
        on_stage=on_stage,
        options=RunOptions(
            store=store, judge=judge, judge_llm=resources.llm(judge, settings) if judge else None
        ),
    )
    bar.empty()
    if run is None:
        if not live.variants:  # failed before any answer: the last results stay as they were
            state.abandon_live_run()
            return None
        live.stopped = True
        state.finish_live_run(live)
        return live
    state.finish_live_run(run)
    return run
