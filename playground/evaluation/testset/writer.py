"""One question written from one source, checked, and kept or rejected with a counted reason.

This is the one generator behind both the evaluation question sets and the fine-tuning data builder.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from playground.core.answers import NOT_FOUND
from playground.core.documents import Chunk, Corpus
from playground.evaluation.metrics import contains_gold, normalize_answer, token_f1
from playground.evaluation.structured import Schema, ask_json
from playground.evaluation.testset import checks, facts, prompts
from playground.evaluation.testset.report import GeneratedQuestion, GenerationReport, Kind, Rejection
from playground.ingest.questions import Evidence, EvidenceLocator
from playground.models.llms import LLM, Message

Answerer = Callable[[str], str]
CLOSED_BOOK_F1 = 0.8


@dataclass(frozen=True)
class DocumentChecks:
    """What the checks ask of a model: its answer with no documents (the "answerable without the documents"
    warning), and whether retrieval over the corpus finds support for a question (an unanswerable question
    must find none)."""

    closed_book: Answerer | None = None
    supported: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Draft:
    """A question as the model wrote it, with its gold answer and evidence sentences."""

    question: str
    answer: str
    evidence: tuple[str, ...]


class QuestionWriter:
    """Asks the model, checks each draft, and records the outcome in `report` (kept items and rejections)."""

    def __init__(
        self,
        llm: LLM,
        report: GenerationReport,
        *,
        corpus: Corpus | None = None,
        checks: DocumentChecks | None = None,
        common_words: set[str] | None = None,
        seed: int = 0,
        max_tokens: int = 200,
        seen: Sequence[str] = (),
    ) -> None:
        self.llm, self.report, self.max_tokens, self.seed = llm, report, max_tokens, seed
        self.checks = checks or DocumentChecks()
        self.common = common_words if common_words is not None else set()
        self._locator = EvidenceLocator(corpus) if corpus is not None else None
        self._seen = [*seen, *(i.question for i in report.items)]

    def single(self, chunk: Chunk, n: int = 1) -> list[GeneratedQuestion]:
        """Up to `n` questions, each about another fact sentence of the chunk, in one model call."""
        candidates = facts.fact_sentences(chunk.text)
        random.Random(f"{self.seed}:{chunk.chunk_id}").shuffle(candidates)
        candidates.sort(key=lambda s: not self._answers(chunk, s))  # a known fact first
        if not candidates:
            return self._reject("single", "", "", chunk, "no sentence with a fact to ask about")
        drafts = (
            self._single_draft(chunk, candidates[0]) if n == 1 else self._batch_drafts(chunk, candidates, n)
        )
        kept = [self._keep("single", d, (chunk,)) for d in drafts]
        return [k for k in kept if k is not None]

    def multi(self, first: Chunk, second: Chunk, name: str) -> list[GeneratedQuestion]:
        """A question about a fact of `second` reached through what `first` says of the name both mention."""
        linked = self._linking_sentences(first, second, name)
        if linked is None:
            return self._reject("multi-hop", "", "", first, "no fact linking the two passages")
        sentence_a, sentence_b, answer = linked
        messages = prompts.multi(first, sentence_a, second, sentence_b, name, answer)
        data = self._ask("multi-hop", messages, prompts.QUESTION_SCHEMA, first)
        if data is None:
            return []
        draft = Draft(_text(data.get("question")), answer, (sentence_a, sentence_b))
        if normalize_answer(name) in normalize_answer(draft.question):
            return self._reject(
                "multi-hop", draft.question, answer, first, "names the shared name: one passage answers it"
            )
        if not checks.content_words(draft.question) & (
            checks.content_words(sentence_a) - checks.content_words(sentence_b)
        ):
            return self._reject("multi-hop", draft.question, answer, first, "does not use the first passage")
        item = self._keep("multi-hop", draft, (first, second))
        return [item] if item is not None else []

    def unanswerable(self, chunk: Chunk) -> list[GeneratedQuestion]:
        data = self._ask("unanswerable", prompts.unanswerable(chunk), prompts.QUESTION_SCHEMA, chunk)
        if data is None:
            return []
        question = _text(data.get("question"))
        problem = self._question_problem(question, chunk.text)
        supported = self.checks.supported
        if problem is None and supported is not None and supported(question):
            problem = "the documents may answer it"
        if problem is not None:
            return self._reject("unanswerable", question, "", chunk, problem)
        return [self._add("unanswerable", Draft(question, NOT_FOUND, ()), (chunk,), ())]

    # --- steps ----------------------------------------------------------------------------------------------

    def _answers(self, chunk: Chunk, sentence: str) -> list[str]:
        return facts.answer_candidates(sentence, self.common, exclude=[chunk.title])

    def _pick(self, chunk: Chunk, sentence: str) -> str:
        return random.Random(f"{self.seed}:{sentence}").choice(self._answers(chunk, sentence))

    def _single_draft(self, chunk: Chunk, sentence: str) -> list[Draft]:
        if self._answers(chunk, sentence):
            answer = self._pick(chunk, sentence)
            data = self._ask(
                "single", prompts.for_answer(chunk, sentence, answer), prompts.QUESTION_SCHEMA, chunk
            )
            return [Draft(_text(data.get("question")), answer, (sentence,))] if data is not None else []
        data = self._ask("single", prompts.open_fact(chunk, sentence), prompts.ANSWER_QUESTION_SCHEMA, chunk)
        return (
            []
            if data is None
            else [Draft(_text(data.get("question")), _text(data.get("answer")), (sentence,))]
        )

    def _batch_drafts(self, chunk: Chunk, candidates: list[str], n: int) -> list[Draft]:
        """Several questions in one call (the fine-tuning builder's one call per passage): sentences with a
        known fact only."""
        pairs = [(s, self._pick(chunk, s)) for s in candidates if self._answers(chunk, s)][:n]
        if not pairs:
            return self._single_draft(chunk, candidates[0])
        data = self._ask(
            "single", prompts.for_answers(chunk, pairs), prompts.questions_schema(len(pairs)), chunk
        )
        questions = data.get("questions", []) if data is not None else []
        return [Draft(_text(q), a, (s,)) for q, (s, a) in zip(questions, pairs, strict=False)]

    def _linking_sentences(self, first: Chunk, second: Chunk, name: str) -> tuple[str, str, str] | None:
        """(sentence of `first` naming it, sentence of `second` naming it, a fact of the latter to ask for)."""
        in_first = [s for s in facts.fact_sentences(first.text) if name in s]
        for sentence in (s for s in facts.fact_sentences(second.text) if name in s):
            answers = facts.answer_candidates(sentence, self.common, exclude=[name])
            if in_first and answers:
                rng = random.Random(f"{self.seed}:{first.chunk_id}:{second.chunk_id}")
                return rng.choice(in_first), sentence, rng.choice(answers)
        return None

    def _ask(
        self, kind: Kind, messages: list[Message], schema: Schema, chunk: Chunk
    ) -> dict[str, Any] | None:
        reply = ask_json(self.llm, messages, schema, max_tokens=self.max_tokens)
        self.report.calls += reply.calls
        self.report.constrained += int(reply.constrained)
        if reply.data is None:
            self._reject(kind, "", reply.text[:160], chunk, "reply is not the JSON asked for")
        return reply.data

    def _question_problem(self, question: str, source: str) -> str | None:
        problem = checks.question_problem(question, source)
        if problem is None and checks.near_duplicate(question, self._seen):
            problem = "near-duplicate of a kept question"
        return problem

    def _keep(self, kind: Kind, draft: Draft, chunks: tuple[Chunk, ...]) -> GeneratedQuestion | None:
        problem = self._check(draft)
        if problem is not None:
            self._reject(kind, draft.question, draft.answer, chunks[0], problem)
            return None
        return self._add(kind, draft, chunks, self._closed_book_warning(draft.question, draft.answer))

    def _check(self, draft: Draft) -> str | None:
        """The first check the draft fails, or None."""
        problem = self._question_problem(draft.question, " ".join(draft.evidence))
        if problem is not None:
            return problem
        if self._locator is not None and not all(
            self._locator.locate(Evidence(quote=q)) for q in draft.evidence
        ):
            return "evidence not found in the documents"
        return checks.answer_problem(draft.question, draft.answer, " ".join(draft.evidence))

    def _closed_book_warning(self, question: str, answer: str) -> tuple[str, ...]:
        if self.checks.closed_book is None:
            return ()
        closed = self.checks.closed_book(question)
        if contains_gold(closed, [answer]) or token_f1(closed, [answer]) >= CLOSED_BOOK_F1:
            return (
                f"answered right without the documents ('{closed[:80]}'): it tests what the model "
                "already knows more than the documents",
            )
        return ()

    def _add(
        self, kind: Kind, draft: Draft, chunks: tuple[Chunk, ...], warnings: tuple[str, ...]
    ) -> GeneratedQuestion:
        qid = f"gen-{len(self.report.items) + 1:03d}"
        item = GeneratedQuestion(
            qid, kind, draft.question, (draft.answer,), draft.evidence, chunks, warnings, self.llm.name
        )
        self.report.items.append(item)
        self._seen.append(draft.question)
        return item

    def _reject(
        self, kind: Kind, question: str, answer: str, chunk: Chunk, reason: str
    ) -> list[GeneratedQuestion]:
        self.report.rejected.append(Rejection(kind, question, answer, chunk.chunk_id, reason))
        return []


def _text(value: Any) -> str:
    return str(value if value is not None else "").strip()
