"""Evaluate: run variants over a question set with live charts, then inspect and download every result."""

from __future__ import annotations

import streamlit as st

from playground.evaluation.results import EvalRun
from playground.reporting import charts
from ui import (
    choosers,
    question_generate,
    question_table,
    resources,
    room_rules,
    runner,
    state,
    timing,
    views,
    widgets,
)

widgets.page_start(
    "Evaluate",
    "pages/4_Evaluate.py",
    "Score every variant on the same questions. Charts fill in while the answers come in; Stop keeps what "
    "finished.",
)
room = room_rules.follow_room()  # in a workshop room: the room's corpus, question set and models

st.subheader("1 · Variants")
chosen = choosers.variants_chooser("ev_variants")
if not chosen:
    st.info("No variants to run: pick some above, send some from the labs, or upload a variants file.")
    st.stop()
choosers.variants_table(chosen, "ev_variants")
if not room_rules.models_allowed(chosen):
    st.stop()

st.subheader("2 · Questions")
if room is not None:
    questions = room_rules.room_questions(room)
else:
    questions = choosers.question_set_chooser("ev_questions")
    # The generator (issue 11 part 1, ui/question_generate.py) hands its sets to the table: question_table.GENERATED.
    with st.expander(
        "Write, edit or review questions in a table",
        expanded=questions is None,
        key="ev_table_expander",
        icon=":material/edit_note:",
    ):
        question_generate.generate_panel("ev_gen", state.corpus())
        question_table.question_table(
            "ev_table", state.corpus(), on_use=lambda: choosers.follow_current("ev_questions")
        )
if questions is None:
    st.info(choosers.no_questions_message(), icon=":material/quiz:")
    st.button("Run", type="primary", key="ev_run", disabled=True, help="Choose a question set first.")
    st.stop()
limit = choosers.limit_input("ev_limit", len(questions.questions), default=20, cap=room_rules.max_questions())
subset = questions.subset(limit)
uses_retrieval = any(v.use_retrieval for v in chosen)
corpus = resources.current_corpus() if uses_retrieval else state.corpus()
st.caption(
    f"{len(subset.questions)} of {len(questions.questions)} questions × {len(chosen)} variants = "
    f"{len(subset.questions) * len(chosen)} answers · corpus: {state.corpus_label()}"
)
choosers.mismatch_warning(uses_retrieval)
timing.show(chosen, len(subset.questions), limit_key="ev_limit")

st.subheader("3 · Run")
judge = room_rules.judge_chooser("ev_judge")
run_col, stop_col = st.columns([1, 4])
start = run_col.button(
    "Run",
    type="primary",
    key="ev_run",
    help="Every chosen variant answers every question; this can take a while with local models.",
)
# Any click reruns the page and so interrupts a run; this button only says so. The rows that finished stay.
stop_col.button("Stop", key="ev_stop", help="Stop the run; the answers that finished are kept and shown.")
if start:
    live_area = st.empty()
    with live_area.container():
        st.caption("Live results (they fill in while the run goes on)")
        left, right = st.columns(2)
        accuracy_slot, matrix_slot = left.empty(), right.empty()

    def refresh(run: EvalRun, done: int, total: int) -> None:
        rows = run.summary_rows()
        live_metric = "judge_correct" if judge else "contains"  # the judge's verdicts, as they come in
        accuracy_slot.plotly_chart(
            charts.accuracy_chart(rows, live_metric), key=f"ev_live_acc_{done}", width="stretch"
        )
        matrix_slot.plotly_chart(charts.outcome_matrix(run), key=f"ev_live_matrix_{done}", width="stretch")

    total = len(subset.questions) * len(chosen)
    meta = room_rules.run_meta()  # in a room: whose run it is, for the leaderboard
    runner.evaluate(
        chosen, corpus, subset, refresh=refresh, every=max(1, total // 20), judge=judge, meta=meta
    )
    live_area.empty()

st.subheader("4 · Results")
last = state.last_run()
if last is None:
    st.info("No results yet: press Run.")
    st.stop()
views.run_header(last)
views.summary_table(last)
views.charts_grid(last, "ev")
st.subheader("One answer in detail")
views.cell_inspector(last, "ev_cell")
st.subheader("Download")
views.downloads(last, "ev_dl")
st.page_link(
    "pages/7_History.py",
    label="Every saved run: compare runs, see what to try next, share a replay bundle",
    icon=":material/history:",
)
