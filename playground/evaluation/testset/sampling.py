"""Which passages questions are written from: chunks spread over the documents, and pairs of chunks from two
documents that name the same thing (for multi-hop questions). Seeded, so a run can be repeated exactly."""

from __future__ import annotations

import random
from collections.abc import Sequence

from playground.core.documents import Chunk
from playground.evaluation.testset.facts import lowercase_words, names

MIN_PASSAGE_WORDS = 25
MAX_NAME_SHARE = 0.25  # a name in more than this share of the files (the company's own) links nothing useful

Pair = tuple[Chunk, Chunk, str]


def usable(chunks: Sequence[Chunk]) -> list[Chunk]:
    """Chunks with enough text to ask about (a heading alone is not)."""
    return [c for c in chunks if len(c.text.split()) >= MIN_PASSAGE_WORDS]


def source_of(chunk: Chunk) -> str:
    """The file a chunk comes from (a PDF's pages are one source, not one each)."""
    return chunk.source or chunk.doc_id


def spread(chunks: Sequence[Chunk], seed: int) -> list[Chunk]:
    """Every chunk once, in an order that takes one chunk from each file in turn (files and chunks shuffled)."""
    rng = random.Random(seed)
    groups: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        groups.setdefault(source_of(chunk), []).append(chunk)
    keys = sorted(groups)
    rng.shuffle(keys)
    for key in keys:
        rng.shuffle(groups[key])
    longest = max((len(g) for g in groups.values()), default=0)
    return [groups[k][i] for i in range(longest) for k in keys if i < len(groups[k])]


def entity_pairs(chunks: Sequence[Chunk], seed: int) -> list[Pair]:
    """(chunk, chunk from another file, the name both mention), at most one pair per first chunk, rarest
    shared name first: a name found in few files ties two passages more tightly than a common one."""
    common = lowercase_words(c.text for c in chunks)
    found = {c.chunk_id: names(c.text, common) for c in chunks}
    holders: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        for name in found[chunk.chunk_id]:
            holders.setdefault(name, []).append(chunk)
    files = {n: {source_of(c) for c in cs} for n, cs in holders.items()}
    limit = max(2, int(MAX_NAME_SHARE * len({source_of(c) for c in chunks})))
    rare = {n for n, f in files.items() if 2 <= len(f) <= limit}
    rng, pairs, used = random.Random(seed), list[Pair](), set[frozenset[str]]()
    for first in spread(chunks, seed):
        for name in sorted(found[first.chunk_id] & rare, key=lambda n: (len(files[n]), n)):
            partners = [
                c
                for c in holders[name]
                if source_of(c) != source_of(first) and frozenset((first.chunk_id, c.chunk_id)) not in used
            ]
            if partners:
                second = rng.choice(partners)
                used.add(frozenset((first.chunk_id, second.chunk_id)))
                pairs.append((first, second, name))
                break
    return pairs
