"""The train / held-out split: held-out questions, and their paraphrases, never reach the training data.

Held-out questions are either given (a question set written by people) or whole groups (passages, documents or
single questions) chosen at random. Then every training candidate is dropped when it shares a held-out group,
or its question is too close to a held-out one: token Jaccard over content words, or the cosine of embeddings.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from playground.evaluation.testset.checks import dedup_key, jaccard
from playground.finetune.data import TrainingItem

GroupBy = Literal["chunk", "document", "question"]


@dataclass(frozen=True)
class SplitOptions:
    """How held-out questions are chosen and how close a training question may come to one."""

    heldout_fraction: float = 0.2
    group_by: GroupBy = "chunk"
    max_jaccard: float = 0.5
    max_cosine: float = 0.85
    seed: int = 0


@dataclass(frozen=True)
class Split:
    train: tuple[TrainingItem, ...]
    heldout: tuple[TrainingItem, ...]
    dropped: tuple[tuple[TrainingItem, str], ...] = ()


def group_key(item: TrainingItem, group_by: GroupBy) -> str:
    if group_by == "document" and item.doc_id:
        return f"doc:{item.doc_id}"
    if group_by == "chunk" and item.chunk_id:
        return f"chunk:{item.chunk_id}"
    return f"q:{dedup_key(item.question)}"


def _choose_heldout(items: Sequence[TrainingItem], options: SplitOptions) -> list[TrainingItem]:
    """Whole groups, in a seeded random order, until the held-out share is reached."""
    groups: dict[str, list[TrainingItem]] = {}
    for item in items:
        groups.setdefault(group_key(item, options.group_by), []).append(item)
    keys = sorted(groups)
    random.Random(options.seed).shuffle(keys)
    wanted, chosen = max(1, round(options.heldout_fraction * len(items))), list[TrainingItem]()
    for key in keys:
        if len(chosen) >= wanted:
            break
        chosen.extend(groups[key])
    return chosen


def _leak_reason(
    item: TrainingItem,
    heldout: Sequence[TrainingItem],
    groups: set[str],
    options: SplitOptions,
    cosines: np.ndarray | None,
    row: int,
) -> str | None:
    if options.group_by != "question" and group_key(item, options.group_by) in groups:
        return f"same {options.group_by} as a held-out question"
    for j, other in enumerate(heldout):
        if dedup_key(item.question) == dedup_key(other.question):
            return f"same question as held-out {other.qid}"
        if jaccard(item.question, other.question) > options.max_jaccard:
            return f"too similar in words to held-out {other.qid}"
        if cosines is not None and cosines[row, j] > options.max_cosine:
            return f"too similar in meaning to held-out {other.qid}"
    return None


def split_items(
    items: Sequence[TrainingItem],
    options: SplitOptions = SplitOptions(),
    *,
    heldout: Sequence[TrainingItem] | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> Split:
    """Train / held-out split that keeps held-out questions and their paraphrases out of training.

    With `heldout` given (e.g. a question set written by people) every item is a training candidate;
    otherwise whole groups (chunks, documents or single questions) are held out. Each training candidate is
    dropped when it shares a held-out group, or its question is too close to a held-out one (token Jaccard
    over content words, or the cosine of `embed` vectors when given).
    """
    held = list(heldout) if heldout is not None else _choose_heldout(items, options)
    held_ids = {id(i) for i in held}
    candidates = [i for i in items if id(i) not in held_ids]
    groups = {group_key(i, options.group_by) for i in held}
    cosines = None
    if embed is not None and candidates and held:
        cosines = embed([i.question for i in candidates]) @ embed([i.question for i in held]).T
    train, dropped = [], []
    for row, item in enumerate(candidates):
        reason = _leak_reason(item, held, groups, options, cosines, row)
        if reason:
            dropped.append((item, reason))
        else:
            train.append(item)
    return Split(tuple(train), tuple(held), tuple(dropped))
