"""Reranking the retrieved candidates: by an LLM's relevance judgement or by a cross-encoder.

LLM: for each candidate the model answers "does this passage help answer the question?". A local llama.cpp
model gives the probability of "yes" from its next-token logits; any other model (OpenAI-compatible servers)
answers in text, read as yes = 1, no = 0 and anything else = 0.5 (counted as unparsed). Cross-encoder: one
relevance score per candidate from a `Reranker` (a CrossEncoder folder or a rerank server).

Listwise (RankGPT-style, Sun et al. 2023): one call shows the model every candidate, numbered, and asks for their
order; position p of n becomes the score 1 - p / n. Tried on SciFact with the local models (bench/RESULTS-
retrieval.md); not a variant option, since small models rarely give a usable order.

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
# Ten candidates of this length, numbered, fit the local models' 4,096-token context with the question and reply.
LIST_PASSAGE_CHARS = 600
_LIST_SYSTEM = "You rank passages by how well they help answer a question. Reply with passage numbers only."
_LIST_USER = (
    "Question: {question}\n\n{passages}\n\nRank the {n} passages above from the most to the least helpful "
    "for answering the question. Reply with all {n} numbers in that order, separated by >, for example: "
    "{example}."
)


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


def listwise_messages(question: str, passages: Sequence[str]) -> list[Message]:
    numbered = "\n\n".join(
        f"[{i}] {p if len(p) <= LIST_PASSAGE_CHARS else p[:LIST_PASSAGE_CHARS] + ' ...'}"
        for i, p in enumerate(passages, start=1)
    )
    example = " > ".join(str(i) for i in (2, 1, 3)[: len(passages)])
    user = _LIST_USER.format(question=question, passages=numbered, n=len(passages), example=example)
    return [{"role": "system", "content": _LIST_SYSTEM}, {"role": "user", "content": user}]


def parse_ranking(text: str, n: int) -> tuple[list[int], int]:
    """The 0-based order a reply gives `n` passages, and how many it named. Numbers outside 1..n and repeats
    are skipped; passages the reply left out follow in the retriever's order."""
    named = list(dict.fromkeys(int(d) - 1 for d in re.findall(r"\d+", text) if 1 <= int(d) <= n))
    return named + [i for i in range(n) if i not in named], len(named)


def listwise_scores(order: Sequence[int]) -> list[float]:
    """Position p of n in `order` as the score 1 - p / n, in the passages' own order."""
    scores = [0.0] * len(order)
    for position, i in enumerate(order):
        scores[i] = 1.0 - position / len(order)
    return scores


def _reranked(
    hits: Sequence[ScoredChunk],
    scores: Sequence[float],
    top_k: int,
    fusion: Fusion,
    weight: float,
    *,
    method: str,
    reranker: str,
    unparsed: int = 0,
) -> RerankResult:
    """The `top_k` candidates in their fused order, each with the reranker's own score, and what was done."""
    retriever_scores = [h.score for h in hits]
    fused = fused_scores(retriever_scores, scores, fusion, weight)
    order = fused_order(retriever_scores, scores, fusion, weight)[:top_k]
    return RerankResult(
        hits=[ScoredChunk(hits[i].chunk, float(scores[i]), rank) for rank, i in enumerate(order, start=1)],
        before=[h.chunk.chunk_id for h in hits],
        scores={h.chunk.chunk_id: round(float(p), 6) for h, p in zip(hits, scores, strict=True)},
        method=method,
        unparsed=unparsed,
        fusion=fusion,
        fused={h.chunk.chunk_id: round(f, 6) for h, f in zip(hits, fused, strict=True)},
        reranker=reranker,
    )


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
    methods = sorted({method for _, method, _ in scored}) or ["none"]
    return _reranked(
        hits,
        [p for p, _, _ in scored],
        top_k,
        fusion,
        weight,
        method="+".join(methods),
        unparsed=sum(1 for *_, ok in scored if not ok),
        reranker=llm.name,
    )


def listwise_rerank(
    question: str,
    hits: Sequence[ScoredChunk],
    llm: LLM,
    top_k: int,
    fusion: Fusion = "replace",
    weight: float = 0.5,
) -> RerankResult:
    """Ask for the order of every candidate in one call and keep the `top_k` best after `fusion` with the
    retriever's order. A reply that names no candidate leaves every score equal, so the retriever's order
    stands; one that names only some is counted as unparsed too."""
    order, named = list(range(len(hits))), len(hits)
    if len(hits) > 1:
        messages = listwise_messages(question, [h.chunk.text for h in hits])
        reply = llm.chat(messages, temperature=0.0, max_tokens=4 * len(hits) + 8).text
        order, named = parse_ranking(reply, len(hits))
    scores = listwise_scores(order) if named else [0.5] * len(hits)
    unparsed = 0 if named == len(hits) else 1
    return _reranked(
        hits, scores, top_k, fusion, weight, method="listwise", unparsed=unparsed, reranker=llm.name
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
    return _reranked(hits, scores, top_k, fusion, weight, method="cross-encoder", reranker=reranker.name)
