"""The `playground` command: headless runs of what the app does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from playground.cli import eval as cli_eval
from playground.cli import finetune as finetune_cli
from playground.cli import finetune_reranker as finetune_reranker_cli
from playground.cli import questions as questions_cli
from playground.cli import replays as replays_cli
from playground.core.errors import PlaygroundError


def _add_retrieval_bench(sub: Any) -> None:
    from playground.core.config import DEFAULT_EMBEDDER, DEFAULT_LOCAL_MODEL
    from playground.evaluation.retrieval_bench import RETRIEVERS

    p = sub.add_parser(
        "retrieval-bench",
        help="Score one retriever on a BEIR folder (nDCG@10, Recall@100, MRR@10) and print JSON.",
    )
    p.add_argument(
        "--dataset",
        type=Path,
        required=True,
        help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.",
    )
    p.add_argument(
        "--retriever",
        choices=RETRIEVERS,
        required=True,
        help="rerank = the BM25 top candidates reranked (see --reranker); hyde = HyDE + dense search.",
    )
    p.add_argument(
        "--embedder", default=DEFAULT_EMBEDDER, help="Embedder name, or a sentence-transformers model folder."
    )
    p.add_argument("--model", default=DEFAULT_LOCAL_MODEL, help="LLM for rerank and hyde.")
    p.add_argument("--limit", type=int, help="Use only the first N judged queries.")
    p.add_argument("--candidates", type=int, default=20, help="BM25 candidates to rerank (default 20).")
    _add_reranker_options(p)
    p.add_argument("--out", type=Path, help="Also write the result, with per-query details, as JSON.")
    p.set_defaults(func=cmd_retrieval_bench)


def _add_reranker_options(p: Any) -> None:
    from playground.evaluation.retrieval_bench import RERANKERS
    from playground.rag.strategies.rerank_fusion import FUSIONS

    p.add_argument(
        "--reranker",
        choices=RERANKERS,
        default="llm",
        help="rerank: the LLM's P(yes) per candidate (default), a cross-encoder, or listwise (the LLM orders "
        "all candidates in one call, each cut to 600 characters).",
    )
    p.add_argument(
        "--reranker-model",
        help="cross-encoder: a cross-encoder folder, ce:<folder> or rerank:<model>@<url> (required); "
        "llm, listwise: the chat model that judges (default: --model).",
    )
    p.add_argument(
        "--fusion",
        choices=("auto", *FUSIONS),
        default="auto",
        help="How reranker scores meet BM25's order (default auto: interpolate, for every reranker).",
    )
    p.add_argument(
        "--weight",
        type=float,
        default=0.5,
        help="interpolate: the reranker's share of the score (default 0.5).",
    )
    p.add_argument(
        "--passage-chars",
        type=int,
        help="rerank: cut each candidate to N characters first (a faster LLM run).",
    )


def cmd_retrieval_bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from playground.core.settings import Settings
    from playground.evaluation.retrieval_bench import BenchOptions, run_retrieval_bench
    from playground.models.names import cross_encoder_name, st_model_name

    embedder = str(st_model_name(args.embedder)) if Path(args.embedder).is_dir() else args.embedder
    reranker_model = args.reranker_model
    if args.reranker == "cross-encoder" and reranker_model and Path(reranker_model).is_dir():
        reranker_model = str(cross_encoder_name(Path(reranker_model).resolve()))
    options = BenchOptions(
        args.retriever,
        embedder,
        args.model,
        args.limit,
        args.candidates,
        reranker=args.reranker,
        reranker_model=reranker_model,
        fusion=args.fusion,
        weight=args.weight,
        passage_chars=args.passage_chars,
    )
    bars: dict[str, Any] = {}

    def on_progress(what: str, done: int, total: int) -> None:
        bar = bars.setdefault(what, tqdm(total=total, desc=what, file=sys.stderr))
        bar.update(done - bar.n)

    result = run_retrieval_bench(args.dataset, options, Settings.from_env(), on_progress)
    for bar in bars.values():
        bar.close()
    print(json.dumps({k: v for k, v in result.items() if k != "per_query"}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


def _add_cache(sub: Any) -> None:
    p = sub.add_parser(
        "cache",
        help="Show what the answer cache holds (answers, scores, embeddings, searches) and its size, or clear it.",
    )
    p.add_argument(
        "--clear", action="store_true", help="Delete every cached entry (the experiment store stays)."
    )
    p.set_defaults(func=cmd_cache)


def cmd_cache(args: argparse.Namespace) -> int:
    from playground.core.settings import Settings
    from playground.storage.cache_admin import cache_stats, clear_cache
    from playground.storage.cache_file import cache_path

    settings = Settings.from_env()
    if args.clear:
        clear_cache(settings)
        print("cache cleared")
    stats = cache_stats(settings)
    print(f"{cache_path(settings)}: " + ", ".join(f"{k} {v:,}" for k, v in stats.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cli_eval.add_parser(sub)
    _add_retrieval_bench(sub)
    _add_cache(sub)
    finetune_cli.add_parser(sub)
    finetune_reranker_cli.add_parser(sub)
    questions_cli.add_parser(sub)
    replays_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PlaygroundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
