"""A workshop room's rules on a participant's pages: the room's corpus, question set, models, judge and limit.

The facilitator chooses them on the Room page (`playground.workshop.room`); every page of a participant reads them
from the data folder, so a change reaches everyone on their next click. Outside a room, and for the facilitator
(who sets the room up with the ordinary pages), every function here leaves the page as it was.

A hosted model's key typed by the facilitator is held in the server's memory only (`held_key`), never written
to disk nor shown back; `with_room_key` lends it to the calls of everyone in the room.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from playground.core.defaults import DEFAULT_LOCAL_MODEL
from playground.core.errors import PlaygroundError
from playground.workshop import room as rooms
from playground.workshop.room import RoomSettings
from ui import question_sets, resources, room, state, verdicts, widgets

if TYPE_CHECKING:
    from playground.core.config import VariantConfig
    from playground.core.documents import Corpus
    from playground.ingest.questions import QuestionSet

FOLDER_SOURCE = "room:"  # the session's corpus source when the room's corpus is a kept folder
SET_BY_FACILITATOR = "set by the facilitator on the Room page"


# --- whose pages follow the room ----------------------------------------------------------------------------


def follows_room() -> bool:
    """Whether this session follows the room's settings: in a room, everyone but the facilitator."""
    if not room.room_mode():
        return False
    member = room.current_member()
    return member is None or not member.is_facilitator


def followed_room() -> RoomSettings | None:
    """The room's settings when this session follows them, else None."""
    return rooms.ensure_room(state.settings()) if follows_room() else None


def app_default_model() -> str:
    """The app's own default model (the room's when it lists none), not the one a session chose."""
    return os.environ.get(state.MODEL_ENV) or DEFAULT_LOCAL_MODEL


def allowed_models() -> tuple[str, ...] | None:
    """The models this session may answer with; None when it is free to choose any."""
    found = followed_room()
    return None if found is None else rooms.allowed_models(found, app_default_model())


def max_questions() -> int | None:
    """The room's limit of questions per run; None when there is none."""
    found = followed_room()
    return None if found is None else found.max_questions


def run_meta() -> dict[str, str]:
    """What this session's runs are stored with: the room and the member's name (the leaderboard reads them);
    nothing outside a room, or when the session has not the room's corpus and question set open (such a run
    answered other questions, so it is not the room's: a participant's that failed to load, or the facilitator's
    on anything else)."""
    member = room.current_member()
    if not room.room_mode() or member is None:
        return {}
    found = rooms.ensure_room(state.settings())
    return rooms.run_meta(found, member) if on_room_set(found) else {}


def on_room_set(found: RoomSettings) -> bool:
    """Whether this session has the room's corpus and question set open."""
    return (state.corpus_source(), state.questions_source()) == (
        corpus_source(found),
        questions_source(found),
    )


# --- following the room -------------------------------------------------------------------------------------


def corpus_source(found: RoomSettings) -> str:
    """The session's corpus source for the room's corpus (as `resources.use_sample` names a sample's)."""
    return found.corpus if rooms.sample_key(found.corpus) else FOLDER_SOURCE + found.corpus


def questions_source(found: RoomSettings) -> str:
    """The session's question source for the room's set (as the choosers name a sample's or a saved one)."""
    return (
        found.questions if rooms.sample_key(found.questions) else question_sets.SAVED_PREFIX + found.questions
    )


@st.cache_resource(show_spinner="Reading the room's documents…", max_entries=4)
def room_corpus(folder: str) -> Corpus:
    """A kept corpus folder, read once per process (its name changes with its content)."""
    return rooms.load_corpus(Path(folder))


def _follow_corpus(found: RoomSettings) -> None:
    if state.corpus_source() == corpus_source(found):
        return
    key = rooms.sample_key(found.corpus)
    if key is not None and key not in state.SAMPLES:
        st.error(
            f"The room's corpus is a sample this app does not have: {rooms.ASK_FACILITATOR}.",
            icon=":material/error:",
        )
    elif key is not None:
        resources.guarded("reading the room's documents", resources.use_sample, key)
    else:
        corpus = resources.guarded("reading the room's documents", room_corpus, found.corpus)
        if corpus is not None:
            state.set_corpus(corpus, f"Room corpus: {corpus.name}", corpus_source(found))


def _use_sample_questions(key: str) -> None:
    questions = resources.sample_questions(key)  # KeyError: no such sample
    if questions is None:
        raise KeyError(key)
    label = f"Sample questions for {state.SAMPLES[key].label.split(':')[0]}"
    state.set_questions(questions, label, rooms.SAMPLE_PREFIX + key)


def _follow_questions(found: RoomSettings) -> None:
    if state.questions_source() == questions_source(found):
        return
    key = rooms.sample_key(found.questions)
    try:
        if key is None:
            question_sets.use_saved(found.questions)
        else:
            _use_sample_questions(key)
    except (PlaygroundError, KeyError, OSError):
        st.error(
            f"The room's question set cannot be loaded: {rooms.ASK_FACILITATOR}.", icon=":material/error:"
        )


def open_room_set(found: RoomSettings) -> None:
    """Open the room's corpus and question set in this session: the facilitator's way to run on them too."""
    _follow_corpus(found)
    _follow_questions(found)


def follow_room() -> RoomSettings | None:
    """For a page that uses the corpus: in a room, make the room's corpus, question set and an allowed model the
    session's (when the session starts, the room changes, or something replaced them); None when free."""
    room.require_member()  # in a room, a session that lost its cookie stops here with what to do
    found = followed_room()
    if found is None:
        return None
    open_room_set(found)
    allowed = rooms.allowed_models(found, app_default_model())
    if state.default_model() not in allowed:
        state.set_default_model(allowed[0])  # the session's variants follow their default
    return found


# --- the pages' controls in a room --------------------------------------------------------------------------


def corpus_notice() -> None:
    """What the Corpus page shows in place of the corpus chooser."""
    st.info(
        f"The room's corpus is {SET_BY_FACILITATOR}: you work on it like everyone in the room. You can still "
        "change how it is cut into chunks below.",
        icon=":material/groups:",
    )


def room_questions(found: RoomSettings) -> QuestionSet | None:
    """What the Evaluate page shows in place of the question-set chooser, and the room's set (None while it
    could not be loaded)."""
    st.caption(
        f"Question set: {state.questions_label()}, {SET_BY_FACILITATOR}, so that every run in the room "
        "answers the same questions."
    )
    return state.questions() if state.questions_source() == questions_source(found) else None


def judge_chooser(key: str) -> str | None:
    """The judge of an evaluation: the room's, in a room; else the user's choice."""
    found = followed_room()
    if found is None:
        return verdicts.judge_chooser(key)
    judged = f"judged by {widgets.model_label(found.judge)}" if found.judge else "not judged by an LLM"
    st.caption(f"Answers are {judged}: {SET_BY_FACILITATOR}.")
    return found.judge


def models_allowed(variants: Sequence[VariantConfig]) -> bool:
    """Whether every variant answers with one of the room's models; else says which and what to do."""
    allowed = allowed_models()
    outside = [v.name for v in variants if allowed is not None and v.model not in allowed]
    if outside:
        names = ", ".join(widgets.model_label(m) for m in allowed or ())
        st.error(
            f"In this room, variants answer with {names}. Choose one of them for {', '.join(outside)} in the "
            "Prompt lab or the RAG lab, or leave those variants out.",
            icon=":material/block:",
        )
    return not outside
