"""`playground finetune-embeddings`: train the embedder from a BEIR folder (its qrels give the pairs) or from
a corpus with a question set, headless. Evaluate the result with
`playground retrieval-bench --embedder DIR`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from playground.core.errors import InputError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "finetune-embeddings",
        help="Fine-tune the MiniLM embedder on (question, passage) pairs "
        "from a BEIR folder's qrels, or from a corpus and a question set.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--dataset", type=Path, help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."
    )
    source.add_argument("--corpus", type=Path, help="Corpus folder (with --questions).")
    p.add_argument("--questions", type=Path, help="Question set (JSONL/CSV with evidence) for --corpus.")
    p.add_argument(
        "--split", default="train", help="Which qrels file of the BEIR folder to train on (default train)."
    )
    p.add_argument(
        "--out", type=Path, required=True, help="Folder to save the model in (replaced only on success)."
    )
    p.add_argument("--epochs", type=int, default=1, help="Passes over the pairs (default 1).")
    p.add_argument("--batch-size", type=int, default=16, help="Pairs per step (default 16).")
    p.add_argument("--lr", type=float, default=2e-5, help="Learning rate (default 2e-5).")
    p.add_argument("--warmup", type=float, default=0.1, help="Warm-up ratio (default 0.1).")
    p.add_argument("--limit", type=int, help="Use only the first N pairs (to fit a time budget).")
    p.set_defaults(func=cmd_finetune_embeddings)


def beir_pairs(folder: Path, split: str) -> list[tuple[str, str]]:
    """(query, passage) for every relevant (score > 0) judgement of the split, in qrels order."""
    from playground.evaluation.beir import load_beir

    data = load_beir(folder, split)
    passages = {p.chunk_id: p.text for p in data.passages}
    return [
        (data.queries[qid], passages[doc])
        for qid, docs in data.qrels.items()
        if qid in data.queries
        for doc, grade in docs.items()
        if grade > 0 and doc in passages
    ]


def corpus_pairs(corpus_dir: Path, questions: Path) -> list[tuple[str, str]]:
    from playground.core.config import IndexConfig
    from playground.finetune.chatfile import to_pairs
    from playground.finetune.data import items_from_questions
    from playground.ingest.loaders import load_folder
    from playground.ingest.questions import load_questions
    from playground.retrieval.index import corpus_chunks

    corpus = load_folder(corpus_dir)
    chunks = corpus_chunks(corpus, IndexConfig())
    return to_pairs(items_from_questions(load_questions(questions), corpus, chunks))


def cmd_finetune_embeddings(args: argparse.Namespace) -> int:
    from playground.finetune.embeddings import EmbedHyper, train_embedder
    from playground.finetune.progress import Monitor

    if args.corpus and not args.questions:
        raise InputError("--corpus needs --questions (a question set with evidence quotes).")
    pairs = (
        beir_pairs(args.dataset, args.split) if args.dataset else corpus_pairs(args.corpus, args.questions)
    )
    pairs = pairs[: args.limit] if args.limit else pairs
    source = str(args.dataset or args.corpus)
    print(f"training on {len(pairs)} pairs from {source}", file=sys.stderr, flush=True)

    def on_loss(step: int, loss: float, total: int) -> None:
        if step == 1 or step % 10 == 0 or step == total:
            print(f"step {step}/{total} loss {loss:.4f}", file=sys.stderr, flush=True)

    hyper = EmbedHyper(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, warmup_ratio=args.warmup
    )
    result = train_embedder(
        pairs,
        args.out,
        hyper,
        monitor=Monitor(on_loss=on_loss),
        meta={"trained_on": source, "split": args.split if args.dataset else None},
    )
    print(
        json.dumps(
            {
                "embedder": result.embedder,
                "path": str(result.path),
                "pairs": result.pairs,
                "steps": result.steps,
                "seconds": result.seconds,
                "final_loss": result.losses[-1][1] if result.losses else None,
            },
            indent=1,
        )
    )
    print(
        f"evaluate with: playground retrieval-bench --dataset <BEIR folder> --retriever dense --embedder "
        f"{result.path}",
        file=sys.stderr,
    )
    return 0
