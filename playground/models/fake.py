"""A deterministic stand-in for an LLM: replies chosen by rules, every call recorded.

It serves fast unit tests and a demo mode with no model at all. It never replaces the real stack in integration
tests. With no rule matching, it answers extractively: the context sentence that shares most words with the
question, or "not in the documents" when there is no context. Asked to judge under a JSON schema (so the demo
mode can judge too), it says yes when the answer contains a gold answer, and checks the answer against the
context word for word.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

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


def _line(text: str, label: str) -> str:
    found = re.search(rf"^{label}: (.*)$", text, re.M)
    return found.group(1) if found else ""


def _plain(text: str) -> str:
    return f" {' '.join(_WORD.findall(text.lower()))} "


def _judged(user: str, schema: dict[str, Any]) -> str | None:
    """Asked to judge under a schema: the verdict is yes when the answer contains a gold answer; the answer is
    one claim, supported when the context holds it word for word (none when it declines)."""
    props = schema.get("properties", {})
    answer = _line(user, "Answer")
    if "verdict" in props:
        golds = _line(user, "Gold answers").split(" | ")
        hit = any(g.strip() and _plain(g) in _plain(answer) for g in golds)
        reason = f"fake judge: the answer {'contains' if hit else 'does not contain'} a gold answer"
        return json.dumps({"reason": reason, "verdict": "yes" if hit else "no"})
    if "claims" in props:
        context = user.partition("Context:")[2].rpartition("\nQuestion:")[0]
        held = _plain(answer.rstrip(".")) in _plain(context)
        claims = [] if NOT_FOUND in answer.lower() else [{"claim": answer, "supported": held}]
        return json.dumps({"claims": claims})
    return None


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
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        started = time.perf_counter()
        self.calls.append(messages)
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        reply = next((r for pattern, r in self.rules if re.search(pattern, user, re.I)), None)
        if reply is None and json_schema:
            reply = _judged(user, json_schema)
        text = reply if reply is not None else _extract(user)
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(text.split()),
            latency_s=time.perf_counter() - started,
            model=self.name,
        )
