"""Write a question set for the current corpus with a model, with a progress bar (count and time left) and Stop.

Hand-over: every time a question is kept, the set so far is put in `st.session_state[GENERATED]` (a
`QuestionSet` named "generated-<time>") and the run's `GenerationReport` in `st.session_state[REPORT]`, so a run
that Stop (or any click) interrupts keeps what finished. The question table (`ui/question_table.py`) opens each
new set found under GENERATED.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from playground.core.documents import Corpus
from playground.evaluation.testset import KINDS, GenerationOptions, GenerationReport, Kind, generate_questions
from playground.evaluation.testset.pipelines import (
    CHECK_MODEL,
    checks_from,
    closed_book_variant,
    retrieval_variant,
    with_cache,
)
from playground.evaluation.testset.writer import DocumentChecks
from playground.models.llms import LLM
from playground.rag.pipeline import Pipeline
from ui import queue_status, resources, state, widgets

GENERATED = "generated_questions"  # the QuestionSet so far (the key the question table reads)
REPORT = "generated_questions_report"  # the GenerationReport so far
KIND_LABELS: dict[Kind, str] = {
    "single": "Single fact",
    "multi-hop": "Two documents (multi-hop)",
    "unanswerable": "Not in the documents",
}


def _check_model(key: str) -> str:
    choices = widgets.model_choices(CHECK_MODEL)
    return str(
        st.selectbox(
            "Model that checks them",
            choices,
            index=choices.index(CHECK_MODEL),
            key=f"{key}_check_model",
            format_func=widgets.model_label,
            help="Answers each question without the documents, and decides whether a retrieved passage "
            "answers an 'unanswerable' one. The 0.5B model cannot tell what a passage answers.",
        )
    )


def _options(key: str) -> tuple[str, GenerationOptions, bool]:
    left, middle, right = st.columns([2, 1, 1])
    model = left.selectbox(
        "Model that writes the questions",
        widgets.model_choices(state.default_model()),
        key=f"{key}_model",
        format_func=widgets.model_label,
        help="A larger model writes better questions (fewer are rejected) but takes longer per question.",
    )
    n = middle.number_input("Questions", 1, 200, 20, key=f"{key}_n", help="How many questions to keep.")
    seed = right.number_input(
        "Draw", 0, 10_000, 0, key=f"{key}_seed", help="Which passages are drawn; another number, other ones."
    )
    kinds = st.pills(
        "Kinds",
        list(KINDS),
        selection_mode="multi",
        default=list(KINDS),
        format_func=lambda kind: KIND_LABELS[kind],
        key=f"{key}_kinds",
        help="Single fact: one sentence answers it. Two documents: a fact reached through another document. "
        "Not in the documents: a plausible question the corpus does not answer (gold: 'not in the documents').",
    )
    closed = st.checkbox(
        "Also ask each question without the documents",
        True,
        key=f"{key}_closed",
        help="One more model call per question: a question the model answers right without the documents "
        "gets a warning (it tests what the model knows, not your documents).",
    )
    options = GenerationOptions(n=int(n), kinds=tuple(kinds or ("single",)), seed=int(seed))
    return str(model), options, closed


def _checks(corpus: Corpus, llm: LLM, options: GenerationOptions, closed: bool) -> DocumentChecks:
    """The closed-book check, and for unanswerable questions the retrieval one (opening the index)."""
    config = state.index_config()
    rag = None
    if "unanswerable" in options.kinds:
        settings = state.settings()
        bar = st.progress(0.0, text="Opening the index for the retrieval check…")

        def indexing(done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0, text=f"Indexing: {done} of {total} chunks")

        found = resources.index(corpus, config, settings, indexing)
        bar.empty()
        rag = Pipeline(
            retrieval_variant(llm.name, config), llm, found, resources.embedder(config.embedder, settings)
        )
    return checks_from(Pipeline(closed_book_variant(llm.name), llm) if closed else None, rag)


def _progress_text(report: GenerationReport) -> str:
    eta = report.eta_s()
    left = "estimating time left" if eta is None else f"about {max(1, round(eta / 60))} min left"
    return f"Kept {len(report.items)} of {report.target} questions · {report.attempts} tries · {left}"


def _run(
    corpus: Corpus, models: tuple[str, str], options: GenerationOptions, closed: bool
) -> GenerationReport:
    settings = state.settings()
    llm, checker = (with_cache(resources.llm(name, settings), settings) for name in models)
    checks = _checks(corpus, checker, options, closed)
    name = f"generated-{time.strftime('%Y%m%d-%H%M')}"
    report = GenerationReport(target=options.n)
    st.session_state[REPORT] = report
    bar = st.progress(0.0, text=f"Writing questions with {widgets.model_label(models[0])}…")

    def progress(done: GenerationReport) -> None:
        if done.items:
            st.session_state[GENERATED] = done.question_set(name)
        bar.progress(min(1.0, len(done.items) / max(1, done.target)), text=_progress_text(done))

    chunks = resources.chunks(corpus, state.index_config())
    queue_status.as_session(generate_questions)(  # a turn at a shared model, as this session
        chunks, llm, options, corpus=corpus, checks=checks, on_progress=progress, report=report
    )
    bar.empty()
    return report


def _summary(report: GenerationReport) -> None:
    """What was kept and why the rest was not; a shortfall says what to do."""
    done = f"Kept {len(report.items)} of {report.target} questions ({report.per_minute():.1f} per minute)."
    if len(report.items) < report.target:
        notes = report.notes or ["Stopped before the end; the questions kept so far are in the table below."]
        st.warning(" ".join([done, *notes]), icon=":material/warning:")
    else:
        st.success(
            f"{done} They are open in the table below: review them, then save the set.",
            icon=":material/check_circle:",
        )
    if report.rejected:
        reasons = pd.DataFrame([{"rejected because": r, "questions": n} for r, n in report.reasons().items()])
        st.dataframe(reasons, hide_index=True, width="stretch")
    warned = [i for i in report.items if i.warnings]
    if warned:
        st.caption(f"{len(warned)} questions are answered right without the documents: see their warnings.")


def generate_panel(key: str, corpus: Corpus | None) -> None:
    """The generator's controls, progress and summary, for the Evaluate page."""
    if corpus is None:
        st.info("Load a corpus on the Corpus page to write questions from it.", icon=":material/description:")
        return
    st.caption(
        f"From the corpus {widgets.plain(state.corpus_label())}: each question is checked and kept or rejected with a reason."
    )
    model, options, closed = _options(key)
    check_model = _check_model(key)
    go, stop = st.columns([1, 4])
    start = go.button("Write questions", key=f"{key}_go", type="primary", icon=":material/auto_awesome:")
    # A click reruns the page and so ends a run; what was kept is already in the session.
    stop.button(
        "Stop",
        key=f"{key}_stop",
        icon=":material/stop_circle:",
        help="Stop writing; the questions kept so far stay.",
    )
    if start:
        resources.guarded("writing questions", _run, corpus, (model, check_model), options, closed)
    report = st.session_state.get(REPORT)
    if isinstance(report, GenerationReport):
        _summary(report)
