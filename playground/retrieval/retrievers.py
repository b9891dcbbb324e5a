"""Retrievers behind one small protocol: dense (cosine), BM25 (bm25s) and hybrid (reciprocal rank fusion).

A `Query` carries the text (for BM25) and optionally a ready vector (for dense search): HyDE passes the
embedding of its hypothetical passage there, and the text BM25 sees then includes that passage too.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from playground.core.documents import Chunk
from playground.models.embedders import Embedder
from playground.retrieval.bm25 import K1, B, BM25Ranker
from playground.retrieval.index import ScoredChunk

RRF_K = 60
RetrieverName = Literal["dense", "bm25", "hybrid"]


@dataclass(frozen=True)
class Query:
    text: str
    vector: np.ndarray | None = None


class SearchableIndex(Protocol):
    """What retrievers need from an index: its chunks, a stable key, and nearest-neighbour search."""

    key: str
    chunks: list[Chunk]

    def search(
        self, query_vector: np.ndarray, k: int, categories: Sequence[str] | None = None
    ) -> list[ScoredChunk]: ...


class Retriever(Protocol):
    name: str
    identity: str  # what decides its results besides the index and the query (the retrieval cache's key)

    def search(self, query: Query, k: int, categories: Sequence[str] | None = None) -> list[ScoredChunk]: ...


class DenseRetriever:
    """Cosine similarity between the query embedding and the chunk embeddings."""

    name = "dense"

    def __init__(self, index: SearchableIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.identity = f"dense:{embedder.identity}"

    def search(self, query: Query, k: int, categories: Sequence[str] | None = None) -> list[ScoredChunk]:
        vector = query.vector if query.vector is not None else self.embedder.embed_query(query.text)
        return self.index.search(vector, k, categories)


_BM25_CACHE: dict[str, BM25Ranker] = {}
_BM25_LOCK = threading.Lock()


def bm25_for(index: SearchableIndex) -> BM25Ranker:
    """The BM25 ranker over an index's chunks, built once per index key and reused."""
    with _BM25_LOCK:
        if index.key not in _BM25_CACHE:
            _BM25_CACHE[index.key] = BM25Ranker([c.text for c in index.chunks])
        return _BM25_CACHE[index.key]


class BM25Retriever:
    """Lexical BM25 (k1=0.9, b=0.4). Only chunks sharing a word with the query are returned."""

    name = "bm25"
    identity = f"bm25:k1={K1},b={B}"

    def __init__(self, index: SearchableIndex) -> None:
        self.index = index
        self.ranker = bm25_for(index)

    def search(self, query: Query, k: int, categories: Sequence[str] | None = None) -> list[ScoredChunk]:
        allowed = None
        if categories:
            wanted = set(categories)
            allowed = np.array([c.category in wanted for c in self.index.chunks], dtype=bool)
        top = self.ranker.top(query.text, k, allowed)
        chunks = self.index.chunks
        return [ScoredChunk(chunks[i], score, rank) for rank, (i, score) in enumerate(top, start=1)]


class HybridRetriever:
    """Dense and BM25 lists fused by reciprocal rank fusion (k=60), each read `depth` deep."""

    name = "hybrid"

    def __init__(self, dense: Retriever, lexical: Retriever, depth: int = 100) -> None:
        self.dense = dense
        self.lexical = lexical
        self.depth = depth
        self.identity = f"hybrid:rrf{RRF_K}:depth{depth}:{dense.identity}+{lexical.identity}"

    def search(self, query: Query, k: int, categories: Sequence[str] | None = None) -> list[ScoredChunk]:
        depth = max(k, self.depth)
        lists = [self.dense.search(query, depth, categories), self.lexical.search(query, depth, categories)]
        return fuse(lists, k)


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each id scores the sum of 1 / (k + rank) over the lists that hold it.

    Ties keep the order in which ids were first seen. Example: rrf([["a", "b"], ["b", "c"]]) ranks b first.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def fuse(lists: Sequence[Sequence[ScoredChunk]], k: int) -> list[ScoredChunk]:
    """RRF over several ranked chunk lists; scores become the fused RRF scores."""
    if len(lists) == 1:
        return list(lists[0][:k])
    by_id = {hit.chunk.chunk_id: hit.chunk for hits in lists for hit in hits}
    fused = rrf([[h.chunk.chunk_id for h in hits] for hits in lists])[:k]
    return [ScoredChunk(by_id[cid], score, rank) for rank, (cid, score) in enumerate(fused, start=1)]


def make_retriever(name: str, index: SearchableIndex, embedder: Embedder | None) -> Retriever:
    """The retriever a variant names, over this index."""
    if name == "bm25":
        return BM25Retriever(index)
    if embedder is None:
        raise ValueError(f"the '{name}' retriever needs an embedder")
    dense = DenseRetriever(index, embedder)
    return HybridRetriever(dense, BM25Retriever(index)) if name == "hybrid" else dense


def search_all(
    retriever: Retriever, queries: Sequence[Query], k: int, categories: Sequence[str] | None = None
) -> list[ScoredChunk]:
    """Search with every query; several result lists are fused by RRF (query expansion)."""
    lists = [retriever.search(q, k, categories) for q in queries]
    return fuse(lists, k)
