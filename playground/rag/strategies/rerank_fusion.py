"""How a reranker's scores meet the retriever's order, so a weak reranker cannot wreck a good retrieval.

    rrf          reciprocal rank fusion (k=60) of the retriever's ranking and the reranker's: a candidate both
                 put high stays high, and a reranker that cannot tell passages apart moves little
    interpolate  weight * reranker score + (1 - weight) * minmax(retriever score); a probability (every score
                 in 0..1: P(yes), a sigmoid) is taken as it is, so a reranker unsure of every passage moves
                 little and a sure one much; other scores (logits) are min-max scaled first
    replace      the reranker's order alone (what a reranker much better than the retriever deserves)

`auto` is `interpolate` at weight 0.5 for every reranker: a reranker sure of its scores (probabilities near 0
and 1) still leads, an unsure or poorly trained one cannot wreck the search's order. Measured (bench/RESULTS-
retrieval.md, README): with the 0.5B model's P(yes) on 100 SciFact queries, replacing BM25's order costs 0.29
nDCG@10 and rrf 0.12, while interpolating the probability as it is stays within 0.005 of BM25 (the 1.5B's: -0.21,
-0.06 and +0.011; min-max scaling the probability first loses up to 0.25); a cross-encoder trained here on
SciFact train and the corpus's titles scores 0.605 replacing BM25's order, 0.671 with rrf and 0.704 interpolated
(BM25 0.671); one trained on the fictional sample's 45 generated questions drops plain RAG's
`contains` from 0.69 to 0.27 replacing the order and keeps 0.71 interpolated. Choose `replace` for a reranker
you trust more than the search. Every fusion keeps the retriever's order among ties, so a reranker that gives
every passage the same score changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

Fusion = Literal["rrf", "interpolate", "replace"]
FUSIONS: tuple[Fusion, ...] = ("rrf", "interpolate", "replace")
AUTO_FUSION: Fusion = "interpolate"
RRF_K = 60


def resolve_fusion(reranker: str, fusion: str) -> Fusion:
    """The fusion a variant's `rerank_fusion` means for its reranker (`auto` decided here)."""
    if fusion != "auto":
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}: use auto or one of {', '.join(FUSIONS)}")
        return cast(Fusion, fusion)
    return AUTO_FUSION


def minmax(values: Sequence[float]) -> list[float]:
    """Scaled to 0..1; all equal -> all 0 (they say nothing about the order)."""
    low, high = min(values, default=0.0), max(values, default=0.0)
    if high <= low:
        return [0.0] * len(values)
    return [(v - low) / (high - low) for v in values]


def as_probabilities(scores: Sequence[float]) -> list[float]:
    """Scores already in 0..1 as they are (their spread is the reranker's confidence), others min-max scaled."""
    if all(0.0 <= s <= 1.0 for s in scores):
        return [float(s) for s in scores]
    return minmax(scores)


def ranks(scores: Sequence[float]) -> list[int]:
    """1-based rank of each position by descending score; ties ranked in their given order."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    found = [0] * len(scores)
    for rank, i in enumerate(order, start=1):
        found[i] = rank
    return found


def fused_scores(
    retriever_scores: Sequence[float], scores: Sequence[float], fusion: Fusion, weight: float = 0.5
) -> list[float]:
    """One fused score per candidate; the candidates come in the retriever's order, best first."""
    if len(retriever_scores) != len(scores):
        raise ValueError(f"{len(retriever_scores)} candidates but {len(scores)} reranker scores")
    if fusion == "replace":
        return [float(s) for s in scores]
    if fusion == "rrf":
        return [1 / (RRF_K + i) + 1 / (RRF_K + r) for i, r in enumerate(ranks(scores), start=1)]
    if fusion == "interpolate":
        mine, theirs = as_probabilities(scores), minmax(retriever_scores)
        return [weight * a + (1 - weight) * b for a, b in zip(mine, theirs, strict=True)]
    raise ValueError(f"unknown fusion {fusion!r}: use one of {', '.join(FUSIONS)}")


def fused_order(
    retriever_scores: Sequence[float], scores: Sequence[float], fusion: Fusion, weight: float = 0.5
) -> list[int]:
    """Positions in the retriever's order, rearranged best first by the fused score (ties keep that order)."""
    fused = fused_scores(retriever_scores, scores, fusion, weight)
    return sorted(range(len(fused)), key=lambda i: -fused[i])
