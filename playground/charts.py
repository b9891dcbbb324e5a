"""Plotly figures for evaluation results and the optimisation map. Pure functions: no Streamlit in here.

Every builder takes plain data (an EvalRun, its `summary_rows()`, or map points) and returns a `go.Figure`,
so the same charts serve the app, a notebook and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.config import VariantConfig
from playground.evaluation import EvalRun, QuestionResult

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
_FINE_TUNED_MARKERS = ("ft:", "fine-tuned", "finetuned", "fine_tuned", "lora")
_LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 10, "r": 10, "t": 50, "b": 10}}


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
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=260, **_LAYOUT)
    return fig


def _or(value: float | None, default: float) -> float:
    """`value` unless it is missing; 0.0 is a value (a plain `or` would drop it)."""
    return default if value is None else value


def _colour(row: dict[str, Any]) -> str:
    return RETRIEVAL_COLOUR if row.get("retrieval") else PROMPT_COLOUR


def accuracy_chart(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Share of answers containing a gold answer, per variant; the bootstrap 95% interval as error bars."""
    title = "Accuracy: answers that contain the gold answer"
    scored = [r for r in rows if r.get("contains") is not None]
    if not scored:
        return _empty(title, "No scored answers yet.")
    values = [r["contains"] for r in scored]
    highs = [max(_or(r.get("contains_ci_high"), v) - v, 0.0) for r, v in zip(scored, values, strict=True)]
    lows = [max(v - _or(r.get("contains_ci_low"), v), 0.0) for r, v in zip(scored, values, strict=True)]
    fig = go.Figure(
        go.Bar(
            x=[r["variant"] for r in scored],
            y=values,
            marker_color=[_colour(r) for r in scored],
            text=[f"{v:.0%}" for v in values],
            textposition="outside",
            cliponaxis=False,
            error_y={"type": "data", "array": highs, "arrayminus": lows, "visible": True, "color": "#374151"},
            customdata=[[int(r.get("n") or 0)] for r in scored],
            hovertemplate="%{x}: %{y:.0%} of %{customdata[0]} answers<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        yaxis={"range": [0, 1.1], "tickformat": ".0%", "title": "accuracy"},
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
        title=title,
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
        title=title, barmode="stack", legend={"orientation": "h", "y": -0.15}, height=360, **_LAYOUT
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
        title=title,
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


@dataclass(frozen=True)
class MapPoint:
    """One variant on the optimisation map: which axes it optimises and, once evaluated, its accuracy."""

    name: str
    context: bool
    behaviour: bool
    accuracy: float | None = None


QUADRANTS = {  # (context, behaviour) -> (name, one-line meaning)
    (False, False): ("Prompt engineering", "better instructions and examples"),
    (True, False): ("RAG", "give the model the right documents"),
    (False, True): ("Fine-tuning", "teach the model how to act"),
    (True, True): ("All of them", "fine-tuned model + retrieval"),
}


def is_fine_tuned(model: str) -> bool:
    """Whether a model name points at a fine-tuned model (e.g. OpenAI's `ft:` names or a LoRA adapter)."""
    name = model.lower()
    return any(marker in name for marker in _FINE_TUNED_MARKERS)


def map_points(variants: Sequence[VariantConfig], run: EvalRun | None = None) -> list[MapPoint]:
    """Place each variant: retrieval moves it along the context axis, a fine-tuned model up the other.

    Variants of the run come first with their accuracy; other variants follow without a score.
    """
    scores = {r["variant"]: r.get("contains") for r in run.summary_rows()} if run else {}
    evaluated = [v.variant for v in run.variants] if run else []
    others = [v for v in variants if v.name not in scores]
    return [
        MapPoint(v.name, v.use_retrieval, is_fine_tuned(v.model), scores.get(v.name))
        for v in [*evaluated, *others]
    ]


def _spread(count: int) -> list[tuple[float, float]]:
    """Offsets inside a quadrant for `count` points: a column of up to 4, then the next column."""
    offsets = []
    for i in range(count):
        column, row = divmod(i, 4)
        offsets.append((-0.28 + 0.28 * (column % 3), 0.3 - 0.17 * row))
    return offsets


def optimisation_map(points: Sequence[MapPoint]) -> go.Figure:
    """The map: context optimisation (x, what the model knows) by behaviour optimisation (y, how it acts)."""
    fig = go.Figure()
    for (context, behaviour), (name, meaning) in QUADRANTS.items():
        x0, y0 = float(context), float(behaviour)
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x0 + 1,
            y0=y0,
            y1=y0 + 1,
            line={"color": "#d0d6e2"},
            fillcolor="#eef3fc" if context else "#f7f8fa",
            layer="below",
        )
        fig.add_annotation(x=x0 + 0.5, y=y0 + 0.93, text=f"<b>{name}</b>", showarrow=False, font={"size": 15})
        fig.add_annotation(
            x=x0 + 0.5, y=y0 + 0.84, text=meaning, showarrow=False, font={"size": 11, "color": "#6b7280"}
        )
    groups: dict[tuple[bool, bool], list[MapPoint]] = {}
    for point in points:
        groups.setdefault((point.context, point.behaviour), []).append(point)
    xs, ys, labels, colours = [], [], [], []
    for (context, behaviour), members in groups.items():
        for point, (dx, dy) in zip(members, _spread(len(members)), strict=True):
            xs.append(float(context) + 0.5 + dx)
            ys.append(float(behaviour) + 0.45 + dy)
            score = f"{point.accuracy:.0%}" if point.accuracy is not None else "not evaluated"
            labels.append(f"{point.name}<br>{score}")
            colours.append(RETRIEVAL_COLOUR if context else "#4b5563")
    if xs:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers+text",
                text=labels,
                textposition="bottom center",
                marker={"size": 14, "color": colours},
                hoverinfo="text",
                showlegend=False,
            )
        )
    axis = {"range": [0, 2], "showgrid": False, "zeroline": False, "tickvals": [0.5, 1.5]}
    fig.update_layout(
        xaxis={
            **axis,
            "ticktext": ["model's own knowledge", "+ your documents"],
            "title": "Context optimisation: what the model knows →",
        },
        yaxis={
            **axis,
            "ticktext": ["as shipped", "trained for the task"],
            "title": "Behaviour optimisation: how it acts →",
        },
        height=480,
        **_LAYOUT,
    )
    return fig
