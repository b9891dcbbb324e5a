"""What a generation run made: the kept questions (in the project's question format), the rejected drafts with
their reasons, and the figures a progress bar and a summary need."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from playground.core.documents import Chunk
from playground.core.errors import InputError
from playground.ingest.questions import Evidence, Question, QuestionSet

Kind = Literal["single", "multi-hop", "unanswerable"]
KINDS: tuple[Kind, ...] = ("single", "multi-hop", "unanswerable")


@dataclass(frozen=True)
class GeneratedQuestion:
    """A question that passed every check, with the passages it was written from."""

    qid: str
    kind: Kind
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...] = ()
    chunks: tuple[Chunk, ...] = ()
    warnings: tuple[str, ...] = ()
    model: str = ""

    def to_question(self) -> Question:
        category = self.chunks[0].category if self.chunks else ""
        quotes = tuple(Evidence(quote=q) for q in self.evidence)
        return Question(self.qid, self.question, self.answers, quotes, self.kind, category)

    def to_row(self) -> dict[str, Any]:
        """One line of the question file: what `load_questions` reads, plus where the question came from."""
        return {
            "id": self.qid,
            "question": self.question,
            "answers": list(self.answers),
            "evidence": list(self.evidence),
            "type": self.kind,
            "category": self.chunks[0].category if self.chunks else "",
            "source_chunks": [c.chunk_id for c in self.chunks],
            "source_documents": [c.title or c.source or c.doc_id for c in self.chunks],
            "warnings": list(self.warnings),
            "generated_by": self.model,
        }


@dataclass(frozen=True)
class Rejection:
    """A draft that failed a check, and which one."""

    kind: str
    question: str
    answer: str
    chunk_id: str
    reason: str


@dataclass
class GenerationReport:
    """Filled in while a run goes on, so a stopped or failed run still holds what finished."""

    target: int = 0
    items: list[GeneratedQuestion] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    calls: int = 0
    constrained: int = 0  # replies that had to be asked again under the JSON grammar
    attempts: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    stopped: bool = False

    def reasons(self) -> dict[str, int]:
        """Rejections by reason, most frequent first."""
        return dict(Counter(r.reason for r in self.rejected).most_common())

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(i.kind for i in self.items))

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far, None before the first kept question."""
        if not self.items:
            return None
        return self.elapsed_s / len(self.items) * max(0, self.target - len(self.items))

    def per_minute(self) -> float:
        return 60.0 * len(self.items) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def question_set(self, name: str = "generated") -> QuestionSet:
        if not self.items:
            raise InputError("No question was kept, so there is no question set. " + " ".join(self.notes))
        return QuestionSet(name, tuple(i.to_question() for i in self.items))

    def jsonl(self) -> str:
        return "".join(json.dumps(i.to_row(), ensure_ascii=False) + "\n" for i in self.items)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.jsonl(), encoding="utf-8")

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in self.by_kind().items()) or "none"
        rejected = ", ".join(f"{r} {n}" for r, n in self.reasons().items()) or "none"
        warned = sum(1 for i in self.items if i.warnings)
        lines = [
            f"kept {len(self.items)} of {self.target} asked ({kinds}) in {self.elapsed_s:.0f} s, "
            f"{self.per_minute():.1f} per minute, {self.calls} model calls "
            f"({self.constrained} asked again under the JSON grammar)",
            f"rejected {len(self.rejected)}: {rejected}",
            f"warnings: {warned} answered right without the documents",
        ]
        return "\n".join(lines + self.notes)
