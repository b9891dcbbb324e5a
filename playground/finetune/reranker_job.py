"""The reranker's background job (the Fine-tune page's step 3): the corpus's chunks and the training items in
files beside the job, examples mined from them (with sentences taken out of chunks as questions when asked), then
`train_reranker`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from playground.core.documents import Chunk
from playground.core.settings import Settings
from playground.finetune import registry
from playground.finetune.data import load_items
from playground.finetune.embeddings import BASE_EMBEDDER
from playground.finetune.progress import Monitor
from playground.finetune.reranker import RerankHyper, train_reranker
from playground.finetune.reranker_data import Examples
from playground.finetune.reranker_sources import MineOptions, made_counts, question_examples, with_sentences


def _read_chunks(path: Path) -> list[Chunk]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Chunk(**row) for row in rows]


def save_chunks(path: Path, chunks: Sequence[Chunk]) -> Path:
    """The corpus's chunks for a job: its worker mines the negatives among them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in chunks), encoding="utf-8"
    )
    return path


def examples_from_files(
    items_file: Path,
    chunks_file: Path,
    hyper: RerankHyper,
    settings: Settings,
    *,
    sentences: int = 0,
    heldout_file: Path | None = None,
) -> Examples:
    """Examples for a job's training items, with negatives mined by BM25 and the packaged MiniLM, and up to
    `sentences` chunks' sentences as questions (none from a chunk holding a held-out item's evidence). With no
    items the corpus is not embedded: sentences' negatives come from BM25 alone."""
    from playground.models.registry import get_embedder

    items, chunks = load_items(items_file), _read_chunks(chunks_file)
    heldout = load_items(heldout_file) if heldout_file is not None and heldout_file.is_file() else []
    options = MineOptions(negatives=hyper.negatives, depth=max(30, hyper.negatives))
    embedder = get_embedder(BASE_EMBEDDER, settings) if items else None
    found = question_examples(items, chunks, options, embedder=embedder)
    return with_sentences(found, chunks, heldout, options, sentences)


def run_job(
    params: dict[str, Any],
    monitor: Monitor,
    settings: Settings,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Worker entry: params hold `items` (training items, JSONL), `chunks` (the corpus's chunks, JSONL), `name`,
    `hyper`, `meta`, and optionally `sentences` (that many chunks' sentences as questions too), `heldout`
    (held-out items, JSONL: their evidence chunks give no sentence) and `base_path` (continue from an earlier
    cross-encoder)."""
    hyper = RerankHyper(**params.get("hyper", {}))
    out_dir = registry.models_dir(settings) / registry.check_name(params["name"])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if on_stage:
        on_stage("Mining hard negatives with BM25 and dense search")
    heldout = params.get("heldout")
    found = examples_from_files(
        Path(params["items"]),
        Path(params["chunks"]),
        hyper,
        settings,
        sentences=int(params.get("sentences", 0)),
        heldout_file=Path(heldout) if heldout else None,
    )
    made = made_counts(found.examples)["sentence_queries"]
    if on_stage:
        of_them = f", {made} of them sentences taken out of passages" if made else ""
        on_stage(f"Training on {found.pairs} pairs from {len(found.examples)} questions{of_them}")
    base = params.get("base_path")
    meta = (params.get("meta") or {}) | {"skipped_questions": found.skipped, "sentence_queries": made}
    result = train_reranker(
        found.examples, out_dir, hyper, base_path=Path(base) if base else None, monitor=monitor, meta=meta
    )
    return {
        "model": result.reranker,
        "path": str(result.path),
        "seconds": result.seconds,
        "steps": result.steps,
    }
