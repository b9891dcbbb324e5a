"""A finished run as plain data: the `EvalRun.to_dict()` shape, adapters to and from it, and its tables.

Every view of a past run (History page, HTML report, exports) works on the `to_dict()` shape, so a run from
`results.json` and one from the experiment store look the same. `store_run_to_dict` turns the store's
`load_run` output into that shape; `run_from_dict` rebuilds an `EvalRun` for the views that need objects.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from playground.core.config import VariantConfig, dump_variant_set, variant_from_dict
from playground.evaluation.rerank_moves import move_columns
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult

SUMMARY_LABELS = {
    "variant": "variant",
    "retrieval": "retrieval",
    "model": "model",
    "n": "answers",
    "errors": "errors",
    "contains": "accuracy (contains gold)",
    "contains_ci_low": "accuracy 95% low",
    "contains_ci_high": "accuracy 95% high",
    "exact_match": "exact match",
    "token_f1": "token F1",
    "semantic_sim": "meaning similarity",
    "judge_correct": "judged correct (LLM judge)",
    "faithfulness": "faithfulness (LLM judge)",
    "judge_parse_failures": "judge replies unread",
    "human": "right (your verdicts)",
    "hit@k": "evidence found (hit@k)",
    "recall@k": "recall@k",
    "mrr": "MRR",
    "ndcg@k": "nDCG@k",
    "context_precision": "context precision",
    "context_recall": "context recall",
    "latency_s": "seconds per answer",
    "prompt_tokens": "prompt tokens",
    "completion_tokens": "answer tokens",
    "cost_usd": "cost per answer (USD)",
    "judge_cost_usd": "judge cost per answer (USD)",
}
INCOMPLETE_STATUSES = ("running", "incomplete", "stopped")
# Defaults for fields a stored row may lack (rows written by older versions, or hand-made ones).
_ROW_DEFAULTS: dict[str, Any] = {
    "question": "",
    "golds": [],
    "answer": "",
    "raw_output": "",
    "retrieved": [],
    "metrics": {},
    "prompt": "",
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "latency_s": 0.0,
    "timings": {},
    "evidence_in_corpus": None,
}


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _extra_fields(cls: type, data: Mapping[str, Any], skip: Sequence[str]) -> dict[str, Any]:
    """Values in `data` for the dataclass's other fields (say `cache_hits`), so additions round-trip."""
    return {name: data[name] for name in _field_names(cls) if name not in skip and name in data}


def row_from_dict(row: Mapping[str, Any]) -> QuestionResult:
    """A QuestionResult from its dict (extra keys such as "outcome" or "repeat" are ignored)."""
    values = {
        name: row.get(name, _ROW_DEFAULTS.get(name))
        for name in _field_names(QuestionResult)
        if name in row or name in _ROW_DEFAULTS
    }
    return QuestionResult(**values)


def variant_config(variant: Mapping[str, Any]) -> VariantConfig:
    """The VariantConfig of a variant dict; raises ConfigError when the stored config no longer validates."""
    return variant_from_dict(
        dict(variant.get("config") or {"name": variant.get("name", "variant")}),
        f"stored variant '{variant.get('name', '?')}'",
    )


def run_from_dict(run: Mapping[str, Any]) -> EvalRun:
    """Rebuild an EvalRun (configs validated, rows as QuestionResults) from its `to_dict()` shape."""
    variants = [
        VariantResult(
            variant_config(v),
            [row_from_dict(r) for r in v.get("rows") or []],
            **_extra_fields(VariantResult, v, ("variant", "rows")),
        )
        for v in run.get("variants") or []
    ]
    meta: dict[str, Any] = {
        "started_at": run.get("started_at") or "",
        "stopped": bool(run.get("stopped")),
        "version": run.get("version") or "",
    }
    return EvalRun(
        str(run.get("corpus") or ""),
        str(run.get("questions") or ""),
        str(run.get("question_set_hash") or ""),
        variants,
        **meta,
        **_extra_fields(EvalRun, run, ("corpus", "questions", "question_set_hash", "variants", *meta)),
    )


def _stored_variant(config: Mapping[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A variant dict of the `to_dict()` shape from a stored config and its rows (every repeat)."""
    result = VariantResult(
        variant_from_dict(dict(config), f"stored variant '{config.get('name', '?')}'"),
        [row_from_dict(r) for r in rows],
    )
    return result.to_dict() | {
        "rows": [r | {"outcome": q.outcome} for r, q in zip(rows, result.rows, strict=True)]
    }


def store_run_to_dict(stored: Mapping[str, Any]) -> dict[str, Any]:
    """`ExperimentStore.load_run` output in the `EvalRun.to_dict()` shape, plus status, hashes and meta."""
    grouped: Mapping[str, list[dict[str, Any]]] = stored.get("rows") or {}
    variants = [_stored_variant(c, grouped.get(c.get("name"), [])) for c in stored.get("configs") or []]
    return {
        "version": stored.get("version", ""),
        "started_at": stored.get("created_at", ""),
        "run_id": stored.get("id"),
        "corpus": stored.get("corpus", ""),
        "questions": stored.get("questions", ""),
        "question_set_hash": stored.get("question_set_hash", ""),
        "stopped": stored.get("status") in INCOMPLETE_STATUSES,
        "variants": variants,
        "status": stored.get("status"),
        "finished_at": stored.get("finished_at"),
        "corpus_hash": stored.get("corpus_hash", ""),
        "meta": dict(stored.get("meta") or {}),
        "judge": (stored.get("meta") or {}).get("judge"),
    }


def summary_rows(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per variant, as `EvalRun.summary_rows()` gives for the live run."""
    return [
        {
            "variant": v["name"],
            "retrieval": v.get("used_retrieval"),
            "model": (v.get("config") or {}).get("model"),
        }
        | dict(v.get("aggregates") or {})
        for v in run.get("variants") or []
    ]


def summary_frame(run: Mapping[str, Any]) -> pd.DataFrame:
    """The summary table with readable column names; aggregates without a label keep their own name."""
    frame = pd.DataFrame(summary_rows(run))
    known = [c for c in SUMMARY_LABELS if c in frame.columns]
    return frame[known + [c for c in frame.columns if c not in SUMMARY_LABELS]].rename(columns=SUMMARY_LABELS)


def judged_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """The judge's verdicts and reasons and a person's verdict, as columns (none when the row has neither)."""
    out: dict[str, Any] = {}
    for metric, found in (row.get("judge") or {}).items():
        if isinstance(found, dict) and "verdict" in found:
            out[f"{metric}_verdict"], out[f"{metric}_reason"] = found.get("verdict"), found.get("reason")
    if row.get("human"):
        out["human_verdict"] = row["human"]
    return out


def _answer_record(variant: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "question_id": row.get("qid"),
        "variant": variant,
        "question": row.get("question", ""),
        "gold": " | ".join(row.get("golds") or []),
        "answer": row.get("answer", ""),
        "outcome": row.get("outcome") or row_from_dict(row).outcome,
        **(row.get("metrics") or {}),
        "latency_s": row.get("latency_s"),
        "prompt_tokens": row.get("prompt_tokens"),
        "completion_tokens": row.get("completion_tokens"),
        "cost_usd": row.get("cost_usd"),
        "from_cache": row_from_dict(row).from_cache,
        "error": row.get("error") or "",
        **judged_columns(row),
        **move_columns(row.get("evidence_move")),
    }


def answers_frame(run: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (question, variant) with every metric: the long table behind the charts."""
    return pd.DataFrame(
        [_answer_record(v["name"], r) for v in run.get("variants") or [] for r in v.get("rows") or []]
    )


def run_to_frames(run: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, every answer) of a run in the `EvalRun.to_dict()` shape."""
    return summary_frame(run), answers_frame(run)


def run_json(run: Mapping[str, Any]) -> str:
    """The run as indented JSON."""
    return json.dumps(run, indent=1, ensure_ascii=False, default=str)


def variants_yaml(run: Mapping[str, Any]) -> str:
    """The run's variant configs as a variants file that `load_variant_set` reads back."""
    return dump_variant_set([variant_config(v) for v in run.get("variants") or []])


def questions_jsonl(run: Mapping[str, Any]) -> bytes:
    """The run's questions with their gold answers, rebuilt from its rows (evidence quotes are not kept)."""
    seen: dict[str, dict[str, Any]] = {}
    for variant in run.get("variants") or []:
        for row in variant.get("rows") or []:
            seen.setdefault(
                str(row["qid"]),
                {
                    "id": str(row["qid"]),
                    "question": row.get("question", ""),
                    "answers": list(row.get("golds") or []),
                },
            )
    return "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in seen.values()).encode("utf-8")
