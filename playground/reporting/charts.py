"""Plotly figures for evaluation results and the optimisation map. Pure functions: no Streamlit in here.

Every builder takes plain data (an EvalRun, its `summary_rows()`, or map points) and returns a `go.Figure`,
so the same charts serve the app, a notebook and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.evaluation.results import EvalRun, QuestionResult

OUTCOMES = ("correct", "wrong", "no evidence retrieved", "error")
OUTCOME_COLOURS = {
    "correct": "#2e9d5b",
    "wrong": "#e0803a",
    "no evidence retrieved": "#8a94a6",
    "error": "#c0392b",
}
RETRIEVAL_LABELS = {
    "hit@k": "Evidence found (hit@k)",
    "recall@k": "Evidence recall@k",
    "mrr": "MRR (how high it ranks)",
    "ndcg@k": "nDCG@k",
    "context_precision": "Context precision",
    "context_recall": "Context recall",
}
RETRIEVAL_COLOUR = "#2f6fdf"
PROMPT_COLOUR = "#9aa5b8"
# Room at the top right for the chart toolbar, which otherwise covered the end of a title or a subplot title.
_LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 10, "r": 10, "t": 80, "b": 10}}


def _title(text: str) -> dict[str, Any]:
    """A title at the top left, below the band where the chart toolbar appears (it covered long titles)."""
    return {
        "text": text,
        "x": 0.01,
        "xanchor": "left",
        "yref": "container",
        "y": 1.0,
        "yanchor": "top",
        "pad": {"t": 34},
    }


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 14, "color": "#6b7280"},
    )
    fig.update_layout(
        title=_title(title), xaxis={"visible": False}, yaxis={"visible": False}, height=260, **_LAYOUT
    )
    return fig


def _or(value: float | None, default: float) -> float:
    """`value` unless it is missing; 0.0 is a value (a plain `or` would drop it)."""
    return default if value is None else value


def _colour(row: dict[str, Any]) -> str:
    return RETRIEVAL_COLOUR if row.get("retrieval") else PROMPT_COLOUR


# What each answer metric rewards, for the reader choosing the one that fits their gold answers.
ANSWER_METRICS = {
    "contains": (
        "contains the gold answer",
        "the gold answer appears, whole, inside the answer: right for short golds ('30 days'); an answer "
        "shorter than the gold ('544' for '544 base pairs') counts as wrong",
    ),
    "token_f1": (
        "word overlap (token F1)",
        "partial credit for the words the answer shares with the gold: right for long golds, or when "
        "answers are shorter than the golds",
    ),
    "exact_match": (
        "exact match",
        "the answer is the gold answer, word for word (ignoring case and punctuation): the strictest",
    ),
    "semantic_sim": (
        "meaning similarity",
        "how close in meaning the answer is to the gold, by the embedder: rewards paraphrases",
    ),
    "judge_correct": (
        "judged correct (LLM judge)",
        "an LLM judge's verdict that the answer states the gold's fact (yes 1, partial 0.5, no 0): reads "
        "meaning, so it suits sentence-length golds; check it against your own verdicts on History",
    ),
    "faithfulness": (
        "faithfulness (LLM judge)",
        "the share of the answer's claims that the retrieved chunks support: low means the model added facts "
        "of its own; only for variants that retrieve",
    ),
    "human": (
        "right (your verdicts)",
        "your own verdicts from the answer inspector (right 1, partly 0.5, wrong 0), on the answers you labelled",
    ),
}


def accuracy_chart(rows: Sequence[dict[str, Any]], metric: str = "contains") -> go.Figure:
    """One answer metric per variant (the share of answers containing a gold answer by default), with its 95%
    interval as error bars when the rows carry one (`<metric>_ci_low` / `_ci_high`)."""
    label = ANSWER_METRICS.get(metric, (metric, ""))[0]
    title = f"Answers: {label}"
    scored = [r for r in rows if r.get(metric) is not None]
    if not scored:
        return _empty(title, "No scored answers yet.")
    values = [r[metric] for r in scored]
    tops = [max(_or(r.get(f"{metric}_ci_high"), v), v) for r, v in zip(scored, values, strict=True)]
    lows = [max(v - _or(r.get(f"{metric}_ci_low"), v), 0.0) for r, v in zip(scored, values, strict=True)]
    names = [r["variant"] for r in scored]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=[_colour(r) for r in scored],
            error_y={
                "type": "data",
                "array": [t - v for t, v in zip(tops, values, strict=True)],
                "arrayminus": lows,
                "visible": True,
                "color": "#374151",
            },
            customdata=[[int(r.get("n") or 0)] for r in scored],
            hovertemplate="%{x}: %{y:.0%} of %{customdata[0]} answers<extra></extra>",
        )
    )
    # The values sit above the top of each error bar, where no whisker crosses them.
    fig.add_trace(
        go.Scatter(
            x=names,
            y=tops,
            mode="text",
            text=[f"{v:.0%}" for v in values],
            textposition="top center",
            cliponaxis=False,
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        title=_title(title),
        yaxis={"range": [0, 1.15], "tickformat": ".0%", "title": "score"},
        showlegend=False,
        height=360,
        **_LAYOUT,
    )
    return fig


def retrieval_chart(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Retrieval metrics (grouped bars) for variants that retrieve and have gold evidence to score against."""
    title = "Retrieval: did the search find the evidence?"
    scored = [r for r in rows if r.get("retrieval") and r.get("hit@k") is not None]
    if not scored:
        return _empty(title, "No variant with retrieval has scored questions with gold evidence yet.")
    fig = go.Figure(
        [
            go.Bar(
                name=label,
                x=[r["variant"] for r in scored],
                y=[r.get(metric) for r in scored],
                hovertemplate=f"%{{x}}: {label} %{{y:.2f}}<extra></extra>",
            )
            for metric, label in RETRIEVAL_LABELS.items()
        ]
    )
    fig.update_layout(
        title=_title(title),
        barmode="group",
        yaxis={"range": [0, 1.05], "title": "score (0 to 1)"},
        legend={"orientation": "h", "y": -0.15},
        height=380,
        **_LAYOUT,
    )
    return fig


def cost_chart(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Mean latency per answer and mean tokens per answer (prompt and completion stacked), per variant."""
    title = "Cost: time and tokens per answer"
    scored = [r for r in rows if r.get("latency_s") is not None]
    if not scored:
        return _empty(title, "No answers yet.")
    names = [r["variant"] for r in scored]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("seconds per answer", "tokens per answer"))
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r["latency_s"] for r in scored],
            marker_color=[_colour(r) for r in scored],
            name="latency",
            showlegend=False,
            hovertemplate="%{x}: %{y:.2f} s<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for key, label, colour in (
        ("prompt_tokens", "prompt tokens", "#7aa5f0"),
        ("completion_tokens", "answer tokens", "#1f4fa8"),
    ):
        fig.add_trace(
            go.Bar(
                x=names,
                y=[r.get(key) or 0 for r in scored],
                name=label,
                marker_color=colour,
                hovertemplate=f"%{{x}}: %{{y:.0f}} {label}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    fig.update_layout(
        title=_title(title), barmode="stack", legend={"orientation": "h", "y": -0.15}, height=360, **_LAYOUT
    )
    return fig


MOVE_LABELS = {
    "up": "moved up",
    "same": "same rank",
    "down": "moved down",
    "dropped": "dropped",
    "missing": "not among the candidates",
}
MOVE_COLOURS = {
    "up": "#2e9d5b",
    "same": "#9aa5b8",
    "down": "#e0803a",
    "dropped": "#c0392b",
    "missing": "#d6dbe3",
}


def evidence_moves_chart(counts: Mapping[str, Mapping[str, int] | None]) -> go.Figure:
    """Per reranking variant (`counts`: variant name -> `VariantResult.evidence_moves()`), how many questions'
    gold evidence reranking moved up, kept in place, moved down, dropped, or never had among its candidates."""
    title = "Re-ranking: where did the gold evidence go?"
    shown = {name: found for name, found in counts.items() if found}
    if not shown:
        return _empty(title, "No variant re-ranked questions with gold evidence.")
    names = list(shown)
    most = max(sum(found.values()) for found in shown.values())
    fig = go.Figure(
        [
            go.Bar(
                name=label,
                y=names,
                x=[shown[n].get(verdict, 0) for n in names],
                orientation="h",
                marker_color=MOVE_COLOURS[verdict],
                text=[shown[n].get(verdict, 0) or "" for n in names],
                textposition="inside",
                hovertemplate=f"%{{y}}: %{{x}} questions {label}<extra></extra>",
            )
            for verdict, label in MOVE_LABELS.items()
        ]
    )
    fig.update_layout(
        title=_title(title),
        barmode="stack",
        xaxis={"title": "questions", "dtick": 1 if most <= 10 else None},
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "y": -0.25, "traceorder": "normal"},
        height=max(260, 170 + 40 * len(names)),
        **_LAYOUT,
    )
    return fig


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def outcome_matrix(run: EvalRun) -> go.Figure:
    """Questions (rows) by variants (columns), each cell coloured by outcome; unanswered cells are blank."""
    title = "Every answer: question by variant"
    names = [v.variant.name for v in run.variants]
    questions: dict[str, str] = {}
    cells: dict[tuple[str, str], QuestionResult] = {}
    for result in run.variants:
        for answered in result.rows:
            questions.setdefault(answered.qid, answered.question)
            cells[(answered.qid, result.variant.name)] = answered
    if not questions:
        return _empty(title, "No answers yet.")
    qids = list(questions)
    z: list[list[float | None]] = []
    hover: list[list[str]] = []
    for qid in qids:
        z.append([])
        hover.append([])
        for name in names:
            row = cells.get((qid, name))
            z[-1].append(OUTCOMES.index(row.outcome) if row else None)
            hover[-1].append(
                f"{qid}: {_short(questions[qid])}<br>{name}: "
                + (f"{row.outcome}<br>answer: {_short(row.answer)}" if row else "not run")
            )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=[f"{qid} · {_short(questions[qid], 26)}" for qid in qids],
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            colorscale=_discrete_scale(),
            zmin=-0.5,
            zmax=len(OUTCOMES) - 0.5,
            xgap=2,
            ygap=2,
            colorbar={
                "tickvals": list(range(len(OUTCOMES))),
                "ticktext": list(OUTCOMES),
                "title": "",
                "thickness": 12,
                "len": min(1.0, 220 / (80 + 24 * len(qids))),
                "y": 1,
                "yanchor": "top",
            },
        )
    )
    fig.update_layout(
        title=_title(title),
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"side": "top"},
        height=max(260, 80 + 24 * len(qids)),
        **_LAYOUT,
    )
    return fig


def _discrete_scale() -> list[list[Any]]:
    """A stepped colour scale: each outcome index gets one flat colour band."""
    scale: list[list[Any]] = []
    for i, outcome in enumerate(OUTCOMES):
        colour = OUTCOME_COLOURS[outcome]
        scale.append([i / len(OUTCOMES), colour])
        scale.append([(i + 1) / len(OUTCOMES), colour])
    return scale


# --- the optimisation map -----------------------------------------------------------------------------------
