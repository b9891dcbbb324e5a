"""RAG lab: one question, up to four pipeline variants as columns, with the chunks each one retrieved."""

from __future__ import annotations

import streamlit as st

from playground.config import VariantConfig
from ui import choosers, editors, resources, runner, state, views, widgets

LAB = "rag_lab"

widgets.page_start(
    "RAG lab",
    "🔎",
    "Let the model look things up: compare retrieval settings on one question and see which pieces of the "
    "documents each variant found, and whether they hold the evidence for the answer.",
)


def starter_pipelines() -> list[VariantConfig]:
    """No retrieval, then retrieval with different top-k and chunk sizes."""
    base = VariantConfig(
        name="no retrieval", model=state.default_model(), index=state.index_config(), max_tokens=64
    )
    small = state.index_config().model_copy(update={"chunk_size": 100, "chunk_overlap": 20})
    return [
        base,
        base.model_copy(update={"name": "top-4", "use_retrieval": True, "top_k": 4}),
        base.model_copy(update={"name": "top-1", "use_retrieval": True, "top_k": 1}),
        base.model_copy(update={"name": "small chunks", "use_retrieval": True, "top_k": 4, "index": small}),
    ]


corpus = resources.current_corpus()
if corpus is None:
    st.stop()
st.caption(f"Corpus: {state.corpus_label()} · {len(corpus.documents)} documents")
st.page_link("pages/1_Corpus.py", label="Change the corpus or its chunking", icon="📚")
question, gold = choosers.question_picker("rag_question", resources.current_questions())

stored = state.lab_variants(LAB, starter_pipelines)
count = st.slider(
    "Variants side by side",
    1,
    4,
    value=state.lab_value(f"{LAB}_count", 2),
    key="rag_count",
    help="How many pipeline variants to compare on this question.",
)
state.set_lab_value(f"{LAB}_count", count)
working = widgets.pad(stored, count, starter_pipelines())
edited = []
for i, column in enumerate(st.columns(count)):
    with column:
        st.markdown(f"**Variant {i + 1}**")
        edited.append(editors.variant_editor(f"rag{i}", working[i], focus="retrieval"))
edited = state.unique_names(edited)
state.set_lab_variants(LAB, edited + list(stored[count:]))

left, right = st.columns([1, 1])
ask = left.button(
    "Ask every variant",
    type="primary",
    key="rag_ask",
    disabled=not question.strip(),
    help="Retrieve (where switched on) and answer with each variant; the first retrieval may build "
    "the index.",
)
if right.button(
    "Use these variants on the Evaluate page",
    key="rag_keep",
    help="Make these the variants that the Evaluate page scores on the whole question set.",
):
    state.set_variants(edited)
    st.toast("The Evaluate page will run these variants.")

answers: list[runner.Answer] = state.lab_value("rag_answers", [])
columns = st.columns(count)
if ask:
    answers = []
    for variant, column in zip(edited, columns, strict=True):
        with column:
            answers.append(runner.answer_with(variant, question, corpus))
    state.set_lab_value("rag_answers", answers)
for variant, column in zip(edited, columns, strict=True):
    found = next((a for a in answers if a.variant_key == variant.key() and a.question == question), None)
    with column:
        st.markdown(f"**{'Retrieval on' if variant.use_retrieval else 'No retrieval'}**")
        if found is None:
            st.caption("Press 'Ask every variant' to see this variant's answer.")
        elif found.result is not None:
            views.answer_card(found.result, gold, corpus, variant.use_retrieval)
