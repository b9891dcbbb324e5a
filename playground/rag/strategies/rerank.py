"""Reranking the retrieved candidates: by an LLM's relevance judgement or by a cross-encoder.

LLM: for each candidate the model answers "does this passage help answer the question?". A local llama.cpp
model gives the probability of "yes" from its next-token logits; any other model (OpenAI-compatible servers)
answers in text, read as yes = 1, no = 0 and anything else = 0.5 (counted as unparsed). Cross-encoder: one
relevance score per candidate from a `Reranker` (a CrossEncoder folder or a rerank server).

Either way the scores meet the retriever's order through a fusion (`rerank_fusion`), and the kept chunks carry
the reranker's own score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from playground.models.llms import LLM, Message
from playground.models.rerankers import Reranker
from playground.rag.strategies.rerank_fusion import Fusion, fused_order, fused_scores
from playground.retrieval.index import ScoredChunk

PASSAGE_CHARS = 1500
_SYSTEM = "You judge whether a passage helps answer a question. Reply with yes or no only."
_USER = (
    "Question: {question}\n\nPassage: {passage}\n\n"
    "Does this passage help answer the question? Reply yes or no."
)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.I)


@dataclass(frozen=True)
class RerankResult:
    hits: list[ScoredChunk]
    before: list[str]
    scores: dict[str, float]
    method: str
    unparsed: int = 0
    fusion: str = "replace"
    fused: dict[str, float] | None = None
    reranker: str | None = None

    def step(self) -> dict[str, Any]:
        """`scores`: the reranker's own; `fused`: what ordered the candidates (with the retriever's order)."""
        return {
            "before": self.before,
            "after": [h.chunk.chunk_id for h in self.hits],
            "scores": self.scores,
            "method": self.method,
            "unparsed": self.unparsed,
            "fusion": self.fusion,
            "fused": self.fused,
            "reranker": self.reranker,
        }


def relevance_messages(question: str, passage: str) -> list[Message]:
    # The question comes before the passage so consecutive prompts share a cached prefix.
    text = passage if len(passage) <= PASSAGE_CHARS else passage[:PASSAGE_CHARS] + " ..."
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": _USER.format(question=question, passage=text)},
    ]


def parse_yes_no(text: str) -> float | None:
    """1.0 for a reply starting with yes, 0.0 for no, None for anything else."""
    found = _YES_NO.search(text)
    if not found:
        return None
    return 1.0 if found.group(1).lower() == "yes" else 0.0


def relevance(llm: LLM, question: str, passage: str) -> tuple[float, str, bool]:
    """(P(yes), method, parsed) for one passage."""
    messages = relevance_messages(question, passage)
    scorer = getattr(llm, "yes_probability", None)
    if callable(scorer):
        probability = scorer(messages)
        if probability is not None:
            return float(probability), "logits", True
    value = parse_yes_no(llm.chat(messages, temperature=0.0, max_tokens=3).text)
    return (0.5, "text", False) if value is None else (value, "text", True)


def _fuse(
    hits: Sequence[ScoredChunk], scores: Sequence[float], top_k: int, fusion: Fusion, weight: float
) -> tuple[list[ScoredChunk], dict[str, float]]:
    """The `top_k` candidates in their fused order, each with the reranker's score, and every fused score."""
    retriever_scores = [h.score for h in hits]
    fused = fused_scores(retriever_scores, scores, fusion, weight)
    order = fused_order(retriever_scores, scores, fusion, weight)[:top_k]
    kept = [ScoredChunk(hits[i].chunk, float(scores[i]), rank) for rank, i in enumerate(order, start=1)]
    return kept, {h.chunk.chunk_id: round(f, 6) for h, f in zip(hits, fused, strict=True)}


def llm_rerank(
    question: str,
    hits: Sequence[ScoredChunk],
    llm: LLM,
    top_k: int,
    fusion: Fusion = "replace",
    weight: float = 0.5,
) -> RerankResult:
    """Score every candidate by P(yes) and keep the `top_k` best after `fusion` with the retriever's order;
    ties keep the retriever's order."""
    scored = [relevance(llm, question, hit.chunk.text) for hit in hits]
    kept, fused = _fuse(hits, [p for p, _, _ in scored], top_k, fusion, weight)
    methods = sorted({method for _, method, _ in scored}) or ["none"]
    return RerankResult(
        hits=kept,
        before=[h.chunk.chunk_id for h in hits],
        scores={h.chunk.chunk_id: round(p, 6) for h, (p, _, _) in zip(hits, scored, strict=True)},
        method="+".join(methods),
        unparsed=sum(1 for *_, ok in scored if not ok),
        fusion=fusion,
        fused=fused,
        reranker=llm.name,
    )


def cross_encoder_rerank(
    question: str,
    hits: Sequence[ScoredChunk],
    reranker: Reranker,
    top_k: int,
    fusion: Fusion = "replace",
    weight: float = 0.5,
) -> RerankResult:
    """Score every candidate with a cross-encoder (or rerank server) in one call and keep the `top_k` best
    after `fusion` with the retriever's order."""
    scores = reranker.score(question, [h.chunk.text for h in hits]) if hits else []
    kept, fused = _fuse(hits, scores, top_k, fusion, weight)
    return RerankResult(
        hits=kept,
        before=[h.chunk.chunk_id for h in hits],
        scores={h.chunk.chunk_id: round(float(s), 6) for h, s in zip(hits, scores, strict=True)},
        method="cross-encoder",
        fusion=fusion,
        fused=fused,
        reranker=reranker.name,
    )
