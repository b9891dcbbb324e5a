"""LLM reranking: for each candidate the model answers "does this passage help answer the question?".

Candidates are ranked by the probability of "yes". A local llama.cpp model gives that probability from its
next-token logits; any other model (OpenAI-compatible servers) answers in text, read as yes = 1, no = 0 and
anything else = 0.5 (counted as unparsed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from playground.models.llms import LLM, Message
from playground.retrieval.index import ScoredChunk

PASSAGE_CHARS = 1500
_SYSTEM = "You judge whether a passage helps answer a question. Reply with yes or no only."
_USER = (
    "Question: {question}\n\nPassage: {passage}\n\n"
    "Does this passage help answer the question? Reply yes or no."
)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.I)


@dataclass(frozen=True)
class RerankResult:
    hits: list[ScoredChunk]
    before: list[str]
    scores: dict[str, float]
    method: str
    unparsed: int = 0

    def step(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": [h.chunk.chunk_id for h in self.hits],
            "scores": self.scores,
            "method": self.method,
            "unparsed": self.unparsed,
        }


def relevance_messages(question: str, passage: str) -> list[Message]:
    # The question comes before the passage so consecutive prompts share a cached prefix.
    text = passage if len(passage) <= PASSAGE_CHARS else passage[:PASSAGE_CHARS] + " ..."
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": _USER.format(question=question, passage=text)},
    ]


def parse_yes_no(text: str) -> float | None:
    """1.0 for a reply starting with yes, 0.0 for no, None for anything else."""
    found = _YES_NO.search(text)
    if not found:
        return None
    return 1.0 if found.group(1).lower() == "yes" else 0.0


def relevance(llm: LLM, question: str, passage: str) -> tuple[float, str, bool]:
    """(P(yes), method, parsed) for one passage."""
    messages = relevance_messages(question, passage)
    scorer = getattr(llm, "yes_probability", None)
    if callable(scorer):
        probability = scorer(messages)
        if probability is not None:
            return float(probability), "logits", True
    value = parse_yes_no(llm.chat(messages, temperature=0.0, max_tokens=3).text)
    return (0.5, "text", False) if value is None else (value, "text", True)


def llm_rerank(question: str, hits: Sequence[ScoredChunk], llm: LLM, top_k: int) -> RerankResult:
    """Score every candidate and keep the `top_k` most likely to help; ties keep the retriever's order."""
    scored = [(hit, *relevance(llm, question, hit.chunk.text)) for hit in hits]
    ranked = sorted(scored, key=lambda item: -item[1])[:top_k]
    new_hits = [ScoredChunk(hit.chunk, p, rank) for rank, (hit, p, _, _) in enumerate(ranked, start=1)]
    methods = sorted({method for _, _, method, _ in scored}) or ["none"]
    return RerankResult(
        hits=new_hits,
        before=[h.chunk.chunk_id for h in hits],
        scores={h.chunk.chunk_id: round(p, 6) for h, p, _, _ in scored},
        method="+".join(methods),
        unparsed=sum(1 for *_, ok in scored if not ok),
    )
