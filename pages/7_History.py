"""History: every saved run; open one with all its views, compare runs and variants, export, share, delete."""

from __future__ import annotations

import streamlit as st

from playground.evaluation import diagnosis
from playground.reporting import export
from playground.reporting.charts_journey import journey_chart
from ui import history, resources, state, verdicts, views, widgets

widgets.page_start(
    "History",
    "pages/7_History.py",
    "Every evaluation is saved as it runs. Open a past run with all its charts, compare any two runs or "
    "variants with statistics, see what to try next, and export or share a run.",
    load_corpus=False,
)
settings = state.settings()
deleted = state.lab_value("history:deleted")
if deleted:
    st.success(f"Run #{deleted} was deleted.")
    state.set_lab_value("history:deleted", None)

with st.expander("Replay a bundle someone shared"):
    history.replay_view(settings, "hi_replay")

store = resources.guarded("opening the experiment store", history.open_store, settings)
if store is None:
    st.stop()
resources.guarded("checking for runs that were cut off", store.mark_interrupted)
runs = resources.guarded("listing the saved runs", store.list_runs) or []
if not runs:
    st.info("No saved runs yet. Run an evaluation on the Evaluate page: every run is saved here as it goes.")
    st.stop()

st.subheader("1 · Saved runs")
st.dataframe(history.runs_frame(runs), hide_index=True, width="stretch")
st.caption(" · ".join(f"{status}: {meaning}" for status, meaning in history.STATUS_HELP.items()))

st.subheader("2 · Open a run")
labels = {int(r["id"]): history.run_label(r) for r in runs}
ids: list[int] = list(labels)
run_id = st.selectbox(
    "Run",
    ids,
    format_func=lambda i: labels[i],
    key="hi_run",
    help="Pick a saved run to see its results, charts and every answer.",
)
run = resources.guarded("opening the run", history.load_run, store, run_id or ids[0])
live = resources.guarded("reading the run's variants", export.run_from_dict, run) if run else None
if run is None or live is None:
    st.stop()
if run["status"] == "incomplete":
    st.warning("This run was cut off before it finished (the app closed or the process was killed).")
views.run_header(live)
views.summary_table(live)
views.charts_grid(live, "hi")
st.subheader("One answer in detail")
views.cell_inspector(live, "hi_cell")
st.subheader("Do the judge and the metrics agree with you?")
verdicts.agreement_view(run)  # verdicts are saved at the click, before this rerun read the run

st.subheader("3 · Why answers fail, and what to try")
st.caption(
    "Each wrong answer is put in one class: the evidence was not retrieved (retrieval miss), it was "
    "retrieved but the answer is wrong (generation miss), or an unanswerable question got an answer."
)
history.diagnosis_view(run)

st.subheader("4 · Optimisation journey")
st.caption("The variants in order, each bar labelled with its gain over the one before and its interval.")
st.plotly_chart(journey_chart(diagnosis.journey_for_run(run)), key="hi_journey", width="stretch")

st.subheader("5 · Compare two variants or two runs")
st.caption(
    "Paired on the questions both answered: wins, losses and ties, the difference with a 95% interval, "
    "and a significance test. With few questions, most differences are within noise."
)
history.compare_view(store, labels, run, "hi_cmp")

st.subheader("6 · Download and share")
history.downloads(run, settings, "hi_dl")

st.subheader("7 · Delete")
sure = st.checkbox(
    f"Yes, delete run #{run['run_id']} and all its answers",
    key="hi_delete_sure",
    help="Deleting cannot be undone. Cached answers stay, so running it again is quick.",
)
delete = st.button("Delete this run", key="hi_delete", disabled=not sure, help="Tick the box first.")
if delete and resources.guarded("deleting the run", history.delete_run, store, run["run_id"]):
    state.set_lab_value("history:deleted", run["run_id"])
    del st.session_state["hi_delete_sure"]
    st.rerun()
