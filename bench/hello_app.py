"""The baseline for the app benchmark: the smallest Streamlit page with one widget. It shows how many times it
ran, so each rerun visibly changes the page."""

import streamlit as st

st.session_state.runs = st.session_state.get("runs", 0) + 1
st.title("hello")
st.checkbox("a widget", key="flag")
st.write(f"runs: {st.session_state.runs}")
