"""Choosing what to work on: the corpus, a question for the labs, the variants and question set to evaluate.

Each chooser shows its controls (with a one-line help each) and returns what the user chose; a file that
cannot be used shows its error and gives nothing back.
"""

from __future__ import annotations

import zlib
from typing import Any

import pandas as pd
import streamlit as st

from playground.core.config import VariantConfig, dump_variant_set, load_variant_set, load_variant_set_text
from playground.ingest.files import ZIP_SUFFIX
from playground.ingest.formats import SUPPORTED_SUFFIXES
from playground.ingest.loaders import load_uploads
from playground.ingest.questions import Question, QuestionSet, parse_questions
from ui import question_sets, resources, state, widgets

SESSION, LADDER, UPLOAD, CURRENT = "session", "ladder", "upload", "current"
VARIANT_SOURCES = {
    SESSION: "From the labs",
    LADDER: "Sample: baseline then RAG (ladder.yaml)",
    UPLOAD: "Upload a variants file",
}


def question_picker(key: str, questions: QuestionSet | None) -> tuple[str, Question | None]:
    """A question from the current set (with its gold answer) or one the user types; a saved set can be
    switched to first."""
    question_sets.lab_set_picker(key)
    modes = ["From the question set", "Type my own"] if questions else ["Type my own"]
    mode = st.radio(
        "Question",
        modes,
        key=f"{key}_mode",
        horizontal=True,
        help="Pick a question with a known answer to see which variant gets it right, or ask your own.",
    )
    if mode == "Type my own" or questions is None:
        text = st.text_input(
            "Your question",
            key=f"{key}_text",
            placeholder="e.g. What do the documents say about …?",
            help="Any question about the documents.",
        )
        return text, None
    by_id = {q.qid: q for q in questions.questions}
    qid = st.selectbox(
        "Pick a question",
        list(by_id),
        key=f"{key}_pick",
        format_func=lambda i: f"{i} · {by_id[i].question}",
        help="Questions from the current question set; each has a gold (expected) answer.",
    )
    chosen = by_id[qid]
    st.text(f"Gold answer: {' | '.join(chosen.answers)}")
    return chosen.question, chosen


def limit_input(key: str, total: int, default: int = 10, cap: int | None = None) -> int:
    """How many questions of the set to use (the first N); at most `cap` (a workshop room's limit) when given."""
    most = max(min(total, cap or total), 1)
    note = f" This room allows at most {cap} per run." if cap is not None and cap < total else ""
    return int(
        st.columns([1, 3])[0].number_input(
            "How many questions",
            min_value=1,
            max_value=most,
            value=min(default, most),
            key=key,
            help=f"Use the first N questions of the set: fewer is faster, more gives a surer score.{note}",
        )
    )


# --- variants for an evaluation -----------------------------------------------------------------------------


def _file_variants(source: str, key: str) -> list[VariantConfig]:
    if source == LADDER:
        return list(load_variant_set(state.LADDER_FILE).variants)
    upload = st.file_uploader(
        "Variants file (YAML)",
        type=["yaml", "yml"],
        key=f"{key}_file",
        help="A file saved from this page, or written by hand like sample_corpus/variants/ladder.yaml.",
    )
    if upload is None:
        return []
    text = upload.getvalue().decode("utf-8", errors="replace")
    return list(load_variant_set_text(text, state.ROOT, where=upload.name).variants)


def variants_chooser(key: str) -> list[VariantConfig]:
    """The labs' variants, the sample ladder or an uploaded file; then which of them to run."""
    source = st.radio(
        "Which variants",
        list(VARIANT_SOURCES),
        key=f"{key}_source",
        horizontal=True,
        format_func=VARIANT_SOURCES.get,
        help="The labs' variants are the ones you last sent here from the Prompt lab or the RAG lab.",
    )
    if source == SESSION:
        candidates = state.variants()
    else:
        candidates = resources.guarded("reading the variants file", _file_variants, source, key) or []
        default = state.default_model()
        if candidates and st.checkbox(
            f"Answer with my default model ({widgets.model_label(default)})",
            value=True,
            key=f"{key}_use_default",
            help="Off: each variant uses the model written in the file.",
        ):
            candidates = [v.model_copy(update={"model": default}) for v in candidates]
    if not candidates:
        return []
    names = [v.name for v in candidates]
    picked = st.multiselect(
        "Variants to run",
        names,
        default=names,
        # keyed by the names too, so a newly loaded file starts with all its variants picked
        key=f"{key}_pick_{source}_{zlib.crc32('|'.join(names).encode()):x}",
        help="Leave out variants you do not need: every variant answers every question.",
    )
    return [v for v in candidates if v.name in picked]


def _prompt_summary(variant: VariantConfig) -> str:
    parts = (
        ("system prompt", variant.system_prompt),
        ("template", variant.template),
        ("examples", variant.few_shot),
        ("step by step", variant.think_step_by_step),
    )
    return ", ".join(name for name, used in parts if used) or "default"


def _reranking_summary(variant: VariantConfig) -> str:
    if not variant.use_retrieval or variant.reranker == "none":
        return ""
    model = f" {variant.reranker_model}" if variant.reranker_model else ""
    return f"{variant.reranker}{model} ({variant.rerank_fusion}, {variant.rerank_candidates} candidates)"


def variants_table(variants: list[VariantConfig], key: str) -> None:
    """What each chosen variant does, in one row each, with a button to save them as YAML."""
    rows = [
        {
            "variant": v.name,
            "retrieval": f"top-{v.top_k}" if v.use_retrieval else "off",
            "chunking": f"{v.index.chunker} {v.index.chunk_size}/{v.index.chunk_overlap}"
            if v.use_retrieval
            else "",
            "re-ranking": _reranking_summary(v),
            "prompt": _prompt_summary(v),
            "model": v.model,
        }
        for v in variants
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.download_button(
        "Save these variants (YAML)",
        dump_variant_set(variants),
        "variants.yaml",
        "text/yaml",
        key=f"{key}_save",
        help="Keep them to load again later with 'Upload a variants file'.",
    )


# --- the question set for an evaluation ---------------------------------------------------------------------


def _question_sources() -> dict[str, str]:
    options = {}
    if state.questions() is not None and not (state.questions_source() or "").startswith("sample:"):
        options[CURRENT] = f"Current: {state.questions_label()}"
    for name, sample in state.SAMPLES.items():
        if sample.questions.exists():
            options[f"sample:{name}"] = f"Sample questions: {sample.label.split(':')[0]}"
    if question_sets.saved_sets():
        options[question_sets.SAVED] = "A saved question set"
    options[UPLOAD] = "Upload a question file"
    return options


def _use_uploaded_questions(name: str, data: bytes) -> QuestionSet:
    found = parse_questions(name, data)
    state.set_questions(found, f"Uploaded: {name}", f"upload:{name}")
    return found


def _use_sample_questions(source: str) -> None:
    name = source.removeprefix("sample:")
    found = resources.sample_questions(name)
    if found is not None:
        state.set_questions(found, f"Sample questions for {state.SAMPLES[name].label.split(':')[0]}", source)


def _preselected(options: dict[str, str]) -> int | None:
    """The current set, else the sample's own questions for a sample corpus; nothing for the user's own files
    (a sample's questions are about other documents, so pre-selecting them invites a meaningless score)."""
    corpus = state.corpus_source() or ""
    if not corpus.startswith("sample:"):
        return list(options).index(CURRENT) if CURRENT in options else None
    for choice in (CURRENT, state.questions_source() or "", corpus):
        if choice in options:
            return list(options).index(choice)
    return None


def no_questions_message() -> str:
    """What to do when no question set is chosen yet, said for the corpus in use."""
    if (state.corpus_source() or "").startswith("sample:"):
        return "Choose a question set above to score the variants."
    return (
        "Your documents need questions about them before anything can be scored: the sample question sets "
        "are about other documents. Upload a question file above, or generate or type a question set about "
        "your documents; then Run becomes available."
    )


def question_set_chooser(key: str) -> QuestionSet | None:
    """A sample question set, the current one, or an uploaded JSONL/CSV file; it becomes the session's set."""
    options = _question_sources()
    current = state.questions_source() or ""
    source = st.radio(
        "Question set",
        list(options),
        key=f"{key}_source",
        format_func=options.get,
        index=_preselected(options),
        help="Each question has a gold (expected) answer, and often the quote that proves it.",
    )
    if source is None:
        return None
    if source.startswith("sample:") and source != current:
        resources.guarded("reading the sample questions", _use_sample_questions, source)
    elif source == question_sets.SAVED:
        question_sets.saved_set_picker(key)
        if question_sets.saved_name(state.questions_source()) is None:
            return None
    elif source == UPLOAD:
        upload = st.file_uploader(
            "Question file (JSONL or CSV)",
            type=["jsonl", "csv"],
            key=f"{key}_file",
            help="Columns: question, answers (several separated by '|'), optionally evidence (a quote from "
            "the documents) and id.",
        )
        if upload is None:
            return None
        is_new = state.questions_source() != f"upload:{upload.name}"
        read = "reading the question file"
        if (
            is_new
            and resources.guarded(read, _use_uploaded_questions, upload.name, upload.getvalue()) is None
        ):
            return None
    found = state.questions()
    if found is not None:
        for warning in found.warnings[:5]:
            st.warning(f"{found.name}: {warning}")
    return found


def follow_current(key: str) -> None:
    """Show the session's question set as the chosen one (after the question table put a saved set in use).
    Call it from a widget callback, before the chooser is drawn."""
    st.session_state[f"{key}_source"] = CURRENT


def mismatch_warning(uses_retrieval: bool) -> None:
    """Warn when sample questions are asked of another corpus: their evidence cannot be found there."""
    questions, corpus = state.questions_source() or "", state.corpus_source() or ""
    if uses_retrieval and questions.startswith("sample:") and corpus != questions:
        st.warning(
            "These sample questions are about another corpus than the current one, so retrieval cannot find "
            "their evidence. Pick the matching sample on the Corpus page."
        )


# --- the corpus ---------------------------------------------------------------------------------------------


def _use_uploads(files: list[Any]) -> None:
    corpus = load_uploads([(f.name, f.getvalue()) for f in files], name="your upload")
    state.set_corpus(corpus, f"Your upload ({len(files)} file{'s' if len(files) != 1 else ''})", UPLOAD)
    if (state.questions_source() or "").startswith("sample:"):
        state.set_questions(None)  # the sample's questions are about the sample, not these files


def _source_label(source: str) -> str:
    return "Upload my own files" if source == UPLOAD else f"Sample — {state.SAMPLES[source[7:]].label}"


def corpus_chooser(key: str) -> None:
    """A sample corpus or the user's files; the choice becomes the session's corpus."""
    sources = [f"sample:{name}" for name in state.SAMPLES] + [UPLOAD]
    current = state.corpus_source()
    source = st.radio(
        "Documents",
        sources,
        index=sources.index(current) if current in sources else None,
        key=f"{key}_source_pick",
        format_func=_source_label,
        help="A sample has a ready-made question set with known answers; your own files need a question set "
        "too (uploaded on the Evaluate page) to be scored.",
    )
    if source and source.startswith("sample:") and source != current:
        resources.guarded(
            "reading the sample documents", resources.use_sample, source.removeprefix("sample:")
        )
    if source != UPLOAD:
        return
    files = st.file_uploader(
        "Your files",
        type=sorted({s.lstrip(".") for s in (*SUPPORTED_SUFFIXES, ZIP_SUFFIX)}),
        accept_multiple_files=True,
        key=f"{key}_files",
        help="Text, Markdown, PDF, HTML, Word, CSV or JSONL files, or a zip of them. Files that cannot be "
        "read are listed below; the others are used.",
    )
    signature = tuple((f.name, f.size, f.file_id) for f in files or [])
    if files and signature != state.lab_value(f"{key}_upload_signature"):
        state.set_lab_value(f"{key}_upload_signature", signature)
        resources.guarded("reading your files", _use_uploads, files)
    elif not files:
        st.caption("Until you add files, the current corpus stays in use.")
