"""The reranker protocol: a model that scores how well each passage answers a query, higher is better.

Implementations: `cross_encoder` (a sentence-transformers CrossEncoder on the CPU, `ce:<folder>`) and
`rerank_server` (a server with a Cohere/Jina-style `/rerank` endpoint, `rerank:<model>@<url>`), found by name
through `playground.models.registry.get_reranker`. An LLM judging relevance is not one of them: it is a chat
model, used by `playground.rag.strategies.rerank.llm_rerank`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Reranker(Protocol):
    """`score` gives one relevance score per passage, in the passages' order. The scores of one query are
    comparable with each other; scores of different rerankers are not (a fusion scales them first)."""

    name: str

    def score(self, query: str, passages: Sequence[str]) -> list[float]: ...
