"""The app's Evaluate page loads a model only when a call misses the cache (AppTest, in-process)."""

from __future__ import annotations

import pytest
import streamlit as st

from playground.models import registry
from playground.models.fake import FakeLLM
from playground.models.lazy import LazyLLM, load_count
from playground.models.names import ModelName
from playground.retrieval.index import forget_loaded_indexes
from tests.conftest import FAST_LOCAL_MODEL
from tests.test_app_pages import MakeApp, answers_table, make_app, ok, small_corpus  # noqa: F401 (fixtures)


def stand_in(name: ModelName, settings: object, client: object) -> LazyLLM:
    """The local model as the registry gives it (a stand-in that loads on its first call), with the fake model's
    replies in place of the weights: the cache keys are the real model's, and no test waits for llama.cpp."""
    return LazyLLM(str(name), lambda: FakeLLM(name=str(name)))


def evaluate(make: MakeApp) -> None:
    at = make("pages/4_Evaluate.py", model=FAST_LOCAL_MODEL)
    at.number_input(key="ev_limit").set_value(2)
    ok(at.button(key="ev_run").click().run())
    summary = answers_table(at)
    assert list(summary["variant"]) == ["baseline", "rag"] and set(summary["answers"]) == {2.0}


def test_an_evaluation_answered_from_the_cache_loads_no_model(
    make_app: MakeApp,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(registry._LLMS, "local", stand_in)
    before = load_count()
    evaluate(make_app)  # the first run misses: the model loads, on the sweep's thread, and the run goes on
    assert load_count() > before
    st.cache_resource.clear()  # the next app holds nothing in memory, only the cache on disk
    forget_loaded_indexes()
    loaded = load_count()
    evaluate(make_app)
    assert load_count() == loaded  # neither the model nor the embedder
