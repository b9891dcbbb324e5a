"""Export and share a run: tables (CSV), JSON, a single-file HTML report, the variants as YAML, and a replay
bundle. Everything takes a run in the `EvalRun.to_dict()` shape; `store_run_to_dict` gives that shape for a
run from the experiment store, so every export works on both.
"""

from __future__ import annotations

from playground.reporting.bundle import make_bundle, read_bundle, replay_bundle, run_cache_export
from playground.reporting.report import html_report
from playground.reporting.run_data import (
    answers_frame,
    questions_jsonl,
    run_from_dict,
    run_json,
    run_to_frames,
    store_run_to_dict,
    summary_frame,
    summary_rows,
    variants_yaml,
)

__all__ = [
    "answers_frame",
    "html_report",
    "make_bundle",
    "questions_jsonl",
    "read_bundle",
    "replay_bundle",
    "run_cache_export",
    "run_from_dict",
    "run_json",
    "run_to_frames",
    "store_run_to_dict",
    "summary_frame",
    "summary_rows",
    "variants_yaml",
]
