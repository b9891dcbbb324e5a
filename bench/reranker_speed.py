"""How long reranking 50 candidates takes with each trained cross-encoder, on the same SciFact test queries and
BM25 candidates, in one process (the first model is every ratio's baseline). It scores through the project's
own `ce:` reranker, as a variant does, after one warm-up call that loads the model. An abstract longer than a
model reads is read in windows (`playground.models.passage_windows`), each one model pass, so figures from before
2026-12-03 (one pass per abstract) are not comparable with later ones.

    python -m bench reranker_speed                      # every model under .data/bench-reranker/
    python -m bench reranker_speed --models DIR DIR ... --queries 20

Quality of the same models: `python -m bench reranker --model DIR` (nDCG@10 on the 300 test queries).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench.common import RESULTS, ROOT, Figure, machine, report
from playground.core.settings import Settings
from playground.evaluation.beir import ExactIndex, load_beir
from playground.models.names import cross_encoder_name
from playground.models.registry import get_reranker
from playground.retrieval.retrievers import BM25Retriever, Query

SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"
MODELS = ROOT / ".data" / "bench-reranker"


def candidate_sets(dataset: Path, queries: int, candidates: int) -> list[tuple[str, list[str]]]:
    data = load_beir(dataset, "test")
    retriever = BM25Retriever(ExactIndex(f"beir-{data.name}-{data.content_hash}", data.passages))
    return [
        (data.queries[q], [h.chunk.text for h in retriever.search(Query(data.queries[q]), candidates)])
        for q in data.query_ids(queries)
    ]


def rerank_ms(model: Path, sets: list[tuple[str, list[str]]], settings: Settings) -> list[float]:
    reranker = get_reranker(cross_encoder_name(model), settings)
    reranker.score("warm-up", ["load the model before timing"])
    times = []
    for query, passages in sets:
        started = time.perf_counter()
        reranker.score(query, passages)
        times.append(1000 * (time.perf_counter() - started))
    return times


def _layers(model: Path) -> int:
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    return int(config.get("num_hidden_layers", 0))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=Path, default=SCIFACT)
    p.add_argument(
        "--models", type=Path, nargs="+", help="Cross-encoder folders (default: all trained here)."
    )
    p.add_argument("--queries", type=int, default=20)
    p.add_argument("--candidates", type=int, default=50)
    args = p.parse_args(argv)
    models = args.models or sorted(d for d in MODELS.iterdir() if (d / "config.json").exists())
    sets = candidate_sets(args.dataset, args.queries, args.candidates)
    settings = Settings(data_dir=ROOT / ".data")
    medians = {m: statistics.median(rerank_ms(m, sets, settings)) for m in models}
    baseline = medians[models[0]]
    report(
        "Reranker speed",
        [
            Figure(f"{m.name} ({_layers(m)} layers)", ms, baseline, "ms", f"median of {len(sets)} queries")
            for m, ms in medians.items()
        ],
    )
    print(
        f"{args.candidates} candidates per query; results in {RESULTS / 'reranker_speed.json'} ({machine()})"
    )


if __name__ == "__main__":
    main()
