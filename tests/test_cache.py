"""LLM and embedding caches: hits and misses, keys, repeats, clearing, threads, and no secret on disk."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from playground.core.errors import ModelError
from playground.core.settings import Settings
from playground.models.fake import FakeLLM
from playground.models.llms import Completion
from playground.models.local_models import CATALOGUE
from playground.storage.cache_admin import cache_stats, clear_cache
from playground.storage.cached_models import CachedEmbedder, CachedLLM, CachedRetriever
from playground.storage.call_log import CallLog, call_log
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.keys import llm_cache_key, model_identity, text_hash
from playground.storage.response_cache import ResponseCache
from playground.storage.sqlite_db import StorageError

MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {
        "role": "user",
        "content": "Context:\nThe refund window is 30 days.\n\nQuestion: How long is the refund?",
    },
]


class TinyEmbedder:
    """Deterministic vectors from character counts; records every text it embeds."""

    name = "tiny"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @property
    def identity(self) -> str:
        return "tiny@v1"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        rows = [[len(t), t.count("a"), t.count("e")] for t in texts]
        return np.array(rows, dtype=np.float32).reshape(-1, 3)

    def embed_query(self, text: str) -> np.ndarray:
        self.seen.append(text)
        return np.array([len(text), -1.0, 0.0], dtype=np.float32)


class FailingLLM:
    name = "failing"

    def chat(self, messages: list[dict[str, str]], **kwargs: object) -> Completion:
        raise ModelError("the server is down")


@pytest.fixture
def responses(settings: Settings) -> ResponseCache:
    return ResponseCache(settings)


def test_cached_llm_counts_hits_and_misses_and_returns_the_same_answer(responses: ResponseCache) -> None:
    fake = FakeLLM()
    llm = CachedLLM(fake, responses, identity="fake:extractive")
    first = llm.chat(MESSAGES)
    second = llm.chat(MESSAGES)
    assert first == second and "30 days" in first.text
    assert (llm.hits, llm.misses, len(fake.calls)) == (1, 1, 1)
    assert llm.name == fake.name
    again = CachedLLM(FakeLLM(), ResponseCache(responses.db.path), identity="fake:extractive")
    assert again.chat(MESSAGES) == first and again.hits == 1  # from disk, in a new cache object


def test_errors_are_never_cached(responses: ResponseCache) -> None:
    llm = CachedLLM(FailingLLM(), responses, identity="failing")
    for _ in range(2):
        with pytest.raises(ModelError):
            llm.chat(MESSAGES)
    assert llm.misses == 2 and responses.stats()["llm"] == 0


def test_key_changes_when_any_part_changes() -> None:
    base = {"model_identity": "m#sha256=1", "messages": MESSAGES, "temperature": 0.0, "max_tokens": 64}
    key = llm_cache_key(**base)
    assert key == llm_cache_key(**base) and len(key) == 64
    changed_messages = [MESSAGES[0], {"role": "user", "content": MESSAGES[1]["content"] + "?"}]
    variants = [
        {"model_identity": "m#sha256=2"},
        {"messages": changed_messages},
        {"temperature": 0.7},
        {"max_tokens": 65},
        {"stop": ["\n"]},
        {"seed": 3},
        {"kind": "yes_probability"},
    ]
    keys = {llm_cache_key(**(base | change)) for change in variants}
    assert key not in keys and len(keys) == len(variants)


def test_repeats_share_a_key_at_temperature_zero_but_not_above() -> None:
    def key(temperature: float, repeat: int) -> str:
        return llm_cache_key("m", MESSAGES, temperature, 64, repeat=repeat)

    assert key(0.0, 0) == key(0.0, 1)
    assert key(0.8, 0) != key(0.8, 1)


def test_temperature_repeats_are_cached_separately_and_seeded(responses: ResponseCache) -> None:
    fake = FakeLLM()
    seeds: list[int | None] = []
    original = fake.chat

    def recording_chat(messages: list[dict[str, str]], **kwargs: object) -> Completion:
        seeds.append(kwargs.get("seed"))  # type: ignore[arg-type]
        return original(messages, **kwargs)  # type: ignore[arg-type]

    fake.chat = recording_chat  # type: ignore[method-assign]
    repeats = [CachedLLM(fake, responses, identity="fake", repeat=r) for r in range(3)]
    for llm in repeats:
        llm.chat(MESSAGES, temperature=0.7)
    for llm in repeats:
        llm.chat(MESSAGES, temperature=0.7)
    assert seeds == [0, 1, 2]
    assert [(llm.hits, llm.misses) for llm in repeats] == [(1, 1)] * 3
    cold = CachedLLM(fake, responses, identity="fake", repeat=5)
    cold.chat(MESSAGES, temperature=0.0)
    assert cold.hits == 0 and seeds[-1] is None  # temperature 0: no seed forced on the model


def test_a_json_schema_reaches_the_model_and_keys_its_reply_apart(responses: ResponseCache) -> None:
    schema = {"type": "object", "properties": {"verdict": {"type": "string"}}}
    assert llm_cache_key("m", MESSAGES, 0.0, 64) == llm_cache_key("m", MESSAGES, 0.0, 64, json_schema=None)
    assert llm_cache_key("m", MESSAGES, 0.0, 64) != llm_cache_key("m", MESSAGES, 0.0, 64, json_schema=schema)
    schemas: list[object] = []

    class SchemaLLM(FakeLLM):
        def chat(self, messages: list[dict[str, str]], **kwargs: object) -> Completion:
            schemas.append(kwargs.get("json_schema"))
            return super().chat(messages)

    llm = CachedLLM(SchemaLLM(), responses, identity="schema")
    llm.chat(MESSAGES, json_schema=schema)
    llm.chat(MESSAGES)
    llm.chat(MESSAGES, json_schema=schema)
    assert schemas == [schema, None] and (llm.hits, llm.misses) == (1, 2)


def test_yes_probability_is_cached_and_absent_scorers_fall_back(responses: ResponseCache) -> None:
    class Scorer(FakeLLM):
        def yes_probability(self, messages: list[dict[str, str]]) -> float | None:
            self.calls.append(messages)
            return 0.83

    scorer = Scorer()
    llm = CachedLLM(scorer, responses, identity="scorer")
    assert llm.yes_probability(MESSAGES) == pytest.approx(0.83)
    assert llm.yes_probability(MESSAGES) == pytest.approx(0.83)
    assert len(scorer.calls) == 1 and llm.hits == 1
    assert CachedLLM(FakeLLM(), responses, identity="plain").yes_probability(MESSAGES) is None


def test_clear_and_stats(responses: ResponseCache, settings: Settings) -> None:
    llm = CachedLLM(FakeLLM(), responses, identity="fake")
    for i in range(5):
        llm.chat([{"role": "user", "content": f"Question: {i}"}])
    embeddings = EmbeddingCache(settings)
    embeddings.put_many("tiny@v1", ["a", "b"], np.ones((2, 3)))
    assert responses.stats()["llm"] == 5 and cache_stats(settings)["embedding"] == 2
    assert responses.stats()["bytes"] > 0
    responses.clear(["llm"])
    assert responses.stats()["llm"] == 0 and responses.stats()["embedding"] == 2
    clear_cache(settings)
    assert cache_stats(settings) | {"bytes": 0} == dict.fromkeys(
        ("llm", "scores", "embedding", "retrieval", "bytes"), 0
    )
    llm.chat([{"role": "user", "content": "Question: 1"}])
    assert llm.misses == 6
    with pytest.raises(ValueError):
        responses.clear(["runs"])


def test_threads_hammering_put_and_get(responses: ResponseCache) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(150):
                key = llm_cache_key("m", [{"role": "user", "content": str(i % 40)}], 0.0, 8)
                responses.put(key, Completion(f"answer {i % 40}", 1, 1, 0.01, "m"))
                got = responses.get(key)
                assert got is not None and got.text == f"answer {i % 40}"
        except BaseException as err:  # surfaced in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and responses.stats()["llm"] == 40


def test_cached_embedder_embeds_only_misses(settings: Settings) -> None:
    inner = TinyEmbedder()
    embedder = CachedEmbedder(inner, EmbeddingCache(settings))
    first = embedder.embed_documents(["alpha", "beta", "alpha"])
    assert inner.seen == ["alpha", "beta"] and first.dtype == np.float32
    second = embedder.embed_documents(["beta", "gamma", "alpha"])
    assert inner.seen == ["alpha", "beta", "gamma"]
    assert np.array_equal(second, inner.embed_documents(["beta", "gamma", "alpha"]))
    assert (embedder.hits, embedder.misses) == (2, 3)
    assert embedder.identity == "tiny@v1" and embedder.name == "tiny"
    assert embedder.embed_documents([]).shape == (0, 3)


def test_query_vectors_are_cached_apart_from_documents(settings: Settings) -> None:
    inner = TinyEmbedder()
    embedder = CachedEmbedder(inner, EmbeddingCache(settings))
    embedder.embed_documents(["alpha"])
    query = embedder.embed_query("alpha")
    assert query[1] == -1.0  # the query embedding, not the cached document one
    assert np.array_equal(embedder.embed_query("alpha"), query) and inner.seen == ["alpha", "alpha"]


def test_embedding_cache_get_many_by_text_hash(settings: Settings) -> None:
    cache = EmbeddingCache(settings)
    texts = [f"text {i}" for i in range(1200)]  # more than one batch of host parameters
    cache.put_many("id", texts, np.arange(3600, dtype=np.float32).reshape(1200, 3))
    found = cache.get_many("id", [*texts, "absent"])
    assert len(found) == 1200 and np.array_equal(found[text_hash("text 7")], [21, 22, 23])
    assert cache.get_many("other identity", texts) == {}
    with pytest.raises(ValueError):
        cache.put_many("id", ["one"], np.ones((2, 3)))


def test_model_identity_uses_file_hashes_and_urls(settings: Settings, tmp_path: Path) -> None:
    assert (
        model_identity("local:qwen2.5-0.5b", settings)
        == f"local:qwen2.5-0.5b#sha256={CATALOGUE['qwen2.5-0.5b'].sha256}"
    )
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"weights v1")
    first = model_identity(f"local:{gguf}", settings)
    gguf.write_bytes(b"weights v2, retrained")
    assert model_identity(f"local:{gguf}", settings) != first
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    with_adapter = model_identity("local:qwen2.5-0.5b", settings, adapter=adapter)
    assert "+adapter#sha256=" in with_adapter
    (adapter / "adapter_model.safetensors").write_bytes(b"lora, epoch 2")
    assert model_identity("local:qwen2.5-0.5b", settings, adapter=adapter) != with_adapter
    assert model_identity("openai:gpt-4o-mini", settings) == "openai:gpt-4o-mini@https://api.openai.com/v1"
    hosted = replace(settings, openai_base_url="http://localhost:8000/v1/")
    assert model_identity("openai:gpt-4o-mini", hosted) == "openai:gpt-4o-mini@http://localhost:8000/v1"
    assert (
        model_identity("openai-compatible:llama@http://box:11434/v1", settings)
        == "openai-compatible:llama@http://box:11434/v1"
    )
    assert model_identity("fake:extractive", settings) == "fake:extractive"
    with pytest.raises(ModelError):
        model_identity(f"local:{tmp_path / 'missing.gguf'}", settings)


def test_an_api_key_never_reaches_the_cache_file(tmp_path: Path) -> None:
    secret = "sk-test-SECRET-0123456789abcdef"
    settings = Settings(
        data_dir=tmp_path / "data",
        openai_api_key=secret,
        openai_base_url=f"https://user:{secret}@proxy.example/v1?api_key={secret}",
    )
    identity = model_identity("openai:gpt-4o-mini", settings)
    assert secret not in identity and identity == "openai:gpt-4o-mini@https://proxy.example/v1"
    responses = ResponseCache(settings)
    llm = CachedLLM(FakeLLM(name="openai:gpt-4o-mini"), responses, identity=identity)
    llm.chat(MESSAGES)
    llm.chat(MESSAGES, temperature=0.5)
    embedder = CachedEmbedder(TinyEmbedder(), EmbeddingCache(settings))
    embedder.embed_documents(["some text"])
    embedder.embed_query("a query")
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert files and all(secret.encode() not in p.read_bytes() for p in files)
    assert all(b"SECRET" not in p.read_bytes() for p in files)


def test_an_unwritable_cache_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StorageError, match="PLAYGROUND_DATA_DIR"):
        ResponseCache(Settings(data_dir=blocker))


# --- retrieval ----------------------------------------------------------------------------------------------


class _CountingRetriever:
    """Ranks two fixed chunks; counts its searches."""

    name = "counting"
    identity = "counting:v1"

    def __init__(self, chunks: list) -> None:
        self.chunks = chunks
        self.searches = 0

    def search(self, query, k, categories=None):
        from playground.retrieval.index import ScoredChunk

        self.searches += 1
        return [ScoredChunk(c, 1.0 / rank, rank) for rank, c in enumerate(self.chunks[:k], start=1)]


def _chunks() -> list:
    from playground.core.documents import Chunk

    return [Chunk(f"c{i}", "d", f"text {i}", 0, 6, title="T") for i in range(3)]


def test_searches_are_cached_by_index_retriever_query_and_depth(responses: ResponseCache) -> None:
    from playground.retrieval.retrievers import Query

    chunks = _chunks()
    inner = _CountingRetriever(chunks)
    retriever = CachedRetriever(inner, responses, "index-1", chunks)
    with call_log() as log:
        first = retriever.search(Query("q"), 2)
        again = retriever.search(Query("q"), 2)
    assert inner.searches == 1 and again == first
    assert (log.hits["retrieval"], log.misses["retrieval"], len(log.keys)) == (1, 1, 1)
    retriever.search(Query("q"), 3)  # another depth
    retriever.search(Query("q", np.ones(4, np.float32)), 2)  # a HyDE vector
    retriever.search(Query("q"), 2, ["policies"])  # a category filter
    CachedRetriever(inner, responses, "index-2", chunks).search(Query("q"), 2)  # another index
    assert inner.searches == 5


def test_a_cached_search_naming_unknown_chunks_is_searched_again(responses: ResponseCache) -> None:
    from playground.retrieval.retrievers import Query

    chunks = _chunks()
    inner = _CountingRetriever(chunks)
    CachedRetriever(inner, responses, "index", chunks).search(Query("q"), 2)
    fewer = CachedRetriever(inner, responses, "index", chunks[1:])
    assert [h.chunk.chunk_id for h in fewer.search(Query("q"), 2)] == ["c0", "c1"] and inner.searches == 2


def test_the_call_log_is_per_thread(responses: ResponseCache) -> None:
    llm = CachedLLM(FakeLLM(), responses, identity="fake")
    seen: list[CallLog] = []

    def answer() -> None:
        with call_log() as log:
            llm.chat(MESSAGES)
        seen.append(log)

    with call_log() as outer:
        worker = threading.Thread(target=answer)
        worker.start()
        worker.join()
    assert outer.misses["llm"] == 0 and seen[0].misses["llm"] == 1 and len(seen[0].keys) == 1
