"""Which answer metric the results chart shows, chosen on the page, with a note on what each one rewards.

`contains` (the gold answer appears whole in the answer) suits short gold answers; with long golds it marks a
correct short answer wrong ("544" against "544 base pairs"). The reader picks the metric that fits their golds,
and the page suggests word overlap when the two disagree a lot.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from playground.evaluation.metrics import bootstrap_ci
from playground.evaluation.results import EvalRun
from playground.reporting.charts import ANSWER_METRICS

PRIMARY = "contains"
JUDGED = "judge_correct"  # when a judge ran, its verdicts read meaning: the chart starts on them
DISAGREE = 0.2  # mean word overlap this far above `contains`: short answers against long golds, most likely


def choose(rows: list[dict[str, Any]], key: str) -> str:
    """A radio of the answer metrics the run has, the chosen one's meaning, and a hint when another fits."""
    present = [m for m in ANSWER_METRICS if any(r.get(m) is not None for r in rows)] or [PRIMARY]
    metric = st.radio(
        "Score the answers by",
        present,
        index=present.index(JUDGED) if JUDGED in present else 0,
        format_func=lambda m: ANSWER_METRICS[m][0],
        horizontal=True,
        key=f"{key}_metric",
        help="Pick the metric that fits your gold answers; the chart below follows it.",
    )
    label, rewards = ANSWER_METRICS[metric]
    st.caption(f"**{label.capitalize()}** rewards: {rewards}.")
    if metric == PRIMARY and _overlap_gap(rows) > DISAGREE:
        st.caption(
            "Many answers share words with the gold answer without containing it whole: if your gold answers "
            "are longer than the answers need to be, **word overlap (token F1)** fits them better."
        )
    return str(metric)


def _overlap_gap(rows: list[dict[str, Any]]) -> float:
    pairs = [
        (r["token_f1"], r[PRIMARY])
        for r in rows
        if r.get("token_f1") is not None and r.get(PRIMARY) is not None
    ]
    return max((f1 - hit for f1, hit in pairs), default=0.0)


def with_interval(run: EvalRun, rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """The summary rows with a 95% interval for `metric` (the run's rows carry one for `contains` only)."""
    if metric == PRIMARY:
        return rows
    values = {v.variant.name: [r.metrics.get(metric) for r in v.rows if not r.error] for v in run.variants}
    out = []
    for row in rows:
        low, high = bootstrap_ci(values.get(row["variant"], []))
        out.append(row | {f"{metric}_ci_low": low, f"{metric}_ci_high": high})
    return out
