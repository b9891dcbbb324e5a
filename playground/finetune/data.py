"""Training data: question-answer-evidence items written by an LLM from a corpus's chunks, or taken from a
question set, filtered for quality, and split so no held-out question (or a paraphrase of it) is trained on.

Every item keeps the passage its answer comes from, so one set serves both trainings: (question -> answer) for
the LLM and (question, passage) pairs for the embedder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.core.answers import NOT_FOUND
from playground.core.documents import Chunk, Corpus
from playground.core.errors import InputError, StoppedError
from playground.evaluation.metrics import normalize_answer
from playground.evaluation.testset import GeneratedQuestion, GenerationReport, QuestionWriter, Rejection
from playground.evaluation.testset.facts import lowercase_words
from playground.ingest.questions import Evidence, EvidenceLocator, Question, QuestionSet, holds
from playground.models.llms import LLM

Progress = Callable[[int, int], None]
Rejected = Rejection


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


# --- building items: the evaluation's question generator, one passage at a time -----------------------------


def _training_item(kept: GeneratedQuestion, number: int) -> TrainingItem:
    chunk = kept.chunks[0]
    return TrainingItem(
        qid=f"syn-{number}",
        question=kept.question,
        answer=kept.answers[0],
        passage=chunk.text,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        evidence=kept.evidence,
    )


def generate_items(
    chunks: Sequence[Chunk],
    llm: LLM,
    *,
    per_chunk: int = 1,
    max_tokens: int = 200,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    report: BuildReport | None = None,
) -> BuildReport:
    """Up to `per_chunk` checked question-answer pairs per chunk, in order, written by the same generator as
    the evaluation's question sets (`playground.evaluation.testset`). Pass an earlier `report` to add to it."""
    report = report or BuildReport()
    written = GenerationReport()
    writer = QuestionWriter(
        llm,
        written,
        common_words=lowercase_words(c.text for c in chunks),
        max_tokens=max_tokens,
        seen=[i.question for i in report.items],
    )
    for done, chunk in enumerate(chunks, start=1):
        if should_stop and should_stop():
            raise StoppedError(f"Stopped after {done - 1} of {len(chunks)} chunks.")
        calls, rejected = written.calls, len(written.rejected)
        for kept in writer.single(chunk, per_chunk):
            report.items.append(_training_item(kept, len(report.items) + 1))
        report.rejected.extend(written.rejected[rejected:])
        report.calls += written.calls - calls
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
