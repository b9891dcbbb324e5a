"""Fine-tuning on the fictional sample, measured on held-out questions. Stages run one at a time, each saving
what the next needs under bench/results/finetune/, so a long stage is never repeated:

    python -m bench.finetune generate --model local:qwen2.5-1.5b   # synthetic items from every chunk
    python -m bench.finetune embed                                   # MiniLM fine-tune, hit@5 before/after
    python -m bench.finetune lora --epochs 2                         # LoRA, answers without/with retrieval

Held-out questions: the sample's own 49 questions, written by people. Training items: the synthetic ones,
minus any whose question is too close to a held-out one (token Jaccard > 0.5, or MiniLM cosine > 0.85).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from playground.core.config import IndexConfig
from playground.core.settings import Settings
from playground.finetune import chatfile, data, evaluate, registry
from playground.finetune.embeddings import BASE_EMBEDDER, EmbedHyper, train_embedder
from playground.finetune.lora import BASE_MODEL, LoraHyper, train_lora
from playground.finetune.progress import Monitor
from playground.finetune.split import Split, SplitOptions, split_items
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.models.registry import get_embedder, get_llm
from playground.retrieval.index import corpus_chunks

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "finetune"
DOCS = ROOT / "sample_corpus" / "fictional" / "docs"
QUESTIONS = ROOT / "sample_corpus" / "fictional" / "questions.jsonl"
INDEX = IndexConfig()


def _settings() -> Settings:
    return Settings(data_dir=ROOT / ".data" / "bench-finetune")


def _corpus() -> Any:
    return load_folder(DOCS)


def _save(name: str, value: Any) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text(json.dumps(value, indent=1, default=str), encoding="utf-8")
    print(json.dumps(value, indent=1, default=str)[:3000])


def _chunks_and_heldout() -> tuple[list[Any], list[data.TrainingItem]]:
    """The sample's chunks, and its human-written questions as held-out items tied to their chunks."""
    corpus = _corpus()
    chunks = corpus_chunks(corpus, INDEX)
    return chunks, data.items_from_questions(load_questions(QUESTIONS), corpus, chunks)


def _split() -> Split:
    _, heldout = _chunks_and_heldout()
    items = data.load_items(OUT / "items.jsonl")
    embed = get_embedder(BASE_EMBEDDER, _settings()).embed_documents
    return split_items(items, SplitOptions(group_by="question"), heldout=heldout, embed=embed)


def _evidence_first(chunks: list[Any], heldout: list[data.TrainingItem]) -> list[Any]:
    """Chunks that hold a held-out answer first: only they can teach the model what it will be asked."""
    wanted = {i.chunk_id for i in heldout}
    return [c for c in chunks if c.chunk_id in wanted] + [c for c in chunks if c.chunk_id not in wanted]


def generate(args: argparse.Namespace) -> None:
    chunks, heldout = _chunks_and_heldout()
    chunks = _evidence_first(chunks, heldout)[: args.limit]
    llm, started, report = get_llm(args.model, _settings()), time.perf_counter(), data.BuildReport()
    for start in range(0, len(chunks), 5):
        data.generate_items(chunks[start : start + 5], llm, per_chunk=args.per_chunk, report=report)
        data.save_items(OUT / "items.jsonl", report.items)
        print(
            f"{start + 5}/{len(chunks)} chunks, kept {len(report.items)}, "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    _save(
        "generate.json",
        {
            "model": args.model,
            "chunks": len(chunks),
            "per_chunk": args.per_chunk,
            "kept": len(report.items),
            "rejected": report.reasons(),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )


def embed(args: argparse.Namespace) -> None:
    split, settings = _split(), _settings()
    pairs = chatfile.to_pairs(split.train)
    started = time.perf_counter()
    trained = train_embedder(
        pairs,
        registry.models_dir(settings) / "bench-minilm",
        EmbedHyper(epochs=args.epochs, batch_size=args.batch_size),
        monitor=Monitor(),
        meta={"trained_on": "fictional sample (synthetic questions)"},
    )
    seconds = round(time.perf_counter() - started, 1)
    scores = {
        name: evaluate.retrieval_score(split.heldout, _corpus(), INDEX, name, settings, k=5)
        for name in (BASE_EMBEDDER, trained.embedder)
    }
    _save(
        "embed.json",
        {
            "train_pairs": len(pairs),
            "dropped_as_leaks": len(split.dropped),
            "heldout_with_evidence": scores[BASE_EMBEDDER].n,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "train_seconds": seconds,
            "steps": trained.steps,
            "hit@5": {k: round(v.hit, 4) for k, v in scores.items()},
            "mrr@5": {k: round(v.mrr, 4) for k, v in scores.items()},
            "losses": trained.losses,
        },
    )


def _train_lora(args: argparse.Namespace, split: Split, settings: Settings) -> dict[str, Any]:
    train = data.answerable(split.train)
    hyper = LoraHyper(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr)
    started = time.perf_counter()
    trained = train_lora(
        train,
        registry.models_dir(settings) / "bench-lora",
        settings,
        hyper,
        monitor=Monitor(on_loss=lambda s, v, t: print(f"step {s}/{t} loss {v:.4f}", flush=True)),
        on_stage=print,
        meta={"trained_on": "fictional sample (synthetic questions)"},
    )
    info = {
        "model": trained.model,
        "train_items": len(train),
        "hyper": asdict(hyper),
        "steps": trained.steps,
        "train_seconds": round(time.perf_counter() - started, 1),
        "losses": trained.losses,
    }
    _save("lora-train.json", info)
    return info


def _variants(model: str, embedder: str | None) -> list[Any]:
    """base, fine-tuned, RAG, fine-tuned + RAG; with `embedder`, both RAG variants again with that embedder."""
    variants = evaluate.comparison_variants(BASE_MODEL, model, INDEX)
    if embedder:
        tuned = INDEX.model_copy(update={"embedder": embedder})
        variants += [
            v.model_copy(update={"name": f"{v.name}, tuned embedder", "index": tuned})
            for v in variants
            if v.use_retrieval
        ]
    return variants


def lora(args: argparse.Namespace) -> None:
    split, settings = _split(), _settings()
    if args.reuse:
        info = json.loads((OUT / "lora-train.json").read_text(encoding="utf-8"))
    else:
        info = _train_lora(args, split, settings)
    heldout = split.heldout[: args.limit] if args.limit else split.heldout
    started = time.perf_counter()
    run = evaluate.answer_comparison(heldout, _corpus(), _variants(info["model"], args.embedder), settings)
    _save(
        "lora.json",
        info
        | {
            "heldout": len(heldout),
            "eval_seconds": round(time.perf_counter() - started, 1),
            "summary": evaluate.summary(run),
        },
    )
    (OUT / "lora-run.json").write_text(json.dumps(run.to_dict(), indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.finetune")
    sub = parser.add_subparsers(dest="stage", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--model", default="local:qwen2.5-1.5b")
    g.add_argument("--per-chunk", type=int, default=2)
    g.add_argument("--limit", type=int)
    e = sub.add_parser("embed")
    e.add_argument("--epochs", type=int, default=1)
    e.add_argument("--batch-size", type=int, default=16)
    lo = sub.add_parser("lora")
    lo.add_argument("--epochs", type=int, default=2)
    lo.add_argument("--batch-size", type=int, default=4)
    lo.add_argument("--lr", type=float, default=2e-4)
    lo.add_argument("--embedder", help="also run the RAG variants with this (fine-tuned) embedder")
    lo.add_argument("--reuse", action="store_true", help="evaluate the adapter trained by an earlier run")
    lo.add_argument("--limit", type=int, help="use only the first N held-out questions")
    args = parser.parse_args()
    {"generate": generate, "embed": embed, "lora": lora}[args.stage](args)


if __name__ == "__main__":
    main()
