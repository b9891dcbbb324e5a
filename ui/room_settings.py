"""The Room page's parts: the room's settings in words, and the facilitator's controls that change them.

The facilitator sets the room up with the ordinary pages (open a corpus, write a question set), then names here
what everyone works on. Saving writes `room.json` (`playground.workshop.room`); an uploaded corpus, which lives only
in the facilitator's browser session, is kept in the data folder first, and so is a question set not saved yet.
A hosted model's key goes to the server's memory (`room.held_key`) the moment it is typed, never to disk.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.evaluation.judge import DEFAULT_JUDGE
from playground.ingest.question_rows import rows_from_question_set
from playground.models.names import openai_model_name
from playground.models.pricing import OPENAI_PRICES
from playground.workshop import room as rooms
from playground.workshop.room import RoomSettings
from ui import question_sets, resources, room, room_rules, state, widgets

CURRENT = "current"  # "what I have open now", among the corpus and question-set options
NO_JUDGE = ""
SAVED = question_sets.SAVED_PREFIX


# --- the settings in words ----------------------------------------------------------------------------------


def corpus_label(value: str) -> str:
    key = rooms.sample_key(value)
    if key is not None:
        return f"Sample: {state.SAMPLES[key].label}" if key in state.SAMPLES else f"Unknown sample '{key}'"
    found = resources.guarded("reading the room's documents", room_rules.room_corpus, value)
    return f"Saved for the room: {found.name} ({len(found.documents)} documents)" if found else value


def questions_label(value: str) -> str:
    key = rooms.sample_key(value)
    if key is None:
        return f"Saved question set: {value}"
    return f"Sample questions: {state.SAMPLES[key].label.split(':')[0]}" if key in state.SAMPLES else value


def models_label(found: RoomSettings) -> str:
    if not found.models:
        return f"the app's default only ({widgets.model_label(room_rules.app_default_model())})"
    return ", ".join(widgets.model_label(m) for m in found.models)


def summary(found: RoomSettings) -> None:
    """What the room works on, one line each."""
    judge = widgets.model_label(found.judge) if found.judge else "none"
    lines = (
        ("Corpus", corpus_label(found.corpus)),
        ("Question set", questions_label(found.questions)),
        ("Models participants may choose", models_label(found)),
        ("Judge", judge),
        ("Questions per run, at most", str(found.max_questions)),
    )
    for name, value in lines:
        st.markdown(f"**{name}:** {widgets.plain(value)}")
    held = "held in the server's memory" if room.held_key().value else "none"
    st.markdown(f"**Key for hosted models:** {held}")


def own_runs(found: RoomSettings) -> None:
    """Whether the facilitator's own runs join the leaderboard, and the button that makes them."""
    if room_rules.on_room_set(found):
        st.caption(
            "You have the room's corpus and question set open: your own evaluations join the leaderboard too."
        )
        return
    st.button(
        "Work on the room's corpus and questions",
        icon=":material/login:",
        key="room_open_set",
        on_click=room_rules.open_room_set,
        args=(found,),
        help="Opens them in your pages, so that your own evaluations join the leaderboard beside everyone's.",
    )


# --- the facilitator's options ------------------------------------------------------------------------------


def _corpus_options(found: RoomSettings) -> dict[str, str]:
    options = {f"sample:{k}": f"Sample: {s.label}" for k, s in state.SAMPLES.items()}
    if rooms.sample_key(found.corpus) is None:
        options[found.corpus] = corpus_label(found.corpus)
    if state.corpus() is not None and not (state.corpus_source() or "").startswith(rooms.SAMPLE_PREFIX):
        options[CURRENT] = f"The corpus I have open now: {state.corpus_label()}"
    return options


def _questions_value(found: RoomSettings) -> str:
    return found.questions if rooms.sample_key(found.questions) else SAVED + found.questions


def _questions_options(found: RoomSettings) -> dict[str, str]:
    options = {
        f"sample:{k}": f"Sample questions: {s.label.split(':')[0]}"
        for k, s in state.SAMPLES.items()
        if s.questions.exists()
    }
    options |= {
        SAVED + s.name: f"Saved: {s.name} ({s.questions} questions)" for s in question_sets.saved_sets()
    }
    options.setdefault(
        _questions_value(found), f"{questions_label(found.questions)} (not found: choose another)"
    )
    source = state.questions_source() or ""
    if state.questions() is not None and not source.startswith((rooms.SAMPLE_PREFIX, SAVED)):
        options[CURRENT] = f"Save the question set I have open now: {state.questions_label()}"
    return options


def candidate_models(found: RoomSettings) -> list[str]:
    """Models the facilitator can offer: the local and fine-tuned ones, hosted ones once participants' calls
    have a key (the server's own, or one held for the room; a key typed on Settings is one session's only)."""
    hosted = Settings.from_env().openai_api_key or room.held_key().value
    openai = [str(openai_model_name(name)) for name in OPENAI_PRICES] if hosted else []
    return list(dict.fromkeys([*widgets.model_choices(state.default_model()), *openai, *found.models]))


def _select(label: str, options: dict[str, str], value: str | None, key: str, help: str) -> None:
    """A selectbox starting at the room's `value`; set through its key, not `index`, because saving may set it
    too (to the folder a corpus was saved in), and Streamlit warns when both are given."""
    values = list(options)
    if st.session_state.get(key) not in values:
        st.session_state[key] = value if value in values else values[0]
    st.selectbox(label, values, key=key, format_func=options.__getitem__, help=help)


def _material_controls(key: str, found: RoomSettings) -> None:
    """The corpus and the question set, with a name for a set that is saved on the way."""
    _select(
        "Corpus",
        _corpus_options(found),
        found.corpus,
        f"{key}_corpus",
        "What everyone's questions are about.",
    )
    _select(
        "Question set",
        _questions_options(found),
        _questions_value(found),
        f"{key}_questions",
        "Every run in the room answers these questions, so the leaderboard compares like with like.",
    )
    if st.session_state.get(f"{key}_questions") == CURRENT:
        st.text_input(
            "Save it as",
            value="Room questions",
            key=f"{key}_questions_name",
            max_chars=80,
            help="The name it is saved under in the experiment store, where participants' pages load it from.",
        )


def _model_controls(key: str, found: RoomSettings) -> None:
    """The judge, the models participants may choose, and the limit of questions per run."""
    models = candidate_models(found)
    judges = {NO_JUDGE: "No judge", DEFAULT_JUDGE: widgets.model_label(DEFAULT_JUDGE)}
    judges |= {m: widgets.model_label(m) for m in [*models, *([found.judge] if found.judge else [])]}
    _select(
        "Judge",
        judges,
        found.judge or NO_JUDGE,
        f"{key}_judge",
        "An LLM that judges every answer in the room.",
    )
    st.multiselect(
        "Models participants may choose",
        models,
        default=list(found.models),
        key=f"{key}_models",
        format_func=widgets.model_label,
        help="None chosen: the app's default model only. Hosted models appear once a key is set below.",
    )
    st.number_input(
        "Questions per run, at most",
        min_value=1,
        max_value=10_000,
        value=found.max_questions,
        key=f"{key}_max",
        help="Keeps every run short enough for a room of people sharing one computer's model.",
    )


def editor(key: str, found: RoomSettings) -> None:
    """The controls for each setting, and the button that saves them for the whole room."""
    _material_controls(key, found)
    _model_controls(key, found)
    key_input(key)
    st.button("Save the room settings", type="primary", key=f"{key}_save", on_click=_save, args=(key,))
    question_sets.show_flash(key)


# --- saving -------------------------------------------------------------------------------------------------


def _chosen_corpus(key: str) -> str:
    value = str(st.session_state.get(f"{key}_corpus") or "")
    corpus = state.corpus()
    if value != CURRENT:
        return value
    if corpus is None:
        raise InputError("No corpus is open: open one on the Corpus page, then save the room again.")
    name = f"the facilitator's corpus, {len(corpus.documents)} documents"
    folder = str(rooms.save_corpus(state.settings(), dataclasses.replace(corpus, name=name)))
    st.session_state[f"{key}_corpus"] = folder  # the option it is listed under from now on
    # the open corpus is now the room's: the facilitator's runs on it join the leaderboard
    state.set_corpus(corpus, state.corpus_label(), room_rules.FOLDER_SOURCE + folder)
    return folder


def _chosen_questions(key: str) -> str:
    value = str(st.session_state.get(f"{key}_questions") or "")
    questions, corpus = state.questions(), state.corpus()
    if value != CURRENT:
        return value.removeprefix(SAVED)
    if questions is None:
        raise InputError(
            "No question set is open: choose one on the Evaluate page, then save the room again."
        )
    saved = question_sets.open_store().save_question_set(
        str(st.session_state.get(f"{key}_questions_name") or ""),
        rows_from_question_set(questions),
        corpus=state.corpus_label() if corpus is not None else "",
        corpus_hash=corpus.content_hash if corpus is not None else "",
    )
    state.set_questions(questions, f"Saved: {saved.name}", SAVED + saved.name)
    st.session_state[f"{key}_questions"] = SAVED + saved.name
    return saved.name


@question_sets.callback
def _save(key: str) -> None:
    settings = state.settings()
    changed = dataclasses.replace(
        rooms.ensure_room(settings),  # read again: the leaderboard may have changed its part meanwhile
        corpus=_chosen_corpus(key),
        questions=_chosen_questions(key),
        judge=str(st.session_state.get(f"{key}_judge") or "") or None,
        models=tuple(st.session_state.get(f"{key}_models") or ()),
        max_questions=int(st.session_state.get(f"{key}_max") or rooms.DEFAULT_MAX_QUESTIONS),
    )
    rooms.save_room(settings, changed)
    if rooms.sample_key(changed.corpus) is None:
        rooms.prune_corpora(settings, keep=changed.corpus)
    question_sets.flash(
        key, "success", "Saved. Participants' pages follow the new settings on their next click."
    )


# --- the hosted model's key ---------------------------------------------------------------------------------


def _hold_key(widget: str) -> None:
    typed = str(st.session_state.get(widget) or "").strip()
    if typed:  # an emptied field is not a request to forget: that is the button's
        room.held_key().value = typed
    st.session_state[widget] = ""  # never shown back, not even masked


def _forget_key() -> None:
    room.held_key().value = ""


def key_input(key: str) -> None:
    """A password field whose key goes to the server's memory for the whole room, and a way to forget it."""
    st.text_input(
        "API key for hosted models (OpenAI)",
        type="password",
        key=f"{key}_api_key",
        on_change=_hold_key,
        args=(f"{key}_api_key",),
        help="Kept only in this server's memory while it runs: never saved, never shown again. Participants' "
        "calls to hosted models use it without seeing it.",
    )
    if room.held_key().value:
        st.caption("A key is held for the room. Type another to replace it.")
        st.button("Forget the key", key=f"{key}_forget_key", on_click=_forget_key, icon=":material/key_off:")
