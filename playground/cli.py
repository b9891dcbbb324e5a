"""The `playground` command: headless runs of what the app does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from playground.errors import PlaygroundError


def _add_eval(sub: Any) -> None:
    p = sub.add_parser("eval", help="Run each variant of a variants file over a question set, print a table.")
    p.add_argument("--variants", type=Path, required=True,
                   help="YAML variants file (names its corpus and questions).")
    p.add_argument("--corpus", type=Path, help="Corpus folder; overrides the one named in the variants file.")
    p.add_argument("--questions", type=Path, help="Question set (JSONL/CSV); overrides the variants file.")
    p.add_argument("--only", action="append", metavar="VARIANT", help="Run only this variant (repeatable).")
    p.add_argument("--model", help="Use this model for every variant (e.g. local:qwen2.5-0.5b).")
    p.add_argument("--limit", type=int, help="Use only the first N questions.")
    p.add_argument("--out", type=Path,
                   help="Write the full results (configs, metrics, per-question rows) as JSON.")
    p.set_defaults(func=cmd_eval)


def _print_table(rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    columns = ["variant", "retrieval", "n", "errors", "contains", "token_f1", "exact_match", "semantic_sim",
               "hit@k", "mrr", "ndcg@k", "latency_s"]
    frame = pd.DataFrame(rows)[columns]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from playground.config import load_variant_set
    from playground.evaluation import run_evaluation
    from playground.loaders import load_folder
    from playground.questions import load_questions
    from playground.settings import Settings

    vset = load_variant_set(args.variants)
    corpus_dir, questions_path = args.corpus or vset.corpus, args.questions or vset.questions
    if questions_path is None:
        raise PlaygroundError("No question set: name one with --questions or 'questions:' in the variants "
                              "file.")
    variants = [vset.get(n) for n in args.only] if args.only else list(vset.variants)
    if args.model:
        variants = [v.model_copy(update={"model": args.model}) for v in variants]
    corpus = load_folder(corpus_dir) if corpus_dir else None
    for error in corpus.errors if corpus else ():
        print(f"warning: skipped {error.source}: {error.message}", file=sys.stderr)
    questions = load_questions(questions_path).subset(args.limit)
    for warning in questions.warnings:
        print(f"warning: {questions.name}: {warning}", file=sys.stderr)
    bar = tqdm(total=len(questions.questions) * len(variants), desc="answering", unit="q", file=sys.stderr)

    def on_stage(message: str, done: int, total: int) -> None:
        bar.set_description(f"{message} {done}/{total}")

    def on_row(_result: Any, _row: Any, done: int, _total: int) -> None:
        bar.set_description("answering")
        bar.update(1)

    run = run_evaluation(variants, corpus, questions, Settings.from_env(), on_row=on_row, on_stage=on_stage)
    bar.close()
    _print_table(run.summary_rows())
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(run.to_dict(), indent=1), encoding="utf-8")
        print(f"results written to {args.out}")
    return 0


def _add_retrieval_bench(sub: Any) -> None:
    from playground.config import DEFAULT_EMBEDDER, DEFAULT_LOCAL_MODEL
    from playground.retrieval_bench import RETRIEVERS

    p = sub.add_parser("retrieval-bench", help="Score one retriever on a BEIR folder (nDCG@10, Recall@100, "
                       "MRR@10) and print JSON.")
    p.add_argument("--dataset", type=Path, required=True,
                   help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.")
    p.add_argument("--retriever", choices=RETRIEVERS, required=True,
                   help="rerank = LLM rerank of the BM25 top candidates; hyde = HyDE + dense search.")
    p.add_argument("--embedder", default=DEFAULT_EMBEDDER,
                   help="Embedder name, or a sentence-transformers model folder.")
    p.add_argument("--model", default=DEFAULT_LOCAL_MODEL, help="LLM for rerank and hyde.")
    p.add_argument("--limit", type=int, help="Use only the first N judged queries.")
    p.add_argument("--candidates", type=int, default=20, help="BM25 candidates the LLM reranks (default 20).")
    p.add_argument("--out", type=Path, help="Also write the result, with per-query details, as JSON.")
    p.set_defaults(func=cmd_retrieval_bench)


def cmd_retrieval_bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from playground.retrieval_bench import BenchOptions, run_retrieval_bench
    from playground.settings import Settings

    embedder = f"st:{args.embedder}" if Path(args.embedder).is_dir() else args.embedder
    options = BenchOptions(args.retriever, embedder, args.model, args.limit, args.candidates)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_eval(sub)
    _add_retrieval_bench(sub)
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
