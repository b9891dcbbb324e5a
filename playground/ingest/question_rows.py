"""A question set as rows a person edits: what the browser's question table shows, checks, saves and exports.

A row is one question as typed: gold answers and evidence quotes as lists, a kind and a "reviewed" mark. Rows
become a `QuestionSet` for evaluations, JSONL or CSV files that `parse_questions` reads back (so
`playground eval --questions` accepts them) and records for the experiment store. Each row gets a check:
whether its evidence is found in the corpus, where (document, characters, chunk), and a message that says what
to fix. A row that cannot be a question yet (no question, no gold answer) is kept, so nothing typed is lost,
but left out of the question set.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from playground.core.answers import NOT_FOUND
from playground.core.documents import Chunk, Corpus
from playground.core.errors import InputError
from playground.ingest.questions import Evidence, EvidenceLocator, Question, QuestionSet, Span, holds

KINDS = ("single", "multi-hop", "unanswerable")
SEPARATOR = "|"
CSV_COLUMNS = ("id", "question", "answers", "evidence", "type", "category", "reviewed")
_KNOWN_KEYS = frozenset(
    ["id", "qid", "question", "answers", "answer", "evidence", "type", "kind", "category", "reviewed"]
)
_TRUE = {"true", "yes", "1", "x", "y"}


@dataclass(frozen=True)
class QuestionRow:
    """One question as the table shows it; `extra` keeps fields the table does not show (a source chunk)."""

    question: str = ""
    answers: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    kind: str = "single"
    reviewed: bool = False
    qid: str = ""
    category: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def blank(self) -> bool:
        return not (self.question.strip() or self.answers or self.evidence)


@dataclass(frozen=True)
class RowCheck:
    """What the table says about a row: usable as a question, evidence found ("yes", "no", "1 of 2", ...),
    where it was found, and a message ("" when all is well)."""

    usable: bool
    found: str
    where: str
    message: str


# --- cells: several values in one text cell -----------------------------------------------------------------


def split_cell(text: Any) -> tuple[str, ...]:
    """'30 days | thirty days' -> ('30 days', 'thirty days'); empty pieces are dropped."""
    if text is None or (isinstance(text, float) and text != text):  # None or NaN from a table
        return ()
    return tuple(p.strip() for p in str(text).split(SEPARATOR) if p.strip())


def join_cell(values: Iterable[str]) -> str:
    return f" {SEPARATOR} ".join(values)


def _evidence_text(evidence: Evidence) -> str:
    if evidence.quote or evidence.start is None or evidence.end is None:
        return evidence.quote
    return f"{evidence.doc_id}[{evidence.start}:{evidence.end}]"


def evidence_cell(evidence: Sequence[Evidence]) -> str:
    """The evidence as one cell: quotes separated by '|' (a quoteless span shows as doc[start:end])."""
    return join_cell(_evidence_text(e) for e in evidence)


def evidence_from_cell(text: Any, previous: Sequence[Evidence] = ()) -> tuple[Evidence, ...]:
    """The evidence typed in a cell; the previous evidence (with its document and span) while unchanged."""
    quotes = split_cell(text)
    if quotes == split_cell(evidence_cell(previous)):
        return tuple(previous)
    return tuple(Evidence(quote=q) for q in quotes)


# --- records: the stored form, also one JSONL line ----------------------------------------------------------


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return split_cell(value)


def _evidence_list(value: Any) -> tuple[Evidence, ...]:
    if not isinstance(value, list | tuple):
        return tuple(Evidence(quote=q) for q in split_cell(value))
    return tuple(
        Evidence(str(v.get("quote", "")), str(v.get("doc_id", "")), v.get("start"), v.get("end"))
        if isinstance(v, Mapping)
        else Evidence(quote=str(v))
        for v in value
        if v
    )


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def row_from_record(record: Mapping[str, Any]) -> QuestionRow:
    """A row from a stored record or a JSONL line ('answer'/'answers', 'type'/'kind', 'id'/'qid')."""
    answers = record.get("answers", record.get("answer"))
    return QuestionRow(
        question=str(record.get("question") or "").strip(),
        answers=_strings(answers),
        evidence=_evidence_list(record.get("evidence")),
        kind=str(record.get("type") or record.get("kind") or "single"),
        reviewed=_flag(record.get("reviewed")),
        qid=str(record.get("id") or record.get("qid") or ""),
        category=str(record.get("category") or ""),
        extra={k: v for k, v in record.items() if k not in _KNOWN_KEYS},
    )


def rows_from_records(records: Iterable[Mapping[str, Any]]) -> list[QuestionRow]:
    return [row_from_record(r) for r in records]


def _evidence_record(evidence: Evidence) -> str | dict[str, Any]:
    if not evidence.doc_id and evidence.start is None:
        return evidence.quote
    return {"quote": evidence.quote, "doc_id": evidence.doc_id, "start": evidence.start, "end": evidence.end}


def to_record(row: QuestionRow) -> dict[str, Any]:
    """The row in the project's question format (what `parse_questions` reads), plus 'reviewed'."""
    record = dict(row.extra) | {
        "id": row.qid,
        "question": row.question.strip(),
        "answers": list(row.answers),
        "evidence": [_evidence_record(e) for e in row.evidence],
        "type": row.kind,
        "reviewed": row.reviewed,
    }
    return record | ({"category": row.category} if row.category else {})


def rows_from_question_set(questions: QuestionSet) -> list[QuestionRow]:
    """A question set as rows, none of them marked reviewed yet."""
    return [
        QuestionRow(q.question, q.answers, q.evidence, q.qtype, False, q.qid, q.category)
        for q in questions.questions
    ]


# --- ids, questions, files ----------------------------------------------------------------------------------


def with_ids(rows: Sequence[QuestionRow]) -> list[QuestionRow]:
    """Every non-blank row with a unique id: a missing or repeated id gets the next free 'qN'."""
    used: set[str] = set()
    keep = []
    for row in rows:
        keep.append(bool(row.qid) and row.qid not in used)
        used.add(row.qid)
    counter = 0
    out = []
    for row, kept in zip(rows, keep, strict=True):
        if not kept and not row.blank:
            counter += 1
            while f"q{counter}" in used:
                counter += 1
            used.add(f"q{counter}")
            row = replace(row, qid=f"q{counter}")
        out.append(row)
    return out


def problems(row: QuestionRow) -> list[str]:
    """Why a row cannot be a question yet (empty when it can)."""
    if row.blank:
        return ["empty row: type a question and its gold answer, or delete the row"]
    found = [] if row.question.strip() else ["no question: type one, or delete the row"]
    if not row.answers:
        found.append(
            f'no gold answer: type one (several separated by "{SEPARATOR}"), or "{NOT_FOUND}" when the '
            "documents do not answer it"
        )
    return found


def to_question(row: QuestionRow) -> Question | None:
    if problems(row):
        return None
    return Question(row.qid, row.question.strip(), row.answers, row.evidence, row.kind, row.category)


def to_question_set(rows: Sequence[QuestionRow], name: str) -> QuestionSet:
    """The usable rows as a question set; the others are named in its warnings. Raises InputError if none is."""
    numbered = list(enumerate(with_ids(rows), start=1))
    warnings = tuple(
        f"row {i}: {'; '.join(problems(r))}, left out" for i, r in numbered if problems(r) and not r.blank
    )
    questions = tuple(q for _, r in numbered if (q := to_question(r)) is not None)
    if not questions:
        if not warnings:
            raise InputError(
                "The table is empty. Add a row per question with its gold answer, then save or use it."
            )
        raise InputError("No row of the table is a usable question yet. " + "; ".join(warnings[:3]))
    return QuestionSet(name, questions, warnings, content_hash(rows))


def content_hash(rows: Sequence[QuestionRow]) -> str:
    """A short hash of what a run is scored on: the usable rows' ids, questions, answers, evidence and kinds
    (not the 'reviewed' marks, so reviewing a set keeps its runs comparable)."""
    scored = [
        (r.qid, r.question.strip(), r.answers, [_evidence_record(e) for e in r.evidence], r.kind, r.category)
        for r in with_ids(rows)
        if not problems(r)
    ]
    return hashlib.sha256(json.dumps(scored, ensure_ascii=False).encode()).hexdigest()[:16]


def to_jsonl(rows: Sequence[QuestionRow]) -> str:
    """Every non-blank row as one JSON line (ids filled in); `playground eval --questions` reads the file."""
    return "".join(json.dumps(to_record(r), ensure_ascii=False) + "\n" for r in with_ids(rows) if not r.blank)


def _csv_cell(values: Sequence[str]) -> str:
    # parse_questions splits a CSV cell on '|' unless it is a JSON list: a value holding '|' needs the list
    if any(SEPARATOR in v for v in values) or (values and values[0].startswith("[")):
        return json.dumps(list(values), ensure_ascii=False)
    return SEPARATOR.join(values)


def to_csv(rows: Sequence[QuestionRow]) -> str:
    """Every non-blank row as CSV; evidence keeps its quotes (JSONL also keeps document spans)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in (r for r in with_ids(rows) if not r.blank):
        quotes = [e.quote for e in r.evidence if e.quote]
        writer.writerow(
            (r.qid, r.question, _csv_cell(r.answers), _csv_cell(quotes), r.kind, r.category, r.reviewed)
        )
    return out.getvalue()


# --- checks: usable, evidence found and where, notes --------------------------------------------------------


@dataclass
class _Where:
    """Finds a piece of evidence in the corpus and says where: document, characters and chunk."""

    corpus: Corpus
    chunks: Sequence[Chunk]
    locator: EvidenceLocator
    _by_doc: dict[str, list[Chunk]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for chunk in self.chunks:
            self._by_doc.setdefault(chunk.doc_id, []).append(chunk)

    def spans(self, evidence: Evidence) -> list[Span]:
        known = {d.doc_id for d in self.corpus.documents}
        return [s for s in self.locator.locate(evidence) if s.doc_id in known]

    def describe(self, span: Span) -> str:
        doc_chunks = self._by_doc.get(span.doc_id, [])
        numbers = [i for i, c in enumerate(doc_chunks, start=1) if holds(c, span)]
        chunk = f", chunk {numbers[0]} of {len(doc_chunks)}" if numbers else ""
        return f"{span.doc_id}, characters {span.start}-{span.end}{chunk}"


def _evidence_check(row: QuestionRow, where: _Where | None) -> tuple[str, str, list[str]]:
    if not row.evidence:
        return "none given", "", []
    if where is None:
        return "no corpus", "", []
    places, missing = [], []
    for number, piece in enumerate(row.evidence, start=1):
        spans = where.spans(piece)
        if not spans:
            missing.append(number)
            continue
        more = f" (and {len(spans) - 1} more)" if len(spans) > 1 else ""
        places.append(where.describe(spans[0]) + more)
    total, found = len(row.evidence), len(row.evidence) - len(missing)
    label = "yes" if not missing else "no" if not found else f"{found} of {total}"
    notes = [] if not missing else [_not_found_note(missing, total)]
    return label, "; ".join(places), notes


def _not_found_note(missing: list[int], total: int) -> str:
    which = "" if total == 1 else f" (piece {', '.join(map(str, missing))})"
    return (
        f"evidence not found in the documents{which}: copy the quote exactly as a document writes it, "
        "or leave it out"
    )


def _kind_notes(row: QuestionRow) -> list[str]:
    says_not_found = bool(row.answers) and all(a.strip().lower() == NOT_FOUND for a in row.answers)
    if row.kind not in KINDS:
        return [f"unknown kind '{row.kind}': choose {', '.join(KINDS)}"]
    if row.kind == "unanswerable" and row.answers and not says_not_found:
        return [f'marked unanswerable but the gold answer is not "{NOT_FOUND}": change one of them']
    if row.kind != "unanswerable" and says_not_found:
        return ["the gold answer says the documents do not answer it: set the kind to unanswerable"]
    return []


def check_rows(
    rows: Sequence[QuestionRow],
    corpus: Corpus | None = None,
    chunks: Sequence[Chunk] = (),
    locator: EvidenceLocator | None = None,
) -> list[RowCheck]:
    """A check per row; `chunks` (the corpus cut as the index cuts it) say which chunk holds the evidence.

    Pass a `locator` for `corpus` to reuse its normalised documents between calls."""
    where = None if corpus is None else _Where(corpus, chunks, locator or EvidenceLocator(corpus))
    seen: dict[str, int] = {}
    return [_check(row, number, where, seen.setdefault) for number, row in enumerate(rows, start=1)]


def _check(
    row: QuestionRow, number: int, where: _Where | None, first_seen: Callable[[str, int], int]
) -> RowCheck:
    blocking = problems(row)
    if row.blank:
        return RowCheck(False, "", "", blocking[0])
    found, place, notes = _evidence_check(row, where)
    text = " ".join(row.question.lower().split())
    first = first_seen(text, number) if text else number
    duplicate = [f"same question as row {first}"] if first != number else []
    return RowCheck(not blocking, found, place, "; ".join(blocking + notes + _kind_notes(row) + duplicate))
