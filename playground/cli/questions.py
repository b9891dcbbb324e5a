"""`playground questions generate`: write a checked question set from a corpus with an LLM, headless."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    from playground.core.config import DEFAULT_LOCAL_MODEL

    p = sub.add_parser("questions", help="Question sets: write one from your documents with an LLM.")
    actions = p.add_subparsers(dest="questions_command", required=True)
    g = actions.add_parser(
        "generate",
        help="Write N questions (question, short gold answer, evidence quote) from a corpus; every question "
        "is checked and the rejected ones are counted by reason.",
    )
    g.add_argument("--corpus", type=Path, required=True, help="Folder of documents.")
    g.add_argument("--n", type=int, default=20, help="How many questions to keep (default 20).")
    g.add_argument(
        "--model", default=DEFAULT_LOCAL_MODEL, help=f"The writing model (default {DEFAULT_LOCAL_MODEL})."
    )
    g.add_argument(
        "--check-model",
        default=DEFAULT_LOCAL_MODEL,
        help="The model for the checks: the closed-book answer and the retrieval support of unanswerable "
        f"questions (default {DEFAULT_LOCAL_MODEL}; the 0.5B model cannot tell what a passage answers).",
    )
    g.add_argument("--seed", type=int, default=0, help="Which passages are drawn (default 0).")
    g.add_argument(
        "--kinds",
        default="single,multi,unanswerable",
        help="Comma-separated: single, multi (two documents), unanswerable (default: all three).",
    )
    g.add_argument("--out", type=Path, required=True, help="Question file to write (JSONL).")
    g.add_argument("--chunk-size", type=int, default=200, help="Passage size in tokens (default 200).")
    g.add_argument(
        "--no-closed-book-check",
        action="store_true",
        help="Skip asking each question without the documents (faster; no 'answerable without the "
        "documents' warnings).",
    )
    g.add_argument("--no-cache", action="store_true", help="Ask the model again even when a reply is cached.")
    g.set_defaults(func=cmd_generate)


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="questions kept", unit="q", file=sys.stderr)


def cmd_generate(args: argparse.Namespace) -> int:
    from playground.core.config import IndexConfig
    from playground.core.settings import Settings
    from playground.evaluation.testset import (
        GenerationOptions,
        GenerationReport,
        generate_questions,
        parse_kinds,
    )
    from playground.evaluation.testset.pipelines import build_checks, embedding_cache, with_cache
    from playground.ingest.loaders import load_folder
    from playground.models.registry import get_llm
    from playground.retrieval.index import corpus_chunks

    settings = Settings.from_env()
    options = GenerationOptions(n=args.n, kinds=parse_kinds(args.kinds), seed=args.seed)
    index = IndexConfig(chunk_size=args.chunk_size, chunk_overlap=min(30, args.chunk_size // 4))
    corpus = load_folder(args.corpus)
    for failed in corpus.errors:  # the others are still used
        print(f"skipped {failed.source}: {failed.message}", file=sys.stderr)
    llm, checker = (get_llm(name, settings) for name in (args.model, args.check_model))
    if not args.no_cache:
        llm, checker = with_cache(llm, settings), with_cache(checker, settings)
    checks = build_checks(
        checker,
        corpus,
        settings,
        index,
        closed_book=not args.no_closed_book_check,
        retrieval="unanswerable" in options.kinds,
        wrap_embedder=None if args.no_cache else embedding_cache(settings),
    )
    report, bar = GenerationReport(), _progress_bar(options.n)

    def progress(done: GenerationReport) -> None:
        bar.set_postfix(tries=done.attempts, rejected=len(done.rejected), refresh=False)
        bar.update(len(done.items) - bar.n)

    try:
        generate_questions(
            corpus_chunks(corpus, index),
            llm,
            options,
            corpus=corpus,
            checks=checks,
            on_progress=progress,
            report=report,
        )
    finally:  # stopped (Ctrl-C) or failed: what finished is still written
        bar.close()
        if report.items:
            report.save(args.out)
            print(f"wrote {len(report.items)} questions to {args.out}", file=sys.stderr)
        print(report.summary(), file=sys.stderr)
    return 0 if report.items else 1
