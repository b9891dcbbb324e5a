"""A workshop room's results as one self-contained HTML file: the leaderboard, a chart of every entry's score with
its interval, and each entry's settings against the room's baseline.

Built from the run report's pieces (`playground.reporting.report`: its escaping, tables, style and inlined
plotly.js; `charts.accuracy_chart`), so the room's file reads like a run's and is as safe: every participant's
name and setting is escaped, in the tables and in the chart alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from playground.core.config import VariantConfig
from playground.evaluation.judge_rubrics import JUDGE_CORRECT
from playground.evaluation.scoring import PRIMARY_METRIC
from playground.reporting import charts

# The run report's style and figure embedding, so both files look alike and inline plotly.js the same way.
from playground.reporting.report import REPORT_STYLE, esc, escaped, figure_html, section, table
from playground.workshop.leaderboard import COLUMNS, Board, board_frame, diff_frame, settings_diff


def chart_rows(board: Board) -> list[dict[str, Any]]:
    """The entries as the charts' summary rows; the rank in each name keeps two participants' "rag" apart."""
    return [
        {
            "variant": f"{rank}. {e.label}",
            "retrieval": e.config.use_retrieval,
            "n": e.questions,
            PRIMARY_METRIC: e.accuracy,
            f"{PRIMARY_METRIC}_ci_low": e.accuracy_low,
            f"{PRIMARY_METRIC}_ci_high": e.accuracy_high,
            JUDGE_CORRECT: e.judge_correct,
        }
        for rank, e in enumerate(board.entries, start=1)
    ]


def _facts(board: Board, room_id: str, baseline: VariantConfig) -> str:
    facts = [
        ("Room", room_id or "your own runs"),
        ("Written", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        ("Entries", len(board.entries)),
        ("Participants", len({e.participant for e in board.entries})),
        ("Ranked by", COLUMNS.get(board.metric, board.metric)),
        (
            "Baseline",
            f"{baseline.name} ({baseline.model}, {'with' if baseline.use_retrieval else 'no'} retrieval)",
        ),
    ]
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts) + "</table>"


def _diffs(board: Board, baseline: VariantConfig) -> str:
    parts = []
    for rank, entry in enumerate(board.entries, start=1):
        changes = settings_diff(entry.config, baseline)
        body = table(diff_frame(changes)) if changes else "<p class='meta'>The baseline's settings.</p>"
        parts.append(f"<h3>{rank}. {esc(entry.label)}</h3>{body}")
    return "".join(parts)


def _charts(board: Board) -> str:
    rows = escaped(chart_rows(board))  # plotly reads labels as pseudo-HTML: escape what goes in
    figures = [charts.accuracy_chart(rows)]
    if board.metric == JUDGE_CORRECT:
        figures.append(charts.accuracy_chart(rows, JUDGE_CORRECT))
    return "".join(f"<div>{f}</div>" for f in figure_html(figures))


def room_report(board: Board, baseline: VariantConfig, room_id: str = "", title: str | None = None) -> str:
    """One HTML page for the room's board (best first), readable offline."""
    title = title or (f"Workshop room {room_id}: results" if room_id else "Your best variants")
    if not board.entries:
        sections = "<p>No complete runs yet: run an evaluation on the Evaluate page.</p>"
    else:
        sections = "".join(
            [
                section("Leaderboard", table(board_frame(board))),
                section("Scores with their 95% intervals", f"<div class='grid'>{_charts(board)}</div>"),
                section(
                    "Settings against the baseline",
                    f"<p class='meta'>Each entry's settings that differ from '{esc(baseline.name)}'.</p>",
                    _diffs(board, baseline),
                ),
            ]
        )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{REPORT_STYLE}</style>"
        f"</head><body><h1>{esc(title)}</h1>{_facts(board, room_id, baseline)}{sections}</body></html>"
    )
