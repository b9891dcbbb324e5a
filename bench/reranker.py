"""A cross-encoder the project trains itself, on BEIR SciFact: train on the train qrels (hard negatives mined
by BM25 and dense search), then rerank BM25's top 50 for the test queries.

    python -m bench.reranker                                   # full: every train and test query
    python -m bench.reranker --train-queries 100 --test-queries 30 --out scifact-cross-encoder-small

Prints and writes nDCG@10 / Recall@100 / MRR@10 of BM25 alone, the cross-encoder alone (its order of the top
50, BM25's below) and their reciprocal rank fusion, with the training time and the reranking time per query.
SciFact (CC BY-NC) is read from ../shared/datasets/scifact and never copied; only scores and ids are stored.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, machine
from playground.core.settings import Settings
from playground.evaluation.beir import BeirData, ExactIndex, load_beir, score_run
from playground.evaluation.retrieval_bench import paired_ndcg
from playground.finetune.embeddings import BASE_EMBEDDER
from playground.finetune.progress import Monitor
from playground.finetune.reranker import LOSSES, POOLINGS, RerankHyper, train_reranker
from playground.finetune.reranker_sources import (
    MineOptions,
    beir_examples,
    made_counts,
    made_examples,
)
from playground.models.cross_encoder import load_cross_encoder
from playground.models.names import cross_encoder_name
from playground.models.registry import get_embedder, get_reranker
from playground.rag.strategies.rerank_fusion import Fusion, fused_order
from playground.retrieval.retrievers import BM25Retriever, Query

SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"
DEPTH = 100
REFERENCES = {
    "bm25": 0.671,
    "dense": 0.645,
    "hybrid": 0.714,
    "BEIR BM25 + MS MARCO MiniLM cross-encoder": 0.688,
}


def _settings() -> Settings:
    """The project's data folder: the corpus embeddings are cached where retrieval-bench caches them."""
    return Settings(data_dir=ROOT / ".data")


def train(args: argparse.Namespace, settings: Settings, out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    options = MineOptions(args.negatives, args.mining, max(30, args.negatives))
    embedder = get_embedder(BASE_EMBEDDER, settings) if args.mining != "bm25" else None
    found = beir_examples(args.dataset, options, embedder=embedder, cache_dir=settings.data_dir / "beir")
    examples = found.examples[: args.train_queries] if args.train_queries else found.examples
    made = made_examples(
        args.dataset,
        options,
        titles=args.title_queries,
        sentences=args.sentence_queries,
        seed=args.seed,
        keep=args.keep,
    )
    examples = examples + made
    mined = round(time.perf_counter() - started, 1)
    print(
        f"mined {sum(e.pairs for e in examples)} pairs from {len(examples)} queries in {mined} s", flush=True
    )

    def on_loss(step: int, loss: float, total: int) -> None:
        if step == 1 or step % 25 == 0 or step == total:
            print(f"step {step}/{total} loss {loss:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)

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
        windows=args.train_windows,
    )
    trained = train_reranker(
        examples,
        out,
        hyper,
        base_path=args.from_model,
        monitor=Monitor(on_loss=on_loss),
        meta={"trained_on": "scifact"},
    )
    return {
        "hyper": asdict(hyper),
        "from_model": str(args.from_model) if args.from_model else None,
        "sentence_seed": args.seed,
        "sentence_keep": args.keep,
        "mining": args.mining,
        "train_queries": len(examples) - len(made),
        **made_counts(made),
        "heldout_queries": found.heldout,
        "dropped_as_too_close_to_heldout": found.dropped,
        "pairs": trained.pairs,
        "steps": trained.steps,
        "mining_s": mined,
        "training_s": trained.seconds,
        "final_loss": trained.losses[-1][1] if trained.losses else None,
    }


FUSIONS: tuple[Fusion, ...] = ("replace", "rrf", "interpolate")
FUSION_LABELS = {  # each fusion's name in a result file
    "replace": "cross-encoder",
    "rrf": "cross-encoder + bm25 (rrf)",
    "interpolate": "cross-encoder + bm25 (interpolate 0.5)",
}


def rerank(
    data: BeirData,
    qids: list[str],
    model: Path,
    candidates: int,
    settings: Settings,
    max_length: int | None = None,
) -> dict[str, Any]:
    """BM25's top 100; its top `candidates` reordered by the cross-encoder alone (`replace`) and fused with
    BM25's scores as the pipeline fuses them (`rrf`, `interpolate` at weight 0.5). `max_length`: read this many
    tokens of query + passage instead of the length the model was trained at."""
    retriever = BM25Retriever(ExactIndex(f"beir-{data.name}-{data.content_hash}", data.passages))
    reranker = get_reranker(cross_encoder_name(model), settings)
    reranker.score("warm-up", ["load the model before timing"])
    if max_length:
        load_cross_encoder(str(model)).max_length = max_length
    runs: dict[str, dict[str, list[str]]] = {name: {} for name in ("bm25", *FUSIONS)}
    times, per_query = [], {}
    for i, qid in enumerate(qids, start=1):
        hits = retriever.search(Query(data.queries[qid]), DEPTH)
        ids, top = [h.chunk.chunk_id for h in hits], hits[:candidates]
        started = time.perf_counter()
        scores = reranker.score(data.queries[qid], [h.chunk.text for h in top])
        times.append(time.perf_counter() - started)
        runs["bm25"][qid] = ids
        for fusion in FUSIONS:
            order = fused_order([h.score for h in top], scores, fusion)
            runs[fusion][qid] = [ids[j] for j in order] + ids[candidates:]
        per_query[qid] = [[d, round(float(x), 5)] for d, x in zip(ids, scores, strict=False)]
        if i % 25 == 0 or i == len(qids):
            print(f"reranked {i}/{len(qids)} ({1000 * statistics.mean(times):.0f} ms/query)", flush=True)
    scored = {FUSION_LABELS.get(name, name): score_run(ranked, data.qrels) for name, ranked in runs.items()}
    for fusion in FUSIONS:  # each fusion against BM25 alone, query by query
        scored[FUSION_LABELS[fusion]]["vs_bm25"] = paired_ndcg(runs["bm25"], runs[fusion], data.qrels)
    return scored | {
        "candidates": candidates,
        "rerank_ms_per_query_mean": round(1000 * statistics.mean(times), 1),
        "rerank_ms_per_query_median": round(1000 * statistics.median(times), 1),
        "torch_threads": _threads(),
        "max_length": int(load_cross_encoder(str(model)).max_length),
        "per_query": per_query,
    }


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=Path, default=SCIFACT)
    p.add_argument("--train-queries", type=int, help="Train on the first N train queries (default all).")
    p.add_argument("--test-queries", type=int, help="Rerank for the first N test queries (default all).")
    p.add_argument("--negatives", type=int, default=4)
    p.add_argument("--mining", choices=("both", "bm25", "dense"), default="both")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--loss", choices=LOSSES, default="bce")
    p.add_argument(
        "--title-queries",
        type=int,
        default=0,
        help="Also train on N documents' titles as questions (default 0).",
    )
    p.add_argument(
        "--sentence-queries",
        type=int,
        default=0,
        help="Also train on N sentences taken out of documents as questions for the rest (default 0).",
    )
    p.add_argument(
        "--layers",
        type=int,
        default=0,
        help="Keep N layers of the base: the first N - 1 and the last (0: all).",
    )
    p.add_argument(
        "--pooling",
        choices=POOLINGS,
        default="cls",
        help="What the new head reads: the first token (cls) or the mean of all tokens (mean).",
    )
    p.add_argument(
        "--train-windows",
        action="store_true",
        help="Show each long training passage as its window holding most of the question's words, as "
        "reranking reads it (default: its start).",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="Which sentence of each document is taken out as its question (default 0).",
    )
    p.add_argument(
        "--keep",
        type=float,
        default=0.0,
        help="Share of documents whose sentence stays in the text it is a question for (default 0).",
    )
    p.add_argument(
        "--from-model",
        type=Path,
        help="Continue training this cross-encoder folder (e.g. a second pass with other sentences).",
    )
    p.add_argument("--candidates", type=int, default=50)
    p.add_argument("--model", type=Path, help="Rerank with this trained folder instead of training one.")
    p.add_argument(
        "--rerank-max-length",
        type=int,
        help="Tokens of query + passage read when reranking (default: the length the model was trained at).",
    )
    p.add_argument("--out", default="scifact-cross-encoder", help="Result name under bench/results/.")
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    settings = _settings()
    started = time.perf_counter()
    model = args.model or settings.data_dir / "bench-reranker" / args.out
    training = None if args.model else train(args, settings, model)
    data = load_beir(args.dataset, "test")
    result = {
        "title": "SciFact: a cross-encoder trained on SciFact train reranks BM25's top candidates",
        "machine": machine() + " (shared with other jobs)",
        "date": time.strftime("%Y-%m-%d"),
        "model": str(model),
        "training": training,
        "test": rerank(
            data, data.query_ids(args.test_queries), model, args.candidates, settings, args.rerank_max_length
        ),
        "published_ndcg@10": REFERENCES,
        "total_s": round(time.perf_counter() - started, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
