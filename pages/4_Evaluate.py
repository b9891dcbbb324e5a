"""Evaluate: run variants over a question set with live charts, then inspect and download every result."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from playground import charts
from playground.config import VariantConfig, dump_variant_set, load_variant_set, load_variant_set_text
from playground.evaluation import EvalRun
from playground.questions import QuestionSet, parse_questions
from ui import resources, runner, state, views, widgets

SESSION, LADDER, UPLOAD = "session", "ladder", "upload"

widgets.page_start(
    "Evaluate",
    "📊",
    "Score every variant on the same questions. Charts fill in while the answers come in; Stop keeps what "
    "finished.",
)


# --- which variants -----------------------------------------------------------------------------------------
def file_variants(source: str) -> list[VariantConfig] | None:
    if source == LADDER:
        return list(load_variant_set(state.LADDER_FILE).variants)
    upload = st.file_uploader(
        "Variants file (YAML)",
        type=["yaml", "yml"],
        key="ev_variants_file",
        help="A file saved from this page, or written by hand like sample_corpus/variants/ladder.yaml.",
    )
    if upload is None:
        return None
    text = upload.getvalue().decode("utf-8", errors="replace")
    return list(load_variant_set_text(text, state.ROOT, where=upload.name).variants)


st.subheader("1 · Variants")
source = st.radio(
    "Which variants",
    [SESSION, LADDER, UPLOAD],
    key="ev_variant_source",
    horizontal=True,
    format_func={
        SESSION: "From the labs",
        LADDER: "Sample: baseline then RAG (ladder.yaml)",
        UPLOAD: "Upload a variants file",
    }.get,
    help="The labs' variants are the ones you last sent here from the Prompt lab or the RAG lab.",
)
candidates = (
    state.variants()
    if source == SESSION
    else resources.guarded("reading the variants file", file_variants, source)
)
if not candidates:
    st.info(
        "Upload a variants file to continue."
        if source == UPLOAD
        else "No variants yet: send some from the Prompt lab or the RAG lab."
    )
    st.stop()
if source != SESSION and st.checkbox(
    f"Answer with my default model ({widgets.model_label(state.default_model())})",
    value=True,
    key="ev_use_default",
    help="Off: each variant uses the model written in the file.",
):
    candidates = [v.model_copy(update={"model": state.default_model()}) for v in candidates]
names = [v.name for v in candidates]
picked = st.multiselect(
    "Variants to run",
    names,
    default=names,
    key=f"ev_pick_{source}",
    help="Leave out variants you do not need: every variant answers every question.",
)
chosen = [v for v in candidates if v.name in picked]
st.dataframe(
    pd.DataFrame(
        [
            {
                "variant": v.name,
                "retrieval": f"top-{v.top_k}" if v.use_retrieval else "off",
                "chunking": f"{v.index.chunker} {v.index.chunk_size}/{v.index.chunk_overlap}"
                if v.use_retrieval
                else "",
                "prompt": ", ".join(
                    p
                    for p, on in (
                        ("system prompt", v.system_prompt),
                        ("template", v.template),
                        ("examples", v.few_shot),
                        ("step by step", v.think_step_by_step),
                    )
                    if on
                )
                or "default",
                "model": v.model,
            }
            for v in chosen
        ]
    ),
    hide_index=True,
    width="stretch",
)
if chosen:
    st.download_button(
        "Save these variants (YAML)",
        dump_variant_set(chosen),
        "variants.yaml",
        "text/yaml",
        key="ev_save_variants",
        help="Keep them to load again later with 'Upload a variants file'.",
    )


# --- which questions ----------------------------------------------------------------------------------------
def question_sources() -> dict[str, str]:
    options = {}
    if state.questions() is not None and not (state.questions_source() or "").startswith("sample:"):
        options["current"] = f"Current: {state.questions_label()}"
    for key, sample in state.SAMPLES.items():
        if sample.questions.exists():
            options[f"sample:{key}"] = f"Sample questions: {sample.label.split(':')[0]}"
    options[UPLOAD] = "Upload a question file"
    return options


def use_uploaded_questions(name: str, data: bytes) -> QuestionSet:
    found = parse_questions(name, data)
    state.set_questions(found, f"Uploaded: {name}", f"upload:{name}")
    return found


st.subheader("2 · Questions")
options = question_sources()
current_source = state.questions_source() or ""
current_key = "current" if "current" in options else current_source
qsource = st.radio(
    "Question set",
    list(options),
    key="ev_question_source",
    format_func=options.get,
    index=list(options).index(current_key) if current_key in options else 0,
    help="Each question has a gold (expected) answer, and often the quote that proves it.",
)
if qsource.startswith("sample:") and qsource != current_source:
    key = qsource.removeprefix("sample:")
    found = resources.guarded("reading the sample questions", resources.sample_questions, key)
    if found is not None:
        state.set_questions(found, f"Sample questions for {state.SAMPLES[key].label.split(':')[0]}", qsource)
elif qsource == UPLOAD:
    upload = st.file_uploader(
        "Question file (JSONL or CSV)",
        type=["jsonl", "csv"],
        key="ev_questions_file",
        help="Columns: question, answers (several separated by '|'), optionally evidence "
        "(a quote from the documents) and id.",
    )
    if upload is not None and state.questions_source() != f"upload:{upload.name}":
        resources.guarded("reading the question file", use_uploaded_questions, upload.name, upload.getvalue())
questions = state.questions()
if questions is None or (qsource == UPLOAD and not (state.questions_source() or "").startswith("upload:")):
    st.info("Choose or upload a question set to continue.")
    st.stop()
for warning in questions.warnings[:5]:
    st.warning(f"{questions.name}: {warning}")
limit = widgets.limit_input("ev_limit", len(questions.questions), default=20)
subset = questions.subset(limit)
needs_corpus = any(v.use_retrieval for v in chosen)
corpus = resources.current_corpus() if needs_corpus else state.corpus()
st.caption(
    f"{len(subset.questions)} of {len(questions.questions)} questions × {len(chosen)} variants = "
    f"{len(subset.questions) * len(chosen)} answers · corpus: {state.corpus_label()}"
)
qsrc, csrc = state.questions_source() or "", state.corpus_source() or ""
if qsrc.startswith("sample:") and csrc != qsrc and needs_corpus:
    st.warning(
        "These sample questions are about another corpus than the current one, so retrieval cannot find "
        "their evidence. Pick the matching sample on the Corpus page."
    )


# --- run ----------------------------------------------------------------------------------------------------
st.subheader("3 · Run")
run_col, stop_col = st.columns([1, 4])
start = run_col.button(
    "Run",
    type="primary",
    key="ev_run",
    disabled=not chosen,
    help="Every chosen variant answers every question; this can take a while with local models.",
)
stop_col.button("Stop", key="ev_stop", help="Stop after the current answer; the answers so far are kept.")
if start:
    live_area = st.empty()
    with live_area.container():
        st.caption("Live results (they fill in while the run goes on)")
        left, right = st.columns(2)
        accuracy_slot, matrix_slot = left.empty(), right.empty()

    def refresh(run: EvalRun, done: int, total: int) -> None:
        accuracy_slot.plotly_chart(
            charts.accuracy_chart(run.summary_rows()), key=f"ev_live_acc_{done}", width="stretch"
        )
        matrix_slot.plotly_chart(charts.outcome_matrix(run), key=f"ev_live_matrix_{done}", width="stretch")

    total = len(subset.questions) * len(chosen)
    runner.evaluate(chosen, corpus, subset, refresh=refresh, every=max(1, total // 20))
    live_area.empty()


# --- results ------------------------------------------------------------------------------------------------
st.subheader("4 · Results")
last = state.last_run()
if last is None:
    st.info("No results yet: press Run.")
    st.stop()
answered = sum(len(v.rows) for v in last.variants)
st.caption(
    f"Run of {last.started_at} · corpus {last.corpus or '(none)'} · questions {last.questions} · "
    f"{answered} answers"
)
if last.stopped:
    st.warning(f"This run was stopped: {answered} answers finished and are shown; the scores use only those.")
views.summary_table(last)
views.charts_grid(last, "ev")
st.subheader("One answer in detail")
views.cell_inspector(last, "ev_cell")
st.subheader("Download")
views.downloads(last, "ev_dl")
