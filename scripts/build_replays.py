"""Rebuild the sample replays in sample_corpus/replay: the answer-cache rows of every call that the sample's
variants files make with each local model, so that the set-up can load them and an unchanged sample run answers at
once (`playground replays import`). Run it after changing a prompt, a sample variant, the sample's questions or
corpus, or a local model file; tests/test_replay_bundles.py fails until you do.

    .venv/bin/python scripts/build_replays.py                              # all four (hours on 2 cores)
    .venv/bin/python scripts/build_replays.py --only ladder-qwen2.5-0.5b   # one bundle (minutes)
    .venv/bin/python scripts/build_replays.py --reuse-results              # bundle the runs already in --data-dir

Each bundle is the `playground eval` run of one variants file with one model, in a data folder of its own
(.data/replay-build by default, kept, so a rebuild makes only the calls that changed), then exported from its
cache: the rows its answers logged (answers, HyDE, re-ranking scores, routing, fact-checks, searches) and the
embeddings of its texts and of every chunk of its indexes, so a fresh data folder builds them from the cache.

A script rather than a `playground` command: it writes into the repository, for whoever changes the sample, and
users never need it; nor is it a benchmark (bench/ measures, this builds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playground.core.config import load_variant_set
from playground.core.settings import Settings
from playground.ingest.loaders import load_folder
from playground.reporting.bundle import logged_keys, prompt_fingerprint, run_cache_export
from playground.retrieval.index import corpus_chunks
from playground.storage.cache_admin import MANIFEST, REBUILD_REPLAYS, SHIPPED_REPLAYS, write_cache_file
from playground.storage.keys import model_identity, text_hash

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "sample_corpus" / "variants"
MODELS = ("local:qwen2.5-0.5b", "local:qwen2.5-1.5b")
BUNDLES = {
    f"{stem}-{m.split(':', 1)[1]}": (VARIANTS / f"{stem}.yaml", m)
    for stem in ("ladder", "techniques")
    for m in MODELS
}


class BuildError(Exception):
    """A bundle that would not replay in full; the message says what to do."""


def run_eval(variants: Path, model: str, data_dir: Path, results: Path) -> float:
    """Run the variants file with the model into `data_dir` (live where its cache lacks a call); wall seconds."""
    env = os.environ | {
        "PLAYGROUND_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    args = ["eval", "--variants", str(variants), "--model", model, "--no-store", "--out", str(results)]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "playground.cli.main", *args], env=env, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise BuildError(f"`playground {' '.join(args)}` failed ({done.returncode}); see its output above.")
    return time.perf_counter() - started


def seconds_of(run: dict[str, Any], results: Path) -> float:
    """How long a run that this script did not time took: from its start to its results file being written."""
    started = dt.datetime.fromisoformat(str(run["started_at"])).timestamp()
    return max(0.0, results.stat().st_mtime - started)


def chunk_texts(variants: Path) -> set[str]:
    """Every chunk of every index the variants file builds: a fresh data folder builds them from the cache."""
    vset = load_variant_set(variants)
    if vset.corpus is None:
        return set()
    corpus = load_folder(vset.corpus)
    return {c.text for v in vset.variants if v.use_retrieval for c in corpus_chunks(corpus, v.index)}


def without_unread_queries(rows: list[dict[str, Any]], run: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows less the query vectors a replay never reads: a cached search does not embed its query, and only
    HyDE embeds one (its passage, and the question beside it) before searching."""
    hyde = {
        text_hash(str(t))
        for v in run["variants"]
        for r in v["rows"]
        if (r.get("steps") or {}).get("hyde_passage")
        for t in (r["question"], r["steps"]["hyde_passage"])
    }
    unread = [
        r["table"] == "embedding" and str(r["identity"]).endswith("#query") and r["text_hash"] not in hyde
        for r in rows
    ]
    return [row for row, skip in zip(rows, unread, strict=True) if not skip]


def check_rows(run: dict[str, Any], rows: list[dict[str, Any]], chunks: set[str]) -> None:
    """Refuse a bundle a replay could not answer from in full."""
    answers = [r for v in run["variants"] for r in v["rows"]]
    failed = [f"{r['qid']}: {r['error']}" for r in answers if r.get("error")]
    if run.get("stopped") or failed:
        raise BuildError(
            f"The run stopped early or {len(failed)} answers failed ({'; '.join(failed[:3])}); errors are never "
            "cached, so a replay would call the model. Fix the cause and build again."
        )
    exported = {str(r["key"]) for r in rows if "key" in r}
    lacking = logged_keys(run) - exported
    embedded = {str(r["text_hash"]) for r in rows if r["table"] == "embedding"}
    lacking_chunks = {text_hash(t) for t in chunks} - embedded
    if lacking or lacking_chunks:
        raise BuildError(
            f"The data folder's cache lacks {len(lacking)} calls and {len(lacking_chunks)} chunk embeddings of "
            "this run (was it cleared in between?). Build again without --reuse-results."
        )


def entry(
    name: str, variants: Path, model: str, run: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """The manifest's line for one bundle (its file's size and SHA-256 are added once it is written)."""
    answers = [r for v in run["variants"] for r in v["rows"]]
    tables = ("llm", "scores", "retrieval", "embedding")
    return {
        "file": f"{name}.jsonl.gz",
        "variants": variants.relative_to(ROOT).as_posix(),
        "model": model,
        "model_identity": model_identity(model, Settings()),
        "embedder_identities": sorted({str(r["identity"]) for r in rows if r["table"] == "embedding"}),
        "prompt_fingerprint": prompt_fingerprint(),
        "question_set_hash": run["question_set_hash"],
        "variant_names": [v["name"] for v in run["variants"]],
        "questions": len({r["qid"] for r in answers}),
        "answers": len(answers),
        "rows": {t: sum(1 for r in rows if r["table"] == t) for t in tables},
        # the pipeline's seconds summed over every answer, each as if made alone (a call two variants share counts
        # twice); the run's own wall time is live_run_s, with live_run_cached_calls calls it found in its cache
        "live_answer_s": round(sum(float(r.get("latency_s") or 0.0) for r in answers), 1),
        "built": dt.date.today().isoformat(),
        "made_with": f"playground eval --variants {variants.relative_to(ROOT).as_posix()} --model {model} "
        f"--no-store, exported by {REBUILD_REPLAYS}",
    }


def llm_calls(run: dict[str, Any]) -> tuple[int, int]:
    """(model calls answered from the cache, made live) over the run's answers, as their call logs say."""
    logs = [r.get("cache") or {} for v in run["variants"] for r in v["rows"]]
    hits = sum(int((log.get("hits") or {}).get("llm", 0)) for log in logs)
    return hits, sum(int((log.get("misses") or {}).get("llm", 0)) for log in logs)


def live_time(run: dict[str, Any], seconds: float, previous: dict[str, Any] | None) -> dict[str, Any]:
    """How long the run that made the answers took. A rebuild from a cache that already held every call keeps the
    time of the run that filled it (its own seconds say nothing about the models)."""
    cached, live = llm_calls(run)
    if live == 0 and previous is not None:
        return {k: previous[k] for k in ("live_run_s", "live_run_cached_calls") if k in previous}
    return {"live_run_s": round(seconds, 1), "live_run_cached_calls": cached}


def build(
    name: str, data_dir: Path, out_dir: Path, reuse: bool, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Run (or reuse) one bundle's evaluation, export what it used, write the bundle; its manifest entry."""
    variants, model = BUNDLES[name]
    results = data_dir / f"{name}.json"
    live_s = None if reuse and results.exists() else run_eval(variants, model, data_dir, results)
    run = json.loads(results.read_text(encoding="utf-8"))
    chunks = chunk_texts(variants)
    rows = without_unread_queries(run_cache_export(run, Settings(data_dir=data_dir), chunks), run)
    check_rows(run, rows, chunks)
    found = entry(name, variants, model, run, rows) | live_time(
        run, live_s or seconds_of(run, results), previous
    )
    path = out_dir / found["file"]
    size = write_cache_file(path, rows)
    return found | {"bytes": size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def read_entries(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The manifest's entries by bundle file, or none."""
    path = out_dir / MANIFEST
    old = json.loads(path.read_text(encoding="utf-8"))["bundles"] if path.exists() else []
    return {b["file"]: b for b in old}


def write_manifest(out_dir: Path, built: list[dict[str, Any]]) -> None:
    """Replace the entries just built, keep the others (bundles are added as their runs finish)."""
    entries = read_entries(out_dir) | {b["file"]: b for b in built}
    bundles = [entries[f] for f in sorted(entries)]
    manifest = {
        "about": "Answer-cache rows of the sample variants files' runs, loaded by the set-up "
        "(playground replays import). Checked by tests/test_replay_bundles.py.",
        "rebuild": REBUILD_REPLAYS,
        "bundles": bundles,
    }
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="build_replays.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only", action="append", choices=sorted(BUNDLES), help="Build only this bundle (repeatable)."
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / ".data" / "replay-build",
        help="Data folder the runs use and keep (default .data/replay-build; delete it for a clean build).",
    )
    p.add_argument(
        "--reuse-results",
        action="store_true",
        help="Bundle the runs whose results (<data-dir>/<bundle>.json) are already there instead of running them.",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=SHIPPED_REPLAYS,
        help="Where the bundles go (default: the shipped ones).",
    )
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    built, previous = [], read_entries(args.out_dir)
    try:
        for name in args.only or list(BUNDLES):
            found = build(
                name,
                args.data_dir.resolve(),
                args.out_dir,
                args.reuse_results,
                previous.get(f"{name}.jsonl.gz"),
            )
            built.append(found)
            print(
                f"{found['file']}: {found['bytes']:,} bytes, {found['rows']}, live run {found['live_run_s']} s"
            )
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if built:
            write_manifest(args.out_dir, built)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
