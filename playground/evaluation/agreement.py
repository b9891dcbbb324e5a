"""How far raters agree on the same answers: a person's verdicts, the LLM judge's, and the string metrics read as
verdicts (`contains`; token F1 >= 0.5). Agreement share and Cohen's kappa, which discounts the agreement two
raters reach by chance (a judge that says "yes" to everything agrees often on a run of mostly right answers).

Verdicts are labels: "yes", "partial", "no". The string metrics give only "yes" or "no", so a partial answer the
person marked "partial" counts as a disagreement with them: the table states exact agreement, never a rounded one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from playground.evaluation.judge_rubrics import JUDGE_CORRECT, VERDICT_SCORES

HUMAN = "human"
HUMAN_VERDICTS = tuple(VERDICT_SCORES)  # yes, partial, no: the judge's verdicts, scored alike
F1_THRESHOLD = 0.5
RATERS = {
    JUDGE_CORRECT: "LLM judge (judge_correct)",
    "contains": "contains the gold answer",
    "token_f1": f"token F1 >= {F1_THRESHOLD}",
}


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when it is undefined (no items, or both
    raters gave one and the same label to everything, so chance agreement is 1).

    >>> cohen_kappa(["yes", "yes", "no", "no"], ["yes", "no", "no", "no"])
    0.5
    """
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def metric_verdict(metric: str, value: float | None) -> str | None:
    """A string metric's score read as a verdict: contains 1 -> yes; token F1 at or above the threshold -> yes."""
    if value is None:
        return None
    floor = F1_THRESHOLD if metric == "token_f1" else 1.0
    return "yes" if value >= floor else "no"


def judge_verdict(row: Mapping[str, Any]) -> str | None:
    """The LLM judge's verdict on a row (a result row's dict), None when it did not judge or its reply was unread."""
    found = ((row.get("judge") or {}).get(JUDGE_CORRECT)) or {}
    verdict = found.get("verdict")
    return str(verdict) if found.get("score") is not None and verdict in VERDICT_SCORES else None


def rater_verdict(rater: str, row: Mapping[str, Any]) -> str | None:
    """What `rater` (human, judge_correct, contains, token_f1) said of a row, None when it said nothing."""
    if rater == HUMAN:
        found = row.get(HUMAN)
        return str(found) if found in VERDICT_SCORES else None
    if rater == JUDGE_CORRECT:
        return judge_verdict(row)
    return metric_verdict(rater, (row.get("metrics") or {}).get(rater))


@dataclass(frozen=True)
class Agreement:
    """How one rater agrees with the reference rater on the answers both labelled."""

    rater: str
    label: str
    n: int
    agreement: float | None
    kappa: float | None


def agreement(rows: Sequence[Mapping[str, Any]], rater: str, reference: str = HUMAN) -> Agreement:
    """Agreement share and Cohen's kappa of `rater` with `reference`, over the rows both gave a verdict on."""
    pairs = [
        (r, x)
        for row in rows
        if (r := rater_verdict(reference, row)) is not None and (x := rater_verdict(rater, row)) is not None
    ]
    ref, other = [p[0] for p in pairs], [p[1] for p in pairs]
    share = sum(x == y for x, y in pairs) / len(pairs) if pairs else None
    return Agreement(rater, RATERS.get(rater, rater), len(pairs), share, cohen_kappa(ref, other))


def agreement_table(rows: Sequence[Mapping[str, Any]], reference: str = HUMAN) -> list[Agreement]:
    """Each rater (the judge, contains, token F1) against the reference, on the rows it labelled."""
    return [agreement(rows, rater, reference) for rater in RATERS]


def human_score(verdict: str | None) -> float | None:
    """The `human` metric of a verdict: yes 1, partial 0.5, no 0; None when the answer is not labelled."""
    return VERDICT_SCORES.get(verdict) if verdict else None
