"""Plotly figures for fine-tuning: the live loss curve, and base-vs-fine-tuned bars. No Streamlit."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

_LAYOUT = {"template": "plotly_white", "margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "height": 320}


def smooth(values: Sequence[float], weight: float = 0.8) -> list[float]:
    """Exponential moving average (TensorBoard's smoothing), which shows the trend of a noisy loss."""
    out: list[float] = []
    for value in values:
        out.append(
            value if not out or not math.isfinite(out[-1]) else weight * out[-1] + (1 - weight) * value
        )
    return out


def loss_chart(
    points: Sequence[Sequence[float]],
    total: int = 0,
    validation: Sequence[Sequence[float]] = (),
    title: str = "Training loss",
) -> go.Figure:
    """Loss per step (faint), its smoothed trend, and the validation loss when there is one."""
    fig = go.Figure()
    steps, losses = [int(p[0]) for p in points], [float(p[1]) for p in points]
    fig.add_scatter(
        x=steps,
        y=losses,
        mode="lines+markers",
        name="loss per step",
        opacity=0.35,
        line={"color": "#2f6fdf"},
        marker={"size": 4},
    )
    if len(losses) > 3:
        fig.add_scatter(
            x=steps, y=smooth(losses), mode="lines", name="trend", line={"color": "#2f6fdf", "width": 3}
        )
    if validation:
        fig.add_scatter(
            x=[int(p[0]) for p in validation],
            y=[float(p[1]) for p in validation],
            mode="lines+markers",
            name="validation loss",
            line={"color": "#e0803a"},
        )
    if not points:
        fig.add_annotation(
            text="The curve appears after the first step.",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="loss", **_LAYOUT)
    if total:
        fig.update_xaxes(range=[0, total + 1])
    return fig


def before_after_chart(labels: Sequence[str], values: Sequence[float], title: str) -> go.Figure:
    """One bar per model (base first), labelled with its value as a percentage."""
    colours = ["#9aa5b8"] + ["#2e9d5b"] * (len(values) - 1)
    fig = go.Figure(
        go.Bar(
            x=list(labels),
            y=list(values),
            marker_color=colours[: len(values)],
            text=[f"{v:.0%}" for v in values],
            textposition="outside",
        )
    )
    fig.update_layout(title=title, yaxis={"range": [0, 1.1], "tickformat": ".0%"}, **_LAYOUT)
    return fig
