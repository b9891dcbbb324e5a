"""Local models load on the first call that reaches them: once, from any thread, and never for a cached call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from playground.core.config import VariantConfig
from playground.core.errors import ModelError, ModelLoadError
from playground.core.settings import Settings
from playground.evaluation.runner import run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.models.fake import FakeLLM
from playground.models.lazy import LazyEmbedder, LazyLLM, load_count, needs_loading
from playground.models.registry import get_embedder, get_llm
from playground.storage.cached_models import CachedEmbedder, CachedLLM
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.response_cache import ResponseCache
from tests.conftest import FAST_LOCAL_MODEL, FICTIONAL_QUESTIONS

HELLO = [{"role": "user", "content": "hello"}]


class CountingLoader:
    """Loads a fake model slowly (so threads pile up on it) and counts how often it was asked to."""

    def __init__(self, seconds: float = 0.0, fail: int = 0) -> None:
        self.loads = 0
        self.seconds = seconds
        self.fail = fail  # the first N loads fail, as a missing model file does

    def __call__(self) -> FakeLLM:
        self.loads += 1
        time.sleep(self.seconds)
        if self.loads <= self.fail:
            raise ModelError("The model file is missing. Run the set-up: make run.")
        return FakeLLM(name="local:stand-in", rules=[("hello", "hi there")])


def test_a_stand_in_loads_on_its_first_call_and_only_once() -> None:
    loader = CountingLoader()
    llm = LazyLLM("local:stand-in", loader)
    assert llm.name == "local:stand-in" and not llm.loaded and needs_loading(llm) and loader.loads == 0
    before = load_count()
    assert llm.chat(HELLO).text == "hi there"
    assert llm.chat(HELLO).text == "hi there"
    assert llm.calls == [HELLO, HELLO]  # anything else is the loaded model's
    assert loader.loads == 1 and llm.loaded and not needs_loading(llm) and load_count() == before + 1


def test_threads_that_reach_a_loading_model_wait_for_the_one_load() -> None:
    loader = CountingLoader(seconds=0.2)
    llm = LazyLLM("local:stand-in", loader)
    start = threading.Barrier(8)
    replies: list[str] = []

    def ask() -> None:
        start.wait()
        replies.append(llm.chat(HELLO).text)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loader.loads == 1 and replies == ["hi there"] * 8


def test_a_failed_load_reaches_the_call_and_the_next_call_tries_again() -> None:
    loader = CountingLoader(fail=1)
    llm = LazyLLM("local:stand-in", loader)
    with pytest.raises(ModelError, match="make run"):
        llm.chat(HELLO)
    assert not llm.loaded
    assert llm.chat(HELLO).text == "hi there" and loader.loads == 2  # the set-up ran meanwhile


def test_an_embedder_stand_in_knows_its_identity_unloaded() -> None:
    loads: list[int] = []

    class Unit:
        name = identity = "st:unit"

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 2), dtype=np.float32)

        def embed_query(self, text: str) -> np.ndarray:
            return np.ones(2, dtype=np.float32)

    def load() -> Unit:
        loads.append(1)
        return Unit()

    embedder = LazyEmbedder("st:unit", "st:unit@abc", load)
    assert embedder.identity == "st:unit@abc" and not loads
    assert embedder.embed_query("x").shape == (2,) and embedder.embed_documents(["a", "b"]).shape == (2, 2)
    assert loads == [1]


def test_a_cached_call_never_loads_and_a_miss_says_so_first(settings: Settings) -> None:
    cache = ResponseCache(settings)
    told: list[str] = []
    first = CachedLLM(LazyLLM("local:stand-in", CountingLoader()), cache, "identity", on_load=told.append)
    assert first.chat(HELLO).text == "hi there" and told == ["local:stand-in"]
    loader = CountingLoader()
    again = CachedLLM(LazyLLM("local:stand-in", loader), cache, "identity", on_load=told.append)
    assert again.chat(HELLO).text == "hi there" and again.hits == 1
    assert loader.loads == 0 and told == ["local:stand-in"]


def test_a_cached_yes_probability_never_loads(settings: Settings) -> None:
    cache = ResponseCache(settings)

    class Scorer(FakeLLM):
        def yes_probability(self, messages: list[dict[str, str]]) -> float:
            return 0.75

    CachedLLM(LazyLLM("local:s", Scorer), cache, "identity").yes_probability(HELLO)
    stand_in = LazyLLM("local:s", Scorer)
    assert CachedLLM(stand_in, cache, "identity").yes_probability(HELLO) == 0.75
    assert not stand_in.loaded


def test_cached_embeddings_never_load_the_embedder(settings: Settings) -> None:
    cache = EmbeddingCache(settings)
    filled = CachedEmbedder(get_embedder("local:all-minilm-l6-v2", settings), cache)
    vectors = filled.embed_documents(["one text", "another"])
    told: list[str] = []
    stand_in = get_embedder("local:all-minilm-l6-v2", settings)
    again = CachedEmbedder(stand_in, cache, on_load=told.append)
    assert np.array_equal(again.embed_documents(["one text", "another"]), vectors)
    assert not stand_in.loaded and not told  # type: ignore[attr-defined]
    again.embed_documents(["a text not seen yet"])
    assert stand_in.loaded and told == ["local:all-minilm-l6-v2"]  # type: ignore[attr-defined]


def test_naming_a_local_model_loads_nothing_and_a_missing_file_fails_at_the_first_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.models import llamacpp

    monkeypatch.setenv("PLAYGROUND_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(llamacpp, "_LOCAL_MODELS", {})
    llm = get_llm(FAST_LOCAL_MODEL)
    assert isinstance(llm, LazyLLM) and not llm.loaded
    with pytest.raises(ModelError, match=r"model file for 'local:qwen2.5-0.5b' is missing.*make run"):
        llm.chat(HELLO)


def stages_of(stages: list[tuple[str, int, int]]) -> Callable[[str, int, int], None]:
    return lambda *stage: stages.append(stage)


def test_a_cached_sweep_says_when_a_model_loads_and_then_loads_none(
    settings: Settings, small_corpus_dir: Path
) -> None:
    """The runner tells its stage callback when a miss loads a model (0 of 0: no count to show)."""
    corpus = load_folder(small_corpus_dir)
    questions = load_questions(FICTIONAL_QUESTIONS).subset(2)
    variants = [VariantConfig(name="baseline", model=FAST_LOCAL_MODEL, use_retrieval=False)]
    loaders: list[CountingLoader] = []

    def stand_in(name: str) -> LazyLLM:
        loaders.append(CountingLoader())
        return LazyLLM(name, loaders[-1])

    for _ in range(2):
        stages: list[tuple[str, int, int]] = []
        run_evaluation(variants, corpus, questions, settings, llm=stand_in, on_stage=stages_of(stages))
        told = [s for s in stages if s[2] == 0]
        if len(loaders) == 1:  # the model answers, the packaged embedder scores meaning: both load
            assert [t[0] for t in told] == [
                f"Loading {FAST_LOCAL_MODEL} (only the first time)",
                "Loading local:all-minilm-l6-v2 (only the first time)",
            ]
            assert loaders[0].loads == 1
    assert told == [] and loaders[1].loads == 0


def test_a_model_that_cannot_load_stops_the_sweep_with_its_message(settings: Settings) -> None:
    """Every answer would fail alike, so the run stops at the first miss, as it did when models loaded up front."""
    questions = load_questions(FICTIONAL_QUESTIONS).subset(2)
    variants = [VariantConfig(name="baseline", model=FAST_LOCAL_MODEL, use_retrieval=False)]
    loader = CountingLoader(fail=99)
    with pytest.raises(ModelLoadError, match=r"model file is missing\. Run the set-up: make run"):
        run_evaluation(variants, None, questions, settings, llm=LazyLLM(FAST_LOCAL_MODEL, loader))
    assert loader.loads == 1
