"""A workshop room's settings, chosen by the facilitator and read by every participant's page.

Kept as JSON in the data folder (`room.json`), so a restarted room keeps its settings; nothing secret is in it (a
hosted model's key stays in the server's memory). Each run a participant makes is stored with
`run_meta(member)`, which is how the leaderboard finds the room's runs and whose they are.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.workshop.access import Member

ROOM_FILE = "room.json"
DEFAULT_MAX_QUESTIONS = 10


@dataclass(frozen=True)
class RoomSettings:
    """What the room works on. `corpus` and `questions` name what the pages load: "sample:<key>" for a shipped
    sample, or a folder path (corpus) / a saved question set's name (questions). `models` lists the models
    participants may choose (empty: the app's default only); `judge` judges every run when set."""

    room_id: str = ""
    corpus: str = "sample:fictional"
    questions: str = "sample:fictional"
    judge: str | None = None
    models: tuple[str, ...] = ()
    max_questions: int = DEFAULT_MAX_QUESTIONS

    def __post_init__(self) -> None:
        if self.max_questions < 1:
            raise InputError("The limit of questions per run must be at least 1.")


def room_path(settings: Settings) -> Path:
    return settings.data_dir / ROOM_FILE


def new_room_id() -> str:
    return secrets.token_hex(4)


def load_room(settings: Settings) -> RoomSettings:
    """The room's settings; a new room (with a fresh id) when none were saved or the file is unreadable."""
    try:
        data: dict[str, Any] = json.loads(room_path(settings).read_text(encoding="utf-8"))
        data["models"] = tuple(data.get("models") or ())
        fields = {f.name for f in dataclasses.fields(RoomSettings)}
        return RoomSettings(**{k: v for k, v in data.items() if k in fields})
    except (OSError, ValueError, TypeError, InputError):
        return RoomSettings(room_id=new_room_id())


def save_room(settings: Settings, room: RoomSettings) -> None:
    path = room_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(room), indent=2), encoding="utf-8")
    tmp.replace(path)  # readers never see a half-written file


def run_meta(room: RoomSettings, member: Member) -> dict[str, str]:
    """What a participant's run is stored with (RunOptions.meta): the room and the display name."""
    return {"room": room.room_id, "participant": member.name}
