"""Dense retrieval latency on 1k, 10k and 100k chunks in chromadb, against an exact numpy search over the same
vectors (random unit vectors: HNSW latency depends on the count and the dimension, not on the text)."""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench.common import Figure, report, scratch_data_dir
from playground.core.documents import Chunk
from playground.core.settings import Settings
from playground.retrieval.index import VectorIndex, chroma_client

DIM = 384  # all-MiniLM-L6-v2
QUERIES = 50


def _index(n: int, vectors: np.ndarray, settings: Settings) -> VectorIndex:
    collection = chroma_client(settings).create_collection(
        f"bench-{n}", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    chunks = [Chunk(f"c{i}", f"d{i // 10}", f"chunk {i}", 0, 8, category=f"cat{i % 5}") for i in range(n)]
    for start in range(0, n, 2000):
        collection.add(
            ids=[c.chunk_id for c in chunks[start : start + 2000]],
            embeddings=vectors[start : start + 2000].tolist(),
            metadatas=[{"category": c.category} for c in chunks[start : start + 2000]],
        )
    return VectorIndex(f"bench-{n}", chunks, collection, "random")


def _median_ms(fn, queries: np.ndarray) -> float:
    samples = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def figures(n: int, settings: Settings, rng: np.random.Generator) -> list[Figure]:
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.normal(size=(QUERIES, DIM)).astype(np.float32)
    index = _index(n, vectors, settings)
    ours = _median_ms(lambda q: index.search(q, 10), queries)
    exact = _median_ms(lambda q: np.argpartition(-(vectors @ q), 10)[:10], queries)
    return [
        Figure(
            f"dense top-10 query, {n:,} chunks (median), ms",
            ours,
            exact,
            "ms",
            "chromadb HNSW vs exact numpy scan; target < 50 ms at 10k",
        )
    ]


def main() -> None:
    settings = Settings(data_dir=scratch_data_dir())
    rng = np.random.default_rng(0)
    sizes = (1_000, 10_000, 100_000)
    report("Retrieval", [figure for n in sizes for figure in figures(n, settings, rng)])


if __name__ == "__main__":
    main()
