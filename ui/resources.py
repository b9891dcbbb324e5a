"""Expensive objects loaded once (models, embedders, sample corpora), and a guard that shows errors.

Models and embedders sit in `st.cache_resource`, so a widget change never reloads them. A local one is a stand-in
there (`playground.models.lazy`) whose weights load under a spinner when a page is about to call it, or, in an
evaluation, only when a call misses the answer cache (the progress bar then says so). Indexes are cached by
the library itself (`get_or_build_index`), because a cached Streamlit function may not drive a progress bar
that lives outside it (its replay fails); `clear_caches` empties both.

Once something heavy is loaded, the objects alive are frozen out of the garbage collector's sight (`gc.freeze`).
Loading torch, transformers, chromadb and a model leaves millions of long-lived objects, and Python's full
collection, which came on nearly every rerun, walked them all: 0.7-0.8 s on 2 cores (measured with
`gc.callbacks`), most of the delay a user felt after a widget change once models were loaded.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import streamlit as st

from playground.core.config import IndexConfig, VariantConfig
from playground.core.documents import Chunk, Corpus
from playground.core.errors import PlaygroundError
from playground.core.settings import Settings
from playground.ingest.loaders import load_folder
from playground.ingest.questions import QuestionSet, load_questions
from playground.models.embedders import Embedder
from playground.models.lazy import load_now, needs_loading
from playground.models.llamacpp import unload_local_models
from playground.models.llms import LLM
from playground.models.registry import get_embedder, get_llm
from playground.rag.pipeline import Pipeline, build_pipeline
from playground.retrieval.index import (
    Progress,
    VectorIndex,
    corpus_chunks,
    forget_loaded_indexes,
    get_or_build_index,
)
from playground.storage.cached_reranker import reranker_cache
from ui import state

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)
_SETTLED_INDEXES: set[str] = set()


def settle_heap() -> None:
    """Collect the garbage once, then freeze every live object, so later full collections skip them."""
    gc.collect()
    gc.freeze()


def _settled_index(found: VectorIndex | None) -> None:
    if found is not None and found.key not in _SETTLED_INDEXES:
        _SETTLED_INDEXES.add(found.key)
        settle_heap()


def guarded(what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """Run a library call; a PlaygroundError shows its own message, anything else a short generic one.

    Returns None when the call failed. Streamlit's own control flow (reruns, stops) passes through untouched.
    """
    try:
        return fn(*args, **kwargs)
    except PlaygroundError as err:
        st.error(str(err), icon=":material/error:")
    except Exception:
        log.exception("unexpected error while %s", what)
        st.error(
            f"Something unexpected went wrong while {what}. Try again; if it keeps happening, clear the "
            "caches on the Settings page or restart the app. The details are in the server log.",
            icon=":material/error:",
        )
    return None


def _fingerprint(settings: Settings) -> str:
    """Part of a cache key that changes with the connection settings without keeping the key itself."""
    parts = (str(settings.data_dir), settings.openai_api_key or "", settings.openai_base_url or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@st.cache_resource(show_spinner=False, max_entries=8)
def _llm(name: str, fingerprint: str, _settings: Settings) -> LLM:
    return get_llm(name, _settings)


@st.cache_resource(show_spinner=False, max_entries=4)
def _embedder(name: str, fingerprint: str, _settings: Settings) -> Embedder:
    return get_embedder(name, _settings)


def _loaded(model: T, what: str) -> T:
    """The model with its weights loaded: visibly, with a spinner, when they are not yet."""
    if needs_loading(model):
        with st.spinner(f"Loading {what} (only the first time)…"):
            load_now(model)
        settle_heap()
    return model


def llm(name: str, settings: Settings, *, load: bool = True) -> LLM:
    """The chat model, loaded now (`load`) or on the first call that reaches it (an evaluation: one answered
    from the cache loads nothing)."""
    model = _llm(name, _fingerprint(settings), settings)
    return _loaded(model, f"the model '{name}'") if load else model


def embedder(name: str, settings: Settings, *, load: bool = True) -> Embedder:
    model = _embedder(name, _fingerprint(settings), settings)
    return _loaded(model, f"the embedder '{name}'") if load else model


def index(
    corpus: Corpus, config: IndexConfig, settings: Settings, on_progress: Progress | None = None
) -> VectorIndex:
    """Open or build the index; built once per settings and reused while the process lives."""
    found = get_or_build_index(corpus, config, embedder(config.embedder, settings), settings, on_progress)
    _settled_index(found)
    return found


def pipeline(
    variant: VariantConfig, corpus: Corpus | None, settings: Settings, on_progress: Progress | None = None
) -> Pipeline:
    """A variant bound to its cached model and, when it retrieves, to its embedder and index; a reranker's
    scores are kept in the answer cache, so asking again does not score again."""
    if variant.use_retrieval:
        embedder(variant.index.embedder, settings)  # loads visibly, with a spinner, the first time
    judge = variant.reranker_model if variant.reranker == "llm" else None
    built = build_pipeline(
        variant,
        corpus,
        settings,
        llm=llm(variant.model, settings),
        on_progress=on_progress,
        wrap_reranker=reranker_cache(settings) if variant.reranker == "cross-encoder" else None,
        rerank_llm=llm(judge, settings) if judge else None,
    )
    _settled_index(built.index)
    return built


@st.cache_resource(show_spinner="Reading the sample documents…")
def load_sample(key: str) -> Corpus:
    return dataclasses.replace(load_folder(state.SAMPLES[key].docs), name=f"{key} sample")


@st.cache_resource(show_spinner=False)
def sample_questions(key: str) -> QuestionSet | None:
    """The sample's question set, or None while the sample has none."""
    path = state.SAMPLES[key].questions
    return (
        dataclasses.replace(load_questions(path), name=f"{key} sample questions") if path.exists() else None
    )


def use_sample(key: str) -> Corpus:
    """Make a sample the current corpus, with its question set when it has one."""
    sample = state.SAMPLES[key]
    corpus = load_sample(key)
    state.set_corpus(corpus, f"Sample: {sample.label}", f"sample:{key}")
    questions = sample_questions(key)
    if questions is not None:
        state.set_questions(questions, f"Sample questions for {sample.label.split(':')[0]}", f"sample:{key}")
    return corpus


def current_corpus() -> Corpus | None:
    """The session's corpus; the default sample is loaded the first time something needs one."""
    found = state.corpus()
    if found is None:
        found = guarded("reading the sample documents", use_sample, state.DEFAULT_SAMPLE)
    return found


def current_questions() -> QuestionSet | None:
    if state.questions() is None and state.corpus_source() is None:
        current_corpus()
    return state.questions()


@st.cache_data(show_spinner="Cutting the documents into chunks…", max_entries=16)
def _chunks(corpus_hash: str, config_key: str, _corpus: Corpus, _config: IndexConfig) -> list[Chunk]:
    return corpus_chunks(_corpus, _config)


def chunks(corpus: Corpus, config: IndexConfig) -> list[Chunk]:
    """The corpus cut into chunks with these settings (cached per corpus content and settings)."""
    return _chunks(corpus.content_hash, config.key(), corpus, config)


def clear_caches() -> None:
    """Forget loaded models, embedders, sample corpora and opened indexes (the files on disk stay)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    forget_loaded_indexes()
    unload_local_models()
    _SETTLED_INDEXES.clear()
    gc.unfreeze()  # what was frozen can be freed again now that nothing holds the models
    gc.collect()
