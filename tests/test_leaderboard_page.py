"""The Leaderboard page through AppTest: a room's entries best first, a clicked row's settings against the
baseline, the facilitator's spotlight shown in large type in the presenter view, the room's report to download,
one user's own runs outside a room, and an empty store that says what to do."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.room
from playground.core.settings import Settings
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import parse_questions
from playground.retrieval.index import forget_loaded_indexes
from playground.storage.store import ExperimentStore
from playground.workshop.access import SECRET_ENV, Member
from playground.workshop.room import RoomSettings, load_room, save_room
from tests.conftest import ROOT
from tests.test_app_pages import texts
from tests.test_export import PAYLOAD, PROMPT_VARIANTS, QUESTIONS_BYTES, _fake

PAGE = "pages/8_Leaderboard.py"
ROOM = "r1"
Open = Callable[..., AppTest]


def _save_run(settings: Settings, who: str | None, variants: list | None = None) -> int:
    store = ExperimentStore(settings)
    meta = {"room": ROOM, "participant": who} if who else {}
    questions = parse_questions("small.jsonl", QUESTIONS_BYTES)
    run = run_evaluation(
        variants or PROMPT_VARIANTS,
        None,
        questions,
        settings,
        llm=_fake(),
        options=RunOptions(store=store, meta=meta),
    )
    store.close()
    assert run.run_id is not None
    return run.run_id


def _clear() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()
    forget_loaded_indexes()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture
def open_page(settings: Settings) -> Iterator[Open]:
    _clear()

    def open_it(present: bool = False) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        if present:
            at.query_params["present"] = "1"
        return ok(at.switch_page(PAGE).run())

    yield open_it
    _clear()


@pytest.fixture
def in_room(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Member:
    """The app served as a room, with Ada its facilitator in this browser."""
    member = Member("Ada", "facilitator")
    monkeypatch.setenv(SECRET_ENV, "test-secret")
    monkeypatch.setattr(ui.room, "current_member", lambda: member)
    save_room(settings, RoomSettings(room_id=ROOM, models=("fake:extractive",)))
    return member


def _board(at: AppTest):
    return next(d.value for d in at.dataframe if "participant" in d.value.columns)


def _select(at: AppTest, row: int) -> AppTest:
    at.session_state["lb_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return ok(at.run())


def test_an_empty_store_says_to_run_an_evaluation(open_page: Open) -> None:
    at = open_page()
    assert "No complete runs yet. Run an evaluation on the Evaluate page" in texts(at)
    assert "not in a workshop room" in texts(at)


def test_the_room_board_lists_entries_best_first_and_a_clicked_row_shows_its_settings(
    open_page: Open, settings: Settings, in_room: Member
) -> None:
    _save_run(settings, "Bob")
    _save_run(settings, PAYLOAD, [PROMPT_VARIANTS[0]])
    _save_run(settings, None)  # a run outside the room: not on its board
    at = open_page()
    board = _board(at)
    assert list(board["variant"]) == ["short form", "plain", "plain"]
    assert list(board["participant"]) == ["Bob", "Bob", PAYLOAD]
    assert list(board["accuracy (contains gold)"]) == [0.75, 0.5, 0.5]
    assert board["accuracy 95% interval"].str.contains(" to ").all()
    assert f"Room {ROOM}" in texts(at) and "ranked by accuracy (contains gold)" in texts(at)
    at = _select(at, 0)
    diff = next(d.value for d in at.dataframe if "setting" in d.value.columns)
    assert dict(zip(diff["setting"], diff["this variant"], strict=True)) == {
        "max_tokens": "32",
        "template": "Q: {question}",
    }
    assert at.get("download_button") and at.get("download_button")[0].proto.label == "Room report (HTML)"


def test_the_facilitators_spotlight_shows_in_large_type_in_the_presenter_view(
    open_page: Open, settings: Settings, in_room: Member
) -> None:
    _save_run(settings, "Bob")
    at = _select(open_page(), 1)  # Bob's plain variant, second on the board
    ok(at.button(key="lb_spotlight").click().run())
    assert load_room(settings).spotlight is not None
    presenter = open_page(present=True)
    big = next(m.value for m in presenter.markdown if "font-size:4rem" in m.value)
    assert "Spotlight · #2 of 2" in big and ">Bob<" in big and ">plain<" in big and ">50%<" in big
    assert presenter.toggle(key="lb_present").value is True
    assert presenter.get("download_button")


def test_the_presenter_view_shows_the_leader_when_nothing_is_spotlighted(
    open_page: Open, settings: Settings, in_room: Member
) -> None:
    _save_run(settings, PAYLOAD)
    at = open_page(present=True)
    big = next(m.value for m in at.markdown if "font-size:4rem" in m.value)
    assert "Leader · #1 of 2" in big and PAYLOAD not in big and "&lt;script&gt;" in big
    ok(at.toggle(key="lb_present").set_value(False).run())
    assert not [m for m in at.markdown if "font-size:4rem" in m.value]
    assert "present" not in at.query_params


def test_outside_a_room_the_board_ranks_the_users_own_runs(open_page: Open, settings: Settings) -> None:
    _save_run(settings, None)
    at = open_page()
    assert list(_board(at)["participant"]) == ["you", "you"]
    assert "not in a workshop room" in texts(at)
    assert not at.button  # no spotlight to set outside a room


def test_a_new_run_shows_on_the_next_refresh_and_the_picked_row_stays_picked(
    open_page: Open, settings: Settings, in_room: Member
) -> None:
    _save_run(settings, "Bob")
    at = _select(open_page(), 1)
    assert "**Bob · plain** against the baseline" in texts(at)
    _save_run(settings, "Cy", [PROMPT_VARIANTS[1]])  # 75%: second, above Bob's plain
    ok(at.run())  # what the fragment's timer does every few seconds
    assert list(_board(at)["participant"]) == ["Bob", "Cy", "Bob"]
    assert "**Bob · plain** against the baseline" in texts(at)  # not Cy's entry, now in the clicked row
