"""A workshop room's settings: kept in the data folder, changed by the facilitator on the Room page, and followed
by a participant's pages (the room's corpus, question set, models, judge and limit; runs stored with who ran them).

Room mode and the member are monkeypatched in `ui.room`, as the access gate would set them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from playground.core.config import VariantConfig
from playground.core.documents import Corpus, Document
from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.ingest.question_rows import rows_from_question_set
from playground.ingest.questions import parse_questions
from playground.storage.store import ExperimentStore
from playground.workshop import room as rooms
from playground.workshop.access import Member
from playground.workshop.room import RoomSettings
from tests.test_app_pages import QUESTIONS, MakeApp, make_app, ok, small_corpus, texts  # noqa: F401
from ui import room, room_rules, room_settings, state

FAKE = "fake:extractive"
SMALL = "local:qwen2.5-0.5b"
ROOM_PAGE, EVALUATE, CORPUS, PROMPT_LAB = (
    "pages/9_Room.py",
    "pages/4_Evaluate.py",
    "pages/1_Corpus.py",
    "pages/2_Prompt_lab.py",
)
DEMO_LABEL = "Demo: no model, copies the best-matching sentence (instant)"
FACILITATOR = Member("Grace", "facilitator")
PARTICIPANT = Member("Ada", "participant")

Join = Callable[[Member | None], None]


@pytest.fixture
def join(monkeypatch: pytest.MonkeyPatch) -> Join:
    """Serve the app as a room, with `member` as this browser's (None: the cookie went missing)."""

    def enter(member: Member | None) -> None:
        monkeypatch.setattr(room, "room_mode", lambda: True)
        monkeypatch.setattr(room, "current_member", lambda: member)

    return enter


def _room_with_small_set(settings: Settings, small_corpus: Corpus, **changes: object) -> RoomSettings:  # noqa: F811
    """A saved room on the four test documents and their questions, answering with the fake model."""
    questions = parse_questions("small.jsonl", "\n".join(json.dumps(q) for q in QUESTIONS).encode())
    ExperimentStore(settings).save_question_set("room set", rows_from_question_set(questions))
    folder = rooms.save_corpus(settings, small_corpus)
    found = RoomSettings(
        room_id="r1", corpus=str(folder), questions="room set", models=(FAKE, SMALL), max_questions=2
    )
    found = dataclasses.replace(found, **changes)  # type: ignore[arg-type]
    rooms.save_room(settings, found)
    return found


# --- the library --------------------------------------------------------------------------------------------


def test_room_settings_round_trip_through_the_data_folder(settings: Settings) -> None:
    saved = RoomSettings(
        room_id="abc", corpus="sample:squad2", judge=FAKE, models=(FAKE, SMALL), max_questions=3
    )
    rooms.save_room(settings, saved)
    assert rooms.load_room(settings) == saved
    assert rooms.ensure_room(settings) == saved  # a saved room is read, not replaced


def test_a_broken_room_file_gives_a_fresh_room(settings: Settings) -> None:
    rooms.room_path(settings).parent.mkdir(parents=True)
    rooms.room_path(settings).write_text("{not json", encoding="utf-8")
    fresh = rooms.load_room(settings)
    assert fresh.room_id and fresh.corpus == "sample:fictional" and fresh.models == ()
    rooms.room_path(settings).write_text(json.dumps({"room_id": "x", "max_questions": 0}), encoding="utf-8")
    assert rooms.load_room(settings).room_id != "x"  # an impossible limit is not kept either


def test_a_new_room_is_saved_once_so_everyone_gets_its_id(settings: Settings) -> None:
    first = rooms.ensure_room(settings)
    assert rooms.room_path(settings).is_file()
    assert rooms.ensure_room(settings).room_id == first.room_id
    assert rooms.load_room(settings).room_id == first.room_id


def test_run_meta_names_the_room_and_the_participant() -> None:
    assert rooms.run_meta(RoomSettings(room_id="r9"), PARTICIPANT) == {"room": "r9", "participant": "Ada"}


def test_models_and_samples_are_read_from_the_settings() -> None:
    assert rooms.allowed_models(RoomSettings(), FAKE) == (FAKE,)
    assert rooms.allowed_models(RoomSettings(models=(SMALL,)), FAKE) == (SMALL,)
    assert rooms.sample_key("sample:squad2") == "squad2"
    assert rooms.sample_key("/data/room/corpus/abc") is None


def test_a_kept_corpus_comes_back_exactly(settings: Settings, small_corpus: Corpus) -> None:  # noqa: F811
    paged = Document("scan.pdf#page=2", "A page \ud800 with an odd character.", "Scan", "scan.pdf", page=2)
    corpus = Corpus("upload", (*small_corpus.documents, paged))
    folder = rooms.save_corpus(settings, corpus)
    back = rooms.load_corpus(folder)
    assert back.documents == corpus.documents and back.content_hash == corpus.content_hash
    assert back.name == "upload"
    newer = rooms.save_corpus(settings, small_corpus)
    rooms.prune_corpora(settings, keep=str(newer))
    assert not folder.exists() and newer.exists()


def test_a_missing_corpus_folder_says_to_ask_the_facilitator(tmp_path: Path, small_corpus_dir: Path) -> None:
    with pytest.raises(InputError, match="ask the facilitator"):
        rooms.load_corpus(tmp_path / "gone")
    assert len(rooms.load_corpus(small_corpus_dir).documents) == 4  # any other folder: read file by file


# --- the Room page ------------------------------------------------------------------------------------------


def test_outside_a_room_the_room_page_says_how_to_start_one(make_app: MakeApp) -> None:  # noqa: F811
    at = make_app(ROOM_PAGE)
    assert "make workshop" in at.info[0].value
    assert not at.selectbox and not at.button and not at.markdown


def test_the_facilitator_changes_the_room_and_it_is_saved(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
) -> None:
    join(FACILITATOR)
    at = make_app(ROOM_PAGE)
    at.selectbox(key="room_corpus").set_value("sample:squad2")
    at.selectbox(key="room_questions").set_value("sample:squad2")
    at.selectbox(key="room_judge").set_value(FAKE)
    at.multiselect(key="room_models").set_value([FAKE, SMALL])
    at.number_input(key="room_max").set_value(3)
    ok(at.button(key="room_save").click().run())
    assert "Saved" in at.success[0].value
    saved = rooms.load_room(settings)
    assert (saved.corpus, saved.questions, saved.judge) == ("sample:squad2", "sample:squad2", FAKE)
    assert (saved.models, saved.max_questions) == ((FAKE, SMALL), 3)
    assert "Wikipedia paragraphs" in texts(at)  # the summary shows what was saved


def test_the_facilitator_offers_the_corpus_and_questions_open_now(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
    small_corpus: Corpus,  # noqa: F811
) -> None:
    join(FACILITATOR)
    at = make_app(ROOM_PAGE)  # the four test documents and questions are open, neither saved anywhere
    at.selectbox(key="room_corpus").set_value(room_settings.CURRENT)
    ok(at.selectbox(key="room_questions").set_value(room_settings.CURRENT).run())
    at.text_input(key="room_questions_name").input("Workshop questions")
    ok(at.button(key="room_save").click().run())
    saved = rooms.load_room(settings)
    assert saved.questions == "Workshop questions"
    assert [s.name for s in ExperimentStore(settings).list_question_sets()] == ["Workshop questions"]
    folder = Path(saved.corpus)
    assert folder.parent == settings.data_dir / rooms.CORPUS_DIR
    assert rooms.load_corpus(folder).documents == small_corpus.documents
    assert at.selectbox(key="room_corpus").value == saved.corpus  # listed as the room's corpus from now on
    assert "your own evaluations join the leaderboard" in texts(at)  # what is open is now the room's


def test_the_facilitators_own_runs_on_the_room_set_join_the_leaderboard(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
    small_corpus: Corpus,  # noqa: F811
) -> None:
    found = _room_with_small_set(settings, small_corpus)
    join(FACILITATOR)
    at = make_app(ROOM_PAGE, corpus=None)
    assert "your own evaluations join" not in texts(at)
    ok(at.button(key="room_open_set").click().run())
    assert at.session_state[state.CORPUS_SOURCE] == room_rules.FOLDER_SOURCE + found.corpus
    assert at.session_state[state.QUESTIONS_SOURCE] == "saved:room set"
    assert "your own evaluations join the leaderboard" in texts(at)
    ok(at.switch_page(EVALUATE).run())
    at.number_input(key="ev_limit").set_value(1)
    ok(at.button(key="ev_run").click().run())
    store = ExperimentStore(settings)
    meta = store.load_run(store.list_runs()[0]["id"])["meta"]
    assert (meta["room"], meta["participant"]) == ("r1", "Grace")


def test_a_hosted_key_stays_in_memory_and_is_never_shown(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
) -> None:
    join(FACILITATOR)
    at = make_app(ROOM_PAGE)
    assert "OpenAI: gpt-4o-mini" not in at.multiselect(key="room_models").options
    ok(at.text_input(key="room_api_key").input("sk-test-secret").run())
    assert at.text_input(key="room_api_key").value == ""
    assert "sk-test-secret" not in texts(at) and "held in the server's memory" in texts(at)
    assert "sk-test-secret" not in rooms.room_path(settings).read_text(encoding="utf-8")
    assert "OpenAI: gpt-4o-mini" in at.multiselect(key="room_models").options
    assert room.with_room_key(Settings(data_dir=settings.data_dir)).openai_api_key == "sk-test-secret"
    ok(at.button(key="room_forget_key").click().run())
    assert room.held_key().value == ""


def test_a_participant_sees_the_room_read_only(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
) -> None:
    rooms.save_room(settings, RoomSettings(room_id="r1", corpus="sample:squad2", judge=FAKE, max_questions=4))
    join(PARTICIPANT)
    at = make_app(ROOM_PAGE)
    shown = texts(at)
    assert "Wikipedia paragraphs" in shown and "Only the facilitator can change" in shown
    assert "**Questions per run, at most:** 4" in [m.value for m in at.markdown]
    assert not at.button and not at.selectbox and not at.number_input and not at.text_input


def test_a_session_without_its_member_is_told_to_join_again(make_app: MakeApp, join: Join) -> None:  # noqa: F811
    join(None)
    at = make_app(ROOM_PAGE)
    assert "join with the access code" in at.error[0].value
    assert not at.button


# --- a participant's pages follow the room ------------------------------------------------------------------


def test_a_participants_evaluation_follows_the_room_and_is_stored_as_theirs(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
    small_corpus: Corpus,  # noqa: F811
) -> None:
    found = _room_with_small_set(settings, small_corpus, judge=FAKE)
    join(PARTICIPANT)
    at = make_app(EVALUATE)  # the fake model, which the room allows: the default stays
    assert at.session_state[state.DEFAULT_MODEL] == FAKE
    assert at.session_state[state.CORPUS_SOURCE] == room_rules.FOLDER_SOURCE + found.corpus
    assert at.session_state[state.QUESTIONS_SOURCE] == "saved:room set"
    assert "ev_questions_source" not in [r.key for r in at.radio]  # no other question set to choose
    assert "set by the facilitator" in texts(at)
    assert at.number_input(key="ev_limit").max == 2  # capped at the room's limit, out of four questions
    assert not [t for t in at.toggle if t.key == "ev_judge_on"]  # the room's judge, no choice
    ok(at.button(key="ev_run").click().run())
    store = ExperimentStore(settings)
    run = store.load_run(store.list_runs()[0]["id"])
    assert run["meta"]["room"] == "r1" and run["meta"]["participant"] == "Ada"
    assert run["meta"]["judge"] == FAKE
    assert {name: len(rows) for name, rows in run["rows"].items()} == {"baseline": 2, "rag": 2}
    assert at.session_state[state.LAST_RUN].judge == FAKE


def test_a_participant_may_answer_only_with_the_rooms_models(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
    small_corpus: Corpus,  # noqa: F811
) -> None:
    _room_with_small_set(settings, small_corpus, models=(FAKE,))
    join(PARTICIPANT)
    at = make_app(EVALUATE, model=SMALL)
    assert at.session_state[state.DEFAULT_MODEL] == FAKE  # switched to the room's model, and the variants too
    assert {v.model for v in at.session_state[state.VARIANTS]} == {FAKE}
    ok(at.switch_page(PROMPT_LAB).run())
    models = [s for s in at.selectbox if s.label == "Model"]
    assert models and all(s.options == [DEMO_LABEL] for s in models)
    ok(at.switch_page(EVALUATE).run())
    at.session_state[state.VARIANTS] = [VariantConfig(name="mine", model=SMALL)]
    ok(at.run())
    assert "In this room, variants answer with" in at.error[0].value
    assert not [b for b in at.button if b.key == "ev_run"]


def test_a_participant_cannot_change_the_rooms_corpus(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
    small_corpus: Corpus,  # noqa: F811
) -> None:
    _room_with_small_set(settings, small_corpus)
    join(PARTICIPANT)
    at = make_app(CORPUS, corpus=None)
    assert "corpus is set by the facilitator" in at.info[0].value
    assert not at.radio and not at.file_uploader
    assert at.session_state[state.CORPUS_LABEL].startswith("Room corpus:")
    assert len(at.dataframe[0].value) == len(small_corpus.documents)


def test_a_participants_pages_follow_when_the_room_changes(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
    small_corpus: Corpus,  # noqa: F811
) -> None:
    found = _room_with_small_set(settings, small_corpus)
    join(PARTICIPANT)
    at = make_app(CORPUS)
    assert at.session_state[state.CORPUS_SOURCE] == room_rules.FOLDER_SOURCE + found.corpus
    rooms.save_room(settings, dataclasses.replace(found, corpus="sample:squad2", questions="sample:squad2"))
    ok(at.run())  # the participant's next click
    assert at.session_state[state.CORPUS_SOURCE] == "sample:squad2"
    assert at.session_state[state.QUESTIONS_SOURCE] == "sample:squad2"


@pytest.mark.parametrize("member", [None, FACILITATOR], ids=["outside a room", "facilitator"])
def test_outside_a_room_and_for_the_facilitator_evaluate_is_as_before(
    make_app: MakeApp,  # noqa: F811
    join: Join,
    settings: Settings,
    small_corpus: Corpus,  # noqa: F811
    member: Member | None,
) -> None:
    _room_with_small_set(settings, small_corpus)
    if member is not None:
        join(member)
    at = make_app(EVALUATE)
    assert at.radio(key="ev_questions_source") is not None
    assert at.number_input(key="ev_limit").max == 4
    assert at.toggle(key="ev_judge_on").value is False
    at.number_input(key="ev_limit").set_value(1)
    ok(at.button(key="ev_run").click().run())
    store = ExperimentStore(settings)
    assert "room" not in store.load_run(store.list_runs()[0]["id"])["meta"]
