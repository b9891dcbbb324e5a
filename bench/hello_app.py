"""The baseline for the app benchmark: the smallest Streamlit page with one widget."""

import streamlit as st

st.title("hello")
st.checkbox("a widget", key="flag")
st.write("done")
