"""A deterministic stand-in for an LLM: replies chosen by rules, every call recorded.

It serves fast unit tests and a demo mode with no model at all. It never replaces the real stack in integration
tests. With no rule matching, it answers extractively: the context sentence that shares most words with the
question, or "not in the documents" when there is no context.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from playground.models.llms import Completion, Message

NOT_FOUND = "not in the documents"
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "were",
        "what",
        "which",
        "who",
        "how",
        "when",
        "where",
        "does",
        "do",
        "did",
        "and",
        "or",
        "with",
        "by",
        "at",
        "from",
        "as",
        "be",
        "it",
        "its",
        "this",
        "that",
        "there",
    ]
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in _STOP}


_SOURCE_HEADER = re.compile(r"^\[\d+\] \(.*\)$")


def _sentences(text: str) -> list[str]:
    """Sentences of the context, without the "[1] (title)" lines that number the retrieved chunks."""
    pieces = (s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text))
    return [s for s in pieces if len(s) > 3 and not _SOURCE_HEADER.match(s)]


def _extract(user_message: str) -> str:
    """Pick the context sentence with the largest word overlap with the question."""
    context, _, question = user_message.rpartition("Question:")
    if not context.strip():
        return NOT_FOUND
    wanted = _words(question)
    best = max(_sentences(context), key=lambda s: len(wanted & _words(s)), default="")
    return best if wanted & _words(best) else NOT_FOUND


@dataclass
class FakeLLM:
    """`rules` maps a regex (searched in the last user message) to a reply."""

    name: str = "fake:extractive"
    rules: list[tuple[str, str]] = field(default_factory=list)
    calls: list[list[Message]] = field(default_factory=list)

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> Completion:
        started = time.perf_counter()
        self.calls.append(messages)
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        reply = next((r for pattern, r in self.rules if re.search(pattern, user, re.I)), None)
        text = reply if reply is not None else _extract(user)
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(text.split()),
            latency_s=time.perf_counter() - started,
            model=self.name,
        )
