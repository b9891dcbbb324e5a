"""A reranker that answers from the cache when it can: one score per (reranker identity, query, passage).

Only the passages missing from the cache reach the reranker, in one call, and a query whose every passage is
cached never loads the model or contacts the server (a replayed run makes no reranker call). Each score is
logged as a `rerank` call of the answer, so a replay bundle carries it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from playground.core.settings import Settings
from playground.models.rerankers import Reranker
from playground.storage.call_log import note_call
from playground.storage.keys import rerank_cache_key, reranker_identity
from playground.storage.response_cache import ResponseCache


class CachedReranker:
    """Scores from the cache, the missing ones computed at once and stored; errors are never cached."""

    def __init__(self, reranker: Reranker, cache: ResponseCache) -> None:
        self.reranker = reranker
        self.cache = cache
        self.name = reranker.name
        self.hits = 0
        self.misses = 0
        self._identity: str | None = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """Found on first use: for a cross-encoder folder it hashes the weights (once per process)."""
        if self._identity is None:
            self._identity = reranker_identity(self.name)
        return self._identity

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        keys = [rerank_cache_key(self.identity, query, p) for p in passages]
        found = self.cache.get_scores(keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        for key in keys:
            note_call("rerank", int(key in found), int(key not in found), key)
        with self._lock:
            self.hits += len(keys) - len(missing)
            self.misses += len(missing)
        if missing:
            scores = self.reranker.score(query, [passages[i] for i in missing])
            fresh = {keys[i]: float(s) for i, s in zip(missing, scores, strict=True)}
            self.cache.put_scores(fresh)
            found.update(fresh)
        return [found[key] for key in keys]


def reranker_cache(settings: Settings) -> Callable[[Reranker], Reranker]:
    """A `wrap_reranker` for `build_pipeline` that caches scores in the settings' cache file."""
    cache = ResponseCache(settings)
    return lambda reranker: CachedReranker(reranker, cache)
