"""`playground retrieval-bench`: one retriever on a BEIR folder, with metrics comparable to published numbers.

dense, bm25 and hybrid run every judged query (or the first `limit`). rerank (the BM25 top `candidates`
reranked by the LLM's P(yes), by the LLM's order of all of them in one call (listwise) or by a cross-encoder,
fused with BM25's order by `fusion`) and hyde (HyDE with
the local model, dense search) call a model per query, so they usually run on `limit` queries; their result
carries the plain BM25 / dense scores on the same queries as `baseline`. A rerank run also scores every fusion
from the same reranker scores (`fusions`) and keeps each query's scores under `per_query`, so fusions can be
compared without scoring again. Reranker scores are cached, so a second run costs no model call.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core.config import DEFAULT_EMBEDDER, DEFAULT_LOCAL_MODEL
from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.evaluation.beir import (
    DEPTH,
    BeirData,
    ExactIndex,
    Progress,
    elapsed,
    embed_passages,
    ids_of,
    load_beir,
    score_run,
)
from playground.evaluation.metrics import ndcg_at_k
from playground.evaluation.stats import paired_interval, paired_test
from playground.models.embedders import Embedder
from playground.models.llms import LLM
from playground.models.registry import get_embedder, get_llm, get_reranker
from playground.rag.strategies import (
    RerankResult,
    cross_encoder_rerank,
    hyde_query,
    listwise_rerank,
    llm_rerank,
)
from playground.rag.strategies.rerank_fusion import Fusion, fused_order, resolve_fusion
from playground.retrieval.index import ScoredChunk
from playground.retrieval.retrievers import BM25Retriever, DenseRetriever, HybridRetriever, Query, Retriever
from playground.storage.cached_models import CachedLLM
from playground.storage.cached_reranker import CachedReranker
from playground.storage.keys import model_identity
from playground.storage.response_cache import ResponseCache

RETRIEVERS = ("dense", "bm25", "hybrid", "rerank", "hyde")
RERANKERS = ("llm", "cross-encoder", "listwise")  # listwise: an LLM ordering all candidates in one call
# Every fusion a rerank run also scores from the same reranker scores: (label, fusion, reranker weight).
COMPARED_FUSIONS: tuple[tuple[str, Fusion, float], ...] = (
    ("replace", "replace", 1.0),
    ("rrf", "rrf", 0.5),
    ("interpolate 0.3", "interpolate", 0.3),
    ("interpolate 0.5", "interpolate", 0.5),
    ("interpolate 0.7", "interpolate", 0.7),
)
Ranked = dict[str, list[str]]


@dataclass(frozen=True)
class BenchOptions:
    retriever: str
    embedder: str = DEFAULT_EMBEDDER
    model: str = DEFAULT_LOCAL_MODEL
    limit: int | None = None
    candidates: int = 20
    reranker: str = "llm"
    reranker_model: str | None = None  # cross-encoder: required; llm, listwise: None means `model`
    fusion: str = "auto"
    weight: float = 0.5
    passage_chars: int | None = None  # rerank: cut each candidate to this many characters first (speed)


@dataclass
class _Run:
    data: BeirData
    qids: list[str]
    options: BenchOptions
    settings: Settings
    on_progress: Progress | None
    llm: LLM | None = None
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def progress(self, what: str, done: int, total: int) -> None:
        if self.on_progress:
            self.on_progress(what, done, total)

    def index(self, vectors: Any = None) -> ExactIndex:
        return ExactIndex(f"beir-{self.data.name}-{self.data.content_hash}", self.data.passages, vectors)


def _bm25(run: _Run) -> BM25Retriever:
    started = time.perf_counter()
    retriever = BM25Retriever(run.index())
    run.timings["bm25_index_s"] = elapsed(started)
    return retriever


def _dense(run: _Run) -> tuple[DenseRetriever, Embedder]:
    started = time.perf_counter()
    embedder = get_embedder(run.options.embedder, run.settings)
    run.timings["embedder_load_s"] = elapsed(started)
    started = time.perf_counter()
    vectors, cached = embed_passages(run.data, embedder, run.settings.data_dir / "beir", run.on_progress)
    run.timings["embed_corpus_s"] = elapsed(started)
    run.extra["corpus_embeddings_cached"] = cached
    run.extra["embedder"] = embedder.identity
    return DenseRetriever(run.index(vectors), embedder), embedder


def _search(run: _Run, retriever: Retriever, queries: dict[str, Query], label: str = "search") -> Ranked:
    started = time.perf_counter()
    ranked = {qid: ids_of(retriever.search(query, DEPTH)) for qid, query in queries.items()}
    run.timings[f"{label}_s"] = elapsed(started)
    run.timings[f"{label}_ms_per_query"] = round(1000 * run.timings[f"{label}_s"] / max(1, len(queries)), 2)
    return ranked


def _text_queries(run: _Run) -> dict[str, Query]:
    return {qid: Query(run.data.queries[qid]) for qid in run.qids}


def _embedded_queries(run: _Run, embedder: Embedder) -> dict[str, Query]:
    texts = [run.data.queries[qid] for qid in run.qids]
    vectors = embedder.embed_documents(texts)
    return {qid: Query(text, vector) for qid, text, vector in zip(run.qids, texts, vectors, strict=True)}


def bench_bm25(run: _Run) -> Ranked:
    return _search(run, _bm25(run), _text_queries(run))


def bench_dense(run: _Run) -> Ranked:
    retriever, embedder = _dense(run)
    return _search(run, retriever, _embedded_queries(run, embedder))


def bench_hybrid(run: _Run) -> Ranked:
    dense, embedder = _dense(run)
    return _search(run, HybridRetriever(dense, _bm25(run), depth=DEPTH), _embedded_queries(run, embedder))


def _llm(run: _Run, name: str | None = None) -> LLM:
    started = time.perf_counter()
    llm = run.llm or get_llm(name or run.options.model, run.settings)
    run.timings["model_load_s"] = elapsed(started)
    run.extra["model"] = llm.name
    return llm


def _reranker(run: _Run) -> tuple[Callable[[str, list[ScoredChunk]], RerankResult], Any]:
    """The configured reranker as (question, candidates) -> result, and the cached model behind it (its
    `hits` and `misses` say how many scores came from the cache)."""
    o = run.options
    fusion = resolve_fusion(o.reranker, o.fusion)
    run.extra |= {"reranker": o.reranker, "fusion": fusion, "weight": o.weight}
    cache = ResponseCache(run.settings)
    if o.reranker == "cross-encoder":
        if not o.reranker_model:
            raise InputError(
                "--reranker cross-encoder needs --reranker-model: a cross-encoder folder, ce:<folder> or "
                "rerank:<model>@<url>. Train one with `playground finetune-reranker`."
            )
        scorer = CachedReranker(get_reranker(o.reranker_model, run.settings), cache)
        run.extra["reranker_model"] = o.reranker_model
        return (lambda q, hits: cross_encoder_rerank(q, hits, scorer, len(hits), fusion, o.weight)), scorer
    name = o.reranker_model or o.model
    llm = run.llm or CachedLLM(_llm(run, name), cache, model_identity(name, run.settings))
    run.extra["model"] = llm.name
    rerank = listwise_rerank if o.reranker == "listwise" else llm_rerank
    return (lambda q, hits: rerank(q, hits, llm, len(hits), fusion, o.weight)), llm


def _cut(hits: list[ScoredChunk], chars: int | None) -> list[ScoredChunk]:
    """The candidates with their text cut to `chars` characters (None: whole), for a faster LLM rerank."""
    if chars is None:
        return hits
    return [
        dataclasses.replace(h, chunk=dataclasses.replace(h.chunk, text=h.chunk.text[:chars])) for h in hits
    ]


def _per_query(qid: str, hits: list[ScoredChunk], result: RerankResult, after: list[str]) -> dict[str, Any]:
    """What the reranker did for one query, with every candidate's retriever and reranker score."""
    return {
        "qid": qid,
        "before": ids_of(hits[:10]),
        "after": after[:10],
        "method": result.method,
        "candidates": result.before,
        "retriever_scores": [round(h.score, 6) for h in hits[: len(result.before)]],
        "scores": [result.scores[c] for c in result.before],
    }


def compare_fusions(
    rows: list[dict[str, Any]], tails: Ranked, qrels: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """Every fusion in COMPARED_FUSIONS scored from the per-query scores of one rerank run, each with its paired
    comparison against the retriever's own order on the same queries (`vs_retriever`)."""
    first_stage = {r["qid"]: r["candidates"] + tails[r["qid"]] for r in rows}
    found = {}
    for label, fusion, weight in COMPARED_FUSIONS:
        ranked = {
            r["qid"]: [
                r["candidates"][i] for i in fused_order(r["retriever_scores"], r["scores"], fusion, weight)
            ]
            + tails[r["qid"]]
            for r in rows
        }
        found[label] = score_run(ranked, qrels) | {"vs_retriever": paired_ndcg(first_stage, ranked, qrels)}
    return found


def paired_ndcg(before: Ranked, after: Ranked, qrels: dict[str, dict[str, int]]) -> dict[str, Any]:
    """nDCG@10 of `after` minus `before`, query by query: mean, 95% interval, the paired test's p-value, and how
    many queries went up or down, so "not below the retriever" is a measured statement, not a reading of means."""
    a = [ndcg_at_k(before[q], qrels.get(q, {}), 10) for q in before]
    b = [ndcg_at_k(after[q], qrels.get(q, {}), 10) for q in before]
    diff, low, high = paired_interval(a, b)
    return {
        "ndcg@10_diff": round(diff, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "p_value": round(float(paired_test(a, b)["p_value"]), 4),
        "up": int(sum(y > x for x, y in zip(a, b, strict=True))),
        "down": int(sum(y < x for x, y in zip(a, b, strict=True))),
    }


def bench_rerank(run: _Run) -> Ranked:
    """BM25 top 100, with the top `candidates` reordered by the reranker, fused with BM25's order."""
    (rerank, model), retriever, n = _reranker(run), _bm25(run), run.options.candidates
    run.extra |= {"candidates": n, "passage_chars": run.options.passage_chars}
    ranked, rows, tails, started = {}, [], {}, time.perf_counter()
    for i, qid in enumerate(run.qids, start=1):
        question = run.data.queries[qid]
        hits = retriever.search(Query(question), DEPTH)
        result = rerank(question, _cut(hits[:n], run.options.passage_chars))
        ranked[qid], tails[qid] = ids_of(result.hits) + ids_of(hits[n:]), ids_of(hits[n:])
        rows.append(_per_query(qid, hits, result, ranked[qid]))
        run.progress("reranking", i, len(run.qids))
    run.timings["rerank_s"] = elapsed(started)
    run.timings["rerank_ms_per_query"] = round(1000 * run.timings["rerank_s"] / max(1, len(run.qids)), 1)
    run.extra["scores_from_cache"] = {
        "hits": getattr(model, "hits", 0),
        "misses": getattr(model, "misses", 0),
    }
    run.extra["per_query"] = rows
    run.extra["fusions"] = compare_fusions(rows, tails, run.data.qrels)
    run.extra["baseline"] = score_run(
        _search(run, retriever, _text_queries(run), "baseline_search"), run.data.qrels
    ) | {"retriever": "bm25"}
    return ranked


def bench_hyde(run: _Run) -> Ranked:
    """Dense search with the HyDE passage embedding averaged with the question's."""
    retriever, embedder = _dense(run)
    llm = _llm(run)
    queries, rows, started = {}, [], time.perf_counter()
    for i, qid in enumerate(run.qids, start=1):
        result = hyde_query(run.data.queries[qid], llm, embedder, with_question=True)
        queries[qid] = result.query
        rows.append({"qid": qid, "passage": result.passage, "fallback": result.fallback})
        run.progress("writing HyDE passages", i, len(run.qids))
    run.timings["hyde_generate_s"] = elapsed(started)
    run.extra["per_query"] = rows
    run.extra["fallbacks"] = sum(1 for r in rows if r["fallback"])
    baseline = _search(run, retriever, _embedded_queries(run, embedder), "baseline_search")
    run.extra["baseline"] = score_run(baseline, run.data.qrels) | {"retriever": "dense"}
    return _search(run, retriever, queries)


BENCHES: dict[str, Callable[[_Run], Ranked]] = {
    "bm25": bench_bm25,
    "dense": bench_dense,
    "hybrid": bench_hybrid,
    "rerank": bench_rerank,
    "hyde": bench_hyde,
}


def ranked_queries(data: BeirData, qids: list[str], options: BenchOptions, settings: Settings) -> Ranked:
    """Each query's top ids by `options.retriever`, as `run_retrieval_bench` ranks them before scoring (for a
    paired comparison with another run on the same queries)."""
    return BENCHES[options.retriever](_Run(data, qids, options, settings, None))


def run_retrieval_bench(
    folder: Path,
    options: BenchOptions,
    settings: Settings,
    on_progress: Progress | None = None,
    llm: LLM | None = None,
) -> dict[str, Any]:
    """Metrics, timings and (under `per_query`) what the LLM did for each query. `llm` overrides the model."""
    started = time.perf_counter()
    data = load_beir(folder)
    run = _Run(data, data.query_ids(options.limit), options, settings, on_progress, llm)
    run.timings["load_s"] = elapsed(started)
    ranked = BENCHES[options.retriever](run)
    run.timings["total_s"] = elapsed(started)
    return {
        "dataset": data.name,
        "retriever": options.retriever,
        **score_run(ranked, data.qrels),
        "n_documents": len(data.passages),
        "timings": run.timings,
        **run.extra,
    }
