"""Corpus: pick a sample or upload files, choose the chunking, see documents and chunks, build the index."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from playground.core.documents import Chunk, Corpus
from playground.ingest.chunking import chunk_stats, default_tokenizer
from ui import choosers, editors, resources, room_rules, state, widgets

PREVIEW_LIMIT = 40

widgets.page_start(
    "Corpus",
    "pages/1_Corpus.py",
    "The documents the model answers about: pick a sample or upload your own.",
)

# --- where the documents come from --------------------------------------------------------------------------
if room_rules.follow_room() is None:
    choosers.corpus_chooser("corpus")
else:  # a participant in a workshop room works on the room's corpus
    room_rules.corpus_notice()
corpus: Corpus | None = state.corpus()
if corpus is None:
    st.info("Pick a sample or upload files to begin.")
    st.stop()

st.subheader(state.corpus_label())
for error in corpus.errors:
    st.warning(f"Skipped: {error.message}")
if not corpus.documents:
    st.error("No document could be read. Fix or replace the files listed above and upload them again.")
    st.stop()

# --- chunking ----------------------------------------------------------------------------------------------
st.subheader("How documents are cut into chunks")
st.caption(
    "Retrieval searches chunks, not whole documents. These settings are used by new variants and by "
    "the variants that still use the previous chunking."
)
with st.columns([1, 2])[0]:
    config = editors.index_editor("corpus_ix", state.index_config())
state.set_index_config(config)
chunks: list[Chunk] | None = resources.guarded(
    "cutting the documents into chunks", resources.chunks, corpus, config
)
if chunks is None:
    st.stop()
stats = chunk_stats(chunks)
metrics = st.columns(5)
metrics[0].metric("Documents", len(corpus.documents), help="PDF pages and CSV/JSONL rows count as documents.")
metrics[1].metric("Characters", f"{sum(len(d.text) for d in corpus.documents):,}")
metrics[2].metric("Chunks", int(stats["count"]), help="Pieces that retrieval can find.")
metrics[3].metric(
    "Tokens per chunk",
    f"{stats['mean_tokens']:.0f}",
    help=f"Average; the shortest has {stats['min_tokens']}, the longest {stats['max_tokens']}.",
)
metrics[4].metric(
    "Tokens in all", f"{int(stats['total_tokens']):,}", help="Counted with the embedder's tokenizer."
)

# --- documents and chunk preview ----------------------------------------------------------------------------
st.subheader("Documents")
st.dataframe(
    pd.DataFrame(
        [
            {"id": d.doc_id, "title": d.title, "category": d.category, "characters": len(d.text)}
            for d in corpus.documents
        ]
    ),
    hide_index=True,
    width="stretch",
)

st.subheader("Chunks of one document")
by_id = {d.doc_id: d for d in corpus.documents}
doc_id = st.selectbox(
    "Document",
    list(by_id),
    key="corpus_preview_doc",
    format_func=lambda i: f"{by_id[i].title} ({i})",
    help="Each box below is one chunk; where boxes repeat text, that is the overlap.",
)
doc_chunks = [c for c in chunks if c.doc_id == doc_id]
st.caption(
    f"{len(doc_chunks)} chunks"
    + (f"; the first {PREVIEW_LIMIT} are shown" if len(doc_chunks) > PREVIEW_LIMIT else "")
)
tokenizer = default_tokenizer()
previous_end = None
for number, chunk in enumerate(doc_chunks[:PREVIEW_LIMIT], start=1):
    shared = max(0, previous_end - chunk.start) if previous_end is not None else 0
    overlap = f" · shares {shared} characters with the previous chunk" if shared else ""
    st.text(
        f"Chunk {number} of {len(doc_chunks)} · characters {chunk.start}–{chunk.end} · "
        f"{len(tokenizer.offsets(chunk.text))} tokens{overlap}"
    )
    st.code(chunk.text, language=None, wrap_lines=True)
    previous_end = chunk.end

# --- index --------------------------------------------------------------------------------------------------
st.subheader("Search index")
st.caption(
    "Building the index turns every chunk into a vector with the embedder, so retrieval can find the "
    "chunks closest in meaning to a question. It is built once per corpus and chunking, and kept on disk."
)
if st.button(
    "Build the index",
    type="primary",
    key="corpus_build",
    help="Embed every chunk now, so the first retrieval question does not have to wait.",
):
    bar = st.progress(0.0, text="Loading the embedder…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Embedding chunks: {done} of {total}")

    built = resources.guarded(
        "building the index", resources.index, corpus, config, state.settings(), progress
    )
    bar.empty()
    if built is not None:
        st.success(f"Index ready: {len(built)} chunks, embedded with {built.embedder_name}.")
        state.set_lab_value("index_ready", (corpus.content_hash, config.key()))
elif state.lab_value("index_ready") == (corpus.content_hash, config.key()):
    st.success("The index for this corpus and chunking is ready.")
