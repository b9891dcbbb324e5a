"""Where a reranker's training questions come from: a BEIR folder's train qrels (held-out: its test qrels), or
a question set located in a corpus (held-out: another question set). Both end as `Examples` with hard
negatives mined by BM25 and dense search, held-out questions and their near-duplicates removed first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from playground.core.config import IndexConfig
from playground.core.documents import Chunk
from playground.core.errors import InputError
from playground.evaluation.beir import BeirData, embed_passages, load_beir, load_passages
from playground.evaluation.testset.facts import fact_sentences
from playground.finetune.data import TrainingItem, answerable, items_from_questions
from playground.finetune.reranker_data import (
    Embed,
    Examples,
    Miner,
    RerankExample,
    Target,
    cap_pairs,
    item_targets,
    keep_out,
    mine_examples,
)
from playground.models.embedders import Embedder

Mining = Literal["both", "bm25", "dense"]
MINING: tuple[Mining, ...] = ("both", "bm25", "dense")


@dataclass(frozen=True)
class MineOptions:
    """Negatives per question, which retrievers mine them, how deep each is read, and a cap on all pairs."""

    negatives: int = 4
    mining: Mining = "both"
    depth: int = 30
    max_pairs: int | None = None

    def __post_init__(self) -> None:
        if self.negatives < 1 or self.depth < self.negatives or self.mining not in MINING:
            raise InputError(
                f"Mining options out of range: negatives >= 1, depth >= negatives, mining one of {MINING}."
            )


def _query_embed(embedder: Embedder | None, options: MineOptions) -> Embed | None:
    return embedder.embed_documents if embedder is not None and options.mining != "bm25" else None


# --- a BEIR folder --------------------------------------------------------------------------------------------


def beir_items(data: BeirData) -> list[TrainingItem]:
    """One item per judged query, with its first relevant document as the passage."""
    docs = {p.chunk_id: p for p in data.passages}
    items = []
    for qid in data.query_ids():
        relevant = [d for d, grade in data.qrels[qid].items() if grade > 0 and d in docs]
        if relevant:
            first = docs[relevant[0]]
            items.append(
                TrainingItem(qid, data.queries[qid], "", first.text, first.chunk_id, first.doc_id, "beir")
            )
    return items


def _beir_targets(data: BeirData, items: list[TrainingItem]) -> list[Target]:
    targets = []
    for item in items:
        relevant = tuple(d for d, grade in data.qrels[item.qid].items() if grade > 0)
        targets.append(Target(item.qid, item.question, relevant, frozenset(relevant)))
    return targets


def beir_examples(
    folder: Path,
    options: MineOptions = MineOptions(),
    *,
    split: str = "train",
    heldout_split: str | None = "test",
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
) -> Examples:
    """Examples from the `split` qrels; queries of `heldout_split` (when its file exists), and queries too
    close to them, are kept out. Dense mining embeds the corpus once (cached in `cache_dir`, as
    retrieval-bench caches it)."""
    if split == heldout_split:
        raise InputError(
            f"Training on the '{split}' split and holding it out too leaves nothing: pick another."
        )
    data = load_beir(folder, split)
    held_path = Path(folder) / "qrels" / f"{heldout_split}.tsv"
    heldout = beir_items(load_beir(folder, heldout_split)) if heldout_split and held_path.exists() else []
    items = beir_items(data)
    kept = keep_out(items, heldout)
    vectors = None
    if embedder is not None and options.mining != "bm25":
        if cache_dir is None:
            raise InputError(
                "Dense mining on a BEIR folder needs a folder to cache the corpus embeddings in."
            )
        vectors, _ = embed_passages(data, embedder, cache_dir)
    examples = _mine(_beir_targets(data, list(kept.train)), data.passages, options, vectors, embedder)
    skipped = len(data.query_ids()) - len(items)
    return Examples(examples, len(kept.heldout), len(kept.dropped), skipped)


def title_examples(
    folder: Path, options: MineOptions = MineOptions(), *, limit: int | None = None, seed: int = 0
) -> list[RerankExample]:
    """More training from the corpus itself: each titled document's title as a question for its text (without
    the title, so the title is not simply found again), with BM25-mined hard negatives among the other texts.
    No judged query is read, so nothing held out can leak; `limit` takes that many documents at random.
    Titles are not questions, but they name what a text is about, as a query does (GPL and InPars adapt
    rankers to a corpus the same way, with generated questions instead of titles). A title BM25 finds no hard
    negative for, or one that repeats an earlier title, is left out: it would teach nothing about ranking."""
    passages = load_passages(folder)
    titled = [p for p in passages if p.title and len(p.text) > len(p.title) + 20]
    if limit is not None and limit < len(titled):
        rng = np.random.default_rng(seed)
        titled = [titled[i] for i in sorted(rng.choice(len(titled), size=limit, replace=False))]
    bodies = [_body(p) for p in passages if p.title]
    targets = [Target(f"title:{p.chunk_id}", p.title, (p.chunk_id,)) for p in titled]
    mined = _mine(targets, bodies, MineOptions(options.negatives, "bm25", options.depth), None, None)
    kept: dict[str, RerankExample] = {}
    for example in mined:
        if example.negatives and example.question not in kept:
            kept[example.question] = example
    return list(kept.values())


def sentence_examples(
    passages: Sequence[Chunk],
    options: MineOptions = MineOptions(),
    *,
    limit: int | None = None,
    seed: int = 0,
    keep: float = 0.0,
) -> list[RerankExample]:
    """Training from any corpus, no question needed: one sentence taken out of a passage is a question for
    the rest of it (the inverse cloze task of Lee et al., 2019), with BM25-mined hard negatives among the
    other passages. Taking the sentence out means its words cannot simply be found again, so the model learns
    what a passage is about. Passages with fewer than three fact-sized sentences give none; `limit` takes
    that many of the others at random, and `seed` picks the sentences. `keep`: the share of passages that keep
    their sentence (Lee et al. keep 10%), so matching words still count for something: with every sentence
    taken out, the positive is the one passage that lost the question's words, while BM25's negatives share
    them."""
    rng = np.random.default_rng(seed)
    picked: dict[str, str] = {}
    for passage in passages:
        found = fact_sentences(passage.text)
        if len(found) >= 3:
            picked[passage.chunk_id] = found[int(rng.integers(len(found)))]
    chosen = list(picked)
    if limit is not None and limit < len(chosen):
        chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), size=limit, replace=False))]
    kept = {cid for cid in chosen if rng.random() < keep}
    rest = [
        _without(p, picked[p.chunk_id]) if p.chunk_id in picked and p.chunk_id not in kept else p
        for p in passages
    ]
    targets = [Target(f"sentence:{cid}", picked[cid], (cid,)) for cid in chosen]
    mined = _mine(targets, rest, MineOptions(options.negatives, "bm25", options.depth), None, None)
    return [example for example in mined if example.negatives]


def made_examples(
    folder: Path,
    options: MineOptions = MineOptions(),
    *,
    titles: int = 0,
    sentences: int = 0,
    seed: int = 0,
    keep: float = 0.0,
) -> list[RerankExample]:
    """Questions made from a BEIR folder's corpus instead of judged ones: up to `titles` titles
    (`title_examples`) and `sentences` sentences (`sentence_examples`, `seed` picking them, `keep` the share
    left in their passage)."""
    made = title_examples(folder, options, limit=titles) if titles else []
    if sentences:
        made += sentence_examples(load_passages(folder), options, limit=sentences, seed=seed, keep=keep)
    return made


def made_counts(examples: Sequence[RerankExample]) -> dict[str, int]:
    """How many of the examples' questions were made from the corpus, not written: titles and sentences."""
    return {
        f"{kind}_queries": sum(1 for e in examples if e.qid.startswith(f"{kind}:"))
        for kind in ("title", "sentence")
    }


def _without(passage: Chunk, sentence: str) -> Chunk:
    """The passage with the sentence taken out (fact_sentences keeps a sentence's text up to whitespace)."""
    words, cut = passage.text.split(), sentence.split()
    at = next((i for i in range(len(words)) if words[i : i + len(cut)] == cut), None)
    text = " ".join(words if at is None else words[:at] + words[at + len(cut) :])
    return Chunk(passage.chunk_id, passage.doc_id, text, 0, len(text))


def _body(passage: Chunk) -> Chunk:
    text = (
        passage.text[len(passage.title) :].strip() if passage.text.startswith(passage.title) else passage.text
    )
    return Chunk(passage.chunk_id, passage.doc_id, text, 0, len(text))


# --- a question set in a corpus --------------------------------------------------------------------------------


def _mine(
    targets: list[Target],
    passages: list[Chunk],
    options: MineOptions,
    vectors: np.ndarray | None,
    embedder: Embedder | None,
) -> list[RerankExample]:
    embed = _query_embed(embedder, options)
    miner = Miner(passages, vectors if embed else None, use_bm25=options.mining != "dense")
    examples = mine_examples(
        targets, passages, options.negatives, embed=embed, depth=options.depth, miner=miner
    )
    return cap_pairs(examples, options.max_pairs)


def question_examples(
    items: list[TrainingItem],
    chunks: list[Chunk],
    options: MineOptions = MineOptions(),
    *,
    heldout: list[TrainingItem] | None = None,
    embedder: Embedder | None = None,
) -> Examples:
    """Examples from located items (a question set or generated ones); `heldout` items never train."""
    kept = keep_out(answerable(items), heldout or [])
    targets, skipped = item_targets(list(kept.train), chunks)
    embed = _query_embed(embedder, options)
    vectors = embed([c.text for c in chunks]) if embed is not None else None
    examples = _mine(targets, chunks, options, vectors, embedder)
    return Examples(examples, len(kept.heldout), len(kept.dropped), skipped)


def corpus_examples(
    questions_file: Path,
    corpus_dir: Path,
    options: MineOptions = MineOptions(),
    *,
    heldout_file: Path | None = None,
    embedder: Embedder | None = None,
    index: IndexConfig | None = None,
    sentences: int = 0,
) -> Examples:
    """Examples from a question set about a folder of documents, each question's evidence located in the chunks
    (cut as `index` says); the questions of `heldout_file`, and questions too close to them, never train.
    `sentences`: also that many chunks' sentences as questions for the rest of their chunk (`sentence_examples`),
    never from a chunk that holds a held-out question's evidence."""
    from playground.ingest.loaders import load_folder
    from playground.ingest.questions import load_questions
    from playground.retrieval.index import corpus_chunks

    if not Path(corpus_dir).is_dir():
        raise InputError(
            f"No corpus folder at {corpus_dir}: give the folder of documents the questions are about."
        )
    corpus = load_folder(Path(corpus_dir))
    chunks = corpus_chunks(corpus, index or IndexConfig())
    items = items_from_questions(load_questions(Path(questions_file)), corpus, chunks)
    held = items_from_questions(load_questions(heldout_file), corpus, chunks) if heldout_file else []
    found = question_examples(items, chunks, options, heldout=held, embedder=embedder)
    return with_sentences(found, chunks, held, options, sentences)


def with_sentences(
    found: Examples,
    chunks: Sequence[Chunk],
    heldout: Sequence[TrainingItem],
    options: MineOptions,
    sentences: int,
) -> Examples:
    """`found` and up to `sentences` chunks' sentences as questions for the rest of their chunk
    (`sentence_examples`). A chunk that holds a held-out question's evidence gives none: none of it may train,
    since generated held-out questions are themselves made from such sentences."""
    if not sentences:
        return found
    located, _ = item_targets(heldout, chunks)
    evidence = {cid for target in located for cid in target.positive_ids}
    evidence |= {item.chunk_id for item in heldout}
    extra = sentence_examples([c for c in chunks if c.chunk_id not in evidence], options, limit=sentences)
    return dataclasses.replace(found, examples=found.examples + extra)
