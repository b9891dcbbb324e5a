"""An unchanged re-run of the sample ladder as a whole `playground eval` process, start to exit: every answer and
embedding is in the cache, so no model should load. The first run fills the cache (not timed); the second is timed
and reports which heavy modules it imported. Baseline: the same re-run loading every model it names up front, as
`playground eval` did before models loaded lazily (in the same benchmark run).

    .venv/bin/python -m bench cached_rerun
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, Figure, report, scratch_data_dir

LADDER = ROOT / "sample_corpus" / "variants" / "ladder.yaml"
QUESTIONS = 5  # the first run answers them live: 2 variants x 5 questions with the ladder's model
HEAVY = ("torch", "sentence_transformers", "transformers", "llama_cpp", "chromadb")
_MARK = "HEAVY-MODULES:"
# Runs the command in-process, then says which heavy modules it imported (on stderr, after the command's output).
_PROBE = (
    "import json, sys\n"
    "from playground.cli.main import main\n"
    "{eager}"
    "code = main(sys.argv[1:])\n"
    f"print({_MARK!r} + json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    "sys.exit(code)\n"
)
# The way it was before models loaded lazily: every model the run names loads when it is resolved.
_EAGER = (
    "from playground.models import registry\n"
    "from playground.models.lazy import load_now\n"
    "def _eager(table):\n"
    "    for provider, factory in list(table.items()):\n"
    "        def loading(name, settings, client, factory=factory):\n"
    "            model = factory(name, settings, client)\n"
    "            load_now(model)\n"
    "            return model\n"
    "        table[provider] = loading\n"
    "_eager(registry._LLMS)\n"
    "_eager(registry._EMBEDDERS)\n"
)


def run_cli(args: list[str], env: dict[str, str], *, eager: bool = False) -> tuple[float, list[str], str]:
    """(seconds start to exit, heavy modules imported, stdout) of one `playground` process."""
    probe = _PROBE.format(eager=_EAGER if eager else "")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"playground {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    marked = [line for line in done.stderr.splitlines() if line.startswith(_MARK)]
    heavy = json.loads(marked[-1][len(_MARK) :]) if marked else []
    return seconds, heavy, done.stdout


@dataclass
class Rerun:
    fill_s: float  # the first run, which answers live and fills the cache
    lazy_s: float  # the re-run as it is: nothing loads
    lazy_heavy: list[str]
    eager_s: float  # the same re-run with every model loaded when named, as before
    eager_heavy: list[str]
    floor_s: float  # `playground --help`: the interpreter and the command's own imports
    cached: str  # the re-run's "answers from cache" line


def measure(questions: int = QUESTIONS, model: str | None = None, data_dir: Path | None = None) -> Rerun:
    """Fill the cache with one run, then time identical re-runs in fresh processes, lazy and eager."""
    env = os.environ | {"PLAYGROUND_DATA_DIR": str(data_dir or scratch_data_dir())}
    args = ["eval", "--variants", str(LADDER), "--limit", str(questions), "--no-store"]
    args += ["--model", model] if model else []
    fill, _, _ = run_cli(args, env)
    lazy, lazy_heavy, out = run_cli(args, env)
    eager, eager_heavy, _ = run_cli(args, env, eager=True)
    floor, _, _ = run_cli(["--help"], env)
    cached = next((line for line in out.splitlines() if line.startswith("answers from cache")), "")
    return Rerun(fill, lazy, lazy_heavy, eager, eager_heavy, floor, cached)


def main() -> None:
    model = os.environ.get("BENCH_RERUN_MODEL")  # e.g. local:qwen2.5-0.5b for a shorter first run
    reuse = os.environ.get("BENCH_RERUN_DATA_DIR")  # a data folder whose cache a first run already filled
    found = measure(model=model, data_dir=Path(reuse) if reuse else None)
    lazy_heavy, eager_heavy = ", ".join(found.lazy_heavy) or "none", ", ".join(found.eager_heavy) or "none"
    print(f"first run {found.fill_s:.1f} s; {found.cached}")
    print(f"re-run {found.lazy_s:.2f} s, imported: {lazy_heavy}")
    print(f"re-run loading every model it names {found.eager_s:.2f} s, imported: {eager_heavy}")
    print(f"`playground --help` {found.floor_s:.2f} s")
    what = f"--limit {QUESTIONS}, {model or 'the ladder model'}"
    report(
        "Cached rerun",
        [
            Figure(
                "unchanged ladder re-run as a process, s",
                found.lazy_s,
                found.eager_s,
                "s",
                f"{what}; baseline = the same re-run loading every model it names (as before); imported: "
                f"{lazy_heavy}",
            ),
            Figure(
                "the same re-run against starting the command, s",
                found.lazy_s,
                found.floor_s,
                "s",
                "baseline = `playground --help` in a fresh process",
            ),
        ],
    )


if __name__ == "__main__":
    main()
