"""Does reranking hurt plain RAG on the fictional sample? `python -m bench rerank_ladder`.

Trains a cross-encoder on the sample's *generated* question set (the human-written set held out, so no evaluation
question is trained on), then runs plain RAG, the LLM reranker and the trained cross-encoder, each fused with the
retriever's order (the default) and replacing it, on the human-written questions with the 0.5B model, and
reports each against plain RAG with the paired test (exact McNemar on `contains`). The settings are
`techniques.yaml`'s, and the shipped sample replays are imported first, so plain RAG and the fused LLM reranker
(that file's `rag` and `+ rerank`) answer from them. Not a speed target: an experiment, run by name.
PLAYGROUND_BENCH_N limits the questions (default: all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import RESULTS, ROOT
from playground.evaluation.stats import compare_variants

FICTIONAL = ROOT / "sample_corpus" / "fictional"
TRAIN = FICTIONAL / "generated_questions.jsonl"
HUMAN = FICTIONAL / "questions.jsonl"
TECHNIQUES = ROOT / "sample_corpus" / "variants" / "techniques.yaml"
CANDIDATES = 10


def _base() -> dict[str, Any]:
    """techniques.yaml's defaults: its `rag` and `+ rerank` are this ladder's first two rungs."""
    defaults = yaml.safe_load(TECHNIQUES.read_text(encoding="utf-8"))["defaults"]
    return dict(defaults) | {"use_retrieval": True}


def _playground(*args: str, data_dir: Path) -> None:
    env = os.environ | {"PLAYGROUND_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "playground.cli.main", *args], env=env, check=True, cwd=ROOT)


def _variants(cross_encoder: Path) -> list[dict[str, Any]]:
    rerank = {"reranker": "llm", "rerank_candidates": CANDIDATES}
    trained = {
        "reranker": "cross-encoder",
        "reranker_model": f"ce:{cross_encoder}",
        "rerank_candidates": CANDIDATES,
    }
    return [
        {"name": "rag"},
        {"name": "+ rerank (LLM, fused)", **rerank},
        {"name": "+ rerank (LLM, replace)", **rerank, "rerank_fusion": "replace"},
        {"name": "+ cross-encoder (trained on the generated set, fused)", **trained},
        {
            "name": "+ cross-encoder (trained on the generated set, replace)",
            **trained,
            "rerank_fusion": "replace",
        },
    ]


def main(limit: int | None = None) -> None:
    limit = limit or int(os.environ.get("PLAYGROUND_BENCH_N", "0")) or None
    data_dir = Path(os.environ.get("PLAYGROUND_DATA_DIR") or tempfile.mkdtemp(prefix="bench-rerank-"))
    model = data_dir / "models" / "ce-fictional-generated"
    _playground("replays", "import", data_dir=data_dir)
    started = time.perf_counter()
    _playground(
        "finetune-reranker", "--questions", str(TRAIN), "--corpus", str(FICTIONAL / "docs"),
        "--heldout", str(HUMAN), "--out", str(model), "--epochs", "2", data_dir=data_dir,
    )  # fmt: skip
    train_s = time.perf_counter() - started
    variants = data_dir / "rerank-ladder.yaml"
    spec = {"corpus": str(FICTIONAL / "docs"), "defaults": _base(), "variants": _variants(model)}
    variants.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = RESULTS / "rerank-ladder.json"
    args = ["eval", "--variants", str(variants), "--questions", str(HUMAN), "--no-store", "--out", str(out)]
    _playground(*args, *(["--limit", str(limit)] if limit else []), data_dir=data_dir)
    run = json.loads(out.read_text())
    rows = {v["name"]: v["rows"] for v in run["variants"]}
    summary: dict[str, Any] = {"train_s": round(train_s, 1), "questions": len(rows["rag"]), "variants": {}}
    print(f"\ncontains on {len(rows['rag'])} human-written questions (0.5B model), against plain RAG:")
    for name, found in rows.items():
        c = compare_variants(rows["rag"], found, "contains", name_a="rag", name_b=name)
        mean = sum(float(r["metrics"].get("contains") or 0) for r in found) / max(1, len(found))
        summary["variants"][name] = {"contains": mean, "wins": c.wins, "losses": c.losses, "p": c.p_value}
        print(f"{name:48s} {mean:5.2f}  wins {c.wins:2d} / losses {c.losses:2d}  p={c.p_value:.3f}")
    print(f"cross-encoder training: {train_s:.0f} s (process, model load included)")
    (RESULTS / "rerank-ladder-summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
