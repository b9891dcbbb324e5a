"""The optimisation journey as a plotly figure: the ladder of variants, each step's gain with its interval.

Pure function over `diagnosis.journey(...)` steps; no Streamlit here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from playground.evaluation.diagnosis import JourneyStep

GAIN_COLOUR = "#2e9d5b"
LOSS_COLOUR = "#c0392b"
NOISE_COLOUR = "#9aa5b8"
START_COLOUR = "#2f6fdf"
_LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 10, "r": 10, "t": 60, "b": 10}}


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


def step_colour(step: JourneyStep) -> str:
    """Blue for the first rung, green or red for a gain or loss the statistics back, grey for noise."""
    if step.gain is None:
        return START_COLOUR
    if not step.significant:
        return NOISE_COLOUR
    return GAIN_COLOUR if step.gain > 0 else LOSS_COLOUR


def _number(value: float, points: bool) -> str:
    return f"{value * 100:+.0f}" if points else f"{value:+.3g}"


def gain_label(step: JourneyStep, points: bool = True) -> str:
    """'+12 pts (+3 to +21)' for a step, 'start' for the first; the interval only when it was computed."""
    if step.gain is None:
        return "start"
    text = _number(step.gain, points) + (" pts" if points else "")
    if step.gain_low is not None and step.gain_high is not None:
        text += f" ({_number(step.gain_low, points)} to {_number(step.gain_high, points)})"
    return text.replace("-", "−")


def _error_bars(steps: Sequence[JourneyStep]) -> dict[str, Any]:
    plus = [max((s.score_high if s.score_high is not None else s.score) - s.score, 0.0) for s in steps]
    minus = [max(s.score - (s.score_low if s.score_low is not None else s.score), 0.0) for s in steps]
    return {"type": "data", "array": plus, "arrayminus": minus, "visible": True, "color": "#374151"}


def journey_chart(
    steps: Sequence[JourneyStep],
    metric_label: str = "Accuracy (answer contains the gold)",
    points: bool = True,
) -> go.Figure:
    """Bars of each rung's score (95% interval as error bars), labelled with the gain over the rung before."""
    title = f"Optimisation journey: {metric_label}"
    if not steps:
        return _empty(title, "No scored variants yet.")
    hover = [
        s.verdict or ("first rung" if s.gain is None else "no per-question values for an interval")
        for s in steps
    ]
    fig = go.Figure(
        go.Bar(
            x=[s.variant for s in steps],
            y=[s.score for s in steps],
            marker_color=[step_colour(s) for s in steps],
            text=[gain_label(s, points) for s in steps],
            textposition="outside",
            cliponaxis=False,
            error_y=_error_bars(steps),
            customdata=hover,
            hovertemplate="%{x}: %{y:" + (".0%" if points else ".3g") + "}<br>%{customdata}<extra></extra>",
        )
    )
    top = max((s.score_high if s.score_high is not None else s.score) for s in steps)
    fig.update_layout(
        title=title,
        yaxis={
            "title": metric_label,
            "tickformat": ".0%" if points else "",
            "range": [0, max(top, 1.0 if points else 0.0) * 1.15],
        },
        xaxis={"title": "Variant, in ladder order"},
        showlegend=False,
        height=380,
        **_LAYOUT,
    )
    return fig
