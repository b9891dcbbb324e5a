"""RAG lab: one question, up to four pipeline variants as columns, with the chunks each one retrieved."""

from __future__ import annotations

import streamlit as st

from playground.core.config import VariantConfig
from ui import choosers, lab, resources, state, widgets

LAB = "rag_lab"

widgets.page_start(
    "RAG lab",
    "pages/3_RAG_lab.py",
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
RAG_LAB = lab.Lab(LAB, "rag", "retrieval", starter_pipelines, lambda _: corpus, show_retrieval=True)
st.caption(f"Corpus: {state.corpus_label()} · {len(corpus.documents)} documents")
st.page_link("pages/1_Corpus.py", label="Change the corpus or its chunking", icon=":material/folder_open:")
question, gold = choosers.question_picker("rag_question", resources.current_questions())

count = st.slider(
    "Variants side by side",
    1,
    4,
    value=state.lab_value(f"{LAB}_count", 2),
    key="rag_count",
    help="How many pipeline variants to compare on this question.",
)
state.set_lab_value(f"{LAB}_count", count)
RAG_LAB.variants(count)  # pads the working variants to the chosen count

left, right = st.columns([1, 1])
ask = left.button(
    "Ask every variant",
    type="primary",
    key="rag_ask",
    disabled=not question.strip(),
    help="Retrieve (where switched on) and answer with each variant; the first retrieval may build "
    "the index.",
)
keep = right.button(
    "Use these variants on the Evaluate page",
    key="rag_keep",
    help="Make these the variants that the Evaluate page scores on the whole question set.",
)
lab.columns(RAG_LAB, count, question, gold, corpus, ask)
if keep:  # after the columns, so an edit made just before the click is kept too
    state.set_variants(RAG_LAB.variants(count))
    st.toast("The Evaluate page will run these variants.", icon=":material/check_circle:")
