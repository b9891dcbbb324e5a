"""A workshop room's settings, chosen by the facilitator and read by every participant's page.

Kept as JSON in the data folder (`room.json`), so a restarted room keeps its settings; nothing secret is in it (a
hosted model's key stays in the server's memory). Each run a participant makes is stored with
`run_meta(member)`, which is how the leaderboard finds the room's runs and whose they are.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.documents import Corpus, Document
from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.ingest.loaders import load_folder
from playground.workshop.access import Member

ROOM_FILE = "room.json"
DEFAULT_MAX_QUESTIONS = 10
SAMPLE_PREFIX = "sample:"
CORPUS_DIR = Path("room") / "corpus"  # under the data folder: the corpora saved for the room
CORPUS_FILE = "corpus.json"  # a saved corpus's documents, exactly as they were loaded
ASK_FACILITATOR = "ask the facilitator to choose it again on the Room page"


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
    # The leaderboard entry the facilitator puts on the big screen (`leaderboard.Entry.key`); None: the leader.
    spotlight: str | None = None

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


def ensure_room(settings: Settings) -> RoomSettings:
    """The room's settings, saved first when there are none yet, so that every reader gets the same room id
    (`load_room` alone gives a fresh id each time while nothing is saved)."""
    path = room_path(settings)
    if not path.exists():
        fresh = json.dumps(dataclasses.asdict(RoomSettings(room_id=new_room_id())), indent=2)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # "x": of two readers starting the room at once, the second reads what the first wrote
            with path.open("x", encoding="utf-8") as file:
                file.write(fresh)
        except OSError:  # another reader was first, or the folder is read-only: what `load_room` finds stands
            pass
    return load_room(settings)


def sample_key(value: str) -> str | None:
    """The sample's key in a room's "sample:<key>" corpus or question set; None for a folder or a saved set."""
    return value.removeprefix(SAMPLE_PREFIX) if value.startswith(SAMPLE_PREFIX) else None


def allowed_models(room: RoomSettings, default: str) -> tuple[str, ...]:
    """The models participants may answer with: the room's list, or the app's `default` when it is empty."""
    return room.models or (default,)


# --- a corpus kept for the room -------------------------------------------------------------------------------


def save_corpus(settings: Settings, corpus: Corpus) -> Path:
    """Keep `corpus` in a folder of the data folder, named by its content, and return the folder.

    An uploaded corpus lives only in the browser session that uploaded it; kept here, every participant's
    session can load it. Its documents are kept as loaded (ids, pages, titles), so questions and indexes about
    them still match; a new corpus gets a new folder, which is how participants notice the change."""
    folder = settings.data_dir / CORPUS_DIR / corpus.content_hash[:16]
    folder.mkdir(parents=True, exist_ok=True)
    data = {"name": corpus.name, "documents": [dataclasses.asdict(d) for d in corpus.documents]}
    tmp = folder / f"{CORPUS_FILE}.tmp"
    tmp.write_text(json.dumps(data), encoding="utf-8")  # ASCII escapes keep odd characters intact
    tmp.replace(folder / CORPUS_FILE)
    return folder


def load_corpus(folder: Path) -> Corpus:
    """A room's corpus folder: one kept by `save_corpus` exactly as saved, any other folder read file by file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"The room's corpus folder {folder} is missing: {ASK_FACILITATOR}.")
    kept = folder / CORPUS_FILE
    if not kept.is_file():
        return load_folder(folder)
    try:
        data = json.loads(kept.read_text(encoding="utf-8"))
        documents = tuple(Document(**doc) for doc in data["documents"])
    except (OSError, ValueError, TypeError, KeyError):
        raise InputError(f"The room's corpus in {folder} cannot be read: {ASK_FACILITATOR}.") from None
    return Corpus(name=str(data.get("name") or folder.name), documents=documents)


def prune_corpora(settings: Settings, keep: str) -> None:
    """Remove the corpora saved for the room other than the folder `keep` (only folders `save_corpus` made)."""
    root = settings.data_dir / CORPUS_DIR
    for folder in root.iterdir() if root.is_dir() else ():
        if (folder / CORPUS_FILE).is_file() and folder.resolve() != Path(keep).resolve():
            shutil.rmtree(folder, ignore_errors=True)
