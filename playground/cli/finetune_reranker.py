"""`playground finetune-reranker`: train a cross-encoder reranker from a BEIR folder (train qrels; the test
qrels are held out) or from a question set about a corpus, with hard negatives mined by BM25 and dense search,
headless. Use the result as `ce:<folder>` in a variant."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from playground.core.errors import InputError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "finetune-reranker",
        help="Train a cross-encoder reranker (from the packaged MiniLM) on questions, their evidence "
        "passages and hard negatives, from a BEIR folder or a question set with a corpus.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--dataset", type=Path, help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."
    )
    source.add_argument(
        "--questions", type=Path, help="Question set (JSONL/CSV with evidence); needs --corpus."
    )
    p.add_argument("--corpus", type=Path, help="Folder of documents the --questions are about.")
    p.add_argument(
        "--heldout",
        type=Path,
        help="With --questions: a question set never to train on (your evaluation questions); questions too "
        "close to one are dropped too.",
    )
    p.add_argument("--split", default="train", help="BEIR qrels to train on (default train).")
    p.add_argument(
        "--title-queries",
        type=int,
        default=0,
        metavar="N",
        help="With --dataset: also train on N documents' titles as questions for their texts, picked at random "
        "(more than there are: all). No judged query is read. On SciFact all 5,183 titles took the reranker "
        "from 0.677 to 0.704 nDCG@10 (default 0: none).",
    )
    p.add_argument(
        "--sentence-queries",
        type=int,
        default=0,
        metavar="N",
        help="Also train on N sentences, each taken out of its document (--dataset) or chunk (--corpus) as a "
        "question for the rest of it, picked at random: no question needs writing, and a chunk holding a "
        "held-out question's evidence gives none (default 0: none).",
    )
    p.add_argument(
        "--heldout-split",
        default="test",
        help="BEIR qrels kept out of training (default test, when present).",
    )
    p.add_argument(
        "--out", type=Path, required=True, help="Folder to save the model in (replaced only on success)."
    )
    p.add_argument("--epochs", type=int, default=1, help="Passes over the pairs (default 1).")
    p.add_argument("--negatives", type=int, default=4, help="Hard negatives per question (default 4).")
    p.add_argument(
        "--mining",
        choices=("both", "bm25", "dense"),
        default="both",
        help="Who mines the negatives (default both).",
    )
    p.add_argument("--max-pairs", type=int, help="Train on at most this many pairs (to fit a time budget).")
    p.add_argument(
        "--max-length", type=int, default=256, help="Tokens of question + passage read (default 256)."
    )
    p.add_argument("--batch-size", type=int, default=16, help="Pairs per step (default 16).")
    p.add_argument("--lr", type=float, default=5e-5, help="Learning rate of the encoder (default 5e-5).")
    p.add_argument(
        "--head-lr", type=float, default=1e-3, help="Learning rate of the new scoring head (default 1e-3)."
    )
    p.add_argument(
        "--loss",
        choices=("bce", "listwise"),
        default="bce",
        help="bce: each pair on its own; listwise: each evidence passage against its negatives, one softmax "
        "(default bce).",
    )
    p.add_argument(
        "--layers",
        type=int,
        default=0,
        help="Keep N of the base's 6 transformer layers (the first N - 1 and the last): a smaller model that "
        "reranks faster (default 0: all).",
    )
    p.add_argument(
        "--pooling",
        choices=("cls", "mean"),
        default="cls",
        help="What the new scoring head reads: the first token (cls) or the mean of all tokens (mean, as the "
        "packaged MiniLM was trained to be read) (default cls).",
    )
    p.set_defaults(func=cmd_finetune_reranker)


def _examples(args: argparse.Namespace, settings: Any) -> Any:
    """The training examples: judged or written questions, then any titles and sentences as questions."""
    from playground.finetune.embeddings import BASE_EMBEDDER
    from playground.finetune.reranker_sources import (
        MineOptions,
        beir_examples,
        corpus_examples,
        made_examples,
    )
    from playground.models.registry import get_embedder

    options = MineOptions(args.negatives, args.mining, max(30, args.negatives), args.max_pairs)
    embedder = get_embedder(BASE_EMBEDDER, settings) if args.mining != "bm25" else None
    if args.dataset:
        if not args.dataset.is_dir():
            raise InputError(f"No BEIR folder at {args.dataset}: give a folder with corpus.jsonl and qrels/.")
        found = beir_examples(
            args.dataset,
            options,
            split=args.split,
            heldout_split=args.heldout_split or None,
            embedder=embedder,
            cache_dir=settings.data_dir / "beir",
        )
        made = made_examples(
            args.dataset, options, titles=args.title_queries, sentences=args.sentence_queries
        )
        return dataclasses.replace(found, examples=found.examples + made)
    if args.title_queries:
        raise InputError("--title-queries needs --dataset (a BEIR folder whose documents have titles).")
    if not args.corpus:
        raise InputError("--questions needs --corpus (the folder of documents the questions are about).")
    return corpus_examples(
        args.questions,
        args.corpus,
        options,
        heldout_file=args.heldout,
        embedder=embedder,
        sentences=args.sentence_queries,
    )


def _say_what_trains(found: Any, made: dict[str, int], source: str) -> None:
    kinds = {"title_queries": "document titles", "sentence_queries": "sentences taken out of their texts"}
    also = " and ".join(f"{n} {kinds[k]}" for k, n in made.items() if n)
    also = f" (and {also} as questions)" if also else ""
    print(
        f"training on {found.pairs} pairs from {len(found.examples) - sum(made.values())} questions{also} of "
        f"{source} ({found.heldout} held out, {found.dropped} dropped as too close to them, {found.skipped} "
        "without evidence)",
        file=sys.stderr,
        flush=True,
    )


def cmd_finetune_reranker(args: argparse.Namespace) -> int:
    from playground.core.settings import Settings
    from playground.finetune.progress import Monitor
    from playground.finetune.reranker import RerankHyper, train_reranker
    from playground.finetune.reranker_sources import made_counts

    hyper = RerankHyper(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        head_learning_rate=args.head_lr,
        negatives=args.negatives,
        max_length=args.max_length,
        loss=args.loss,
        layers=args.layers,
        pooling=args.pooling,
    )
    found = _examples(args, Settings.from_env())
    made = made_counts(found.examples)
    source = str(args.dataset or args.questions)
    _say_what_trains(found, made, source)

    def on_loss(step: int, loss: float, total: int) -> None:
        if step == 1 or step % 10 == 0 or step == total:
            print(f"step {step}/{total} loss {loss:.4f}", file=sys.stderr, flush=True)

    meta = {
        "trained_on": source,
        "heldout": str(args.heldout or args.heldout_split or ""),
        "mining": args.mining,
    } | made
    result = train_reranker(found.examples, args.out, hyper, monitor=Monitor(on_loss=on_loss), meta=meta)
    print(
        json.dumps(
            {
                "reranker": result.reranker,
                "path": str(result.path),
                "questions": result.questions - sum(made.values()),
                **made,
                "pairs": result.pairs,
                "heldout": found.heldout,
                "dropped": found.dropped,
                "steps": result.steps,
                "seconds": result.seconds,
                "final_loss": result.losses[-1][1] if result.losses else None,
            },
            indent=1,
        )
    )
    print(
        f"use it in a variant as: reranker cross-encoder, reranker_model {result.reranker}", file=sys.stderr
    )
    return 0
