"""Cutting a passage longer than a cross-encoder reads into windows, with the packaged MiniLM's real tokenizer."""

from __future__ import annotations

from typing import Any

import pytest

from playground.models.passage_windows import best_window_scores, window_tokens, windows

TEXT = " ".join(
    f"Sentence number {i} says that the parcel number {i * 7} left the depot on time." for i in range(12)
)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from playground.models.st_embedder import packaged_minilm_path

    return AutoTokenizer.from_pretrained(str(packaged_minilm_path()), local_files_only=True)


def _tokens(tokenizer: Any, text: str) -> list[str]:
    return list(tokenizer.tokenize(text))


def test_a_passage_that_fits_is_its_own_only_window(tokenizer: Any) -> None:
    assert windows(tokenizer, TEXT, len(_tokens(tokenizer, TEXT))) == [TEXT]


def test_a_long_passage_is_read_whole_in_half_overlapping_windows(tokenizer: Any) -> None:
    size = 40
    cut = windows(tokenizer, TEXT, size)
    tokens = _tokens(tokenizer, TEXT)
    assert all(len(_tokens(tokenizer, w)) == size for w in cut)  # each window as long as the model reads
    assert TEXT.startswith(cut[0]) and TEXT.endswith(cut[-1]) and all(w in TEXT for w in cut)
    starts = [TEXT.index(w) for w in cut]
    assert len(cut) == -(-(len(tokens) - size) // (size // 2)) + 1
    # each window shares its second half with the next
    for at, next_at, window in zip(starts, starts[1:], cut, strict=False):
        assert at < next_at <= at + len(window) // 2 + 5


def test_the_window_leaves_room_for_the_query(tokenizer: Any) -> None:
    query = "When did parcel 14 leave the depot?"
    assert window_tokens(tokenizer, 128, query) == 128 - len(_tokens(tokenizer, query)) - 3
    assert window_tokens(tokenizer, 40, query * 10) == 32  # a very long query: the model's truncation cuts it


def test_each_passage_scores_as_its_best_window() -> None:
    assert best_window_scores([0.1, 0.9, 0.3, -1.0, 0.2, 0.5], [3, 1, 2]) == [0.9, -1.0, 0.5]
