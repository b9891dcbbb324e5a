"""Score fine-tuned models on the held-out questions against their base, with the library's own index and
metrics: hit@k for embedders; answer accuracy without retrieval, and with RAG, for LLMs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.config import IndexConfig, VariantConfig
from playground.core.documents import Corpus
from playground.core.settings import Settings
from playground.evaluation import metrics as m
from playground.evaluation.results import EvalRun
from playground.evaluation.runner import run_evaluation
from playground.evaluation.scoring import retrieval_metrics
from playground.finetune import registry
from playground.finetune.data import TrainingItem, as_question_set
from playground.ingest.questions import Evidence, EvidenceLocator
from playground.models.embedders import Embedder
from playground.models.names import try_parse_model_name
from playground.models.registry import get_embedder, get_reranker
from playground.models.st_embedder import SentenceTransformerEmbedder
from playground.rag.strategies.rerank_fusion import AUTO_FUSION, Fusion, fused_scores
from playground.retrieval.index import ScoredChunk, get_or_build_index

_FRESH: dict[str, SentenceTransformerEmbedder] = {}


def load_embedder(name: str, settings: Settings) -> Embedder:
    """Like get_embedder, but a fine-tuned folder retrained since it was loaded is loaded again."""
    parsed = try_parse_model_name(name)
    meta = Path(parsed.model) / registry.META_FILE if parsed and parsed.is_sentence_transformers else None
    if parsed is None or meta is None or not meta.is_file():
        return get_embedder(name, settings)
    key = f"{name}@{meta.stat().st_mtime_ns}"
    if key not in _FRESH:
        _FRESH[key] = SentenceTransformerEmbedder(name, parsed.model)
    return _FRESH[key]


@dataclass(frozen=True)
class RetrievalScore:
    embedder: str
    k: int
    n: int
    hit: float
    mrr: float
    per_question: dict[str, float]


def retrieval_score(
    items: Sequence[TrainingItem],
    corpus: Corpus,
    index_config: IndexConfig,
    embedder_name: str,
    settings: Settings,
    k: int = 5,
    on_progress: Callable[[int, int], None] | None = None,
) -> RetrievalScore:
    """hit@k and MRR@k of `embedder_name` on the items that have evidence, with the index the variants use."""
    embedder = load_embedder(embedder_name, settings)
    index = get_or_build_index(
        corpus, index_config.model_copy(update={"embedder": embedder_name}), embedder, settings, on_progress
    )
    locator, hits, ranks = EvidenceLocator(corpus), {}, []
    for item in (i for i in items if i.quotes):
        located = [locator.locate(Evidence(quote=q)) for q in item.quotes]
        if not any(located):
            continue
        found = index.search(embedder.embed_query(item.question), k)
        scores = retrieval_metrics(found, located, k)
        hits[item.qid] = float(scores["hit@k"] or 0.0)
        ranks.append(float(scores["mrr"] or 0.0))
    return RetrievalScore(
        embedder_name,
        k,
        len(hits),
        m.mean(list(hits.values())) if hits else 0.0,
        m.mean(ranks) if ranks else 0.0,
        hits,
    )


def rerank_scores(
    items: Sequence[TrainingItem],
    corpus: Corpus,
    index_config: IndexConfig,
    reranker_name: str,
    settings: Settings,
    k: int = 5,
    candidates: int = 20,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[RetrievalScore, RetrievalScore, RetrievalScore]:
    """hit@k and MRR@k of retrieval alone, then with its top `candidates` reordered by the reranker fused with
    the retriever's scores as a variant fuses them by default (`auto`), then by the reranker's order alone; on
    the items that have evidence (the index the variants use, with its own embedder)."""
    embedder = load_embedder(index_config.embedder, settings)
    index = get_or_build_index(corpus, index_config, embedder, settings, on_progress)
    reranker = get_reranker(reranker_name, settings)
    locator, rows = EvidenceLocator(corpus), dict[str, tuple[float, ...]]()
    for item in (i for i in items if i.quotes):
        located = [locator.locate(Evidence(quote=q)) for q in item.quotes]
        if not any(located):
            continue
        found = index.search(embedder.embed_query(item.question), max(k, candidates))
        scores = reranker.score(item.question, [h.chunk.text for h in found])
        row: list[float] = []
        for ranked in (found, *(_reordered(found, scores, fusion) for fusion in (AUTO_FUSION, "replace"))):
            metrics = retrieval_metrics(ranked, located, k)
            row += [float(metrics["hit@k"] or 0.0), float(metrics["mrr"] or 0.0)]
        rows[item.qid] = tuple(row)
    return (
        _score("retrieval", k, rows, 0),
        _score(f"retrieval + {reranker_name}, fused", k, rows, 2),
        _score(f"retrieval + {reranker_name} alone", k, rows, 4),
    )


def _reordered(found: Sequence[ScoredChunk], scores: Sequence[float], fusion: Fusion) -> list[ScoredChunk]:
    fused = fused_scores([h.score for h in found], scores, fusion)
    order = sorted(range(len(found)), key=lambda j: -fused[j])
    return [ScoredChunk(found[j].chunk, fused[j], r) for r, j in enumerate(order, start=1)]


def _score(name: str, k: int, rows: dict[str, tuple[float, ...]], at: int) -> RetrievalScore:
    hits = {qid: row[at] for qid, row in rows.items()}
    mrr = [row[at + 1] for row in rows.values()]
    return RetrievalScore(
        name, k, len(rows), m.mean(list(hits.values())) if hits else 0.0, m.mean(mrr) if mrr else 0.0, hits
    )


def comparison_variants(
    base_model: str, tuned_model: str, index_config: IndexConfig, top_k: int = 4, max_tokens: int = 48
) -> list[VariantConfig]:
    """base, fine-tuned, RAG and fine-tuned + RAG: the four corners the method compares."""
    plain = VariantConfig.model_validate(
        {"name": "base model", "model": base_model, "index": index_config, "max_tokens": max_tokens}
    )
    rag = {"use_retrieval": True, "top_k": top_k}
    return [
        plain,
        plain.model_copy(update={"name": "fine-tuned", "model": tuned_model}),
        plain.model_copy(update={"name": "RAG", **rag}),
        plain.model_copy(update={"name": "fine-tuned + RAG", "model": tuned_model, **rag}),
    ]


def answer_comparison(
    items: Sequence[TrainingItem],
    corpus: Corpus,
    variants: Sequence[VariantConfig],
    settings: Settings,
    **kwargs: Any,
) -> EvalRun:
    """Every variant on the held-out questions, scored by the evaluation module (accuracy = contains gold)."""
    return run_evaluation(
        list(variants), corpus, as_question_set(list(items), "held-out"), settings, **kwargs
    )


def summary(run: EvalRun) -> list[dict[str, Any]]:
    keep = (
        "variant",
        "model",
        "retrieval",
        "n",
        "errors",
        "contains",
        "token_f1",
        "exact_match",
        "hit@k",
        "latency_s",
    )
    return [{k: row.get(k) for k in keep} for row in run.summary_rows()]
