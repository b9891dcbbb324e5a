"""The judge experiment: how far the local LLM judges agree with hand labels, next to the string metrics.

Reads `bench/data/judge_labels.jsonl` (real answers from the project's own runs, each labelled yes / partial /
no by a person who read it; see `bench/data/README.md`), has each judge give its `judge_correct` verdict on every
labelled answer, and prints, per rater, the agreement share and Cohen's kappa with the person, on all answers
and on those with sentence-length gold answers (where `contains` fails). Raters: the 0.5B judge (free decoding,
the grammar only for a reply that does not fit), the 1.5B judge (free first), the 0.5B judge always under the
grammar (on the first 80 answers), `contains` and token F1 >= 0.5. Also counted: every judge call, those decoded under the grammar, and the
replies that could not be read (the target is none). Not part of the default suite (`python -m bench judge`:
a few hours on 2 shared cores).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, Figure, machine, report
from playground.core.settings import Settings
from playground.evaluation.agreement import cohen_kappa, metric_verdict
from playground.evaluation.judge import LLMJudge
from playground.evaluation.metrics import contains_gold, token_f1
from playground.models.registry import get_llm
from playground.storage.cached_models import CachedLLM
from playground.storage.keys import model_identity
from playground.storage.response_cache import ResponseCache

LABELS = ROOT / "bench" / "data" / "judge_labels.jsonl"
DATA = Path(tempfile.gettempdir()) / "playground-bench-judge"
# (name, model, free first, how many labelled answers: None for all). Grammar decoding is the slow path, so the
# always-constrained run covers the first answers only: enough to show the grammar never yields an unread reply.
JUDGES = (
    ("0.5B judge", "local:qwen2.5-0.5b", True, None),
    ("1.5B judge", "local:qwen2.5-1.5b", True, None),
    ("0.5B judge, always under the grammar", "local:qwen2.5-0.5b", False, 80),
)


@dataclass
class JudgeRun:
    """One judge's verdicts on every labelled answer, with what the calls took."""

    verdicts: list[str]
    calls: int = 0
    constrained: int = 0
    unread: int = 0
    seconds: float = 0.0
    model_calls: int = (
        0  # the calls this run made (the others came from the cache of an earlier, cut-off run)
    )


def load_labels() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_judge(model: str, free_first: bool, labels: list[dict[str, Any]]) -> JudgeRun:
    """The judge's verdict on every labelled answer. Calls go through a response cache in a fixed scratch folder,
    so a run that was cut off resumes where it stopped; the seconds count only the calls made by this run."""
    settings = Settings(data_dir=DATA)
    llm = CachedLLM(get_llm(model, settings), ResponseCache(settings), model_identity(model, settings))
    judge = LLMJudge(llm, model, free_first=free_first)
    out = JudgeRun([])
    started = time.perf_counter()
    for i, row in enumerate(labels, start=1):
        found = judge.correct(row["question"], row["answer"], row["golds"])
        if i % 20 == 0:
            print(f"  {model}: {i} of {len(labels)} in {time.perf_counter() - started:.0f} s", flush=True)
        out.verdicts.append(found.verdict if found.verdict and found.score is not None else "unread")
        out.calls += found.calls
        out.constrained += int(found.constrained)
        out.unread += int(found.parse_failed or bool(found.error))
    out.seconds = time.perf_counter() - started
    out.model_calls = llm.misses
    return out


def _metric(name: str, score: Callable[[str, list[str]], float]) -> Callable[[dict[str, Any]], str]:
    return lambda row: metric_verdict(name, score(row["answer"], row["golds"])) or "no"


def agreement_line(name: str, human: list[str], rater: list[str], keep: list[bool]) -> dict[str, Any]:
    """Agreement and kappa of one rater with the person, on all answers and on those `keep` marks."""
    pairs = list(zip(human, rater, strict=True))
    subset = [p for p, k in zip(pairs, keep, strict=True) if k]

    def share(items: list[tuple[str, str]]) -> float:
        return sum(a == b for a, b in items) / len(items) if items else float("nan")

    return {
        "rater": name,
        "n": len(pairs),
        "agreement": share(pairs),
        "kappa": cohen_kappa(*map(list, zip(*pairs, strict=True))) if pairs else None,
        "n_sentence": len(subset),
        "agreement_sentence": share(subset),
        "kappa_sentence": cohen_kappa(*map(list, zip(*subset, strict=True))) if subset else None,
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(lines: list[dict[str, Any]], runs: dict[str, JudgeRun]) -> None:
    print(f"\n## Judge agreement with hand labels  ({machine()}, {time.strftime('%Y-%m-%d')})")
    print(
        "| rater | agreement | Cohen's kappa | sentence golds: agreement | kappa | calls | under grammar | "
        "unread | s per model call |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for line in lines:
        run = runs.get(line["rater"])
        extra = (
            f"{run.calls} | {run.constrained} | {run.unread} | {run.seconds / max(1, run.model_calls):.1f}"
            if run
            else "- | - | - | -"
        )
        print(
            f"| {line['rater']} | {line['agreement']:.0%} | {_fmt(line['kappa'])} | "
            f"{line['agreement_sentence']:.0%} (n={line['n_sentence']}) | {_fmt(line['kappa_sentence'])} | {extra} |"
        )
    calls = sum(r.calls for r in runs.values())
    unread = sum(r.unread for r in runs.values())
    print(f"\n{calls} judge calls in all, {unread} replies that could not be read.")


def main() -> None:
    labels = load_labels()
    human = [row["label"] for row in labels]
    sentence = [row.get("gold_form") == "sentence" for row in labels]
    print(f"{len(labels)} labelled answers ({sum(sentence)} with sentence-length gold answers)")
    runs = {name: run_judge(model, free_first, labels[:limit]) for name, model, free_first, limit in JUDGES}
    lines = [
        agreement_line(name, human[: len(run.verdicts)], run.verdicts, sentence[: len(run.verdicts)])
        for name, run in runs.items()
    ]
    for name, score in (("contains", contains_gold), ("token F1 >= 0.5", token_f1)):
        rater = [_metric("contains" if name == "contains" else "token_f1", score)(row) for row in labels]
        lines.append(agreement_line(name, human, rater, sentence))
    print_table(lines, runs)
    contains_kappa = next(line["kappa"] for line in lines if line["rater"] == "contains") or 0.0
    report(
        "Judge",
        [
            Figure(
                f"kappa, {line['rater']}",
                line["kappa"] or 0.0,
                contains_kappa,
                "",
                f"agreement {line['agreement']:.0%}",
            )
            for line in lines
        ],
    )
    (RESULTS / "judge_agreement.json").write_text(
        json.dumps(
            {"machine": machine(), "lines": lines, "runs": {k: vars(v) for k, v in runs.items()}}, indent=1
        )
    )


if __name__ == "__main__":
    main()
