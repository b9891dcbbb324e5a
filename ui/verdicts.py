"""Judged answers on the pages: the judge chooser, the judge's reasons and a person's verdict in the answer
inspector, and the agreement table (you vs the judge vs the string metrics) on History.

A person's verdict is saved in the experiment store with the run at the click, and becomes the `human` metric of
that answer, so the summary, the charts and the comparisons read it like any other score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from playground.core.errors import PlaygroundError
from playground.evaluation.agreement import HUMAN, agreement_table, human_score
from playground.evaluation.answer_judge import judgements
from playground.evaluation.judge import DEFAULT_JUDGE, describe
from playground.evaluation.results import EvalRun, QuestionResult
from playground.storage.store import ExperimentStore
from ui import state, widgets

HUMAN_LABELS = {
    "yes": ":material/thumb_up: right",
    "partial": ":material/thumbs_up_down: partly",
    "no": ":material/thumb_down: wrong",
}
JUDGE_NAMES = {"judge_correct": "Correct?", "faithfulness": "Faithful to the chunks?"}
NO_LABELS = (
    "Label some answers in the answer inspector (right / partly / wrong) to see how far the judge and the "
    "string metrics agree with you."
)


# --- choosing the judge ---------------------------------------------------------------------------------------


def judge_chooser(key: str) -> str | None:
    """A switch to judge the answers, and the judge model (apart from the answering models); None when off."""
    on = st.toggle(
        "Judge the answers with an LLM",
        key=f"{key}_on",
        help="Adds judged correct (the answer states the gold's fact: yes / partly / no, with a reason) and, "
        "for variants that retrieve, faithfulness (the share of the answer's claims the chunks support). "
        "Reads meaning, so it suits sentence-length gold answers; it costs one or two model calls per answer.",
    )
    if not on:
        return None
    choices = list(dict.fromkeys([DEFAULT_JUDGE, *widgets.model_choices(DEFAULT_JUDGE)]))
    picked: str = st.selectbox(
        "Judge model",
        choices,
        format_func=widgets.model_label,
        key=f"{key}_model",
        help="Chosen apart from the answering models. A bigger judge agrees with people more: check it on "
        "History, against your own verdicts.",
    )
    return picked


# --- the answer inspector ---------------------------------------------------------------------------------------


def judge_view(row: QuestionResult) -> None:
    """The judge's verdicts with their reasons, the claims it checked, and any reply it could not read."""
    found = judgements(row.judge)
    if not found:
        return
    st.caption(f"LLM judge: {row.judge.get('model', '?')}")
    for judgement in found:
        text = f"{JUDGE_NAMES.get(judgement['metric'], judgement['metric'])} {describe(judgement)}"
        if judgement.get("parse_failed") or judgement.get("error"):
            st.warning(text, icon=":material/report:")
            if judgement.get("raw"):
                st.code(str(judgement["raw"]), language=None, wrap_lines=True)
        else:
            st.text(text)
        claims = judgement.get("claims") or []
        if claims:
            with st.expander(f"Claims checked ({len(claims)})"):
                for claim in claims:
                    mark = (
                        ":green[:material/check:]" if claim.get("supported") else ":orange[:material/close:]"
                    )
                    st.markdown(f"{mark} {widgets.plain(str(claim.get('claim', '')))}")


def _save(run_id: int | None, variant: str, row: QuestionResult, key: str) -> None:
    """Keep the verdict picked in widget `key`: in the row (this page's copy) and in the store."""
    verdict = st.session_state.get(key)
    score = human_score(verdict)
    row.human = verdict
    if score is None:
        row.metrics.pop(HUMAN, None)
    else:
        row.metrics[HUMAN] = score
    if run_id is None:
        return
    try:
        store = ExperimentStore(state.settings())
        try:
            store.set_human_verdict(run_id, variant, row.qid, row.repeat, verdict, score)
        finally:
            store.close()
    except PlaygroundError as err:  # shown where the buttons are, never as a traceback
        st.session_state[f"{key}_error"] = str(err)


def human_verdict(run: EvalRun, variant: str, row: QuestionResult, key: str) -> None:
    """Right / partly / wrong for this answer, saved with the run at the click (click again to clear it)."""
    widget = f"{key}_human_{run.run_id}_{variant}_{row.qid}_{row.repeat}"
    if widget not in st.session_state:
        st.session_state[widget] = row.human
    st.segmented_control(
        "Your verdict on this answer",
        list(HUMAN_LABELS),
        format_func=HUMAN_LABELS.__getitem__,
        key=widget,
        on_change=_save,
        args=(run.run_id, variant, row, widget),
        help="Read the answer and the gold, then say whether it is right. Your verdicts are saved with the run "
        "and, on History, show how far the LLM judge and the string metrics agree with you.",
    )
    error = st.session_state.pop(f"{widget}_error", None)
    if error:
        st.error(f"Your verdict could not be saved: {error}", icon=":material/error:")
    elif run.run_id is None:
        st.caption(
            "This run is not in the experiment store, so verdicts are kept only until the page closes."
        )


# --- History ------------------------------------------------------------------------------------------------


def _rows(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [row for variant in run.get("variants") or [] for row in variant.get("rows") or []]


def agreement_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One line per rater: answers compared with your verdicts, agreement share and Cohen's kappa."""
    return pd.DataFrame(
        [
            {
                "rater": a.label,
                "answers compared": a.n,
                "agreement with you": a.agreement,
                "Cohen's kappa": a.kappa,
            }
            for a in agreement_table(rows)
        ]
    )


def agreement_view(run: Mapping[str, Any]) -> None:
    """The agreement table of the run's labelled answers, or how to label some."""
    rows = _rows(run)
    labelled = sum(1 for r in rows if r.get(HUMAN))
    if not labelled:
        st.info(NO_LABELS, icon=":material/thumbs_up_down:")
        return
    st.caption(
        f"On the {labelled} answers you labelled. Kappa discounts the agreement two raters reach by chance: "
        "above 0.6 is substantial, below 0.2 slight. A partial verdict agrees only with a partial one."
    )
    st.dataframe(
        agreement_frame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "agreement with you": st.column_config.NumberColumn(format="percent"),
            "Cohen's kappa": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    if not run.get("judge"):
        st.caption("This run had no LLM judge: turn it on before Run on the Evaluate page to compare it too.")
