"""Chunkers: exact spans, full coverage, sizes, overlap and markdown titles, for every tokenizer."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.core.documents import Chunk, Document
from playground.core.errors import InputError
from playground.ingest.chunking import (
    CHUNKERS,
    MIN_CHUNK_SIZE,
    Tokenizer,
    WordPieceTokenizer,
    chunk_corpus,
    chunk_document,
    chunk_stats,
    default_tokenizer,
    minilm_tokenizer_path,
)


class WhitespaceTokenizer:
    """Each run of non-space characters is one token: easy to reason about in tests."""

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"\S+", text)]


TOKENIZERS: list[Tokenizer] = [WhitespaceTokenizer(), default_tokenizer()]
TOKENIZER_IDS = ["whitespace", "wordpiece"]

PROSE = (
    "Travel policy.\n\n"
    + " ".join(
        f"Sentence number {i} says that employees book economy class on short flights." for i in range(12)
    )
    + "\n\nA short closing paragraph.\n"
)
MARKDOWN = """Preamble before any heading.

# Travel

Book economy class for flights under six hours.

## Hotels #

The hotel limit is 150 euros per night.

```python
# this is a comment, not a heading
print("hi")
```

#hashtag is not a heading either.

### Meals
Meals are covered up to 40 euros a day.
"""


def make_doc(text: str, doc_id: str = "docs/a.md") -> Document:
    return Document(doc_id=doc_id, text=text, title="Doc", source=doc_id, page=2, category="docs")


def assert_invariants(doc: Document, chunks: list[Chunk]) -> None:
    covered = [False] * len(doc.text)
    for i, chunk in enumerate(chunks):
        assert chunk.chunk_id == f"{doc.doc_id}#c{i}"
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.text.strip() == chunk.text and chunk.text
        assert (chunk.doc_id, chunk.source, chunk.page, chunk.category) == (
            doc.doc_id,
            doc.source,
            doc.page,
            doc.category,
        )
        assert chunk.title.startswith(doc.title)
        for position in range(chunk.start, chunk.end):
            covered[position] = True
    missed = [i for i, ch in enumerate(doc.text) if not ch.isspace() and not covered[i]]
    assert not missed, f"characters not in any chunk: {[doc.text[i] for i in missed][:10]}"


# ----------------------------------------------------------------------------------------------------------
# Invariants and sizes


@pytest.mark.parametrize("tokenizer", TOKENIZERS, ids=TOKENIZER_IDS)
@pytest.mark.parametrize("chunker", CHUNKERS)
@pytest.mark.parametrize("text", [PROSE, MARKDOWN, "one", "  \n padded \n\n ", "x" * 3000, "\x01\x02 a \x03"])
def test_invariants_hold(chunker: str, tokenizer: Tokenizer, text: str) -> None:
    doc = make_doc(text)
    chunks = chunk_document(doc, chunker=chunker, chunk_size=16, chunk_overlap=4, tokenizer=tokenizer)
    assert chunks
    assert_invariants(doc, chunks)


@pytest.mark.parametrize("chunker", CHUNKERS)
def test_blank_document_gives_no_chunks(chunker: str) -> None:
    doc = make_doc(" \n\t ")
    assert chunk_document(doc, chunker=chunker, chunk_size=16, chunk_overlap=0) == []


@pytest.mark.parametrize("tokenizer", TOKENIZERS, ids=TOKENIZER_IDS)
@pytest.mark.parametrize("chunker", ["recursive", "markdown"])
def test_recursive_chunks_fit_the_size(chunker: str, tokenizer: Tokenizer) -> None:
    for text in (PROSE, MARKDOWN):
        chunks = chunk_document(
            make_doc(text), chunker=chunker, chunk_size=24, chunk_overlap=6, tokenizer=tokenizer
        )
        assert len(chunks) > 1
        assert all(len(tokenizer.offsets(c.text)) <= 24 for c in chunks)


def test_recursive_prefers_sentence_boundaries() -> None:
    chunks = chunk_document(make_doc(PROSE), chunker="recursive", chunk_size=40, chunk_overlap=0)
    assert all(c.text.endswith(".") for c in chunks)


def test_token_windows_step_by_size_minus_overlap() -> None:
    words = [f"w{i}" for i in range(100)]
    doc = make_doc(" ".join(words))
    chunks = chunk_document(
        doc, chunker="tokens", chunk_size=20, chunk_overlap=5, tokenizer=WhitespaceTokenizer()
    )
    assert [c.text.split() for c in chunks[:2]] == [words[0:20], words[15:35]]
    assert chunks[-1].text.split()[-1] == "w99"
    for before, after in pairwise(chunks):
        assert before.text.split()[-5:] == after.text.split()[:5]  # exactly 5 tokens repeated


def test_wordpiece_token_windows_count_wordpieces() -> None:
    doc = make_doc("Internationalization and tokenization " * 30)
    tokenizer = default_tokenizer()
    chunks = chunk_document(doc, chunker="tokens", chunk_size=16, chunk_overlap=0)
    in_context = [
        sum(1 for s, e in tokenizer.offsets(doc.text) if c.start <= s and e <= c.end) for c in chunks
    ]
    assert in_context[:-1] == [16] * (len(chunks) - 1)


def test_recursive_overlap_repeats_whole_sentences() -> None:
    sentences = [f"Sentence {i} has five words." for i in range(20)]
    doc = make_doc(" ".join(sentences))
    chunks = chunk_document(
        doc, chunker="recursive", chunk_size=20, chunk_overlap=10, tokenizer=WhitespaceTokenizer()
    )
    assert len(chunks) > 2
    for before, after in pairwise(chunks):
        assert after.start < before.end  # really overlapping
        shared = doc.text[after.start : before.end]
        assert shared.startswith("Sentence") and shared.endswith(".")
        assert len(shared.split()) <= 10


def test_zero_overlap_means_no_shared_text() -> None:
    doc = make_doc(PROSE)
    for chunker in ("tokens", "recursive"):
        chunks = chunk_document(doc, chunker=chunker, chunk_size=16, chunk_overlap=0)
        assert all(after.start >= before.end for before, after in pairwise(chunks))


# ----------------------------------------------------------------------------------------------------------
# Markdown


def test_markdown_sections_and_titles() -> None:
    doc = make_doc(MARKDOWN)
    chunks = chunk_document(doc, chunker="markdown", chunk_size=256, chunk_overlap=0)
    assert [c.title for c in chunks] == ["Doc", "Doc > Travel", "Doc > Hotels", "Doc > Meals"]
    assert chunks[1].text.startswith("# Travel")
    assert "# this is a comment" in chunks[2].text and "#hashtag" in chunks[2].text
    assert chunks[3].text == "### Meals\nMeals are covered up to 40 euros a day."
    assert_invariants(doc, chunks)


def test_long_markdown_section_is_split_and_keeps_its_heading() -> None:
    body = " ".join(f"Rule {i} applies to every trip." for i in range(30))
    doc = make_doc(f"# Rules\n\n{body}\n\n# End\n\nDone.")
    chunks = chunk_document(doc, chunker="markdown", chunk_size=32, chunk_overlap=8)
    rules = [c for c in chunks if c.title == "Doc > Rules"]
    assert len(rules) > 2
    assert rules[0].text.startswith("# Rules\n\nRule 0")  # the heading opens a chunk, not a chunk of its own
    assert chunks[-1].title == "Doc > End" and chunks[-1].text == "# End\n\nDone."
    assert all(len(default_tokenizer().offsets(c.text)) <= 32 for c in chunks)
    assert_invariants(doc, chunks)


# ----------------------------------------------------------------------------------------------------------
# Parameters, corpus, stats, tokenizer


@pytest.mark.parametrize(
    ("chunker", "size", "overlap", "message"),
    [
        ("sentences", 64, 0, "choose one of tokens, recursive, markdown"),
        ("tokens", MIN_CHUNK_SIZE - 1, 0, f"at least {MIN_CHUNK_SIZE}"),
        ("tokens", 64, 64, "from 0 to 63"),
        ("recursive", 64, -1, "from 0 to 63"),
        ("markdown", True, 0, "whole number"),
    ],
)
def test_bad_parameters_say_what_is_allowed(chunker: str, size: int, overlap: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        chunk_document(make_doc("text"), chunker=chunker, chunk_size=size, chunk_overlap=overlap)
    with pytest.raises(InputError, match=message):
        chunk_corpus([], chunker=chunker, chunk_size=size, chunk_overlap=overlap)


def test_chunk_corpus_numbers_chunks_per_document() -> None:
    docs = [make_doc(PROSE, "a.txt"), make_doc("Short one.", "b.txt")]
    chunks = chunk_corpus(docs, chunker="recursive", chunk_size=32, chunk_overlap=0)
    assert chunks[0].chunk_id == "a.txt#c0" and chunks[-1].chunk_id == "b.txt#c0"
    assert [c.doc_id for c in chunks] == sorted(c.doc_id for c in chunks)


def test_chunk_stats() -> None:
    chunks = chunk_document(
        make_doc(" ".join(["word"] * 40)),
        chunker="tokens",
        chunk_size=16,
        chunk_overlap=0,
        tokenizer=WhitespaceTokenizer(),
    )
    stats = chunk_stats(chunks, WhitespaceTokenizer())
    assert stats == {"count": 3, "total_tokens": 40, "mean_tokens": 40 / 3, "min_tokens": 8, "max_tokens": 16}
    assert chunk_stats([])["count"] == 0


def test_wordpiece_tokenizer_offsets() -> None:
    assert minilm_tokenizer_path().name == "tokenizer.json"
    tokenizer = WordPieceTokenizer()
    text = "Hello, Wörld! Tokenization"
    pieces = [text[s:e] for s, e in tokenizer.offsets(text)]
    assert pieces[:4] == ["Hello", ",", "Wörld", "!"]  # no [CLS]/[SEP], offsets point into the original text
    assert "".join(pieces[4:]) == "Tokenization" and len(pieces) > 5
    assert len(tokenizer.offsets("word " * 1000)) == 1000  # the saved 128-token truncation is switched off
    assert tokenizer.offsets("") == []


# ----------------------------------------------------------------------------------------------------------
# Properties

MARKDOWNISH = st.lists(
    st.sampled_from(
        ["# ", "## ", "#", "\n", "\n\n", " ", "word", "Word.", "```", "ü", "中", "\x01", "?", "\t"]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=80, deadline=None)
@given(
    text=st.one_of(st.text(max_size=400), MARKDOWNISH),
    chunker=st.sampled_from(CHUNKERS),
    size=st.integers(MIN_CHUNK_SIZE - 2, 40),
    overlap=st.integers(-2, 40),
    tokenizer_index=st.integers(0, len(TOKENIZERS) - 1),
)
def test_any_text_keeps_the_invariants(
    text: str, chunker: str, size: int, overlap: int, tokenizer_index: int
) -> None:
    doc = make_doc(text)
    tokenizer = TOKENIZERS[tokenizer_index]
    valid = size >= MIN_CHUNK_SIZE and 0 <= overlap < size
    try:
        chunks = chunk_document(
            doc, chunker=chunker, chunk_size=size, chunk_overlap=overlap, tokenizer=tokenizer
        )
    except InputError:
        assert not valid
        return
    assert valid
    assert_invariants(doc, chunks)
    if tokenizer_index == 0:
        assert all(len(tokenizer.offsets(c.text)) <= size for c in chunks)
