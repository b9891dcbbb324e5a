"""Fair comparison of two variants on the same questions, for the small sets of a workshop (20-50 questions).

Every comparison is paired: question i of variant A is compared with question i of variant B, so the noise
from easy and hard questions cancels. A difference is called real only when the paired bootstrap interval
excludes zero *and* the paired test agrees (p < ALPHA); otherwise the verdict says plainly that it is noise.

Tests used by `paired_test`:
- 0/1 outcomes (contains, exact match, hit@k): the exact McNemar test, a two-sided binomial test with p = 1/2
  on the discordant pairs (questions that one variant got right and the other wrong).
- anything else (token F1, recall, similarity): the Wilcoxon signed-rank test (`scipy.stats.wilcoxon`,
  zero_method="wilcox": tied questions are dropped). All ties: p = 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from playground.evaluation import metrics as m

ALPHA = 0.05
CONFIDENCE = 0.95
N_RESAMPLES = 5000
MCNEMAR = "exact McNemar"
WILCOXON = "Wilcoxon signed-rank"
NO_TEST = "none"
_TIE_TOLERANCE = 1e-12

Values = Sequence[float | None]


def row_value(row: Any, name: str, default: Any = None) -> Any:
    """A field of a result row, be it a QuestionResult-like object or its dict (results.json, the store)."""
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def metric_value(row: Any, metric: str) -> float | None:
    """The row's score on `metric`; None for an errored row or a metric that does not apply."""
    if row_value(row, "error"):
        return None
    value = (row_value(row, "metrics") or {}).get(metric)
    return None if value is None else float(value)


def per_question_values(rows: Iterable[Any], metric: str) -> dict[str, float | None]:
    """qid -> score on `metric` (None for errors), in the rows' order."""
    return {str(row_value(row, "qid")): metric_value(row, metric) for row in rows}


def paired_arrays(a: Values, b: Values) -> tuple[np.ndarray, np.ndarray]:
    """The aligned lists as float arrays, dropping every pair where either side is None."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    kept = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return np.array([x for x, _ in kept], dtype=np.float64), np.array([y for _, y in kept], dtype=np.float64)


def paired_outcomes(a: Values, b: Values) -> dict[str, int]:
    """Per-question wins / losses / ties of B against A (a win: B scored higher on that question)."""
    xa, xb = paired_arrays(a, b)
    diff = xb - xa
    wins, losses = int(np.sum(diff > _TIE_TOLERANCE)), int(np.sum(diff < -_TIE_TOLERANCE))
    return {"wins": wins, "losses": losses, "ties": int(diff.size) - wins - losses}


def paired_bootstrap_diff(
    a: Values, b: Values, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """(mean of B - A, low, high): percentile bootstrap over questions, as scipy.stats.bootstrap does."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    xa, xb = paired_arrays(a, b)
    diff = xb - xa
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    centre = float(diff.mean())
    if np.all(diff == diff[0]):
        return centre, centre, centre
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, (n_resamples, diff.size))].mean(axis=-1)
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return centre, float(low), float(high)


def is_binary(values: Iterable[float]) -> bool:
    """Whether every value is 0 or 1, the case for the exact McNemar test."""
    return all(v in (0.0, 1.0) for v in values)


def mcnemar_exact(b_only: int, a_only: int) -> float:
    """Two-sided exact McNemar p from the discordant counts: binomtest(b_only, b_only + a_only, 0.5)."""
    n = b_only + a_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b_only, a_only) + 1))
    return min(1.0, 2.0 * tail / 2**n)


def _wilcoxon(diff: np.ndarray) -> tuple[float, float]:
    """(statistic, p) of the signed-rank test; all ties give (0.0, 1.0) instead of scipy's warning and NaN."""
    from scipy.stats import wilcoxon

    diff = np.where(np.abs(diff) > _TIE_TOLERANCE, diff, 0.0)  # float noise such as 0.3 - 0.2 - 0.1 is a tie
    if not np.any(diff):
        return 0.0, 1.0
    result = wilcoxon(diff, zero_method="wilcox")
    return float(result.statistic), float(result.pvalue)


def paired_test(a: Values, b: Values) -> dict[str, Any]:
    """The paired test that fits the data: {"test", "p_value", "statistic", "n"} (see the module doc)."""
    xa, xb = paired_arrays(a, b)
    if xa.size == 0:
        return {"test": NO_TEST, "p_value": 1.0, "statistic": 0.0, "n": 0}
    if is_binary(xa) and is_binary(xb):
        b_only, a_only = int(np.sum((xb == 1) & (xa == 0))), int(np.sum((xa == 1) & (xb == 0)))
        return {
            "test": MCNEMAR,
            "p_value": mcnemar_exact(b_only, a_only),
            "statistic": float(b_only),
            "n": int(xa.size),
            "discordant": b_only + a_only,
        }
    statistic, p_value = _wilcoxon(xb - xa)
    return {"test": WILCOXON, "p_value": p_value, "statistic": statistic, "n": int(xa.size)}


@dataclass(frozen=True)
class Comparison:
    """B against A on one metric over the questions both answered; `diff` = mean_b - mean_a."""

    name_a: str
    name_b: str
    metric: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci: tuple[float, float]
    p_value: float
    test: str
    wins: int
    losses: int
    ties: int
    significant: bool
    verdict: str


def _aligned(a_rows: Iterable[Any], b_rows: Iterable[Any], metric: str) -> tuple[list[float | None], ...]:
    """Scores of both variants on the questions they share, in A's order."""
    a_values, b_values = per_question_values(a_rows, metric), per_question_values(b_rows, metric)
    shared = [qid for qid in a_values if qid in b_values]
    return [a_values[q] for q in shared], [b_values[q] for q in shared]


def _fmt(value: float, points: bool) -> str:
    """A number for a sentence: percentage points for 0-1 metrics, with a real minus sign."""
    text = f"{value * 100:.0f}" if points else f"{value:.3g}"
    return "0" if float(text) == 0 else text.replace("-", "−")


def verdict_text(c: Comparison, points: bool, confidence: float = CONFIDENCE) -> str:
    """The comparison in one plain sentence."""
    unit = " points" if points else ""
    size = f"{_fmt(abs(c.diff), points)}{unit}"
    low, high = c.ci if c.diff >= 0 or not c.significant else (-c.ci[1], -c.ci[0])
    interval = f"{confidence:.0%} CI {_fmt(low, points)} to {_fmt(high, points)}"
    if c.n == 0:
        return f"No question was answered by both {c.name_a} and {c.name_b}: nothing to compare."
    if c.n == 1:
        return f"Only one question was answered by both: too few to compare {c.name_a} and {c.name_b}."
    if c.significant:
        better, worse = (c.name_b, c.name_a) if c.diff > 0 else (c.name_a, c.name_b)
        return f"{better} is better than {worse} by {size} ({interval}, p={c.p_value:.2g}, {c.n} questions)."
    zero = "includes zero" if c.ci[0] <= 0 <= c.ci[1] else "barely excludes zero but the test disagrees"
    return (
        f"The difference ({_fmt(c.diff, points)}{unit}) is within noise on {c.n} questions: the "
        f"{interval.replace(' CI', ' interval')} {zero} (p={c.p_value:.2g})."
    )


def compare_values(
    a: Values,
    b: Values,
    metric: str = "contains",
    *,
    name_a: str = "A",
    name_b: str = "B",
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """Compare two aligned per-question score lists (None entries dropped pairwise)."""
    xa, xb = (x.tolist() for x in paired_arrays(a, b))
    diff, low, high = paired_bootstrap_diff(xa, xb, confidence, n_resamples, seed)
    test, counts = paired_test(xa, xb), paired_outcomes(xa, xb)
    significant = bool(len(xa) > 1 and test["p_value"] < ALPHA and (low > 0 or high < 0))
    draft = Comparison(
        name_a,
        name_b,
        metric,
        len(xa),
        m.mean(xa),
        m.mean(xb),
        diff,
        (low, high),
        float(test["p_value"]),
        str(test["test"]),
        counts["wins"],
        counts["losses"],
        counts["ties"],
        significant,
        "",
    )
    points = all(0.0 <= v <= 1.0 for v in xa + xb)
    return replace(draft, verdict=verdict_text(draft, points, confidence))


def compare_variants(
    a_rows: Iterable[Any],
    b_rows: Iterable[Any],
    metric: str = "contains",
    *,
    name_a: str = "A",
    name_b: str = "B",
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """Compare two variants' result rows (objects or dicts) on the questions both answered without error."""
    a, b = _aligned(a_rows, b_rows, metric)
    return compare_values(
        a, b, metric, name_a=name_a, name_b=name_b, confidence=confidence, n_resamples=n_resamples, seed=seed
    )


def metric_cis(
    rows: Sequence[Any],
    names: Iterable[str],
    confidence: float = CONFIDENCE,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, tuple[float, float] | None]:
    """Bootstrap interval of the mean of every named metric over the rows (None when no row has it)."""
    out: dict[str, tuple[float, float] | None] = {}
    for name in names:
        values = [v for v in (metric_value(r, name) for r in rows) if v is not None]
        out[name] = m.bootstrap_ci(values, confidence, n_resamples, seed) if values else None
    return out


def repeat_spread(values_per_repeat: Sequence[Sequence[float | None]]) -> dict[str, float]:
    """Mean, sample std (ddof=1), min and max of the per-repeat means, for temperature > 0 repeats."""
    means = np.array([m.mean(values) for values in values_per_repeat], dtype=np.float64)
    if means.size == 0:
        return {"n_repeats": 0.0, "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    std = float(means.std(ddof=1)) if means.size > 1 else 0.0
    return {
        "n_repeats": float(means.size),
        "mean": float(means.mean()),
        "std": std,
        "min": float(means.min()),
        "max": float(means.max()),
    }
