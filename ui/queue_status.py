"""Whose calls a page makes to a shared local model, and what the page says while they wait for their turn.

In a workshop the browser sessions share one loaded model, which lets their calls through in turns
(`playground.models.fair_queue`); each browser session is one party.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

from playground.models.fair_queue import ANONYMOUS, OnWait, calling_as
from ui import room

P = ParamSpec("P")
T = TypeVar("T")


def party() -> str:
    """Who this browser session queues as: in a workshop room the member's display name (one person with three
    tabs open gets one turn, not three), else the session."""
    member = room.current_member()
    if member is not None:
        return member.name
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else ANONYMOUS


def as_session(fn: Callable[P, T], on_wait: OnWait | None = None) -> Callable[P, T]:
    """`fn`, whose calls to a shared model queue as this browser session; `on_wait` hears while one waits."""
    me = party()  # read here, on the script thread, where the session is known

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        with calling_as(me, on_wait):
            return fn(*args, **kwargs)

    return call


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def waiting_text(place: int, wait_s: float) -> str:
    """What a page says while a call waits: `Waiting for the shared model: 2nd in the queue, about 15 s`."""
    if wait_s >= 90:
        about = f", about {round(wait_s / 60)} min"
    elif wait_s >= 1:
        about = f", about {round(wait_s)} s"
    else:
        about = ""
    return f"Waiting for the shared model: {ordinal(place)} in the queue{about}"


def shown_in_bar(bar: DeltaGenerator, share: Callable[[], float]) -> OnWait:
    """A waiting callback that writes into a progress bar, leaving it at `share()` of the work done."""

    def show(place: int, wait_s: float) -> None:
        text = waiting_text(place, wait_s) if place else "The shared model is answering…"
        bar.progress(share(), text=text)

    return show


def shown_in_caption(slot: DeltaGenerator) -> OnWait:
    """A waiting callback that writes a caption into `slot` (an `st.empty()`), cleared when the turn comes."""

    def show(place: int, wait_s: float) -> None:
        if place:
            slot.caption(f":material/hourglass_top: {waiting_text(place, wait_s)}")
        else:
            slot.empty()

    return show
