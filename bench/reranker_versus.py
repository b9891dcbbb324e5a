"""A trained cross-encoder's SciFact orders against dense and hybrid search, query by query.

    python -m bench.reranker_versus scifact-cross-encoder-sentences-trainwin-2pass [more result names]

`bench/reranker.py` keeps each test claim's cross-encoder scores for BM25's top candidates (`per_query`) and
compares each order with BM25 alone (`vs_bm25`). The issue also names dense search (0.645) and hybrid search
(0.714): this rebuilds the three orders (alone, rrf, interpolated) from those stored scores, so no model runs,
checks they score what the run scored, searches the same claims with dense and hybrid retrieval (retrieval-bench's
own code; the corpus embeddings are cached under .data/beir, ~5 min the first time) and adds each comparison,
paired query by query, to the result file under `versus`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.common import RESULTS
from bench.reranker import FUSION_LABELS, FUSIONS, SCIFACT, _settings
from playground.evaluation.beir import DEPTH, BeirData, ExactIndex, load_beir, score_run
from playground.evaluation.retrieval_bench import BenchOptions, Ranked, paired_ndcg, ranked_queries
from playground.rag.strategies.rerank_fusion import fused_order
from playground.retrieval.retrievers import BM25Retriever, Query

FIRST_STAGES = ("dense", "hybrid")
SAME = 0.0005  # a rebuilt order may differ from the run's by ties at the stored scores' 5 decimals


def rebuilt_orders(data: BeirData, per_query: dict[str, list[list[Any]]]) -> dict[str, Ranked]:
    """Each fusion's order of every claim, from BM25's top 100 and the stored cross-encoder scores of its top
    candidates, exactly as `bench.reranker.rerank` orders them."""
    retriever = BM25Retriever(ExactIndex(f"beir-{data.name}-{data.content_hash}", data.passages))
    orders: dict[str, Ranked] = {fusion: {} for fusion in FUSIONS}
    for qid, scored in per_query.items():
        hits = retriever.search(Query(data.queries[qid]), DEPTH)
        ids = [h.chunk.chunk_id for h in hits]
        if ids[: len(scored)] != [d for d, _ in scored]:
            raise SystemExit(f"claim {qid}: BM25's candidates are not the ones the run scored")
        retriever_scores = [h.score for h in hits[: len(scored)]]
        for fusion in FUSIONS:
            order = fused_order(retriever_scores, [float(s) for _, s in scored], fusion)
            orders[fusion][qid] = [ids[j] for j in order] + ids[len(scored) :]
    return orders


def first_stage_orders(data: BeirData, qids: list[str]) -> dict[str, Ranked]:
    return {
        name: ranked_queries(data, qids, BenchOptions(retriever=name), _settings()) for name in FIRST_STAGES
    }


def versus(data: BeirData, result: dict[str, Any], first_stages: dict[str, Ranked]) -> dict[str, Any]:
    """Each first stage's own nDCG@10 and every cross-encoder order against it, query by query."""
    test, qrels = result["test"], data.qrels
    orders = rebuilt_orders(data, test["per_query"])
    for fusion, ranked in orders.items():
        rebuilt, stored = score_run(ranked, qrels)["ndcg@10"], test[FUSION_LABELS[fusion]]["ndcg@10"]
        if abs(rebuilt - stored) > SAME:
            raise SystemExit(f"{FUSION_LABELS[fusion]}: rebuilt nDCG@10 {rebuilt} is not the run's {stored}")
    return {
        name: {"ndcg@10": score_run(first, qrels)["ndcg@10"]}
        | {FUSION_LABELS[f]: paired_ndcg(first, orders[f], qrels) for f in FUSIONS}
        for name, first in first_stages.items()
    }


def main(argv: list[str] | None = None) -> None:
    names = argv if argv is not None else sys.argv[1:]
    if not names:
        raise SystemExit(__doc__)
    data = load_beir(SCIFACT, "test")
    first_stages: dict[str, Ranked] | None = None
    for name in names:
        path = RESULTS / f"{name}.json"
        result = json.loads(path.read_text(encoding="utf-8"))
        first_stages = first_stages or first_stage_orders(data, list(result["test"]["per_query"]))
        result["versus"] = versus(data, result, first_stages)
        path.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(name)
        for stage, found in result["versus"].items():
            print(f"  {stage} {found['ndcg@10']:.4f}")
            for label in FUSION_LABELS.values():
                c = found[label]
                low, high = c["ci95"]
                print(
                    f"    {label}: {c['ndcg@10_diff']:+.4f} ({low:+.4f} to {high:+.4f}), p = {c['p_value']}, "
                    f"up {c['up']}, down {c['down']}"
                )


if __name__ == "__main__":
    main()
