"""The Streamlit-aware helpers of the app: session state, cached resources, widgets that build configs, views.

`playground/` never imports Streamlit; everything here is the thin layer between it and the pages.
"""
