"""Question-set generation measured: the fictional sample, the fast local model, all three kinds.

Prints questions kept per minute (every check included: the closed-book answer of each kept question and the
retrieval check of each unanswerable one, both by the 1.5B check model), the share of tries kept, and the share of kept answerable questions
whose evidence the locator finds in the corpus once the file is read back. The model's calls start from an
empty cache, so the speed is the model's. Not part of the default suite: `python -m bench questions` (N from
BENCH_QUESTIONS_N, default 45; 30-40 minutes on 2 shared cores). The set so far is written to
bench/results/generated_questions.jsonl after every try.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench.common import RESULTS, ROOT, Figure, report, scratch_data_dir
from playground.core.config import IndexConfig
from playground.core.settings import Settings
from playground.evaluation.testset import GenerationOptions, GenerationReport, generate_questions
from playground.evaluation.testset.pipelines import CHECK_MODEL, build_checks, with_cache
from playground.ingest.loaders import load_folder
from playground.ingest.questions import EvidenceLocator, QuestionSet, load_questions
from playground.models.registry import get_llm
from playground.retrieval.index import corpus_chunks

DOCS = ROOT / "sample_corpus" / "fictional" / "docs"
MODEL = "local:qwen2.5-0.5b"
OUT = RESULTS / "generated_questions.jsonl"


def _progress(report: GenerationReport) -> None:
    """A line per try, and the set so far on disk: a run cut short leaves what it made."""
    eta = report.eta_s()
    left = f", about {eta / 60:.0f} min left" if eta is not None else ""
    print(
        f"  {report.elapsed_s:.0f} s: kept {len(report.items)}/{report.target} after {report.attempts} tries{left}",
        file=sys.stderr,
    )
    report.save(OUT)


def _evidence_found(questions: QuestionSet, locator: EvidenceLocator) -> float:
    answerable = [q for q in questions.questions if q.answerable]
    found = [q for q in answerable if q.evidence and all(locator.locate_all(q))]
    return len(found) / len(answerable) if answerable else 0.0


def main() -> None:
    n = int(os.environ.get("BENCH_QUESTIONS_N", "45"))
    # BENCH_DATA_DIR keeps the cache between runs (a rerun after an interruption replays what was done)
    settings = Settings(data_dir=Path(os.environ.get("BENCH_DATA_DIR") or scratch_data_dir()))
    corpus, index = load_folder(DOCS), IndexConfig()
    llm = with_cache(get_llm(MODEL, settings), settings)
    started = time.perf_counter()
    checks = build_checks(with_cache(get_llm(CHECK_MODEL, settings), settings), corpus, settings, index)
    indexing = time.perf_counter() - started
    options = GenerationOptions(n=n, kinds=("single", "multi-hop", "unanswerable"), seed=0)
    generated = generate_questions(
        corpus_chunks(corpus, index), llm, options, corpus=corpus, checks=checks, on_progress=_progress
    )
    generated.save(OUT)
    found = _evidence_found(load_questions(OUT), EvidenceLocator(corpus))
    print(generated.summary())
    print(f"index for the retrieval check built in {indexing:.0f} s; set written to {OUT}")
    warned = sum(1 for i in generated.items if i.warnings) / max(1, len(generated.items))
    kinds = ", ".join(f"{k} {v}" for k, v in generated.by_kind().items())
    report(
        "Question generation",
        [
            Figure("questions kept per minute", generated.per_minute(), 1.0, "/m", f"{MODEL}; {kinds}"),
            Figure(
                "share of tries kept",
                len(generated.items) / max(1, generated.attempts),
                0.5,
                "",
                f"{generated.attempts} tries, {generated.calls} calls, {generated.constrained} under the grammar",
            ),
            Figure("share of kept with evidence found", found, 0.9, "", "read back, located by text"),
            Figure(
                "share answered right without the documents", warned, 0.0, "", "a warning, not a rejection"
            ),
        ],
    )
