"""A passage longer than a cross-encoder reads, cut into windows it can read whole; the passage scores as its best
window (MaxP: Dai and Callan, "Deeper Text Understanding for IR with Contextual Neural Language Modeling", 2019).

A cross-encoder reads the query and the passage together up to its `max_length` tokens and silently drops the
rest, so the evidence of a long passage (a SciFact abstract's results, a large chunk's second half) was never
read. Measured on SciFact (`bench/RESULTS-retrieval.md`, 2026-12-03): a model trained at 128 tokens scored
0.630 nDCG@10 alone reading each abstract's start, 0.670 reading its best window. A passage that fits is one
window, itself, so its score does not change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

SPECIAL_TOKENS = 3  # [CLS] query [SEP] passage [SEP]
MIN_WINDOW = 32  # tokens of passage: below this a long query is cut instead (the model's own truncation)
# Windows follow each other without overlap: on SciFact (300 claims, one model) half-overlapping ones took 1.4x
# the time and ranked no better (alone -0.006 nDCG@10, fused -0.002; neither significant)
STEP = 1.0  # share of a window from one window's start to the next's


def window_tokens(tokenizer: Any, max_length: int, query: str) -> int:
    """How many tokens of passage fit beside the query within `max_length`."""
    # verbose=False: a query longer than the model reads is expected here (it leaves MIN_WINDOW), not a warning
    query_tokens = len(tokenizer(query, add_special_tokens=False, verbose=False)["input_ids"])
    return max(MIN_WINDOW, max_length - query_tokens - SPECIAL_TOKENS)


def windows(tokenizer: Any, passage: str, size: int) -> list[str]:
    """`passage` itself when it fits in `size` tokens, else windows of `size` tokens cut from its own text, each
    starting `STEP` of a window after the previous one (where it ends), and the last ending where the passage
    ends (so it overlaps the one before)."""
    offsets = tokenizer(passage, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
        "offset_mapping"
    ]
    if len(offsets) <= size:
        return [passage]
    last = len(offsets) - size
    starts = [*range(0, last, max(1, int(size * STEP))), last]
    return [passage[offsets[s][0] : offsets[s + size - 1][1]] for s in starts]


def best_window_scores(window_scores: Sequence[float], counts: Sequence[int]) -> list[float]:
    """Each passage's best window score, given every window's score in order and how many windows each passage
    gave."""
    best, at = [], 0
    for count in counts:
        best.append(float(max(window_scores[at : at + count])))
        at += count
    return best


_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def matching_window(tokenizer: Any, query: str, passage: str, size: int) -> str:
    """The window of `passage` (`windows`) that holds the most of the query's words, the first on a tie: what a
    model trained to read windows is shown of a long training passage. The same rule for evidence and
    negatives, so the choice itself teaches nothing; a negative's hardest-looking window is the one its best
    window score (MaxP) must learn to keep low."""
    cut = windows(tokenizer, passage, size)
    if len(cut) == 1:
        return cut[0]
    wanted = _words(query)
    return max(cut, key=lambda window: len(wanted & _words(window)))
