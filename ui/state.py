"""Session-state accessors with defaults, so every page reads and writes the shared state the same way.

What lives here survives moving between pages: the current corpus, index settings, variants, question set,
the last evaluation, the chosen model and an API key typed on the Settings page (kept only in this browser
session's memory, never written anywhere).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import streamlit as st

from playground.core.defaults import DEFAULT_LOCAL_MODEL
from playground.core.settings import Settings
from playground.reporting.optimisation_map import MapPoint, is_fine_tuned
from playground.reporting.optimisation_map import map_points as points_for
from ui import room

# Types only, and the configs imported where used: the Home page's first paint needs none of them (the results
# would load numpy, the configs pydantic), and every module loaded there delays the first page a visitor sees.
if TYPE_CHECKING:
    from playground.core.config import IndexConfig, VariantConfig
    from playground.core.documents import Corpus
    from playground.evaluation.results import EvalRun
    from playground.ingest.questions import QuestionSet

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_corpus"
LADDER_FILE = SAMPLE_DIR / "variants" / "ladder.yaml"

CORPUS, CORPUS_LABEL, CORPUS_SOURCE = "corpus", "corpus_label", "corpus_source"
INDEX_CONFIG = "index_config"
VARIANTS = "variants"
QUESTIONS, QUESTIONS_LABEL, QUESTIONS_SOURCE = "questions", "questions_label", "questions_source"
LAST_RUN = "last_run"
LIVE_RUN, RUN_IN_PROGRESS = "live_run", "run_in_progress"
API_KEY = "api_key"
DEFAULT_MODEL = "default_model"
MODEL_ENV = "PLAYGROUND_MODEL"
STATUS_LISTENER = "status_listener"

T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    """A corpus that ships with the playground, and its question set."""

    key: str
    label: str
    docs: Path
    questions: Path


SAMPLES = {
    s.key: s
    for s in (
        Sample(
            "fictional",
            "Tansywick Growworks: a fictional company's handbook, policies and products",
            SAMPLE_DIR / "fictional" / "docs",
            SAMPLE_DIR / "fictional" / "questions.jsonl",
        ),
        Sample(
            "squad2",
            "Wikipedia paragraphs (SQuAD 2.0): the Normans and computational complexity",
            SAMPLE_DIR / "squad2" / "docs",
            SAMPLE_DIR / "squad2" / "questions.jsonl",
        ),
    )
}
DEFAULT_SAMPLE = "fictional"


def _get(key: str, default: Callable[[], T]) -> T:
    if key not in st.session_state:
        st.session_state[key] = default()
    return st.session_state[key]


def on_status_change(redraw: Callable[[], None]) -> None:
    """Call `redraw` whenever the corpus, question set or default model changes during this run."""
    st.session_state[STATUS_LISTENER] = redraw


def _status_changed() -> None:
    redraw = st.session_state.get(STATUS_LISTENER)
    if redraw is not None:
        redraw()


# --- model and settings -------------------------------------------------------------------------------------


def default_model() -> str:
    """The model new variants use: set on the Settings page, else $PLAYGROUND_MODEL, else the local one."""
    return _get(DEFAULT_MODEL, lambda: os.environ.get(MODEL_ENV) or DEFAULT_LOCAL_MODEL)


def set_default_model(name: str) -> None:
    """Switch the default model; variants that used the old default follow it."""
    old = default_model()
    if name == old:
        return
    variants()  # created with the old default first, so that they follow it
    st.session_state[DEFAULT_MODEL] = name
    _update_all_variants("model", old, name)
    _status_changed()


def typed_api_key() -> str:
    return str(st.session_state.get(API_KEY) or "")


def set_typed_api_key(key: str) -> None:
    st.session_state[API_KEY] = key.strip()


def settings() -> Settings:
    """Settings from the environment, with the key typed on the Settings page (if any) taking precedence; in a
    workshop room, the facilitator's key (held in the server's memory) when neither gave one."""
    base = Settings.from_env()
    typed = typed_api_key()
    return room.with_room_key(dataclasses.replace(base, openai_api_key=typed) if typed else base)


# --- corpus, index settings, questions ----------------------------------------------------------------------


def corpus() -> Corpus | None:
    return st.session_state.get(CORPUS)


def corpus_label() -> str:
    return str(st.session_state.get(CORPUS_LABEL) or "no corpus yet")


def corpus_source() -> str | None:
    return st.session_state.get(CORPUS_SOURCE)


def set_corpus(value: Corpus, label: str, source: str) -> None:
    st.session_state[CORPUS] = value
    st.session_state[CORPUS_LABEL] = label
    st.session_state[CORPUS_SOURCE] = source
    _status_changed()


def index_config() -> IndexConfig:
    from playground.core.config import IndexConfig

    return _get(INDEX_CONFIG, IndexConfig)


def set_index_config(config: IndexConfig) -> None:
    """Change the corpus page's chunking; variants that used the old chunking follow it."""
    old = index_config()
    if config == old:
        return
    variants()
    st.session_state[INDEX_CONFIG] = config
    _update_all_variants("index", old, config)


def _update_all_variants(field: str, old: Any, new: Any) -> None:
    """In the session's variants and each lab's, replace `field` where it still has the old default."""
    labs = [k for k in st.session_state if str(k).startswith("lab:") and str(k).endswith(":variants")]
    for key in [VARIANTS, *labs]:
        st.session_state[key] = [
            v.model_copy(update={field: new}) if getattr(v, field) == old else v
            for v in st.session_state[key]
        ]


def questions() -> QuestionSet | None:
    return st.session_state.get(QUESTIONS)


def questions_label() -> str:
    return str(st.session_state.get(QUESTIONS_LABEL) or "no question set yet")


def questions_source() -> str | None:
    return st.session_state.get(QUESTIONS_SOURCE)


def set_questions(value: QuestionSet | None, label: str = "", source: str = "") -> None:
    st.session_state[QUESTIONS] = value
    st.session_state[QUESTIONS_LABEL] = label
    st.session_state[QUESTIONS_SOURCE] = source
    _status_changed()


# --- variants -----------------------------------------------------------------------------------------------


def starter_variants() -> list[VariantConfig]:
    """The first rung of the ladder: a prompt-only baseline and the same model with retrieval."""
    from playground.core.config import VariantConfig

    model, index = default_model(), index_config()
    return [
        VariantConfig(
            name="baseline",
            description="Prompt only: the model answers from what it knows.",
            model=model,
            index=index,
            max_tokens=64,
        ),
        VariantConfig(
            name="rag",
            description="Retrieve the 4 most similar chunks and answer from them.",
            use_retrieval=True,
            top_k=4,
            model=model,
            index=index,
            max_tokens=64,
        ),
    ]


def map_points(run: EvalRun | None) -> list[MapPoint]:
    """The session's variants on the optimisation map; before any page has made them, the starters' places,
    worked out without building their configs (what `starter_variants` makes: a baseline, then retrieval)."""
    made: list[VariantConfig] | None = st.session_state.get(VARIANTS)
    if made is not None or run is not None:
        return points_for(variants(), run)
    fine_tuned = is_fine_tuned(default_model())
    return [MapPoint("baseline", False, fine_tuned), MapPoint("rag", True, fine_tuned)]


def variants() -> list[VariantConfig]:
    """The variants the Evaluate page runs; the labs replace them with their own on request."""
    return _get(VARIANTS, starter_variants)


def set_variants(value: list[VariantConfig]) -> None:
    st.session_state[VARIANTS] = unique_names(value)


def unique_names(value: list[VariantConfig]) -> list[VariantConfig]:
    """Rename repeated names ("rag", "rag (2)") so results can be told apart."""
    seen: dict[str, int] = {}
    out = []
    for variant in value:
        count = seen[variant.name] = seen.get(variant.name, 0) + 1
        out.append(
            variant if count == 1 else variant.model_copy(update={"name": f"{variant.name} ({count})"})
        )
    return out


def lab_variants(lab: str, defaults: Callable[[], list[VariantConfig]]) -> list[VariantConfig]:
    """The working variants of one lab page, kept while the user moves between pages."""
    return _get(f"lab:{lab}:variants", defaults)


def set_lab_variants(lab: str, value: list[VariantConfig]) -> None:
    st.session_state[f"lab:{lab}:variants"] = value


def lab_value(key: str, default: Any = None) -> Any:
    """A page's own remembered value (answers, counts); namespaced so it never collides with a widget key."""
    return st.session_state.get(f"lab:{key}", default)


def set_lab_value(key: str, value: Any) -> None:
    st.session_state[f"lab:{key}"] = value


# --- evaluation results -------------------------------------------------------------------------------------


def start_live_run(run: EvalRun) -> None:
    """Remember a run as it fills, so one interrupted by a click (Stop, or another page) keeps its rows."""
    st.session_state[LIVE_RUN] = run
    st.session_state[RUN_IN_PROGRESS] = True


def finish_live_run(run: EvalRun) -> None:
    st.session_state[LAST_RUN] = run
    st.session_state[RUN_IN_PROGRESS] = False
    st.session_state.pop(LIVE_RUN, None)


def abandon_live_run() -> None:
    """Forget a run that failed before its first answer, keeping the last run as it was."""
    st.session_state[RUN_IN_PROGRESS] = False
    st.session_state.pop(LIVE_RUN, None)


def last_run() -> EvalRun | None:
    """The last evaluation. A run that was interrupted becomes the last run, marked as stopped."""
    if st.session_state.get(RUN_IN_PROGRESS):
        live: EvalRun | None = st.session_state.get(LIVE_RUN)
        st.session_state[RUN_IN_PROGRESS] = False
        if live is not None:
            live.stopped = True
            st.session_state[LAST_RUN] = live
        st.session_state.pop(LIVE_RUN, None)
    return st.session_state.get(LAST_RUN)


def set_last_run(run: EvalRun | None) -> None:
    st.session_state[LAST_RUN] = run
