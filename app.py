"""Home: what the playground is, where each variant sits on the optimisation map, and where to start."""

from __future__ import annotations

import streamlit as st

from ui import optimisation_map, state, widgets

widgets.page_start(
    "LLM playground",
    "app.py",
    "Measure, on your own documents, which technique makes a language model answer better.",
    load_corpus=False,
)

st.write(
    "Ask a language model questions about a set of documents and see how good its answers are. "
    "Then change one thing at a time — a better prompt, letting it look things up in the documents (RAG), "
    "a different model — and watch the score move. Every answer is checked against a known correct answer, "
    "so the comparison is measured, not guessed. Nothing leaves this computer unless you pick a hosted model."
)

st.subheader("The optimisation map")
st.caption(
    "Two ways to make a model better: give it what it needs to know (context, to the right) or change how it "
    "behaves (fine-tuning, upwards). Each of your variants is placed by what it uses, with its accuracy from "
    "the last evaluation."
)
run = state.last_run()
optimisation_map.show(state.map_points(run))
if run is None:
    st.info(
        "No evaluation yet: the variants show 'not evaluated'. Run one on the Evaluate page to score them."
    )
elif run.stopped:
    st.warning("The last evaluation was stopped early, so its scores use only the questions that finished.")

st.subheader("Start here")
steps = [
    (
        "pages/1_Corpus.py",
        "1 · Pick a corpus",
        ":material/folder_open:",
        "Use a sample or upload your own files, and see how they are cut into chunks.",
    ),
    (
        "pages/2_Prompt_lab.py",
        "2 · Run the baseline",
        ":material/edit_note:",
        "Ask the model with prompts only, and try a few prompt variants side by side.",
    ),
    (
        "pages/3_RAG_lab.py",
        "3 · Add retrieval",
        ":material/manage_search:",
        "Let the model look things up in your documents and see which pieces it found.",
    ),
    (
        "pages/4_Evaluate.py",
        "4 · Compare",
        ":material/bar_chart:",
        "Score every variant on the whole question set, with charts.",
    ),
]
for page, label, icon, text in steps:
    left, right = st.columns([1, 3])
    with left:
        st.page_link(page, label=label, icon=icon)
    right.caption(text)
st.page_link("pages/5_Settings.py", label="Settings: model, API key, caches", icon=":material/settings:")
