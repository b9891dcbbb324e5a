"""Fine-tune: prepare data, choose hyperparameters, train while watching the loss, evaluate on held-out
questions against the base model, and with RAG."""

from __future__ import annotations

import streamlit as st

from ui import finetune_data, finetune_eval, finetune_train, resources, state, widgets

widgets.page_start(
    "Fine-tune",
    "pages/6_Fine_tune.py",
    "Change how a model behaves by training it on examples: the embedder (for better retrieval), a reranker "
    "(to put the best passages first) or the LLM itself. Then check, on questions it never saw, whether it "
    "got better.",
)
st.info(
    "**Before you train.** Try prompting first (Prompt lab), then retrieval (RAG lab): they are cheaper and "
    "often enough. Set a baseline on the Evaluate page, so you can tell whether training helped. Fine-tuning "
    "changes behaviour and style more reliably than it adds knowledge. Quality beats quantity: 50-100 clean, "
    "checked examples do more than thousands of noisy ones.",
    icon=":material/lightbulb:",
)

corpus = resources.current_corpus()
if corpus is None:
    st.stop()
kind = st.radio(
    "What to fine-tune",
    list(finetune_train.TARGETS),
    format_func=finetune_train.TARGETS.get,
    key="ft_kind",
    horizontal=True,
    help="The embedder decides what retrieval finds; the reranker reorders what it found; the LLM decides "
    "how answers are written.",
)

st.subheader("1 · Prepare the data")
split = finetune_data.data_step(corpus)
with st.expander("Check a chat fine-tuning file (JSONL) and estimate what OpenAI charges"):
    finetune_data.checker(split)

st.subheader("2 · Choose the hyperparameters")
plan = resources.guarded("reading the hyperparameters", finetune_train.hyper_step, kind, split)

st.subheader("3 · Train and watch the loss")
finetune_train.train_step(kind, plan, split)

st.subheader("4 · Evaluate on the held-out questions")
finetune_eval.evaluate_step(kind, corpus)
st.caption(
    "Fine-tuned LLMs appear in every model choice; fine-tuned embedders are used by typing their `st:` name "
    "in a variant's Embedder field, or with 'Use this embedder in new variants' once its retrieval is "
    "compared in this step; trained rerankers are offered as `ce:` models where a variant's reranker is "
    "chosen. Current embedder: "
    f"{widgets.plain(state.index_config().embedder)}"
)
