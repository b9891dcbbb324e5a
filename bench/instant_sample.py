"""The sample ladder on a fresh clone: the set-up's import of the shipped replays (sample_corpus/replay) into an
empty data folder, then the whole `playground eval --variants sample_corpus/variants/ladder.yaml` process, start to
exit, which must answer every question from the replays, load no model and take under 5 s. Baseline: the live run
the replay was made from (its wall time, in the replay manifest).

    .venv/bin/python -m bench instant_sample
"""

from __future__ import annotations

import os
import re
import statistics
from typing import Any

from bench.cached_rerun import LADDER, run_cli
from bench.common import Figure, report, scratch_data_dir
from playground.core.config import load_variant_set
from playground.storage.cache_admin import REBUILD_REPLAYS, read_replay_manifest

TARGET_S = 5.0
FRESH_CLONES = 3  # each timed run starts from its own empty data folder; the median is reported
MODELS = (
    "torch",
    "sentence_transformers",
    "transformers",
    "llama_cpp",
)  # loading a model imports one of them


def ladder_entry(model: str) -> dict[str, Any]:
    """The manifest's entry for the ladder with `model`; says how to build it when it is missing."""
    for entry in read_replay_manifest()["bundles"]:
        if entry["variants"].endswith("/ladder.yaml") and entry["model"] == model:
            return dict(entry)
    raise SystemExit(f"No shipped replay of the ladder with {model}. Build it: {REBUILD_REPLAYS}")


def all_from_cache(out: str) -> bool:
    """Whether the run's 'answers from cache: baseline 49/49, rag 49/49' line says every call was cached."""
    line = next((x for x in out.splitlines() if x.startswith("answers from cache")), "")
    counts = re.findall(r"(\d+)/(\d+)", line)
    return bool(counts) and all(hit == total for hit, total in counts)


def fresh_clone_run(args: list[str]) -> tuple[float, float, list[str], str]:
    """(import s, eval s, heavy modules the eval imported, eval stdout) in a new, empty data folder."""
    env = os.environ | {"PLAYGROUND_DATA_DIR": str(scratch_data_dir())}
    imported, _, _ = run_cli(["replays", "import"], env)
    seconds, heavy, out = run_cli(args, env)
    if not all_from_cache(out) or set(heavy) & set(MODELS):
        raise SystemExit(
            f"The sample ladder did not answer from the shipped replays (imported {heavy}):\n{out}"
        )
    return imported, seconds, heavy, out


def main() -> None:
    model = os.environ.get("BENCH_SAMPLE_MODEL")  # e.g. local:qwen2.5-0.5b; default: the ladder's own model
    args = ["eval", "--variants", str(LADDER)] + (["--model", model] if model else [])
    entry = ladder_entry(model or load_variant_set(LADDER).variants[0].model)
    runs = [fresh_clone_run(args) for _ in range(FRESH_CLONES)]
    imported, seconds = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    floor, _, _ = run_cli(["--help"], dict(os.environ))
    heavy, cached = ", ".join(runs[0][2]) or "none", runs[0][3]
    line = next(x for x in cached.splitlines() if x.startswith("answers from cache"))
    each = ", ".join(f"{r[1]:.2f}" for r in runs)
    print(
        f"set-up import {imported:.2f} s; ladder eval {seconds:.2f} s (runs: {each}; {line}); imported: {heavy}"
    )
    print(f"live run {entry['live_run_s']} s ({entry['file']}); `playground --help` {floor:.2f} s")
    what = f"{entry['answers']} answers, {entry['model']}, median of {FRESH_CLONES} fresh data folders"
    report(
        "Instant sample",
        [
            Figure(
                "sample ladder eval from the replays, process, s",
                seconds,
                TARGET_S,
                "s",
                f"{what}; baseline = the 5 s target",
            ),
            Figure(
                "the same against the live run it replays, s",
                seconds,
                entry["live_run_s"],
                "s",
                f"baseline = {entry['made_with']}",
            ),
            Figure(
                "the same against starting the command, s",
                seconds,
                floor,
                "s",
                f"baseline = `playground --help`; imported: {heavy}",
            ),
            Figure(
                "the set-up's import of every shipped replay, s",
                imported,
                floor,
                "s",
                "baseline = `playground --help`",
            ),
        ],
    )


if __name__ == "__main__":
    main()
