"""A model, an embedder and a retriever that answer from the cache when they can, and fill it when they cannot.

Errors are never cached. Every call is counted in the answer's call log (`call_log.call_log`), so a result can say
which of its calls came from the cache. The wrapped model is touched only on a miss: a local model that is still a
stand-in (`models.lazy`) loads then, after `on_load(name)` has said so, and a run answered from the cache loads none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from playground.models.embedders import Embedder
from playground.models.lazy import needs_loading
from playground.models.llms import LLM, Completion, Message
from playground.retrieval.index import ScoredChunk
from playground.storage.call_log import note_call, note_tokens
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.inflight import claim, release
from playground.storage.keys import llm_cache_key, retrieval_cache_key, text_hash
from playground.storage.response_cache import ResponseCache

OnLoad = Callable[[str], None]  # told a model's name just before a miss loads it (a progress line can say so)


def _before_call(model: object, name: str, on_load: OnLoad | None) -> None:
    if on_load is not None and needs_loading(model):
        on_load(name)


class CachedLLM:
    """An LLM that answers from the cache when it can; errors are never cached. Counts `hits` and `misses`.

    `repeat` is the sweep's repeat number: above temperature 0 it seeds the model and enters the key, so each
    repeat really differs and is cached on its own.
    """

    def __init__(
        self, llm: LLM, cache: ResponseCache, identity: str, repeat: int = 0, on_load: OnLoad | None = None
    ) -> None:
        self.llm = llm
        self.cache = cache
        self.identity = identity
        self.repeat = repeat
        self.on_load = on_load
        self.name = llm.name
        self.hits = 0
        self.misses = 0
        self._count_lock = threading.Lock()

    def for_repeat(self, repeat: int) -> CachedLLM:
        """The same model and cache, answering as repeat number `repeat` (itself when that is already so)."""
        if repeat == self.repeat:
            return self
        return CachedLLM(self.llm, self.cache, self.identity, repeat, self.on_load)

    def _count(self, hit: bool, key: str) -> None:
        with self._count_lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1
        note_call("llm", int(hit), int(not hit), key)

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        if seed is None and temperature > 0:
            seed = self.repeat  # llama.cpp's default seed is fixed: without this, every repeat is the same
        key = llm_cache_key(
            self.identity, messages, temperature, max_tokens, stop, seed, self.repeat, json_schema=json_schema
        )
        cached = self.cache.get(key)
        owner, pending = claim(self.cache.db.path, key) if cached is None else (False, None)
        if pending is not None and not owner:
            cached = pending.result()  # the same call is on its way for another variant: wait for its answer
        self._count(cached is not None, key)
        if cached is not None:
            note_tokens(cached)
            return cached
        assert pending is not None
        try:
            _before_call(self.llm, self.name, self.on_load)
            # A schema is passed only when asked for, so models written before structured replies still work.
            schema = {"json_schema": json_schema} if json_schema is not None else {}
            completion = self.llm.chat(
                messages, temperature=temperature, max_tokens=max_tokens, stop=stop, seed=seed, **schema
            )
        except BaseException as err:
            release(self.cache.db.path, key, pending, error=err)
            raise
        self.cache.put(key, completion)
        release(self.cache.db.path, key, pending, completion)
        note_tokens(completion)
        return completion

    def yes_probability(self, messages: list[Message]) -> float | None:
        """The wrapped model's P(yes), cached; None when it cannot score (callers then fall back to chat)."""
        # The cache is read first: a replay's stand-in model cannot score, yet the scores it needs are cached.
        key = llm_cache_key(self.identity, messages, 0.0, 1, kind="yes_probability")
        cached = self.cache.get_score(key)
        if cached is not None:
            self._count(True, key)
            return cached
        _before_call(self.llm, self.name, self.on_load)  # asking whether the model can score loads a stand-in
        scorer: Callable[[list[Message]], float | None] | None = getattr(self.llm, "yes_probability", None)
        if not callable(scorer):
            return None
        self._count(False, key)
        value = scorer(messages)
        if value is not None:
            self.cache.put_score(key, value)
        return value

    def __getattr__(self, name: str) -> Any:
        if name == "llm":
            raise AttributeError(name)
        return getattr(self.llm, name)


class CachedEmbedder:
    """An Embedder that embeds only the texts missing from the cache; query vectors are cached apart."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache, on_load: OnLoad | None = None) -> None:
        self.embedder = embedder
        self.cache = cache
        self.on_load = on_load
        self.name = embedder.name
        self.hits = 0
        self.misses = 0
        self._count_lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self.embedder.identity

    def _embed(
        self, texts: list[str], identity: str, compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """Vectors for `texts` in order: cached ones read, the missing ones computed once and stored."""
        hashes = [text_hash(t) for t in texts]
        found = self.cache.get_many(identity, texts)
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes, strict=True) if h not in found))
        hits = sum(1 for h in hashes if h in found)
        with self._count_lock:
            self.hits += hits
            self.misses += len(missing)
        note_call("embedding", hits, len(missing))
        if missing:
            _before_call(self.embedder, self.name, self.on_load)
            vectors = np.asarray(compute(missing), dtype=np.float32)
            self.cache.put_many(identity, missing, vectors)
            found.update({text_hash(t): v for t, v in zip(missing, vectors, strict=True)})
        return np.stack([found[h] for h in hashes])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self.embedder.embed_documents([])
        return self._embed(texts, self.identity, self.embedder.embed_documents)

    def embed_query(self, text: str) -> np.ndarray:
        def compute(texts: list[str]) -> np.ndarray:
            return np.stack([self.embedder.embed_query(t) for t in texts])

        return self._embed([text], f"{self.identity}#query", compute)[0]

    def __getattr__(self, name: str) -> Any:
        if name == "embedder":
            raise AttributeError(name)
        return getattr(self.embedder, name)


class CachedRetriever:
    """A retriever whose searches are kept by (index key, retriever identity, query, depth, filter).

    Two variants that differ only in their prompt then search once per question, and a rerun searches not at
    all. A cached hit whose chunk is no longer in the index (it cannot be, as the index key names the chunks,
    but a damaged cache could say so) counts as a miss and is searched again.
    """

    def __init__(self, retriever: Any, cache: ResponseCache, index_key: str, chunks: Sequence[Any]) -> None:
        self.retriever = retriever
        self.cache = cache
        self.index_key = index_key
        self.name = retriever.name
        self.identity = str(getattr(retriever, "identity", retriever.name))
        self._chunks = {c.chunk_id: c for c in chunks}

    def search(self, query: Any, k: int, categories: Sequence[str] | None = None) -> list[ScoredChunk]:
        key = retrieval_cache_key(self.index_key, self.identity, query.text, query.vector, k, categories)
        cached = self.cache.get_hits(key)
        if cached is not None and all(cid in self._chunks for cid, _, _ in cached):
            note_call("retrieval", 1, 0, key)
            return [ScoredChunk(self._chunks[cid], score, rank) for cid, score, rank in cached]
        hits = self.retriever.search(query, k, categories)
        self.cache.put_hits(key, hits)
        note_call("retrieval", 0, 1, key)
        return hits
