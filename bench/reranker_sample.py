"""A reranker trained on the fictional sample's own sentences, as the Fine-tune page trains one when step 1 is
skipped: no question is written, the sample's 49 human-written questions are held out (their evidence chunks
give no sentence), and step 4's comparison is computed on them.

    python -m bench reranker_sample                       # the page's defaults: 200 sentences, 1 epoch
    python -m bench reranker_sample --epochs 3 --sentences 1000
    python -m bench reranker_sample --pooling mean --out reranker_sample_mean

Prints hit@k and MRR@k of retrieval alone, of the reranker fused with retrieval's scores (a variant's default)
and of the reranker's order alone, at k = 1 and 5, with the training time; writes
bench/results/reranker_sample.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import Any

from bench.common import RESULTS, ROOT, machine, scratch_data_dir
from playground.core.config import IndexConfig
from playground.core.settings import Settings
from playground.finetune import data, evaluate, registry
from playground.finetune.progress import Monitor
from playground.finetune.reranker import POOLINGS, RerankHyper, train_reranker
from playground.finetune.reranker_data import Examples
from playground.finetune.reranker_sources import MineOptions, with_sentences
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.retrieval.index import corpus_chunks

SAMPLE = ROOT / "sample_corpus" / "fictional"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sentences", type=int, default=200, help="Sentences as questions (the page's default).")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument(
        "--pooling", choices=POOLINGS, default="cls", help="What the new head reads (as the page's default)."
    )
    p.add_argument("--out", default="reranker_sample", help="Result name under bench/results/.")
    args = p.parse_args(argv)
    corpus, index = load_folder(SAMPLE / "docs"), IndexConfig()
    chunks = corpus_chunks(corpus, index)
    heldout = data.items_from_questions(load_questions(SAMPLE / "questions.jsonl"), corpus, chunks)
    hyper = RerankHyper(epochs=args.epochs, max_length=args.max_length, pooling=args.pooling)
    options = MineOptions(negatives=hyper.negatives, mining="bm25")
    found = with_sentences(Examples([], len(heldout)), chunks, heldout, options, args.sentences)
    settings = Settings(data_dir=scratch_data_dir())
    started = time.perf_counter()
    trained = train_reranker(
        found.examples, registry.models_dir(settings) / "sample", hyper, monitor=Monitor()
    )
    trained_s = round(time.perf_counter() - started, 1)
    result: dict[str, Any] = {
        "title": "A reranker trained on the fictional sample's sentences alone, tested on its 49 questions",
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "hyper": asdict(hyper),
        "sentence_queries": len(found.examples),
        "pairs": trained.pairs,
        "training_s": trained_s,
        "comparison": {},
    }
    for k in (1, 5):
        scores = evaluate.rerank_scores(heldout, corpus, index, trained.reranker, settings, k=k)
        result["comparison"][f"k={k}"] = {
            name: {"hit": round(s.hit, 3), "mrr": round(s.mrr, 3), "n": s.n}
            for name, s in zip(("retrieval", "fused (default)", "alone"), scores, strict=True)
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
