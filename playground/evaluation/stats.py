"""Fair comparison of two variants on the same questions, for the small sets of a workshop (20-50 questions).

Every comparison is paired: question i of variant A is compared with question i of variant B, so the noise
from easy and hard questions cancels. A difference is called real only when the interval of the paired
difference excludes zero *and* the paired test agrees (p < 1 - confidence); otherwise the verdict says plainly
that there are not enough questions to tell the variants apart.

Tests and intervals, chosen so that they agree on small sets:
- 0/1 outcomes (contains, exact match, hit@k): the exact McNemar test (`scipy.stats.binomtest` with p = 1/2 on
  the discordant pairs: questions one variant got right and the other wrong), and its exact (Clopper-Pearson)
  interval for the share of those pairs B wins, turned into points of difference. The interval excludes zero
  exactly when the test's p is below 1 - confidence; a bootstrap on 20 questions does not (it gave "20 to 100"
  next to p=0.25).
- anything else (token F1, recall, similarity): the Wilcoxon signed-rank test (`scipy.stats.wilcoxon`,
  zero_method="wilcox": tied questions are dropped; all ties: p = 1.0) and a BCa bootstrap interval of the mean
  difference (`metrics.bootstrap_ci`). These can disagree on a few questions; then the verdict says so and
  calls it undecided.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from playground.evaluation import metrics as m

CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE
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
    """(mean of B - A, low, high): the BCa bootstrap interval of the mean per-question difference."""
    xa, xb = paired_arrays(a, b)
    diff = xb - xa
    centre = float(diff.mean()) if diff.size else 0.0
    low, high = m.bootstrap_ci(diff.tolist(), confidence, n_resamples, seed)
    return centre, low, high


def is_binary(values: Iterable[float]) -> bool:
    """Whether every value is 0 or 1, the case for the exact McNemar test."""
    return all(v in (0.0, 1.0) for v in values)


def mcnemar_exact(b_only: int, a_only: int) -> float:
    """Two-sided exact McNemar p from the discordant counts: binomtest(b_only, b_only + a_only, 0.5)."""
    from scipy.stats import binomtest

    n = b_only + a_only
    return 1.0 if n == 0 else float(binomtest(b_only, n, 0.5).pvalue)


def mcnemar_interval(b_only: int, a_only: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Interval of mean(B) - mean(A) over `n` paired 0/1 outcomes that agrees with `mcnemar_exact`.

    Given d = b_only + a_only discordant questions, mean(B) - mean(A) = d/n * (2s - 1), where s is the share
    of them B wins; the exact Clopper-Pearson interval of s (the inversion of the same binomial test) maps to
    the interval of the difference, so it excludes zero exactly when p < 1 - confidence.
    """
    from scipy.stats import binomtest

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    d = b_only + a_only
    if d == 0 or n == 0:
        return 0.0, 0.0
    share = binomtest(b_only, d, 0.5).proportion_ci(confidence, method="exact")
    return d / n * (2 * share.low - 1), d / n * (2 * share.high - 1)


def _wilcoxon(diff: np.ndarray) -> tuple[float, float]:
    """(statistic, p) of the signed-rank test; all ties give (0.0, 1.0) instead of scipy's warning and NaN."""
    from scipy.stats import wilcoxon

    diff = np.where(np.abs(diff) > _TIE_TOLERANCE, diff, 0.0)  # float noise such as 0.3 - 0.2 - 0.1 is a tie
    if not np.any(diff):
        return 0.0, 1.0
    result = wilcoxon(diff, zero_method="wilcox")
    return float(result.statistic), float(result.pvalue)


def _discordant(xa: np.ndarray, xb: np.ndarray) -> tuple[int, int]:
    """(questions only B got right, questions only A got right) for 0/1 outcomes."""
    return int(np.sum((xb == 1) & (xa == 0))), int(np.sum((xa == 1) & (xb == 0)))


def paired_test(a: Values, b: Values) -> dict[str, Any]:
    """The paired test that fits the data: {"test", "p_value", "statistic", "n"} (see the module doc)."""
    xa, xb = paired_arrays(a, b)
    if xa.size == 0:
        return {"test": NO_TEST, "p_value": 1.0, "statistic": 0.0, "n": 0}
    if is_binary(xa) and is_binary(xb):
        b_only, a_only = _discordant(xa, xb)
        return {
            "test": MCNEMAR,
            "p_value": mcnemar_exact(b_only, a_only),
            "statistic": float(b_only),
            "n": int(xa.size),
            "discordant": b_only + a_only,
        }
    statistic, p_value = _wilcoxon(xb - xa)
    return {"test": WILCOXON, "p_value": p_value, "statistic": statistic, "n": int(xa.size)}


def paired_interval(
    a: Values, b: Values, confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """(mean of B - A, low, high) by the interval that matches `paired_test` (see the module doc)."""
    xa, xb = paired_arrays(a, b)
    if xa.size and is_binary(xa) and is_binary(xb):
        low, high = mcnemar_interval(*_discordant(xa, xb), int(xa.size), confidence)
        return float((xb - xa).mean()), low, high
    return paired_bootstrap_diff(xa.tolist(), xb.tolist(), confidence, n_resamples, seed)


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


def _questions(k: int) -> str:
    return f"{k} question" if k == 1 else f"{k} questions"


def _record(c: Comparison, leader_is_b: bool) -> str:
    """Who won which questions, leader first, in words."""
    leader, other = (c.name_b, c.name_a) if leader_is_b else (c.name_a, c.name_b)
    won, lost = (c.wins, c.losses) if leader_is_b else (c.losses, c.wins)
    if c.test == MCNEMAR:
        return (
            f"{leader} was right on {_questions(won)} {other} missed, {other} on {lost} that {leader} missed"
        )
    return f"{leader} scored higher on {_questions(won)}, {other} on {lost}"


def verdict_text(c: Comparison, points: bool, confidence: float = CONFIDENCE) -> str:
    """The comparison in plain words for someone who is not a statistician: what to conclude, then the numbers.

    Example: "Not enough questions to tell prompt and rag apart: rag's lead of 20 points is within noise on
    20 questions (rag was right on 5 questions prompt missed, prompt on 1 that rag missed; p=0.22, 95%
    interval −9 to 40). Run more questions to tell."
    """
    if c.n == 0:
        return f"No question was answered by both {c.name_a} and {c.name_b}: nothing to compare."
    if c.n == 1:
        return f"Only one question was answered by both: too few to compare {c.name_a} and {c.name_b}."
    if c.wins == c.losses == 0:
        return f"{c.name_a} and {c.name_b} scored the same on all {c.n} questions: these questions cannot tell them apart."
    unit = " points" if points else ""
    leader_is_b = c.diff >= 0
    leader, other = (c.name_b, c.name_a) if leader_is_b else (c.name_a, c.name_b)
    low, high = c.ci if leader_is_b else (-c.ci[1], -c.ci[0])
    size = f"{_fmt(abs(c.diff), points)}{unit}"
    numbers = (
        f"{_record(c, leader_is_b)}; p={c.p_value:.2g}, {confidence:.0%} interval "
        f"{_fmt(low, points)} to {_fmt(high, points)}"
    )
    if c.significant:
        return f"{leader} is better than {other} by {size} on {c.n} questions ({numbers})."
    lead = f"{leader}'s lead of {size}" if c.diff else f"a difference of 0{unit}"
    verdict = (
        f"Not enough questions to tell {c.name_a} and {c.name_b} apart: {lead} is within noise on "
        f"{c.n} questions ({numbers})."
    )
    interval_excludes_zero = c.ci[0] > 0 or c.ci[1] < 0
    if interval_excludes_zero != (c.p_value < 1.0 - confidence):
        return f"{verdict} The interval and the paired test disagree, as they can on few questions: take it as undecided and run more questions."
    return f"{verdict} Run more questions to tell."


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
    diff, low, high = paired_interval(xa, xb, confidence, n_resamples, seed)
    test, counts = paired_test(xa, xb), paired_outcomes(xa, xb)
    significant = bool(len(xa) > 1 and test["p_value"] < 1.0 - confidence and (low > 0 or high < 0))
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
