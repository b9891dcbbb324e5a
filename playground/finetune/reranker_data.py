"""Training examples for a reranker: each question with its evidence passage(s) and hard negatives.

A hard negative is a passage that retrieval ranks high for the question but that holds none of its evidence:
BM25 and dense search (the packaged MiniLM) are read in turns, hardest first, so the reranker learns what the
first-stage retrievers get wrong. Questions come from a BEIR folder's train qrels, or from a question set /
generated items located in a corpus's chunks; held-out questions, and questions too close to them, are
dropped first (`playground.finetune.split`), so they never reach training.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.core.documents import Chunk
from playground.core.errors import InputError
from playground.finetune.data import TrainingItem
from playground.finetune.split import Split, SplitOptions, split_items
from playground.models.passage_windows import matching_window, window_tokens
from playground.retrieval.bm25 import BM25Ranker

Embed = Callable[[list[str]], np.ndarray]
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Target:
    """A question, the passages that answer it, and the passages never to use as its negatives."""

    qid: str
    question: str
    positive_ids: tuple[str, ...]
    avoid_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RerankExample:
    qid: str
    question: str
    positives: tuple[str, ...]
    negatives: tuple[str, ...]

    @property
    def pairs(self) -> int:
        return len(self.positives) + len(self.negatives)


@dataclass(frozen=True)
class Examples:
    """What training gets, and what was kept out of it (held-out questions and the ones too close to them)."""

    examples: list[RerankExample]
    heldout: int = 0
    dropped: int = 0
    skipped: int = 0  # questions whose evidence is in no passage

    @property
    def pairs(self) -> int:
        return sum(e.pairs for e in self.examples)


# --- mining --------------------------------------------------------------------------------------------------


class Miner:
    """Ranks passages for a question with BM25 and, when vectors are given, with dense search."""

    def __init__(
        self, passages: Sequence[Chunk], vectors: np.ndarray | None = None, use_bm25: bool = True
    ) -> None:
        self.passages = list(passages)
        self.vectors = vectors
        self.bm25 = BM25Ranker([p.text for p in self.passages]) if use_bm25 or vectors is None else None

    def rankings(self, question: str, query_vector: np.ndarray | None, depth: int) -> list[list[int]]:
        lists = [[i for i, _ in self.bm25.top(question, depth)]] if self.bm25 else []
        if self.vectors is not None and query_vector is not None:
            scores = self.vectors @ np.asarray(query_vector, dtype=np.float32)
            lists.append([int(i) for i in np.argsort(-scores, kind="stable")[:depth]])
        return lists


def _interleave(lists: Sequence[Sequence[int]]) -> list[int]:
    """Rank 1 of every list, then rank 2 of every list, ..., each position once (the hardest of each first)."""
    seen: dict[int, None] = {}
    for rank in range(max((len(x) for x in lists), default=0)):
        for ranking in lists:
            if rank < len(ranking):
                seen.setdefault(ranking[rank], None)
    return list(seen)


def mine_examples(
    targets: Sequence[Target],
    passages: Sequence[Chunk],
    negatives: int,
    *,
    vectors: np.ndarray | None = None,
    embed: Embed | None = None,
    depth: int = 30,
    miner: Miner | None = None,
) -> list[RerankExample]:
    """Each target with up to `negatives` hard negatives (BM25, and dense when `vectors` and `embed` are given).

    `vectors` are the passages' unit embeddings; `embed` embeds the questions the same way. A passage whose
    text equals a positive's is never a negative (duplicates in a corpus would teach the opposite).
    """
    miner = miner or Miner(passages, vectors)
    queries = (
        embed([t.question for t in targets]) if embed is not None and miner.vectors is not None else None
    )
    by_id = {p.chunk_id: i for i, p in enumerate(miner.passages)}
    examples = []
    for row, target in enumerate(targets):
        positives = [miner.passages[by_id[c]].text for c in target.positive_ids if c in by_id]
        if not positives:
            continue
        avoid = set(target.avoid_ids) | set(target.positive_ids)
        texts = {_norm(t) for t in positives}
        vector = queries[row] if queries is not None else None
        usable = [
            [
                i
                for i in ranking
                if miner.passages[i].chunk_id not in avoid and _norm(miner.passages[i].text) not in texts
            ]
            for ranking in miner.rankings(target.question, vector, depth)
        ]
        chosen = [miner.passages[i].text for i in _interleave(usable)][:negatives]
        examples.append(RerankExample(target.qid, target.question, tuple(positives), tuple(chosen)))
    return examples


def cap_pairs(examples: Sequence[RerankExample], max_pairs: int | None) -> list[RerankExample]:
    """The first examples whose pairs fit in `max_pairs` (all of them when it is None)."""
    kept, total = [], 0
    for example in examples:
        if max_pairs is not None and total + example.pairs > max_pairs:
            break
        kept.append(example)
        total += example.pairs
    return kept


def in_windows(examples: Sequence[RerankExample], tokenizer: Any, max_length: int) -> list[RerankExample]:
    """Each passage longer than the model reads beside its question as its window that holds the most of the
    question's words (`matching_window`), the way reranking reads it, instead of the start the model would cut
    it to."""
    return [_in_windows(example, tokenizer, max_length) for example in examples]


def _in_windows(example: RerankExample, tokenizer: Any, max_length: int) -> RerankExample:
    size = window_tokens(tokenizer, max_length, example.question)

    def shown(passages: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(matching_window(tokenizer, example.question, p, size) for p in passages)

    return dataclasses.replace(
        example, positives=shown(example.positives), negatives=shown(example.negatives)
    )


# --- held-out questions ----------------------------------------------------------------------------------------


def keep_out(
    items: Sequence[TrainingItem], heldout: Sequence[TrainingItem], embed: Embed | None = None
) -> Split:
    """Training items minus the held-out questions and any question too close to one (words or meaning)."""
    split = split_items(items, SplitOptions(group_by="question"), heldout=list(heldout), embed=embed)
    if items and not split.train:
        raise InputError(
            f"All {len(items)} training questions are held out, or too close to a held-out question: "
            "nothing is left to train on. Train on other questions than the ones you evaluate with."
        )
    return split


# --- items located in a corpus's chunks ------------------------------------------------------------------------


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def _pieces(quote: str, size: int = 32, step: int = 16) -> list[str]:
    """Overlapping pieces of a quote: a chunk cut by a border still holds one of them whole."""
    quote = _norm(quote)
    if len(quote) <= size:
        return [quote] if quote else []
    starts = [*range(0, len(quote) - size, step), len(quote) - size]
    return [quote[i : i + size] for i in starts]


def _touches(chunk: Chunk, pieces: Sequence[str]) -> bool:
    """Whether the chunk holds a quote, or a piece of one (a quote cut by a chunk border)."""
    text = _norm(chunk.text)
    return any(piece in text for piece in pieces)


def item_targets(items: Sequence[TrainingItem], chunks: Sequence[Chunk]) -> tuple[list[Target], int]:
    """Items with a located passage as targets (and how many had none): the chunk that holds the evidence is
    the positive; every chunk that holds any part of a quote is kept out of the negatives."""
    targets, skipped = [], 0
    for item in items:
        if not item.chunk_id or not item.passage.strip():
            skipped += 1
            continue
        pieces = [piece for quote in item.quotes for piece in _pieces(quote)]
        avoid = frozenset(c.chunk_id for c in chunks if pieces and _touches(c, pieces))
        targets.append(Target(item.qid, item.question, (item.chunk_id,), avoid))
    return targets, skipped
