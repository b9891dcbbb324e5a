"""An unchanged re-run is answered from the cache without loading a model: the real stack, in fresh processes.

The first `playground eval` answers 2 questions of the fictional sample with the 0.5B model, the real embedder
and chromadb; the second, in a new process on the same data folder, must give the same answers having imported
neither torch nor llama.cpp.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST_LOCAL_MODEL, ROOT

LADDER = ROOT / "sample_corpus" / "variants" / "ladder.yaml"
HEAVY = ("torch", "sentence_transformers", "llama_cpp")
# The command in-process, then the heavy modules it imported, as the last line of stderr.
PROBE = (
    "import json, sys\n"
    "from playground.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def eval_in_a_fresh_process(data_dir: Path, out: Path) -> tuple[list[str], dict[str, Any]]:
    """(heavy modules imported, results JSON) of one `playground eval` of the ladder on 2 questions."""
    env = os.environ | {
        "PLAYGROUND_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    args = ["eval", "--variants", str(LADDER), "--limit", "2", "--model", FAST_LOCAL_MODEL, "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stderr.strip().splitlines()[-1]), json.loads(out.read_text(encoding="utf-8"))


def answers(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(v["name"], r["qid"], r["answer"]) for v in results["variants"] for r in v["rows"]]


@pytest.mark.slow
def test_a_cached_rerun_imports_no_model_and_gives_the_same_answers(tmp_path: Path) -> None:
    first_heavy, first = eval_in_a_fresh_process(tmp_path / "data", tmp_path / "first.json")
    assert set(first_heavy) == set(HEAVY)  # the first run did load them: the probe sees a load
    heavy, again = eval_in_a_fresh_process(tmp_path / "data", tmp_path / "again.json")
    assert heavy == []
    assert answers(again) == answers(first) and len(answers(first)) == 4
    assert all(v["cache_misses"] == 0 and v["cache_hits"] > 0 for v in again["variants"])
