"""Question sets (JSONL or CSV) with gold answers and gold evidence, and locating that evidence in a corpus.

Evidence is a quote from the corpus (or a doc id with a character span). Quotes are found in the documents by
text, whitespace-insensitively, so retrieval metrics work for any chunking: a chunk "holds" a piece of evidence
when it covers at least half of that evidence's characters.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core.answers import NOT_FOUND
from playground.core.documents import Chunk, Corpus
from playground.core.errors import InputError

ANSWER_COLUMNS = ("answers", "answer")


@dataclass(frozen=True)
class Evidence:
    quote: str = ""
    doc_id: str = ""
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()
    qtype: str = "single"
    category: str = ""

    @property
    def answerable(self) -> bool:
        return any(a.strip().lower() != NOT_FOUND for a in self.answers)


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: tuple[Question, ...]
    warnings: tuple[str, ...] = ()
    content_hash: str = ""

    def subset(self, limit: int | None = None, ids: list[str] | None = None) -> QuestionSet:
        chosen = [q for q in self.questions if ids is None or q.qid in ids][:limit]
        return QuestionSet(self.name, tuple(chosen), self.warnings, self.content_hash)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return _as_list(json.loads(text))
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in text.split("|") if p.strip()]


def _evidence(value: Any) -> tuple[Evidence, ...]:
    items = value if isinstance(value, list) else _as_list(value)
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append(
                Evidence(
                    quote=str(item.get("quote", "")),
                    doc_id=str(item.get("doc_id", "")),
                    start=item.get("start"),
                    end=item.get("end"),
                )
            )
        elif str(item).strip():
            out.append(Evidence(quote=str(item)))
    return tuple(out)


def _question(row: dict[str, Any], number: int, warnings: list[str]) -> Question | None:
    text = str(row.get("question") or "").strip()
    answers = _as_list(next((row[c] for c in ANSWER_COLUMNS if c in row), None))
    if not text:
        warnings.append(f"row {number}: empty question, skipped")
        return None
    if not answers:
        warnings.append(
            f'row {number}: no gold answer, skipped (use "{NOT_FOUND}" for unanswerable questions)'
        )
        return None
    return Question(
        qid=str(row.get("id") or row.get("qid") or f"q{number}"),
        question=text,
        answers=tuple(answers),
        evidence=_evidence(row.get("evidence")),
        qtype=str(row.get("type") or "single"),
        category=str(row.get("category") or ""),
    )


def _rows_from_jsonl(text: str, name: str) -> list[dict[str, Any]]:
    rows, bad = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            bad.append(number)
            continue
        rows.append(value if isinstance(value, dict) else {"_bad": number})
    if bad and not rows:
        raise InputError(
            f"{name}: no line is valid JSON (first bad line: {bad[0]}). Each line must be one JSON object."
        )
    return rows + [{"_bad": n} for n in bad]


def _rows_from_csv(text: str) -> list[dict[str, Any]]:
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


def _check_columns(rows: list[dict[str, Any]], name: str) -> None:
    columns = {k for r in rows for k in r if k != "_bad"}
    missing = [c for c in ("question",) if c not in columns]
    if not any(c in columns for c in ANSWER_COLUMNS):
        missing.append("answers")
    if missing:
        found = ", ".join(sorted(columns)) or "none"
        raise InputError(
            f"{name} is missing the column(s) {', '.join(missing)} (found: {found}). A question set "
            "needs 'question' and 'answers' (several golds separated by '|'), optionally 'evidence'."
        )


def parse_questions(name: str, data: bytes) -> QuestionSet:
    """Read a question set from JSONL or CSV bytes; bad rows are skipped and reported in `warnings`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 text. Save it as UTF-8 and upload again.") from None
    if not text.strip():
        raise InputError(f"{name} is empty. A question set needs a 'question' and an 'answers' column.")
    rows = _rows_from_csv(text) if name.lower().endswith(".csv") else _rows_from_jsonl(text, name)
    _check_columns(rows, name)
    warnings: list[str] = []
    questions, seen = [], set()
    for number, row in enumerate(rows, start=1):
        if "_bad" in row:
            warnings.append(f"line {row['_bad']}: not a JSON object, skipped")
            continue
        q = _question(row, number, warnings)
        if q is None:
            continue
        if q.qid in seen:
            warnings.append(f"row {number}: duplicate id {q.qid}, skipped")
            continue
        seen.add(q.qid)
        questions.append(q)
    if not questions:
        raise InputError(f"{name} has no usable question. " + "; ".join(warnings[:3]))
    return QuestionSet(
        Path(name).stem, tuple(questions), tuple(warnings), hashlib.sha256(data).hexdigest()[:16]
    )


def load_questions(path: Path) -> QuestionSet:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"Question file not found: {path}. Check the path.") from None
    return parse_questions(Path(path).name, data)


# --- locating evidence --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int


_SPACE = re.compile(r"\s+")


@dataclass
class EvidenceLocator:
    """Finds quotes in a corpus, ignoring differences in whitespace."""

    corpus: Corpus
    _normalised: dict[str, tuple[str, list[int]]] = field(default_factory=dict)

    def _norm(self, doc_id: str, text: str) -> tuple[str, list[int]]:
        if doc_id not in self._normalised:
            chars, positions = [], []
            for match in re.finditer(r"\S+|\s+", text):
                piece = " " if match.group().isspace() else match.group()
                offset = match.start()
                for i, ch in enumerate(piece):
                    chars.append(ch)
                    positions.append(offset + i)
            positions.append(len(text))
            self._normalised[doc_id] = ("".join(chars), positions)
        return self._normalised[doc_id]

    def locate(self, evidence: Evidence) -> list[Span]:
        if evidence.doc_id and evidence.start is not None and evidence.end is not None:
            return [Span(evidence.doc_id, int(evidence.start), int(evidence.end))]
        quote = _SPACE.sub(" ", evidence.quote).strip()
        if not quote:
            return []
        spans = []
        for doc in self.corpus.documents:
            if evidence.doc_id and doc.doc_id != evidence.doc_id:
                continue
            norm, positions = self._norm(doc.doc_id, doc.text)
            at = norm.find(quote)
            if at >= 0:
                spans.append(Span(doc.doc_id, positions[at], positions[at + len(quote) - 1] + 1))
        return spans

    def locate_all(self, question: Question) -> list[list[Span]]:
        """For each evidence piece, where it occurs (an empty list when it is not in the corpus)."""
        return [self.locate(e) for e in question.evidence]


def holds(chunk: Chunk, span: Span) -> bool:
    """A chunk holds a span when it covers at least half of it."""
    if chunk.doc_id != span.doc_id:
        return False
    overlap = min(chunk.end, span.end) - max(chunk.start, span.start)
    return overlap > 0 and overlap * 2 >= span.end - span.start
