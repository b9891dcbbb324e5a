"""The baseline for the app benchmark: the smallest Streamlit page with one widget. It shows how many times it
ran, because its rerun is too quick for Streamlit to flip the page's "running" state the benchmark watches."""

import streamlit as st

st.session_state.runs = st.session_state.get("runs", 0) + 1
st.title("hello")
st.checkbox("a widget", key="flag")
st.write(f"runs: {st.session_state.runs}")
