"""Query classification: before retrieval, the LLM names the corpus categories a question is about.

Documents carry `category` = their top folder. Retrieval is then filtered to the named categories; "none"
means the question needs no documents, "all" means any category. A label that matches no category falls
back to searching everything, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.models.llms import LLM, Message
from playground.retrieval.bm25 import s_stem

_PROMPT = (
    "A document collection is split into these categories: {categories}.\n"
    "Which categories would hold the answer to the question below? Reply with the category names "
    "only, separated by commas. Reply 'all' if it could be in any of them, or 'none' if the "
    "question needs no documents at all (small talk, arithmetic, general knowledge).\n\n"
    "Question: {question}"
)
_SPLIT = re.compile(r"[,;\n/]|\band\b")


@dataclass(frozen=True)
class Classification:
    label: str
    categories: tuple[str, ...] = ()
    needs_documents: bool = True
    fallback: bool = False
    note: str | None = None
    available: tuple[str, ...] = field(default=(), compare=False)

    def step(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "categories": list(self.categories),
            "needs_documents": self.needs_documents,
            "fallback": self.fallback,
            "note": self.note,
            "available": list(self.available),
        }


def corpus_categories(categories: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({c for c in categories if c}))


def classify_messages(question: str, categories: Sequence[str]) -> list[Message]:
    names = ", ".join(categories) if categories else "(a single category, 'all')"
    return [{"role": "user", "content": _PROMPT.format(categories=names, question=question)}]


def _normalise(text: str) -> str:
    """Lower-case words without punctuation or plural endings, so 'Policy' matches the folder 'policies'."""
    return " ".join(s_stem(w) for w in re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def match_label(label: str, categories: Sequence[str]) -> tuple[str, ...]:
    """The categories a reply names: exact names first, else names that appear anywhere in the reply."""
    by_norm = {_normalise(c): c for c in categories}
    parts = [_normalise(p) for p in _SPLIT.split(label)]
    exact = [by_norm[p] for p in parts if p in by_norm]
    if exact:
        return tuple(dict.fromkeys(exact))
    reply = f" {_normalise(label)} "
    return tuple(c for norm, c in by_norm.items() if norm and f" {norm} " in reply)


def interpret(label: str, categories: Sequence[str]) -> Classification:
    """Turn the model's reply into a routing decision."""
    available = tuple(categories)
    matched = match_label(label, categories)
    if matched:
        return Classification(label, matched, available=available)
    words = set(_normalise(label).split())
    if words & {"none", "no"} and not words & {"all", "any"}:
        return Classification(
            label, (), needs_documents=False, note="the question needs no documents", available=available
        )
    if words & {"all", "any", "every", "everything"}:
        return Classification(label, (), note="any category: searched everything", available=available)
    note = f"the label {label.strip()[:80]!r} matches no category; searched everything"
    return Classification(label, (), fallback=True, note=note, available=available)


def classify_question(
    question: str, categories: Sequence[str], llm: LLM, *, max_tokens: int = 24
) -> Classification:
    """Ask the model which categories the question is about, and route by its reply."""
    reply = llm.chat(classify_messages(question, categories), temperature=0.0, max_tokens=max_tokens).text
    return interpret(reply.strip(), categories)
