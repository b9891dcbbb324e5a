"""Who is asking, when the app runs as a workshop room (`make workshop`): for pages that keep runs per person.

The room server (`ui.workshop_app`) puts its signing secret in its own environment; the gate in front of the app
lets in only browsers holding a cookie signed with it, and this module reads the same cookie to name the member.
Outside a room (`make run`, AppTest) there is no secret: `room_mode()` is False and `current_member()` None.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import streamlit as st

from playground.core.settings import Settings
from playground.workshop.access import COOKIE, SECRET_ENV, Member, read_token


def room_mode() -> bool:
    """True when the app is served as a workshop room (behind the access gate)."""
    return bool(os.environ.get(SECRET_ENV))


def current_member() -> Member | None:
    """The room member of this browser session; None outside a room or without a valid cookie."""
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        return None
    # The cookies of the session's websocket handshake: HttpOnly, so only the server side ever reads them.
    return read_token(secret, st.context.cookies.get(COOKIE))


def require_member() -> Member | None:
    """The member asking, for a page that needs one; None outside a room.

    In a room the gate already turned away everyone without a valid cookie, so a page that finds no member here
    means the cookie went missing mid-session (the room restarted, or the person left in another tab): the page
    stops with what to do rather than running anonymously.
    """
    if not room_mode():
        return None
    member = current_member()
    if member is None:
        st.error(
            "This page does not know who you are in the room. Open the room's address again and join with the "
            "access code and your name.",
            icon=":material/lock:",
        )
        st.stop()
    return member


@dataclass
class HeldKey:
    """The hosted-model key the facilitator typed: one per server process, in memory only."""

    value: str = ""


@st.cache_resource(show_spinner=False)
def held_key() -> HeldKey:
    return HeldKey()


def with_room_key(settings: Settings) -> Settings:
    """In a room, `settings` with the facilitator's held key when it has no key of its own."""
    key = held_key().value
    if not key or settings.openai_api_key or not room_mode():
        return settings
    return dataclasses.replace(settings, openai_api_key=key)
