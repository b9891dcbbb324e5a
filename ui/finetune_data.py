"""Step 1 of the Fine-tune page: training items (written by an LLM and/or from the question set), the held-out
split without leaks, downloads, and the chat-file checker with its cost table."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from playground.core.documents import Chunk, Corpus
from playground.finetune import chatfile, data
from playground.finetune.data import BuildReport, TrainingItem
from playground.finetune.split import GroupBy, Split, SplitOptions, split_items
from ui import resources, state, widgets

HELDOUT_MODES = {
    "questions": "The question set (written by people): the best test",
    "random": "A random share of the training items",
}
GROUPS: dict[GroupBy, str] = {
    "chunk": "By passage: no held-out passage is trained on",
    "document": "By document: no held-out document is trained on (strictest)",
    "question": "By question only (the model may see the same facts, asked differently)",
}


def _generate(chunks: list[Chunk], model: str, per_chunk: int) -> BuildReport:
    bar = st.progress(0.0, text="Writing questions…")
    llm = resources.llm(model, state.settings())

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Writing questions: {done} of {total} passages")

    report = data.generate_items(chunks, llm, per_chunk=per_chunk, on_progress=progress)
    bar.empty()
    return report


def generation_controls(chunks: list[Chunk]) -> None:
    """The LLM, how many passages, how many questions each, and the Generate button."""
    left, middle, right = st.columns([2, 1, 1])
    model = left.selectbox(
        "Model that writes the questions",
        widgets.model_choices(state.default_model()),
        key="ft_gen_model",
        format_func=widgets.model_label,
        help="A larger model writes better questions; each passage takes one call.",
    )
    count = middle.number_input(
        "Passages to use",
        1,
        max(1, len(chunks)),
        min(10, len(chunks)),
        key="ft_gen_n",
        help="The first N chunks of the corpus. One model call each.",
    )
    per_chunk = right.number_input(
        "Questions per passage",
        1,
        3,
        2,
        key="ft_gen_per",
        help="How many question-answer pairs to ask for from each passage.",
    )
    if st.button(
        "Write questions",
        key="ft_gen",
        help="Ask the model for question-answer pairs; bad ones "
        "(answer not in the passage, too short, copied, duplicates) are dropped and listed.",
    ):
        report = resources.guarded(
            "writing questions", _generate, chunks[: int(count)], model, int(per_chunk)
        )
        if report is not None:
            state.set_lab_value("ft_report", report)
            state.set_lab_value("ft_split", None)


def _question_items(corpus: Corpus, chunks: list[Chunk]) -> list[TrainingItem]:
    questions = resources.current_questions()
    return data.items_from_questions(questions, corpus, chunks) if questions else []


def question_set_held_out(corpus: Corpus) -> Split:
    """No training items, the question set held out: what a reranker trained on sentences alone is tested on
    when step 1 was skipped (its evidence chunks then give no sentence)."""
    return Split((), tuple(_question_items(corpus, resources.chunks(corpus, state.index_config()))))


def split_controls() -> tuple[str, SplitOptions, bool, bool]:
    """Held-out mode, leak-filter options, whether to check meaning too, whether to train on the set."""
    mode = st.radio(
        "Held-out questions (the test)",
        list(HELDOUT_MODES),
        format_func=HELDOUT_MODES.get,
        key="ft_heldout",
        horizontal=True,
        help="Questions the model never trains on, used in step 4 to see whether training helped.",
    )
    left, middle, right = st.columns(3)
    group: GroupBy = left.selectbox(
        "Keep apart",
        list(GROUPS),
        format_func=lambda g: GROUPS[g],
        key="ft_group",
        help="What a held-out question takes with it out of the training data.",
    )
    jaccard = middle.slider(
        "Max word overlap with a held-out question",
        0.1,
        1.0,
        0.5,
        0.05,
        key="ft_jaccard",
        help="Training questions sharing more of their words (Jaccard) with a held-out one "
        "count as paraphrases and are dropped.",
    )
    cosine = right.slider(
        "Max meaning similarity",
        0.5,
        1.0,
        0.85,
        0.01,
        key="ft_cosine",
        help="Same, by the embedder's cosine similarity (catches paraphrases in other words).",
    )
    by_meaning = st.checkbox(
        "Also check meaning (loads the embedder)",
        True,
        key="ft_by_meaning",
        help="Slower, but catches paraphrases that use different words.",
    )
    also_set = mode == "random" and st.checkbox(
        "Also train on the question set",
        False,
        key="ft_use_set",
        help="Adds the question set's questions to the training items.",
    )
    return (
        mode,
        SplitOptions(group_by=group, max_jaccard=jaccard, max_cosine=cosine),
        by_meaning,
        bool(also_set),
    )


def _split(corpus: Corpus, chunks: list[Chunk], items: list[TrainingItem], choice: tuple[Any, ...]) -> Split:
    mode, options, by_meaning, also_set = choice
    embed = (
        resources.embedder("local:all-minilm-l6-v2", state.settings()).embed_documents if by_meaning else None
    )
    if mode == "questions":
        return split_items(items, options, heldout=_question_items(corpus, chunks), embed=embed)
    pool = items + (_question_items(corpus, chunks) if also_set else [])
    return split_items(pool, options, embed=embed)


def _frame(items: list[TrainingItem] | tuple[TrainingItem, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": i.qid,
                "question": i.question,
                "answer": i.answer,
                "from": i.origin,
                "passage": i.passage[:160],
            }
            for i in items
        ]
    )


def show_split(split: Split, report: BuildReport | None) -> None:
    cols = st.columns(4)
    cols[0].metric("Training items", len(split.train), help="What the model learns from.")
    cols[1].metric("Held-out questions", len(split.heldout), help="The test in step 4; never trained on.")
    cols[2].metric("Dropped as leaks", len(split.dropped), help="Too close to a held-out question.")
    cols[3].metric("Rejected by the quality filter", len(report.rejected) if report else 0)
    tabs = st.tabs(["Training items", "Held-out", "Dropped (leaks)", "Rejected (quality)"])
    tabs[0].dataframe(_frame(split.train), hide_index=True, width="stretch")
    tabs[1].dataframe(_frame(split.heldout), hide_index=True, width="stretch")
    tabs[2].dataframe(
        pd.DataFrame([{"why": why, "question": i.question} for i, why in split.dropped]),
        hide_index=True,
        width="stretch",
    )
    rejected = [  # "why" first: after a long answer it sat off the right edge
        {"why": r.reason, "question": r.question, "answer": r.answer}
        for r in (report.rejected if report else [])
    ]
    tabs[3].dataframe(pd.DataFrame(rejected), hide_index=True, width="stretch")


def downloads(split: Split) -> None:
    left, middle, right = st.columns(3)
    left.download_button(
        "Training set (OpenAI chat JSONL)",
        chatfile.to_chat_jsonl(split.train),
        "train-chat.jsonl",
        key="ft_dl_chat",
        help="Upload this to OpenAI fine-tuning.",
    )
    middle.download_button(
        "Training pairs (sentence-transformers)",
        chatfile.to_pairs_jsonl(split.train),
        "train-pairs.jsonl",
        key="ft_dl_pairs",
        help="(question, passage) pairs for embedders.",
    )
    right.download_button(
        "Held-out questions (JSONL)",
        _heldout_jsonl(split),
        "heldout.jsonl",
        key="ft_dl_held",
        help="A question set you can load on the Evaluate page.",
    )


def _heldout_jsonl(split: Split) -> str:
    import json

    return "".join(
        json.dumps(
            {"id": i.qid, "question": i.question, "answers": [i.answer], "evidence": list(i.quotes)},
            ensure_ascii=False,
        )
        + "\n"
        for i in split.heldout
    )


def data_step(corpus: Corpus) -> Split | None:
    """Everything of step 1; returns the split once built."""
    chunks = resources.chunks(corpus, state.index_config())
    st.caption(
        f"Corpus: {widgets.plain(state.corpus_label())} · {len(chunks)} passages (chunks) · question set: "
        f"{widgets.plain(state.questions_label())}"
    )
    if st.checkbox(
        "Write training questions from the documents with an LLM",
        True,
        key="ft_gen_on",
        help="Synthetic question-answer pairs, one model call per passage.",
    ):
        generation_controls(chunks)
    report: BuildReport | None = state.lab_value("ft_report")
    items = report.items if report and st.session_state.get("ft_gen_on", True) else []
    choice = split_controls()
    if st.button(
        "Build the training and held-out sets",
        key="ft_split_go",
        type="primary",
        help="Splits the items and drops every training question too close to a held-out one.",
    ):
        built = resources.guarded("splitting the data", _split, corpus, chunks, list(items), choice)
        state.set_lab_value("ft_split", built)
        if built is not None and not built.train:
            st.warning(
                "No training items: write questions with an LLM, or hold out a random share and also "
                "train on the question set."
            )
    split: Split | None = state.lab_value("ft_split")
    if split is not None:
        show_split(split, report)
        downloads(split)
    return split


# --- the chat-file checker ----------------------------------------------------------------------------------


PRICE_COLUMN = "USD per 1M training tokens"
DEFAULT_PRICE_TABLE = pd.DataFrame(
    [{"model": k, PRICE_COLUMN: v} for k, v in chatfile.DEFAULT_PRICES.items()]
)


def _prices() -> dict[str, float]:
    """The editable price table (the widget keeps the user's edits for the session)."""
    st.caption(
        "OpenAI's training prices (2025): edit a price when it changes, or add a model in the last row."
    )
    table = st.data_editor(DEFAULT_PRICE_TABLE, num_rows="dynamic", hide_index=True, key="ft_prices_table")
    return {str(r["model"]): float(r[PRICE_COLUMN] or 0) for r in table.to_dict("records") if r.get("model")}


def checker(split: Split | None) -> None:
    """Validate an uploaded chat JSONL (or the training set above), count tokens, estimate the cost."""
    upload = st.file_uploader(
        "Chat fine-tuning file (JSONL)",
        type=["jsonl", "json", "txt"],
        key="ft_check_file",
        help="One JSON object per line with a 'messages' list, as OpenAI expects.",
    )
    text = upload.getvalue() if upload else (chatfile.to_chat_jsonl(split.train).encode() if split else b"")
    if not text:
        st.caption("Upload a file, or build the training set above to check it.")
        return
    report = resources.guarded("checking the file", chatfile.validate_chat_jsonl, text)
    if report is None:
        return
    (st.success if report.enough else st.error)(report.verdict())
    if report.issues:
        st.dataframe(
            pd.DataFrame([{"line": i.line, "problem": i.message} for i in report.issues]),
            hide_index=True,
            width="stretch",
        )
    st.caption(
        f"{report.total_tokens:,} tokens in {len(report.examples)} examples · counted with the "
        f"{report.counting}."
    )
    epochs = st.number_input(
        "Epochs for the estimate",
        1,
        20,
        3,
        key="ft_cost_epochs",
        help="OpenAI's 'auto' usually picks 3 for a small file.",
    )
    st.dataframe(
        pd.DataFrame(chatfile.cost_table(report.total_tokens, int(epochs), _prices())),
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        "Download the good lines only", report.good_jsonl(), "checked.jsonl", key="ft_check_dl"
    )
