"""The Home page's optimisation map, drawn with Streamlit containers only (no chart bundle to load, no plotly to
import), so the first page is interactive sooner."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from playground.reporting.optimisation_map import QUADRANTS, MapPoint, by_quadrant
from ui import widgets


def show(points: Sequence[MapPoint]) -> None:
    """The map as a two-by-two grid: fine-tuning upwards, documents to the right, each variant in its quadrant
    with its accuracy."""
    cells = by_quadrant(points)
    st.caption("↑ Behaviour optimisation: how the model acts (fine-tuning)")
    for behaviour in (True, False):
        for context, column in zip((False, True), st.columns(2), strict=True):
            name, meaning = QUADRANTS[(context, behaviour)]
            with column.container(border=True, height=140):
                st.markdown(f"**{name}** · :gray[{meaning}]")
                members = cells[(context, behaviour)]
                for point in members:
                    colour = "blue" if point.context else "gray"
                    st.markdown(f":{colour}[●] {widgets.plain(point.name)} · **{point.score}**")
                if not members:
                    st.caption("no variant here yet")
    st.caption("→ Context optimisation: what the model knows (your documents)")
