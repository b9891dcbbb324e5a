"""Retrieval on a BEIR-format folder, scored as BEIR and MTEB score it, to compare with published numbers.

Documents are indexed whole (title + " " + text, as MTEB does), searched by exact cosine in numpy or by BM25,
and scored with nDCG@10, Recall@100 and MRR@10 from `playground.evaluation.metrics`. Corpus embeddings are cached under
the data folder, keyed by the passages' hash and the embedder's identity, so a second run skips embedding.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from playground.core.documents import Chunk
from playground.core.errors import InputError
from playground.evaluation import metrics as m
from playground.models.embedders import Embedder
from playground.retrieval.index import ScoredChunk

Progress = Callable[[str, int, int], None]
DEPTH = 100


@dataclass(frozen=True)
class BeirData:
    name: str
    passages: list[Chunk]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for p in self.passages:
            digest.update(f"{p.chunk_id}\x1f{p.text}\x1e".encode())
        return digest.hexdigest()[:16]

    def query_ids(self, limit: int | None = None) -> list[str]:
        """Judged queries in qrels order, the first `limit` of them."""
        ids = [q for q in self.qrels if q in self.queries]
        return ids[:limit] if limit else ids


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise InputError(
            f"{path} is missing: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/test.tsv."
        )
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.exists():
        raise InputError(
            f"{path} is missing: a BEIR folder needs qrels/<split>.tsv (query-id, corpus-id, score)."
        )
    qrels: dict[str, dict[str, int]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:  # the first line is the header
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip().lstrip("-").isdigit():
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def load_passages(folder: Path) -> list[Chunk]:
    """A BEIR folder's documents alone (corpus.jsonl), for what reads no query and no judgement."""
    return [_passage(row) for row in _jsonl(Path(folder) / "corpus.jsonl")]


def load_beir(folder: Path, split: str = "test") -> BeirData:
    folder = Path(folder)
    passages = load_passages(folder)
    queries = {str(row["_id"]): str(row["text"]) for row in _jsonl(folder / "queries.jsonl")}
    qrels = _qrels(folder / "qrels" / f"{split}.tsv")
    if not passages or not any(q in queries for q in qrels):
        raise InputError(f"{folder}: no documents, or no judged query with text. Check the BEIR files.")
    return BeirData(folder.name, passages, queries, qrels)


def _passage(row: dict[str, Any]) -> Chunk:
    title, text = str(row.get("title") or ""), str(row.get("text") or "")
    full = f"{title} {text}".strip()
    doc_id = str(row["_id"])
    return Chunk(chunk_id=doc_id, doc_id=doc_id, text=full, start=0, end=len(full), title=title)


class ExactIndex:
    """Whole passages with their unit vectors; search is an exact dot product (= cosine)."""

    def __init__(self, key: str, chunks: list[Chunk], vectors: np.ndarray | None = None) -> None:
        self.key = key
        self.chunks = chunks
        self.vectors = vectors

    def search(
        self, query_vector: np.ndarray, k: int, categories: Sequence[str] | None = None
    ) -> list[ScoredChunk]:
        if self.vectors is None:
            raise InputError("This index has no vectors: embed the passages first.")
        scores = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        if categories:
            wanted = set(categories)
            scores = np.where([c.category in wanted for c in self.chunks], scores, -np.inf)
        k = min(k, len(self.chunks))
        top = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.array([], dtype=int)
        order = top[np.argsort(-scores[top], kind="stable")]
        return [
            ScoredChunk(self.chunks[i], float(scores[i]), r)
            for r, i in enumerate(order, 1)
            if np.isfinite(scores[i])
        ]


def _cache_path(cache_dir: Path, data: BeirData, embedder: Embedder) -> Path:
    who = hashlib.sha256(embedder.identity.encode()).hexdigest()[:12]
    return cache_dir / f"{data.name}-{data.content_hash}-{who}.npy"


def embed_passages(
    data: BeirData, embedder: Embedder, cache_dir: Path, on_progress: Progress | None = None, batch: int = 256
) -> tuple[np.ndarray, bool]:
    """(vectors, whether they came from the cache)."""
    path = _cache_path(cache_dir, data, embedder)
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(data.passages):
            return vectors, True
    texts = [p.text for p in data.passages]
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed_documents(texts[start : start + batch]))
        if on_progress:
            on_progress("embedding passages", min(start + batch, len(texts)), len(texts))
    vectors = np.vstack(parts).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors, False


def score_run(ranked: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the ranked queries (BEIR's cut-offs)."""
    ndcg, recall, mrr = [], [], []
    for qid, ids in ranked.items():
        grades = qrels.get(qid, {})
        relevant = {d for d, g in grades.items() if g > 0}
        ndcg.append(m.ndcg_at_k(ids, grades, 10))
        recall.append(m.recall_at_k(ids, relevant, 100))
        mrr.append(m.reciprocal_rank(ids, relevant, 10))
    return {
        "ndcg@10": round(m.mean(ndcg), 4),
        "recall@100": round(m.mean(recall), 4),
        "mrr@10": round(m.mean(mrr), 4),
        "n_queries": len(ranked),
    }


def ids_of(hits: Sequence[ScoredChunk]) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


def elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 3)
