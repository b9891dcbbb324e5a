"""`playground eval`: run a variants file over a question set, with the cache, the experiment store, repeats, a
baseline comparison with statistics, and `--fail-under` thresholds for CI (non-zero exit on regression)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from playground.core.errors import ConfigError, PlaygroundError

TABLE_COLUMNS = [
    "variant",
    "retrieval",
    "n",
    "errors",
    "contains",
    "token_f1",
    "exact_match",
    "semantic_sim",
    "hit@k",
    "mrr",
    "ndcg@k",
    "latency_s",
]
# Shown when the run had a judge (the variants file's `judge:` or --judge).
JUDGE_COLUMNS = ["judge_correct", "faithfulness", "judge_parse_failures"]
REGRESSION_EXIT = 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="Run each variant of a variants file over a question set, print a table.")
    p.add_argument(
        "--variants", type=Path, required=True, help="YAML variants file (names its corpus and questions)."
    )
    p.add_argument("--corpus", type=Path, help="Corpus folder; overrides the one named in the variants file.")
    p.add_argument("--questions", type=Path, help="Question set (JSONL/CSV); overrides the variants file.")
    p.add_argument("--only", action="append", metavar="VARIANT", help="Run only this variant (repeatable).")
    p.add_argument("--model", help="Use this model for every variant (e.g. local:qwen2.5-0.5b).")
    p.add_argument(
        "--judge",
        metavar="MODEL",
        help="Judge every answer with this model: judge_correct (against the golds) and faithfulness (to the "
        "retrieved chunks), e.g. local:qwen2.5-1.5b or openai:gpt-4o-mini. Overrides the variants file's "
        "'judge:'.",
    )
    p.add_argument("--limit", type=int, help="Use only the first N questions.")
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="Answer every question N times (useful with temperature above zero; each repeat is cached).",
    )
    p.add_argument(
        "--baseline",
        metavar="VARIANT",
        help="Compare every other variant with this one (paired test, 95%% interval); a variant that is "
        "significantly worse makes the command fail.",
    )
    p.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="Fail (exit 1) when any variant's METRIC is below VALUE, e.g. contains=0.6 or, with a judge, "
        "judge_correct=0.6 (repeatable).",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="Answers computed at once (default: PLAYGROUND_CONCURRENCY, else 4 when every model is hosted, "
        "1 for local models). Lower it if the server answers 429 or times out.",
    )
    p.add_argument("--no-cache", action="store_true", help="Call the models even for answers already cached.")
    p.add_argument("--no-store", action="store_true", help="Do not record the run in the experiment store.")
    p.add_argument("--resume", type=int, metavar="RUN_ID", help="Finish an incomplete run from the store.")
    p.add_argument(
        "--out", type=Path, help="Write the full results (configs, metrics, per-question rows) as JSON."
    )
    p.set_defaults(func=cmd_eval)


def parse_thresholds(items: list[str]) -> dict[str, float]:
    thresholds = {}
    for item in items:
        metric, sep, value = item.partition("=")
        try:
            thresholds[metric.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not metric.strip():
            raise ConfigError(f"--fail-under expects METRIC=VALUE such as contains=0.6, not '{item}'.")
    return thresholds


def print_table(rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame = frame[TABLE_COLUMNS + [c for c in JUDGE_COLUMNS if c in frame.columns]]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))


def _check_metric(metric: str, summary: list[dict[str, Any]]) -> None:
    if any(metric in row for row in summary):
        return
    if metric in JUDGE_COLUMNS:
        raise ConfigError(
            f"--fail-under: {metric} needs a judge. Add --judge MODEL (e.g. --judge local:qwen2.5-1.5b) or a "
            "'judge:' line in the variants file."
        )
    known = ", ".join(TABLE_COLUMNS[4:] + JUDGE_COLUMNS[:2])
    raise ConfigError(f"--fail-under: unknown metric '{metric}'. Known: {known}.")


def threshold_failures(summary: list[dict[str, Any]], thresholds: dict[str, float]) -> list[str]:
    """Every variant whose metric is below its floor (a metric that does not apply to a variant, such as
    faithfulness without retrieval, is skipped; one with no score at all fails)."""
    failures = []
    for metric in thresholds:
        _check_metric(metric, summary)
    for row in summary:
        for metric, floor in thresholds.items():
            if metric not in row:
                continue
            value = row[metric]
            if value is None or value < floor:
                failures.append(
                    f"{row['variant']}: {metric} = {value if value is None else round(value, 3)} < {floor}"
                )
    return failures


def judge_summary(run: Any) -> str:
    """'rag: 2 replies could not be read' per variant, or that every reply was read."""
    unread = {v.variant.name: int(v.aggregates().get("judge_parse_failures") or 0) for v in run.variants}
    if not any(unread.values()):
        return "every reply was read"
    return ", ".join(f"{name}: {n} replies could not be read (no score)" for name, n in unread.items() if n)


def baseline_regressions(run: Any, baseline: str) -> list[str]:
    """Print each variant's comparison with the baseline; returns the significantly worse ones."""
    from playground.evaluation.scoring import PRIMARY_METRIC
    from playground.evaluation.stats import compare_variants

    by_name = {v.variant.name: v for v in run.variants}
    if baseline not in by_name:
        raise ConfigError(f"--baseline '{baseline}' is not one of the variants run: {', '.join(by_name)}.")
    worse = []
    for name, result in by_name.items():
        if name == baseline:
            continue
        comparison = compare_variants(
            by_name[baseline].rows, result.rows, PRIMARY_METRIC, name_a=baseline, name_b=name
        )
        print(
            f"  {comparison.verdict}  (wins {comparison.wins} / losses {comparison.losses} / ties {comparison.ties})"
        )
        if comparison.significant and comparison.diff < 0:
            worse.append(f"{name} is significantly worse than {baseline}")
    return worse


def print_diagnosis(run: Any) -> None:
    from playground.evaluation.diagnosis import diagnose

    for result in run.variants:
        diagnosis = diagnose(result)
        for advice in diagnosis.advice[:2]:
            print(f"  {result.variant.name}: {advice.title} ({advice.evidence})")


def _run(args: argparse.Namespace) -> Any:
    from tqdm import tqdm

    from playground.core.config import load_variant_set
    from playground.core.settings import Settings
    from playground.evaluation.runner import RunOptions, run_evaluation
    from playground.ingest.loaders import load_folder
    from playground.ingest.questions import load_questions
    from playground.storage.store import ExperimentStore

    vset = load_variant_set(args.variants)
    corpus_dir, questions_path = args.corpus or vset.corpus, args.questions or vset.questions
    if questions_path is None:
        raise PlaygroundError(
            "No question set: name one with --questions or 'questions:' in the variants file."
        )
    variants = [vset.get(n) for n in args.only] if args.only else list(vset.variants)
    if args.model:
        variants = [v.model_copy(update={"model": args.model}) for v in variants]
    corpus = load_folder(corpus_dir) if corpus_dir else None
    for error in corpus.errors if corpus else ():
        print(f"warning: skipped {error.source}: {error.message}", file=sys.stderr)
    questions = load_questions(questions_path).subset(args.limit)
    for warning in questions.warnings:
        print(f"warning: {questions.name}: {warning}", file=sys.stderr)
    settings = Settings.from_env()
    store = None if args.no_store else ExperimentStore(settings)
    if store is not None:
        store.mark_interrupted()
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError(f"--concurrency must be 1 or more, not {args.concurrency}.")
    options = RunOptions(
        use_cache=not args.no_cache,
        repeats=max(1, args.repeats),
        store=store,
        resume_run_id=args.resume,
        concurrency=args.concurrency,
        judge=args.judge or vset.judge,
    )
    bar = tqdm(
        total=len(questions.questions) * len(variants) * options.repeats,
        desc="answering",
        unit="q",
        file=sys.stderr,
    )

    def on_stage(message: str, done: int, total: int) -> None:
        bar.set_description(f"{message} {done}/{total}" if total else message)  # 0 of 0: a model loading

    def on_row(_result: Any, _row: Any, done: int, _total: int) -> None:
        bar.set_description("answering")
        bar.n = done
        bar.refresh()

    try:
        return run_evaluation(
            variants, corpus, questions, settings, on_row=on_row, on_stage=on_stage, options=options
        )
    finally:
        bar.close()


def cmd_eval(args: argparse.Namespace) -> int:
    thresholds = parse_thresholds(args.fail_under)
    run = _run(args)
    print_table(run.summary_rows())
    if run.judge:
        print(f"judged by {run.judge}: {judge_summary(run)}")
    print(
        f"answers from cache: {run.cache_summary()}"
        + (f" · run #{run.run_id} in the experiment store" if run.run_id else "")
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(run.to_dict(), indent=1), encoding="utf-8")
        print(f"results written to {args.out}")
    problems = threshold_failures(run.summary_rows(), thresholds)
    if args.baseline:
        print(f"compared with the baseline '{args.baseline}':")
        problems += baseline_regressions(run, args.baseline)
    print("what to try next:")
    print_diagnosis(run)
    for problem in problems:
        print(f"REGRESSION: {problem}", file=sys.stderr)
    return REGRESSION_EXIT if problems else 0
