"""HyDE (Gao et al. 2022): the LLM writes a hypothetical answer passage; retrieval searches with its vector.

The passage may be wrong; what matters is that it looks like the documents that hold the answer. With
`with_question` its embedding is averaged with the question's, which guards against a passage that drifts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.models.embedders import Embedder
from playground.models.llms import LLM, Message
from playground.rag.prompts import NOT_FOUND
from playground.retrieval.retrievers import Query

MAX_TOKENS = 120
_PROMPT = (
    "Write a short passage (two to four sentences) that answers the question below, in the style "
    "of the document it would come from. State facts directly, even if you have to guess them.\n\n"
    "Question: {question}\n\nPassage:"
)
_REFUSAL = re.compile(r"^\s*(i'?m sorry|i cannot|i can'?t|i do not know|i don'?t know|as an ai|sorry)", re.I)
_MIN_WORDS = 4


@dataclass(frozen=True)
class HydeResult:
    query: Query
    passage: str | None
    fallback: str | None = None

    def step(self) -> dict[str, Any]:
        return {"passage": self.passage, "fallback": self.fallback}


def hyde_messages(question: str) -> list[Message]:
    return [{"role": "user", "content": _PROMPT.format(question=question)}]


def unusable_reason(passage: str, question: str) -> str | None:
    """Why a generated passage cannot stand in for a document, or None when it can."""
    if not passage.strip():
        return "the model returned an empty passage"
    if _REFUSAL.search(passage) or NOT_FOUND in passage.lower():
        return "the model declined to write a passage"
    if passage.strip().lower().rstrip("?.") == question.strip().lower().rstrip("?."):
        return "the model repeated the question"
    if len(passage.split()) < _MIN_WORDS:
        return f"the passage is too short to search with ({passage.strip()!r})"
    return None


def _combine(question_vector: np.ndarray, passage_vector: np.ndarray) -> np.ndarray:
    """The normalised mean, bit for bit the same on every CPU: the vector enters the search's cache key, and
    `np.linalg.norm`'s last bit follows the BLAS kernel the CPU picks, so a replay bundle built on one machine
    missed its HyDE searches on another. The squares of float32 values are exact in float64 and `math.fsum` is
    correctly rounded, so nothing here depends on summation order."""
    mean = (np.asarray(question_vector, dtype=np.float32) + np.asarray(passage_vector, dtype=np.float32)) / 2
    norm = math.sqrt(math.fsum(float(x) * float(x) for x in mean.tolist()))
    return (mean.astype(np.float64) / norm).astype(np.float32) if norm > 0 else mean


def build_query(question: str, passage: str, embedder: Embedder | None, with_question: bool) -> Query:
    """The query: passage (plus question) as text, and its embedding when there is an embedder."""
    text = f"{question}\n{passage}" if with_question else passage
    if embedder is None:
        return Query(text)
    passage_vector = embedder.embed_query(passage)
    if not with_question:
        return Query(text, passage_vector)
    return Query(text, _combine(embedder.embed_query(question), passage_vector))


def hyde_query(
    question: str,
    llm: LLM,
    embedder: Embedder | None,
    *,
    with_question: bool = True,
    max_tokens: int = MAX_TOKENS,
) -> HydeResult:
    """Generate the passage and build the query; unusable output falls back to the question alone."""
    passage = llm.chat(hyde_messages(question), temperature=0.0, max_tokens=max_tokens).text.strip()
    reason = unusable_reason(passage, question)
    if reason:
        return HydeResult(Query(question), None, f"{reason}; searched with the question alone")
    return HydeResult(build_query(question, passage, embedder, with_question), passage)
