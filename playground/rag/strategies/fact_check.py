"""Fact-check: after generation, the LLM checks the answer against the retrieved passages.

Verdicts: supported, unsupported, unclear. An unsupported answer is replaced by "not in the documents" and the
original is kept for display. A reply that cannot be parsed gives "unclear", keeps the answer, and says why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from playground.models.llms import LLM, Message
from playground.rag.prompts import NOT_FOUND, format_context
from playground.retrieval.index import ScoredChunk

Verdict = Literal["supported", "unsupported", "unclear"]
_PROMPT = (
    "Context:\n{context}\n\nQuestion: {question}\nProposed answer: {answer}\n\n"
    "Is the proposed answer stated in or directly supported by the context? Reply on the first line "
    "with exactly one word: SUPPORTED or UNSUPPORTED. On the second line give a short reason."
)
_VERDICT = re.compile(r"\b(unsupported|not supported|supported|unclear)\b", re.I)


@dataclass(frozen=True)
class FactCheck:
    verdict: Verdict
    reason: str
    answer: str
    original_answer: str

    @property
    def replaced(self) -> bool:
        return self.answer != self.original_answer

    def step(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "original_answer": self.original_answer,
            "replaced": self.replaced,
        }


def fact_check_messages(question: str, answer: str, hits: Sequence[ScoredChunk]) -> list[Message]:
    context = format_context([(h.chunk.title, h.chunk.text) for h in hits])
    return [{"role": "user", "content": _PROMPT.format(context=context, question=question, answer=answer)}]


def parse_verdict(reply: str) -> tuple[Verdict, str] | None:
    """(verdict, reason) from the checker's reply, or None when it names no verdict."""
    found = _VERDICT.search(reply)
    if not found:
        return None
    word = found.group(1).lower()
    verdict: Verdict = "unsupported" if word in {"unsupported", "not supported"} else word  # type: ignore[assignment]
    rest = reply[found.end() :].lstrip(" \n:.-*").strip()
    return verdict, rest.splitlines()[0].strip() if rest else "(no reason given)"


def _is_abstention(answer: str) -> bool:
    return NOT_FOUND in answer.lower()


def fact_check(
    question: str, answer: str, hits: Sequence[ScoredChunk], llm: LLM, *, max_tokens: int = 60
) -> FactCheck:
    """Check the answer; replace it by "not in the documents" only when the verdict is unsupported."""
    if _is_abstention(answer):
        return FactCheck(
            "supported", "the answer says it is not in the documents: nothing to check", answer, answer
        )
    if not hits:
        return FactCheck(
            "unclear", "no retrieved passages to check the answer against; answer kept", answer, answer
        )
    messages = fact_check_messages(question, answer, hits)
    reply = llm.chat(messages, temperature=0.0, max_tokens=max_tokens).text
    parsed = parse_verdict(reply)
    if parsed is None:
        return FactCheck(
            "unclear",
            f"could not read a verdict in the checker's reply {reply.strip()[:120]!r}; answer kept",
            answer,
            answer,
        )
    verdict, reason = parsed
    return FactCheck(verdict, reason, NOT_FOUND if verdict == "unsupported" else answer, answer)
