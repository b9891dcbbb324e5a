"""The `playground` command: headless runs of what the app does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from playground.errors import PlaygroundError


def _add_eval(sub: Any) -> None:
    p = sub.add_parser("eval", help="Run every variant of a variants file over a question set and print a table.")
    p.add_argument("--variants", type=Path, required=True, help="YAML variants file (names its corpus and questions).")
    p.add_argument("--corpus", type=Path, help="Corpus folder; overrides the one named in the variants file.")
    p.add_argument("--questions", type=Path, help="Question set (JSONL/CSV); overrides the variants file.")
    p.add_argument("--only", action="append", metavar="VARIANT", help="Run only this variant (repeatable).")
    p.add_argument("--model", help="Use this model for every variant (e.g. local:qwen2.5-0.5b).")
    p.add_argument("--limit", type=int, help="Use only the first N questions.")
    p.add_argument("--out", type=Path, help="Write the full results (configs, metrics, per-question rows) as JSON.")
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
        raise PlaygroundError("No question set: name one with --questions or 'questions:' in the variants file.")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_eval(sub)
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
