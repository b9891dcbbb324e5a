"""Room: in a workshop, what everyone works on; the facilitator changes it here, participants read it."""

from __future__ import annotations

import streamlit as st

from playground.workshop.room import ensure_room
from ui import resources, room, room_settings, state, widgets

widgets.page_start(
    "Room",
    "pages/9_Room.py",
    "In a workshop room, everyone works on the same corpus and questions, with the models the facilitator "
    "chose, so the leaderboard compares like with like.",
    load_corpus=False,
)

if not room.room_mode():
    st.info(
        "This app is not running as a workshop room. To run one for a group, start it with `make workshop` "
        "and join with the facilitator's access code; this page then sets what the room works on.",
        icon=":material/groups:",
    )
    st.stop()

member = room.require_member()
found = resources.guarded("reading the room's settings", ensure_room, state.settings())
if found is None:
    st.stop()

st.subheader("What the room works on")
room_settings.summary(found)
if member is None or not member.is_facilitator:
    st.caption("Only the facilitator can change these settings; your pages follow them.")
    st.stop()

room_settings.own_runs(found)
st.subheader("Change the room's settings")
st.caption(
    "Open a corpus on the Corpus page and a question set on the Evaluate page to offer them here. Saving "
    "applies to every participant's next click."
)
room_settings.editor("room", found)
