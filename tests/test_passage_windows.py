"""Cutting a passage longer than a cross-encoder reads into windows, with the packaged MiniLM's real tokenizer."""

from __future__ import annotations

from typing import Any

import pytest

from playground.finetune.reranker_data import RerankExample, in_windows
from playground.models.passage_windows import (
    best_window_scores,
    matching_window,
    window_tokens,
    windows,
)

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


def test_a_long_passage_is_read_whole_in_windows_back_to_back(tokenizer: Any) -> None:
    size = 40
    cut = windows(tokenizer, TEXT, size)
    tokens = _tokens(tokenizer, TEXT)
    assert all(len(_tokens(tokenizer, w)) == size for w in cut)  # each window as long as the model reads
    assert TEXT.startswith(cut[0]) and TEXT.endswith(cut[-1]) and all(w in TEXT for w in cut)
    assert len(cut) == -(-(len(tokens) - size) // size) + 1
    starts = [TEXT.index(w) for w in cut]
    # each window starts where the previous one ended (a space between); the last ends where the passage does
    for at, next_at, window in zip(starts[:-2], starts[1:-1], cut, strict=False):
        assert at + len(window) <= next_at <= at + len(window) + 1
    assert starts[-1] <= starts[-2] + len(cut[-2]) + 1


def test_the_window_leaves_room_for_the_query(tokenizer: Any) -> None:
    query = "When did parcel 14 leave the depot?"
    assert window_tokens(tokenizer, 128, query) == 128 - len(_tokens(tokenizer, query)) - 3
    assert window_tokens(tokenizer, 40, query * 10) == 32  # a very long query: the model's truncation cuts it


def test_a_query_longer_than_the_model_reads_warns_nobody(tokenizer: Any) -> None:
    """transformers warns on stderr about a sequence longer than the model reads; a CLI user saw it for a long
    question, though the window leaves it to the model's truncation on purpose."""
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    warner = logging.getLogger("transformers.tokenization_utils_base")
    warner.addHandler(handler)
    try:
        assert window_tokens(tokenizer, 128, "When did parcel 14 leave the depot? " * 100) == 32
    finally:
        warner.removeHandler(handler)
    assert not [r for r in records if "sequence length" in r.getMessage()]


def test_each_passage_scores_as_its_best_window() -> None:
    assert best_window_scores([0.1, 0.9, 0.3, -1.0, 0.2, 0.5], [3, 1, 2]) == [0.9, -1.0, 0.5]


def test_training_shows_the_window_that_shares_most_words_with_the_question(tokenizer: Any) -> None:
    query = "When did parcel number 56 leave?"
    cut = windows(tokenizer, TEXT, 40)
    picked = matching_window(tokenizer, query, TEXT, 40)
    assert picked in cut and " 56" in picked
    assert matching_window(tokenizer, "an unrelated question", TEXT, 40) == cut[0]  # a tie: the first
    assert matching_window(tokenizer, query, "A short passage.", 40) == "A short passage."


def test_training_examples_in_windows_keep_their_labels(tokenizer: Any) -> None:
    example = RerankExample("q1", "When did parcel number 56 leave?", (TEXT,), ("A short negative.", TEXT))
    [shown] = in_windows([example], tokenizer, 48)
    size = window_tokens(tokenizer, 48, example.question)
    assert shown.question == example.question and shown.negatives[0] == "A short negative."
    assert shown.positives == (matching_window(tokenizer, example.question, TEXT, size),)
    assert len(_tokens(tokenizer, shown.positives[0])) == size
