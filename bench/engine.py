"""Indexing throughput against a bare encoder, and per-answer latency against a bare llama.cpp call."""

from __future__ import annotations

import resource
import statistics

from bench.common import ROOT, Figure, report, scratch_data_dir, timed
from playground.core.config import IndexConfig, VariantConfig
from playground.core.settings import Settings
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.models.local_models import model_path
from playground.models.names import parse_model_name
from playground.models.registry import get_embedder, get_llm
from playground.models.st_embedder import packaged_minilm_path
from playground.rag.pipeline import build_pipeline
from playground.retrieval.index import corpus_chunks, forget_loaded_indexes, get_or_build_index

FICTIONAL = ROOT / "sample_corpus" / "fictional"
MODEL = "local:qwen2.5-0.5b"


def indexing() -> list[Figure]:
    corpus = load_folder(FICTIONAL / "docs")
    config = IndexConfig()
    chunks = corpus_chunks(corpus, config)
    embedder = get_embedder(config.embedder)
    texts = [c.text for c in chunks]
    embedder.model.encode(texts[:8])  # warm up both paths equally
    bare = timed(lambda: embedder.model.encode(texts, batch_size=32, normalize_embeddings=True))
    settings = Settings(data_dir=scratch_data_dir())
    forget_loaded_indexes()
    full = timed(lambda: get_or_build_index(corpus, config, embedder, settings))
    forget_loaded_indexes()
    reopen = timed(lambda: get_or_build_index(corpus, config, embedder, settings))
    n = len(chunks)
    return [
        Figure(
            "index build, chunks/s (load+chunk+embed+store)",
            n / full,
            n / bare,
            "/s",
            f"{n} chunks; baseline = bare SentenceTransformer.encode",
        ),
        Figure("index reopen (cached), s", reopen, full, "s", "same settings never re-embed"),
    ]


def answer_latency(n_questions: int = 5) -> list[Figure]:
    settings = Settings(data_dir=scratch_data_dir())
    corpus = load_folder(FICTIONAL / "docs")
    questions = load_questions(FICTIONAL / "questions.jsonl").questions[:n_questions]
    variant = VariantConfig(name="rag", use_retrieval=True, model=MODEL, max_tokens=48)
    pipeline = build_pipeline(variant, corpus, settings)
    llm = get_llm(MODEL)
    raw = llm._llm  # the same weights, called directly: the floor the pipeline adds to
    pipeline.run(questions[0].question)  # warm-up
    ours, bare = [], []
    for q in questions:
        # Both calls start from an empty KV cache: otherwise the second reuses the first's prompt for free.
        raw.reset()
        result = pipeline.run(q.question)
        ours.append(result.latency_s)
        raw.reset()
        bare.append(
            timed(
                lambda m=result.prompt.messages: raw.create_chat_completion(
                    messages=m, temperature=0.0, max_tokens=48, seed=0
                )
            )
        )
    return [
        Figure(
            "RAG answer latency (median), s",
            statistics.median(ours),
            statistics.median(bare),
            "s",
            f"{MODEL}, {n_questions} questions; baseline = bare llama.cpp with the same prompt",
        )
    ]


def peak_memory() -> list[Figure]:
    """Peak RSS of this process (which loaded the embedder and the LLM, several times over) against the size
    of those model files: about 1x plus the Python runtime means each model is held once."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    files = [model_path(parse_model_name(MODEL).model), *packaged_minilm_path().rglob("*.safetensors")]
    files_mb = sum(f.stat().st_size for f in files) / 2**20
    return [
        Figure(
            "peak memory of the engine benchmark, MB",
            peak_mb,
            files_mb,
            "MB",
            "baseline = size of the model files it loads (GGUF + MiniLM)",
        )
    ]


def main() -> None:
    report("Engine", indexing() + answer_latency() + peak_memory())


if __name__ == "__main__":
    main()
