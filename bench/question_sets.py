"""Does a generated question set judge techniques like a human-written one? `python -m bench question_sets`.

Runs the variants of `sample_corpus/variants/techniques.yaml` on the first N questions of the human-written set and
of the generated set (same corpus, same model), and reports each variant's accuracy on both, Spearman's rho between
the two rankings, and baseline vs RAG on the generated set with the paired test. Not a speed target: an experiment,
run by name. N defaults to 15 (about 40 minutes on 2 cores with the 0.5B model); set PLAYGROUND_BENCH_N to change it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from scipy.stats import spearmanr

from bench.common import RESULTS, ROOT

FICTIONAL = ROOT / "sample_corpus" / "fictional"
SETS = {"human": FICTIONAL / "questions.jsonl", "generated": FICTIONAL / "generated_questions.jsonl"}
VARIANTS = ROOT / "sample_corpus" / "variants" / "techniques.yaml"
METRIC = "contains"


def _run(questions: Path, limit: int, out: Path, data_dir: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "playground.cli.main",
        "eval",
        "--variants",
        str(VARIANTS),
        "--questions",
        str(questions),
        "--limit",
        str(limit),
        "--baseline",
        "baseline",
        "--no-store",
        "--out",
        str(out),
    ]
    env = os.environ | {"PLAYGROUND_DATA_DIR": str(data_dir)}
    subprocess.run(command, env=env, check=False, cwd=ROOT)
    return json.loads(out.read_text())


def _accuracy(run: dict) -> dict[str, float]:
    return {v["name"]: float(v["aggregates"][METRIC]) for v in run["variants"]}


def main(limit: int | None = None) -> None:
    limit = limit or int(os.environ.get("PLAYGROUND_BENCH_N", "15"))
    data_dir = Path(os.environ.get("PLAYGROUND_DATA_DIR") or tempfile.mkdtemp(prefix="bench-sets-"))
    if not SETS["generated"].is_file():
        print(
            f"No generated set at {SETS['generated']}: write one first, e.g. "
            f"playground questions generate --corpus {FICTIONAL / 'docs'} --n 40 --out {SETS['generated']}"
        )
        return
    accuracy = {}
    for name, path in SETS.items():
        accuracy[name] = _accuracy(_run(path, limit, RESULTS / f"question-sets-{name}.json", data_dir))
    names = list(accuracy["human"])
    rho, p = spearmanr([accuracy["human"][n] for n in names], [accuracy["generated"][n] for n in names])
    print(f"\n{METRIC} on the first {limit} questions of each set (0.5B model):")
    print(f"{'variant':24s} {'human':>7s} {'generated':>10s}")
    for n in names:
        print(f"{n:24s} {accuracy['human'][n]:7.2f} {accuracy['generated'][n]:10.2f}")
    print(f"Spearman's rho between the two rankings: {rho:.2f} (p={p:.3f}, {len(names)} variants)")
    summary = {"limit": limit, "metric": METRIC, "accuracy": accuracy, "spearman_rho": rho, "p": p}
    (RESULTS / "question-sets.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
