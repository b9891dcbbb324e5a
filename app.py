"""The app's entry point (`streamlit run app.py`): the pages, in the sidebar's order, with Home first.

Listing them here (`st.navigation`) instead of letting Streamlit find them gives the first page its name, "Home",
rather than this file's name.
"""

from __future__ import annotations

import streamlit as st

PAGES = [
    st.Page("pages/0_Home.py", title="Home", default=True),
    st.Page("pages/1_Corpus.py", title="Corpus"),
    st.Page("pages/2_Prompt_lab.py", title="Prompt lab"),
    st.Page("pages/3_RAG_lab.py", title="RAG lab"),
    st.Page("pages/4_Evaluate.py", title="Evaluate"),
    st.Page("pages/5_Settings.py", title="Settings"),
    st.Page("pages/6_Fine_tune.py", title="Fine-tune"),
    st.Page("pages/7_History.py", title="History"),
]

st.navigation(PAGES).run()
