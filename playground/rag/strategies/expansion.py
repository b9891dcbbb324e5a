"""Query expansion: the LLM rewrites the question several ways; the results of all queries are RRF-fused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playground.models.llms import LLM, Message

MAX_REWRITES = 5
_PROMPT = (
    "Rewrite the question below in {n} different ways that a search engine could use: use synonyms, "
    "spell out abbreviations, or name what the answer would be about. Write one rewrite per line, "
    "without numbering or any other text.\n\nQuestion: {question}"
)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.):]|rewrite\s*\d*\s*:)\s*", re.I)


@dataclass(frozen=True)
class Expansion:
    rewrites: tuple[str, ...]
    requested: int
    note: str | None = None

    def step(self) -> list[str]:
        return list(self.rewrites)

    def detail(self) -> dict[str, Any]:
        return {"requested": self.requested, "got": len(self.rewrites), "note": self.note}


def expansion_messages(question: str, n: int) -> list[Message]:
    return [{"role": "user", "content": _PROMPT.format(n=n, question=question)}]


def parse_rewrites(text: str, question: str, n: int) -> list[str]:
    """Lines of the reply, stripped of bullets and quotes, without repeats or the question itself."""
    seen = {question.strip().lower()}
    rewrites = []
    for line in text.splitlines():
        candidate = _BULLET.sub("", line).strip().strip("\"'").strip()
        if len(candidate.split()) < 2 or candidate.lower() in seen:
            continue
        seen.add(candidate.lower())
        rewrites.append(candidate)
    return rewrites[:n]


def expand_query(question: str, llm: LLM, n: int, *, tokens_per_rewrite: int = 32) -> Expansion:
    """Up to `n` rewrites (0-5); fewer usable lines are recorded in `note`, never an error."""
    n = max(0, min(n, MAX_REWRITES))
    if n == 0:
        return Expansion((), 0)
    budget = tokens_per_rewrite * n + 8
    reply = llm.chat(expansion_messages(question, n), temperature=0.0, max_tokens=budget).text
    rewrites = parse_rewrites(reply, question, n)
    got = len(rewrites)
    note = None if got == n else f"asked for {n} rewrites, the model gave {got} usable ones"
    return Expansion(tuple(rewrites), n, note)
