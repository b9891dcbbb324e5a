"""Training data: question-answer-evidence items written by an LLM from a corpus's chunks, or taken from a
question set, filtered for quality, and split so no held-out question (or a paraphrase of it) is trained on.

Every item keeps the passage its answer comes from, so one set serves both trainings: (question -> answer) for
the LLM and (question, passage) pairs for the embedder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.core.documents import Chunk, Corpus
from playground.core.errors import InputError, StoppedError
from playground.evaluation.metrics import normalize_answer
from playground.ingest.questions import Evidence, EvidenceLocator, Question, QuestionSet, holds
from playground.models.llms import LLM
from playground.rag.prompts import NOT_FOUND

MIN_QUESTION_WORDS = 4
MAX_ANSWER_WORDS = 25
GENERATION_SYSTEM = "You write short quiz questions about a passage. You follow the reply format exactly."
GENERATION_PROMPT = (
    "Passage:\n{passage}\n\n"
    "Write {n} different questions that this passage answers, each with its answer: a short phrase copied "
    "exactly from the passage. Ask in your own words; do not copy sentences from the passage.\n"
    "Reply with {n} pair(s) of lines and nothing else:\nQ: <question>\nA: <answer>"
)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainingItem:
    """One question with its answer and the passage (chunk) the answer comes from."""

    qid: str
    question: str
    answer: str
    passage: str = ""
    chunk_id: str = ""
    doc_id: str = ""
    origin: str = "synthetic"
    evidence: tuple[str, ...] = ()

    @property
    def quotes(self) -> tuple[str, ...]:
        """What retrieval must find: the evidence quotes, else the whole passage."""
        return self.evidence or ((self.passage,) if self.passage else ())


@dataclass(frozen=True)
class Rejected:
    question: str
    answer: str
    chunk_id: str
    reason: str


@dataclass
class BuildReport:
    """What generation kept, and what it dropped with the reason (shown to the user as a table)."""

    items: list[TrainingItem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    calls: int = 0

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rejected:
            counts[r.reason] = counts.get(r.reason, 0) + 1
        return counts


_STOP_WORDS = (
    "a an the of to in on for is are was were what which who whom how when where why does do did and or "
    "with by at from as be it its this that there can"
)
_STOP = frozenset(_STOP_WORDS.split())


def content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in normalize_answer(text).split() if w not in _STOP)


def jaccard(a: str, b: str) -> float:
    left, right = content_words(a), content_words(b)
    return len(left & right) / len(left | right) if left | right else 1.0


# --- parsing what the LLM wrote -----------------------------------------------------------------------------

_LINE = re.compile(
    r"^\s*[-*\d.)\s]*(?:\*\*)?\s*(q|question|a|answer)\s*\d*\s*(?:\*\*)?\s*[:：]\s*(.*)$", re.I
)


def _clean(text: str) -> str:
    return text.strip().strip("*").strip().strip("\"'“”`").strip()


def _pairs_from_json(text: str) -> list[tuple[str, str]]:
    found = re.search(r"[\[{].*[\]}]", text, re.S)
    if not found:
        return []
    try:
        data = json.loads(found.group())
    except json.JSONDecodeError:
        return []
    rows = data if isinstance(data, list) else [data]
    return [
        (_clean(str(r.get("question", ""))), _clean(str(r.get("answer", ""))))
        for r in rows
        if isinstance(r, dict)
    ]


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """(question, answer) pairs from "Q: ... / A: ..." lines (any case, numbered or bold) or a JSON object."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        is_question = match.group(1).lower().startswith("q")
        if is_question:
            question = _clean(match.group(2))
        elif question is not None:
            pairs.append((question, _clean(match.group(2))))
            question = None
    return pairs or _pairs_from_json(text)


# --- quality ------------------------------------------------------------------------------------------------


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


def _grounded(answer: str, passage: str) -> bool:
    """The answer is in the passage: verbatim, or every content word of it is (word order may differ)."""
    if f" {answer} " in f" {passage} ":
        return True
    words = content_words(answer)
    return bool(words) and words <= set(passage.split())


def quality_problem(question: str, answer: str, passage: str) -> str | None:
    """Why a generated pair is not worth training on, or None when it is fine."""
    q_words, norm_answer = normalize_answer(question).split(), normalize_answer(answer)
    if len(q_words) < MIN_QUESTION_WORDS:
        return "question too short"
    if not norm_answer:
        return "no answer"
    if len(norm_answer.split()) > MAX_ANSWER_WORDS:
        return "answer too long"
    if not _grounded(norm_answer, normalize_answer(passage)):
        return "answer not in the passage"
    if f" {norm_answer} " in f" {' '.join(q_words)} ":
        return "question gives the answer away"
    run = _longest_common_run(q_words, normalize_answer(passage).split())
    if run >= 8 or (run >= 5 and run >= 0.7 * len(q_words)):
        return "question copies the passage"
    return None


def dedup_key(question: str) -> str:
    return normalize_answer(question)


# --- building items -----------------------------------------------------------------------------------------


def generation_messages(passage: str, n: int = 1) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": GENERATION_SYSTEM},
        {"role": "user", "content": GENERATION_PROMPT.format(passage=passage.strip(), n=n)},
    ]


def _keep(report: BuildReport, seen: set[str], chunk: Chunk, question: str, answer: str) -> None:
    problem = quality_problem(question, answer, chunk.text)
    if problem is None and dedup_key(question) in seen:
        problem = "duplicate question"
    if problem is not None:
        report.rejected.append(Rejected(question, answer, chunk.chunk_id, problem))
        return
    seen.add(dedup_key(question))
    report.items.append(
        TrainingItem(
            qid=f"syn-{len(report.items) + 1}",
            question=question,
            answer=answer,
            passage=chunk.text,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
        )
    )


def generate_items(
    chunks: Sequence[Chunk],
    llm: LLM,
    *,
    per_chunk: int = 1,
    max_tokens: int = 160,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    report: BuildReport | None = None,
) -> BuildReport:
    """Ask the LLM for `per_chunk` question-answer pairs per chunk; keep the ones that pass `quality_problem`
    and are not duplicates (after SQuAD normalisation). Pass an earlier `report` to add to it."""
    report = report or BuildReport()
    seen = {dedup_key(i.question) for i in report.items}
    for done, chunk in enumerate(chunks, start=1):
        if should_stop and should_stop():
            raise StoppedError(f"Stopped after {done - 1} of {len(chunks)} chunks.")
        reply = llm.chat(generation_messages(chunk.text, per_chunk), temperature=0.0, max_tokens=max_tokens)
        report.calls += 1
        pairs = parse_pairs(reply.text)
        if not pairs:
            report.rejected.append(
                Rejected("", reply.text[:120], chunk.chunk_id, "reply not in Q:/A: format")
            )
        for question, answer in pairs[:per_chunk]:
            _keep(report, seen, chunk, question, answer)
        if on_progress:
            on_progress(done, len(chunks))
    return report


def _best_chunk(spans: list[Any], chunks: Sequence[Chunk]) -> Chunk | None:
    for span in spans:
        for chunk in chunks:
            if holds(chunk, span):
                return chunk
    return None


def items_from_questions(
    questions: QuestionSet, corpus: Corpus, chunks: Sequence[Chunk]
) -> list[TrainingItem]:
    """A user question set as items; each answerable question gets the chunk that holds its first evidence."""
    locator, items = EvidenceLocator(corpus), []
    for q in questions.questions:
        spans = [s for found in locator.locate_all(q) for s in found]
        chunk = _best_chunk(spans, chunks)
        items.append(
            TrainingItem(
                qid=q.qid,
                question=q.question,
                answer=q.answers[0],
                passage=chunk.text if chunk else "",
                chunk_id=chunk.chunk_id if chunk else "",
                doc_id=chunk.doc_id if chunk else "",
                origin=f"questions:{questions.name}",
                evidence=tuple(e.quote for e in q.evidence if e.quote),
            )
        )
    return items


# --- conversions and files ----------------------------------------------------------------------------------


def as_question_set(items: Sequence[TrainingItem], name: str = "held-out") -> QuestionSet:
    """Held-out items as a question set the evaluation runs (evidence: quotes, else the passage)."""
    questions = tuple(
        Question(
            qid=i.qid,
            question=i.question,
            answers=(i.answer,),
            evidence=tuple(Evidence(quote=q) for q in i.quotes),
        )
        for i in items
    )
    if not questions:
        raise InputError("The held-out set is empty: hold out some questions first.")
    return QuestionSet(name, questions)


def answerable(items: Sequence[TrainingItem]) -> list[TrainingItem]:
    return [i for i in items if normalize_answer(i.answer) != normalize_answer(NOT_FOUND)]


def save_items(path: Path, items: Sequence[TrainingItem]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(asdict(i), ensure_ascii=False) + "\n" for i in items), encoding="utf-8"
    )


def load_items(path: Path) -> list[TrainingItem]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [TrainingItem(**(r | {"evidence": tuple(r.get("evidence", ()))})) for r in rows]
