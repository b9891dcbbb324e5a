"""Leaderboard: every participant's evaluated variants in a workshop room, best first, live; a row's settings
against the baseline, the presenter's spotlight, and the room's report."""

from __future__ import annotations

from ui import leaderboard, state, widgets

widgets.page_start(
    "Leaderboard",
    "pages/8_Leaderboard.py",
    "Every evaluated variant, best first, with its 95% interval: with few questions, entries whose intervals "
    "overlap may not really differ. The board updates itself as runs finish.",
    load_corpus=False,
)
present = leaderboard.presenter_toggle()
leaderboard.live_board(state.settings(), present)
