"""The checks every written question must pass, each failing one a reason that is counted and shown.

Words are compared after SQuAD normalisation (lower case, no punctuation or articles), so "The 40-litre tank"
and "40 litre tank" count as the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from playground.evaluation.metrics import normalize_answer

MIN_QUESTION_WORDS = 4
MAX_ANSWER_WORDS = 25
NEAR_DUPLICATE_JACCARD = 0.8

_STOP_WORDS = (
    "a an the of to in on for is are was were what which who whom how when where why does do did and or "
    "with by at from as be it its this that there can"
)
_STOP = frozenset(_STOP_WORDS.split())
_POINTS_AT_TEXT = re.compile(r"\b(?:passage|text above|this (?:document|text|section|sentence))\b", re.I)


def content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in normalize_answer(text).split() if w not in _STOP)


def jaccard(a: str, b: str) -> float:
    left, right = content_words(a), content_words(b)
    return len(left & right) / len(left | right) if left | right else 1.0


def dedup_key(question: str) -> str:
    return normalize_answer(question)


def _longest_common_run(a: list[str], b: list[str]) -> int:
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def supported(answer: str, evidence: str) -> bool:
    """The answer is in the evidence: verbatim, or every content word of it is (word order may differ)."""
    norm_answer, norm_evidence = normalize_answer(answer), normalize_answer(evidence)
    if norm_answer and f" {norm_answer} " in f" {norm_evidence} ":
        return True
    words = content_words(answer)
    return bool(words) and words <= set(norm_evidence.split())


def copies(question: str, passage: str) -> bool:
    """The question is a sentence of the passage rather than a question in its own words."""
    q_words = normalize_answer(question).split()
    run = _longest_common_run(q_words, normalize_answer(passage).split())
    return run >= 8 or (run >= 5 and run >= 0.7 * len(q_words))


def question_problem(question: str, passage: str) -> str | None:
    if len(normalize_answer(question).split()) < MIN_QUESTION_WORDS:
        return "question too short"
    if _POINTS_AT_TEXT.search(question):
        return "question points at the passage instead of naming its subject"
    if copies(question, passage):
        return "question copies the passage"
    return None


def answer_problem(question: str, answer: str, evidence: str) -> str | None:
    """Why an answer cannot be a gold answer for this question and evidence, or None when it can."""
    norm_answer = normalize_answer(answer)
    if not norm_answer:
        return "no answer"
    if len(norm_answer.split()) > MAX_ANSWER_WORDS:
        return "answer too long"
    if not supported(answer, evidence):
        return "answer not supported by the evidence"
    if gives_away(question, answer):
        return "question gives the answer away"
    return None


def _stems(text: str) -> set[str]:
    """Normalised words, each also without a final "s" (so "Brack's" and "Brack" match)."""
    words = normalize_answer(text).split()
    return {*words, *(w[:-1] for w in words if w.endswith("s"))}


def gives_away(question: str, answer: str) -> bool:
    """The question already holds the answer: its words, or all the answer's content words."""
    norm_answer = normalize_answer(answer)
    if f" {norm_answer} " in f" {normalize_answer(question)} ":
        return True
    words = content_words(answer)
    return bool(words) and words <= _stems(question)


def near_duplicate(question: str, kept: Iterable[str]) -> bool:
    key = dedup_key(question)
    return any(key == dedup_key(k) or jaccard(question, k) >= NEAR_DUPLICATE_JACCARD for k in kept)
