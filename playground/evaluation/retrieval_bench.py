"""`playground retrieval-bench`: one retriever on a BEIR folder, with metrics comparable to published numbers.

dense, bm25 and hybrid run every judged query (or the first `limit`). rerank (LLM reranking of the BM25
top `candidates`) and hyde (HyDE with the local model, dense search) call the LLM per query, so they usually
run on `limit` queries; their result carries the plain BM25 / dense scores on the same queries as `baseline`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core.config import DEFAULT_EMBEDDER, DEFAULT_LOCAL_MODEL
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
from playground.models.embedders import Embedder
from playground.models.llms import LLM
from playground.models.registry import get_embedder, get_llm
from playground.rag.strategies import hyde_query, llm_rerank
from playground.retrieval.retrievers import BM25Retriever, DenseRetriever, HybridRetriever, Query, Retriever

RETRIEVERS = ("dense", "bm25", "hybrid", "rerank", "hyde")
Ranked = dict[str, list[str]]


@dataclass(frozen=True)
class BenchOptions:
    retriever: str
    embedder: str = DEFAULT_EMBEDDER
    model: str = DEFAULT_LOCAL_MODEL
    limit: int | None = None
    candidates: int = 20


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


def _llm(run: _Run) -> LLM:
    started = time.perf_counter()
    llm = run.llm or get_llm(run.options.model, run.settings)
    run.timings["model_load_s"] = elapsed(started)
    run.extra["model"] = llm.name
    return llm


def bench_rerank(run: _Run) -> Ranked:
    """BM25 top 100, with the top `candidates` reordered by the LLM's P(yes)."""
    retriever, llm, n = _bm25(run), _llm(run), run.options.candidates
    run.extra["candidates"] = n
    ranked, rows, started = {}, [], time.perf_counter()
    for i, qid in enumerate(run.qids, start=1):
        question = run.data.queries[qid]
        hits = retriever.search(Query(question), DEPTH)
        result = llm_rerank(question, hits[:n], llm, top_k=n)
        ranked[qid] = ids_of(result.hits) + ids_of(hits[n:])
        rows.append(
            {"qid": qid, "before": ids_of(hits[:10]), "after": ranked[qid][:10], "method": result.method}
        )
        run.progress("reranking", i, len(run.qids))
    run.timings["rerank_s"] = elapsed(started)
    run.extra["per_query"] = rows
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
