"""Answer and retrieval metrics as plain functions, checked in the tests against SQuAD v2 and ranx.

Ranking metrics take `ranked`, retrieved ids in rank order. An id that appears again later in the list
keeps its slot but scores nothing there: only its first position counts.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


# Answer side ----------------------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD v2 normalisation: lower-case, drop punctuation and articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _answer_golds(golds: Sequence[str]) -> list[str]:
    """Golds that survive normalisation; none means "no answer", scored against "" as SQuAD v2 does."""
    return [gold for gold in golds if normalize_answer(gold)] or [""]


def _f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    """Token-overlap F1; when either side is empty, 1.0 only if both are (the SQuAD v2 rule)."""
    if not prediction_tokens or not gold_tokens:
        return float(prediction_tokens == gold_tokens)
    same = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold (no golds: only "" matches)."""
    normalized = normalize_answer(prediction)
    return max(float(normalized == normalize_answer(gold)) for gold in _answer_golds(golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best SQuAD token F1 of the prediction against any gold."""
    tokens = normalize_answer(prediction).split()
    return max(_f1(tokens, normalize_answer(gold).split()) for gold in _answer_golds(golds))


def _contains_tokens(haystack: list[str], needle: list[str]) -> bool:
    """Whether `needle` occurs as a contiguous run of whole tokens in `haystack`."""
    width = len(needle)
    return width > 0 and any(haystack[i : i + width] == needle for i in range(len(haystack) - width + 1))


def contains_gold(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if some normalised gold appears as whole tokens in the prediction: "14" is not found in "140"."""
    tokens = normalize_answer(prediction).split()
    return float(any(_contains_tokens(tokens, normalize_answer(gold).split()) for gold in golds))


def semantic_similarity(
    prediction: str, golds: Sequence[str], embed: Callable[[list[str]], np.ndarray]
) -> float:
    """Best cosine similarity between the prediction and any gold, embedded in one call to `embed`."""
    if not prediction.strip() or not golds:
        return 0.0
    vectors = np.asarray(embed([prediction, *golds]), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    if norms[0] == 0.0:
        return 0.0
    cosines = vectors[1:] @ vectors[0] / (np.maximum(norms[1:], 1e-300) * norms[0])
    return float(np.max(cosines))


# Retrieval side -------------------------------------------------------------------------------------------


def _check_k(k: int | None, ranked: Sequence[str]) -> int:
    """The cut-off to use: `k`, or the whole list when `k` is None."""
    if k is None:
        return len(ranked)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return k


def _gains(ranked: Sequence[str], relevant: Mapping[str, int] | AbstractSet[str], k: int) -> list[float]:
    """Gain at each of the top-k positions; a repeated id scores 0 after its first position."""
    grades = relevant if isinstance(relevant, Mapping) else dict.fromkeys(relevant, 1)
    seen: set[str] = set()
    gains = []
    for doc_id in ranked[:k]:
        gains.append(0.0 if doc_id in seen else float(max(grades.get(doc_id, 0), 0)))
        seen.add(doc_id)
    return gains


def _hits(ranked: Sequence[str], relevant: AbstractSet[str], k: int | None) -> list[bool]:
    """Whether each of the top-k positions holds a relevant id seen there for the first time."""
    return [gain > 0 for gain in _gains(ranked, relevant, _check_k(k, ranked))]


def hit_at_k(ranked: Sequence[str], relevant: AbstractSet[str], k: int) -> float:
    """1.0 if any relevant id is in the top k."""
    return float(any(_hits(ranked, relevant, k)))


def recall_at_k(ranked: Sequence[str], relevant: AbstractSet[str], k: int) -> float:
    """Fraction of the relevant ids found in the top k (0.0 when nothing is relevant)."""
    return sum(_hits(ranked, relevant, k)) / len(relevant) if relevant else 0.0


def precision_at_k(ranked: Sequence[str], relevant: AbstractSet[str], k: int) -> float:
    """Relevant ids in the top k divided by k, even when fewer than k were retrieved (as trec_eval P@k)."""
    return sum(_hits(ranked, relevant, k)) / _check_k(k, ranked)


def reciprocal_rank(ranked: Sequence[str], relevant: AbstractSet[str], k: int | None = None) -> float:
    """1 / rank of the first relevant id within the top k (all when k is None), else 0.0."""
    hits = _hits(ranked, relevant, k)
    return 1.0 / (hits.index(True) + 1) if True in hits else 0.0


def _dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain with linear gain and a log2(rank + 1) discount."""
    return sum(gain / np.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, int] | AbstractSet[str], k: int) -> float:
    """nDCG@k as trec_eval and ranx's "ndcg" define it: linear gain, ideal ranking from the judgments."""
    k = _check_k(k, ranked)
    grades = relevant.values() if isinstance(relevant, Mapping) else [1] * len(relevant)
    ideal = _dcg(sorted((float(g) for g in grades if g > 0), reverse=True)[:k])
    return _dcg(_gains(ranked, relevant, k)) / ideal if ideal > 0 else 0.0


def average_precision(ranked: Sequence[str], relevant: AbstractSet[str], k: int | None = None) -> float:
    """Sum of precision at each relevant position in the top k, divided by the number of relevant ids."""
    hits = _hits(ranked, relevant, k)
    found = np.cumsum(hits)
    precisions = [found[i] / (i + 1) for i, hit in enumerate(hits) if hit]
    return float(sum(precisions) / len(relevant)) if relevant else 0.0


def context_precision(ranked_relevance: Sequence[bool]) -> float:
    """RAGAS context precision: mean of precision@i over the relevant positions i; 0.0 if none is relevant."""
    found = np.cumsum(np.asarray(ranked_relevance, dtype=bool))
    precisions = [found[i] / (i + 1) for i, hit in enumerate(ranked_relevance) if hit]
    return float(np.mean(precisions)) if precisions else 0.0


def context_recall(evidence_found: Sequence[bool]) -> float:
    """Fraction of gold evidence pieces covered by at least one retrieved chunk; 0.0 when there are none."""
    return sum(map(bool, evidence_found)) / len(evidence_found) if evidence_found else 0.0


# Aggregation ----------------------------------------------------------------------------------------------


def _present(values: Iterable[float | None]) -> np.ndarray:
    """The values that are not None, as a float array."""
    return np.array([value for value in values if value is not None], dtype=np.float64)


def mean(values: Iterable[float | None]) -> float:
    """Mean of the values that are not None; 0.0 when there are none."""
    present = _present(values)
    return float(present.mean()) if present.size else 0.0


def bootstrap_ci(
    values: Iterable[float | None], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """BCa bootstrap interval of the mean, by `scipy.stats.bootstrap` (None ignored; no values gives (0.0, 0.0)).

    BCa corrects the percentile interval for bias and skew, which are large at the 20-50 questions of a workshop.
    One value or all-equal values give that value: scipy would warn and return NaN there.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    present = _present(values)
    if present.size == 0:
        return 0.0, 0.0
    if np.all(present == present[0]):
        return float(present[0]), float(present[0])
    low, high = _scipy_bootstrap(present, confidence, n_resamples, seed, "BCa")
    if not (math.isfinite(low) and math.isfinite(high)):  # BCa's correction undefined on very skewed data
        low, high = _scipy_bootstrap(present, confidence, n_resamples, seed, "percentile")
    return low, high


def _scipy_bootstrap(
    present: np.ndarray, confidence: float, n_resamples: int, seed: int, method: str
) -> tuple[float, float]:
    from scipy.stats import bootstrap

    # No warnings.catch_warnings() around it: that swaps process-wide state under Streamlit's session threads;
    # scipy's rare DegenerateDataWarning comes with a NaN that the caller handles.
    result = bootstrap(
        (present,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method=method,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)
