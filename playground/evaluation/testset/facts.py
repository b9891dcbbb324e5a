"""Sentences worth asking about, and the short facts in them (numbers, dates, amounts, names) that make good
gold answers.

Measured on the fictional sample with the 0.5B model: asked to pick a sentence itself, it took sentence 1 (a
heading) 3 times out of 3 and invented its answers; given a sentence, it copied the sentence as the question 3
times out of 5; given a sentence and the fact to ask for, it wrote a real question 4 times out of 5. So the
generator picks the evidence sentence and, when the sentence holds one, the fact; the model writes the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_SENTENCE_WORDS, MAX_SENTENCE_WORDS = 6, 60
_STARTS_UNIT = re.compile(r"(?:[-*+•]\s|\d+[.)]\s|#|\|)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(€$£])")
_MARKER = re.compile(r"^(?:[-*+•]|\d+[.)]|#+)\s+")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_NUMBER_WORDS = "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred"
_NOT_UNITS = (
    "or|and|to|of|in|on|at|by|the|for|from|with|per|than|are|were|was|is|be|can|will|may|must|has|have|had|"
    "do|does|did|get|gets|more|less|after|before|each|every|all|that|which|who|a|an|its|their|our|your"
)
_UNIT = rf"(?:(?:working|business|calendar|consecutive|full)\s)?(?!(?:{_NOT_UNITS})\b)[a-z]{{3,12}}\b"
_FACT = re.compile(
    rf"\b\d{{1,2}} (?:{_MONTHS})(?: \d{{4}})?\b"  # 3 March 2014
    rf"|\b(?:{_MONTHS}) \d{{4}}\b"  # January 2024
    r"|[€$£]\s?\d+(?:[.,]\d+)*(?:\s?(?:million|billion|k)\b)?"  # €48, $1.5 million
    r"|(?<![\w.-])\d+(?:[.,:]\d+)*\s?(?:%|°C|°F|percent\b)"  # 20 percent, 70 °C
    rf"|(?<![\w.-])\d+(?:[.,:]\d+)*(?:\s{_UNIT})?"  # 27 days, 10 working days, 10:00, 214
    rf"|\b(?:{_NUMBER_WORDS})(?:-\w+)?\s{_UNIT}",  # four services, twenty-seven days
    re.I,
)
_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:[ \t]+[A-Z0-9][\w'’-]*)*")
_LOWER_WORD = re.compile(r"\b[a-z][\w'’-]*")


def _units(text: str) -> list[str]:
    """Paragraphs, list items, headings and table rows, with wrapped lines joined."""
    units: list[str] = []
    current: list[str] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or _STARTS_UNIT.match(line):
            units.append(" ".join(current))
            current = []
        if line:
            current.append(line)
        if line.startswith(("#", "|")):  # a heading or table row ends where its line ends
            units.append(" ".join(current))
            current = []
    units.append(" ".join(current))
    return [u for u in units if u]


def sentences(text: str) -> list[str]:
    """The text's sentences, list items, table rows and headings; each one is the document's own text up to
    whitespace, so the evidence locator finds it."""
    found: list[str] = []
    for unit in _units(text):
        flat = _MARKER.sub("", unit)
        found.extend(s.strip() for s in _SENTENCE.split(flat) if len(s.strip()) > 3)
    return found


def fact_sentences(text: str) -> list[str]:
    """Sentences long enough to carry a fact, and not headings or table rules."""
    return [
        s
        for s in sentences(text)
        if MIN_SENTENCE_WORDS <= len(s.split()) <= MAX_SENTENCE_WORDS and not s.startswith("|")
    ]


def lowercase_words(texts: Iterable[str]) -> set[str]:
    """Every word written in lower case somewhere: a capitalised one of these starts a sentence, not a name."""
    return {w for t in texts for w in _LOWER_WORD.findall(t)}


def _opens_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip(' \t"“(')
    return not before or before[-1] in ".!?:\n-*#|"


_DETERMINER_WORDS = "the a an our your their this that these those each every all any its"
_DETERMINERS = frozenset(_DETERMINER_WORDS.split())


def _trim(words: list[str], common: set[str], opens: bool) -> list[str]:
    """Without a capitalised word opening the sentence ("Members", "Cuts"), determiners ("The"), trailing
    common words ("Maintained") and a possessive 's; "Data Protection Officer" inside a sentence stays whole."""
    while words and (words[0].lower() in _DETERMINERS or (opens and words[0].lower() in common)):
        words, opens = words[1:], False
    while words and words[-1].lower() in common:
        words = words[:-1]
    if words:
        words[-1] = re.sub(r"['’]s$", "", words[-1])
    return words


def names(text: str, common: set[str]) -> set[str]:
    """Capitalised names ("Lisk Harbour", "Sproutvault Tower T9"): not words also written in lower case (so
    "The" or "Members" are not names), not a lone word opening a sentence, not headings in capitals."""
    found = set()
    for match in _NAME.finditer(text):
        raw = match.group().split()
        words = _trim(raw, common, _opens_sentence(text, match.start()))
        if not words or not words[0][0].isupper() or all(w.isupper() and len(w) > 3 for w in words):
            continue
        lone_opener = len(words) == 1 and words[0] == raw[0] and _opens_sentence(text, match.start())
        if len(words) > 1 or (len(words[0]) >= 4 and not lone_opener):
            found.add(" ".join(words))
    return found


def answer_candidates(sentence: str, common: set[str], exclude: Iterable[str] = ()) -> list[str]:
    """Short facts of the sentence that a question can ask for: amounts, dates and counts; names only when
    there are none (a name is often what the question must mention, and then it gives the answer away)."""
    skip = {e.lower() for e in exclude}
    facts = [m.group().strip(" ,.") for m in _FACT.finditer(sentence)]
    found = facts if facts else sorted(names(sentence, common))
    return list(dict.fromkeys(f for f in found if f and f.lower() not in skip))
