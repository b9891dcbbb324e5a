"""Saved question sets in the browser: the experiment store, the pickers of the Evaluate page and the labs.

A saved set becomes the session's question set with the source "saved:<name>", so every page uses it like any
other set. Widget callbacks here and in the question table never show a traceback: an error is kept as a
message (`flash`) and shown once, where the widget is.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec

import streamlit as st

from playground.core.errors import PlaygroundError
from playground.ingest.questions import QuestionSet
from playground.storage.store import ExperimentStore, SavedQuestionSet
from ui import history, resources, state

P = ParamSpec("P")
log = logging.getLogger(__name__)
SAVED = "saved"  # the question-set chooser's option "a saved set"
SAVED_PREFIX = "saved:"  # the session's question source when a saved set is in use
CURRENT = "current"
ICONS = {"error": ":material/error:", "warning": ":material/warning:", "success": ":material/check_circle:"}


def open_store() -> ExperimentStore:
    return history.open_store(state.settings())


def saved_sets() -> list[SavedQuestionSet]:
    """The saved question sets; an unusable data folder shows its message and gives none."""
    found = resources.guarded("listing the saved question sets", lambda: open_store().list_question_sets())
    return found or []


def use_saved(name: str) -> QuestionSet:
    """Make a saved set the session's question set (its usable rows)."""
    found = open_store().load_question_set(name)
    state.set_questions(found, f"Saved: {name}", SAVED_PREFIX + name)
    return found


def saved_name(source: str | None) -> str | None:
    """The saved set's name for a question source like 'saved:returns', else None."""
    return source.removeprefix(SAVED_PREFIX) if source and source.startswith(SAVED_PREFIX) else None


def callback(fn: Callable[P, None]) -> Callable[P, None]:
    """A widget callback that never shows a traceback: an error becomes a message shown once (first argument:
    the key whose `show_flash` shows it)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except PlaygroundError as err:
            flash(str(args[0]), "error", str(err))
        except Exception:
            log.exception("unexpected error in the question table")
            flash(str(args[0]), "error", "Something unexpected went wrong; nothing was changed.")

    return run


@callback
def _pick_saved(key: str, widget: str) -> None:
    name = saved_name(st.session_state.get(widget))
    if name:
        use_saved(name)


def saved_set_picker(key: str) -> None:
    """Choose among the saved sets; the one picked becomes the session's question set."""
    sets = {SAVED_PREFIX + s.name: s for s in saved_sets()}
    if not sets:
        st.info("No question set is saved yet: write or generate one in the table below and save it.")
        return
    widget = f"{key}_saved"
    current = state.questions_source()
    st.session_state[widget] = current if current in sets else None  # follows the session's set
    st.selectbox(
        "Saved question set",
        list(sets),
        key=widget,
        format_func=lambda s: (
            f"{sets[s].name} ({sets[s].questions} questions, saved {sets[s].updated_at[:10]})"
        ),
        placeholder="Choose a saved question set",
        on_change=_pick_saved,
        args=(key, widget),
        help="Question sets written or generated here and saved with a name.",
    )
    show_flash(key)


def lab_set_picker(key: str) -> None:
    """In a lab: switch the question set to a saved one (nothing is shown while none is saved)."""
    sets = {SAVED_PREFIX + s.name: s for s in saved_sets()}
    if not sets:
        return
    current = state.questions_source()
    has_current = state.questions() is not None and current not in sets
    options = ([CURRENT] if has_current else []) + list(sets)
    widget = f"{key}_saved"
    st.session_state[widget] = current if current in sets else CURRENT if has_current else None
    st.selectbox(
        "Question set",
        options,
        key=widget,
        format_func=lambda s: (
            f"Current: {state.questions_label()}" if s == CURRENT else f"Saved: {sets[s].name}"
        ),
        placeholder="Choose a saved question set",
        on_change=_pick_saved,
        args=(key, widget),
        help="The session's question set, or one saved from the question table on the Evaluate page.",
    )
    show_flash(key)


def flash(key: str, kind: str, text: str) -> None:
    """Keep a message ("success", "warning" or "error") for `show_flash` to show once."""
    state.set_lab_value(f"{key}_flash", (kind, text))


def show_flash(key: str) -> None:
    """The message a callback left (saved, deleted, or an error), shown once."""
    found = state.lab_value(f"{key}_flash")
    if found:
        state.set_lab_value(f"{key}_flash", None)
        kind, text = found
        show = {"error": st.error, "warning": st.warning, "success": st.success}[kind]
        show(text, icon=ICONS[kind])
