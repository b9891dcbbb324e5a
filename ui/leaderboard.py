"""The Leaderboard page's pieces: whose runs it ranks, the live table, a row's settings against the baseline, the
presenter's spotlight in large type and the room's HTML report.

The board redraws itself every few seconds (`st.fragment(run_every=...)`) while participants' runs come in. A
stored run is read once per state: a complete run never changes, so its entries are cached (shared by every
browser in the room) under its id, status and number of answers.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from playground.core.config import VariantConfig
from playground.core.settings import Settings
from playground.evaluation.judge_rubrics import JUDGE_CORRECT
from playground.evaluation.scoring import PRIMARY_METRIC
from playground.storage.store import ExperimentStore
from playground.workshop import leaderboard as lb
from playground.workshop.room import RoomSettings, ensure_room, load_room, save_room
from playground.workshop.room_report import room_report
from ui import history, resources, room, state, widgets

REFRESH_S = 5.0
PRESENT_PARAM = "present"
TABLE = "lb_table"
# The table's rows as the user last saw them, the selection last read, and the entry picked (by its key): a row
# number alone would point at another entry once a new run reorders the board.
_SHOWN, _ROWS, _PICKED = "lb:shown", "lb:rows", "lb:picked"


@dataclass(frozen=True)
class Scope:
    """Whose runs the board ranks: a room's, or (room_id None) every run in this data folder."""

    room: RoomSettings
    room_id: str | None
    facilitator: bool = False


def scope(settings: Settings) -> Scope:
    """The room of the member asking (read afresh: the facilitator may have moved the spotlight), or the local
    user's own runs outside a room. In a room without a known member the page stops, saying what to do."""
    member = room.require_member()
    if member is None:
        return Scope(RoomSettings(models=(state.default_model(),)), None)
    found = ensure_room(settings)  # the room's id, even before the facilitator saved its settings
    return Scope(found, found.room_id, member.is_facilitator)


def presenter_toggle() -> bool:
    """The presenter view's switch, on when the page was opened with `?present=1`; the address follows it, so
    the presenter's screen can be bookmarked."""
    asked = st.query_params.get(PRESENT_PARAM) == "1"
    on = st.toggle(
        "Presenter view",
        value=asked,
        key="lb_present",
        help="The spotlighted entry in large type, for the room's big screen. Open the page with ?present=1 "
        "to start in this view.",
    )
    if on and not asked:
        st.query_params[PRESENT_PARAM] = "1"
    elif asked and not on:
        del st.query_params[PRESENT_PARAM]
    return on


# --- reading the runs -------------------------------------------------------------------------------------------


@st.cache_data(max_entries=2000, show_spinner=False)
def _read_run(folder: str, run_id: int, status: str, rows: int, _store: ExperimentStore) -> lb.RunEntries:
    return lb.read_run(_store.load_run(run_id))


def _reader(store: ExperimentStore, settings: Settings) -> lb.RunReader:
    folder = str(settings.data_dir)

    def read(listed: Mapping[str, Any]) -> lb.RunEntries:
        status = str(listed["status"])
        # Only a complete run has entries; any other is read for its room, whatever its count of answers.
        rows = int(listed["rows"]) if status == "complete" else 0
        return _read_run(folder, int(listed["id"]), status, rows, store)

    return read


def _runs(settings: Settings, where: Scope) -> list[lb.RunEntries] | None:
    store = resources.guarded("opening the experiment store", history.open_store, settings)
    if store is None:
        return None
    return resources.guarded(
        "reading the saved runs", lb.room_runs, store, where.room_id, _reader(store, settings)
    )


# --- the views ----------------------------------------------------------------------------------------------


def _scope_caption(where: Scope) -> None:
    if where.room_id is None:
        st.caption(
            f"You are not in a workshop room: this board ranks your own runs (every complete run saved in this "
            f"data folder) under the name '{lb.LOCAL_PARTICIPANT}'. Click a row to see its settings against "
            "the baseline."
        )
    else:
        st.caption(
            f"Room {widgets.plain(where.room_id)}: every participant's complete runs, refreshed every "
            f"{REFRESH_S:.0f} seconds. Click a row to see its settings against the baseline."
        )


def _empty(runs: list[lb.RunEntries]) -> None:
    going = sum(r.status == "running" for r in runs)
    if going:
        st.info(
            f"{going} run(s) still going: each enters the board when it finishes.", icon=":material/timer:"
        )
    else:
        st.info(
            "No complete runs yet. Run an evaluation on the Evaluate page: each variant it scores enters the "
            "board here.",
            icon=":material/info:",
        )


def _pick_question_set(sets: Mapping[str, str]) -> str:
    """The question set whose entries are ranked: the one used last, unless the user picks another."""
    hashes = list(sets)
    if len(hashes) == 1:
        return hashes[0]
    picked = st.selectbox(
        "Question set",
        hashes,
        format_func=lambda h: f"{sets[h]} ({h[:8]})",
        key="lb_question_set",
        help="Scores on different questions cannot be ranked together: pick the set whose runs to rank.",
    )
    return str(picked or hashes[0])


def _metric_label(metric: str) -> str:
    return lb.COLUMNS.get(metric, metric)


def _table(board: lb.Board, compact: bool = False) -> list[int]:
    """The board as a table, best first; returns the selected row numbers."""
    percent = st.column_config.NumberColumn(format="percent")
    labels = lb.COLUMNS
    config = {
        labels[PRIMARY_METRIC]: percent,
        labels[JUDGE_CORRECT]: percent,
        labels["context_precision"]: st.column_config.NumberColumn(format="%.2f"),
        labels["context_recall"]: st.column_config.NumberColumn(format="%.2f"),
        labels["median_latency_s"]: st.column_config.NumberColumn(format="%.2f s"),
        labels["cost_usd"]: st.column_config.NumberColumn(format="$%.5f"),
    }
    frame = lb.board_frame(board)
    if compact:
        frame = frame[[c for c in frame.columns if c not in (labels["run"], labels["time"])]]
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config=config,
        key=TABLE,
        on_select="rerun",
        selection_mode="single-row",
    )
    return list(event.selection.rows)


def _picked(board: lb.Board, rows: list[int]) -> lb.Entry | None:
    """The entry the user clicked, read against the table they clicked on (the board may have changed since)."""
    shown: list[str] = st.session_state.get(_SHOWN) or [e.key for e in board.entries]
    if rows != st.session_state.get(_ROWS):  # a new click (or a cleared one)
        st.session_state[_ROWS] = rows
        st.session_state[_PICKED] = shown[rows[0]] if rows and rows[0] < len(shown) else None
    st.session_state[_SHOWN] = [e.key for e in board.entries]
    return next((e for e in board.entries if e.key == st.session_state.get(_PICKED)), None)


def settings_view(entry: lb.Entry, baseline: VariantConfig) -> None:
    """An entry's settings that differ from the baseline, as a table."""
    changes = lb.settings_diff(entry.config, baseline)
    st.markdown(f"**{widgets.plain(entry.label)}** against the baseline ('{widgets.plain(baseline.name)}')")
    if not changes:
        st.info("The baseline's settings: nothing changed.", icon=":material/drag_handle:")
        return
    st.dataframe(lb.diff_frame(changes), hide_index=True, width="stretch")


def _set_spotlight(settings: Settings, key: str | None) -> None:
    # A button callback: it runs before the board is redrawn, so the presenter view shows the new spotlight.
    save_room(settings, dataclasses.replace(load_room(settings), spotlight=key))


def _spotlight_buttons(settings: Settings, where: Scope, entry: lb.Entry) -> None:
    """The facilitator's control: put this entry on the big screen, or hand it back to the leader."""
    left, right = st.columns(2)
    left.button(
        "Spotlight this entry",
        key="lb_spotlight",
        icon=":material/campaign:",
        on_click=_set_spotlight,
        args=(settings, entry.key),
        disabled=entry.key == where.room.spotlight,
        help="Shows this entry in large type in the presenter view (open this page with ?present=1).",
    )
    if where.room.spotlight:
        right.button(
            "Spotlight the leader again", key="lb_unspotlight", on_click=_set_spotlight, args=(settings, None)
        )


def _big(entry: lb.Entry, rank: int, board: lb.Board, chosen: bool) -> str:
    """The spotlighted entry as large type (escaped: names are typed by participants)."""
    score = entry.score(board.metric)
    shown = "—" if score is None else f"{score:.0%}"
    head = "Spotlight" if chosen else "Leader"
    interval = lb.interval_text(entry)
    detail = f"{_metric_label(board.metric)} · {entry.questions} questions"
    if interval:
        detail += f" · accuracy 95% interval {interval}"
    return (
        "<div style='text-align:center;padding:1rem 0'>"
        f"<div style='font-size:1.6rem;color:#6b7280'>{head} · #{rank} of {len(board.entries)}</div>"
        f"<div style='font-size:4rem;font-weight:700;line-height:1.15'>{html.escape(entry.participant)}</div>"
        f"<div style='font-size:2.6rem'>{html.escape(entry.variant)}</div>"
        f"<div style='font-size:6rem;font-weight:800;line-height:1.1'>{shown}</div>"
        f"<div style='font-size:1.5rem;color:#374151'>{html.escape(detail)}</div></div>"
    )


def presenter_view(board: lb.Board, where: Scope, baseline: VariantConfig) -> None:
    """The spotlighted entry (the leader when none is) in large type, then what it changed."""
    entry = lb.spotlit(board, where.room.spotlight)
    if entry is None:
        return
    chosen = entry.key == where.room.spotlight
    st.markdown(_big(entry, board.entries.index(entry) + 1, board, chosen), unsafe_allow_html=True)
    settings_view(entry, baseline)


def _download(board: lb.Board, where: Scope, baseline: VariantConfig) -> None:
    name = f"room-{where.room_id}" if where.room_id else "my-best-variants"
    st.download_button(
        "Room report (HTML)",
        lambda: room_report(board, baseline, where.room_id or ""),
        f"{name}.html",
        "text/html",
        key="lb_report",
        icon=":material/download:",
        on_click="ignore",
        help="One file with the leaderboard, a chart and every entry's settings; opens in any browser, offline.",
    )


def _notes(board: lb.Board) -> None:
    people = len({e.participant for e in board.entries})
    notes = [
        f"{len(board.entries)} entries from {people} participant{'s' if people != 1 else ''}, "
        f"ranked by {_metric_label(board.metric)}, best first."
    ]
    if board.running:
        notes.append(f"{board.running} run(s) still going: each enters the board when it finishes.")
    if board.unreadable:
        notes.append(f"{board.unreadable} run(s) from an older version could not be read and are left out.")
    st.caption(" ".join(notes))


@st.fragment(run_every=REFRESH_S)
def live_board(settings: Settings, present: bool) -> None:
    """The board, redrawn every few seconds: the table, the picked row's settings, the presenter's spotlight."""
    where = scope(settings)
    runs = _runs(settings, where)
    if runs is None:
        return
    _scope_caption(where)
    sets = lb.question_sets(runs)
    if not sets:
        _empty(runs)
        return
    board = lb.build_board(runs, _pick_question_set(sets))
    baseline = lb.room_baseline(where.room)
    if present:
        presenter_view(board, where, baseline)
    entry = _picked(board, _table(board, compact=present))
    _notes(board)
    if entry is not None and not present:
        settings_view(entry, baseline)
    if entry is not None and where.facilitator:
        _spotlight_buttons(settings, where, entry)
    _download(board, where, baseline)
