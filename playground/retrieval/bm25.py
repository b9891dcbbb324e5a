"""BM25 over a list of texts with bm25s, set up as BEIR's Anserini baseline (k1=0.9, b=0.4).

Tokens are lower-cased words of two or more characters, English stopwords removed, Porter-stemmed with the
reference/Lucene Porter variant that Anserini uses (`playground.retrieval.porter`: PyStemmer's Snowball English
stemmer would give other tokens, so other scores than the published baselines).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from playground.retrieval import porter

K1 = 0.9
B = 0.4


def s_stem(word: str) -> str:
    """Harman's S-stemmer: 'studies' -> 'study', 'cells' -> 'cell', leaves 'virus' and 'class' alone."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def _stem_all(words: list[str]) -> list[str]:
    return [porter.stem(w) for w in words]


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-case word tokens without English stopwords, Porter-stemmed."""
    import bm25s

    tokens = bm25s.tokenize(
        list(texts), lower=True, stopwords="en", stemmer=_stem_all, return_ids=False, show_progress=False
    )
    return [list(t) for t in tokens]


class BM25Ranker:
    """Scores every text for a query; built once per corpus (index it, then query it many times)."""

    def __init__(self, texts: Sequence[str], k1: float = K1, b: float = B) -> None:
        import bm25s

        self.size = len(texts)
        self._model = bm25s.BM25(k1=k1, b=b)
        self._model.index(tokenize(texts), show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """One BM25 score per text (all zero when the query has no usable words)."""
        tokens = tokenize([query])[0]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def top(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(position, score) of the k best texts that share a word with the query, best first.

        `allowed` is a boolean mask: texts outside it are never returned.
        """
        scores = self.scores(query)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0 or k < 1:
            return []
        order = positive[np.argsort(-scores[positive], kind="stable")][:k]
        return [(int(i), float(scores[i])) for i in order]
