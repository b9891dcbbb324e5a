"""A workshop room's leaderboard: every participant's evaluated variants, best first, each with its settings
compared with the room's baseline.

Built from the experiment store. A room's runs carry `meta["room"]` and `meta["participant"]` (`room.run_meta`);
outside a room every run in the store counts, under its participant or "you". Only complete runs enter the board:
a run still going, or stopped part way, has answered fewer questions than the others and would be ranked on less.
There is one entry per (participant, variant behaviour): evaluating the same settings again, under any name,
replaces the older entry, so a rerun updates a line instead of adding one.

The scores are the ones every other view shows (`VariantResult.aggregates` through `store_run_to_dict`): the
primary metric with its bootstrap interval, the judge's `judge_correct`, the retrieval metrics, cost per answer.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from playground.core.config import VariantConfig, load_variant_set
from playground.core.errors import ConfigError
from playground.core.paths import PROJECT_ROOT
from playground.evaluation.judge_rubrics import JUDGE_CORRECT
from playground.evaluation.scoring import PRIMARY_METRIC
from playground.reporting.report import INTERVAL
from playground.reporting.run_data import SUMMARY_LABELS, store_run_to_dict, variant_config
from playground.storage.store import ExperimentStore
from playground.workshop.room import RoomSettings

LOCAL_PARTICIPANT = "you"
LADDER_FILE = PROJECT_ROOT / "sample_corpus" / "variants" / "ladder.yaml"
BASELINE_VARIANT = "baseline"
# A variant's name and description say nothing about how it answers, so a diff leaves them out.
NOT_SETTINGS = ("name", "description")


@dataclass(frozen=True)
class Entry:
    """One line of the board: a participant's variant, scored on its latest complete run."""

    participant: str
    variant: str
    config: VariantConfig
    config_key: str  # `VariantConfig.behaviour_key()`: equal for the same settings under another name
    run_id: int
    run_at: str
    question_set: str
    question_set_hash: str
    questions: int
    errors: int
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    judge_correct: float | None
    context_precision: float | None
    context_recall: float | None
    median_latency_s: float | None
    cost_usd: float | None

    @property
    def key(self) -> str:
        """Names the entry across reruns (the facilitator's spotlight keeps it)."""
        return f"{self.config_key}:{self.participant}"

    @property
    def label(self) -> str:
        return f"{self.participant} · {self.variant}"

    def score(self, metric: str) -> float | None:
        return self.judge_correct if metric == JUDGE_CORRECT else self.accuracy


@dataclass(frozen=True)
class RunEntries:
    """What the board needs of one stored run: whose and which room's it is, and its entries when complete."""

    run_id: int
    status: str
    room: str | None
    entries: tuple[Entry, ...] = ()
    unreadable: bool = False  # a stored config that no longer validates (a run from an older version)


@dataclass(frozen=True)
class Board:
    """The entries best first, the metric they are ranked by, and the runs not (yet) on the board."""

    entries: tuple[Entry, ...]
    metric: str
    running: int = 0
    unreadable: int = 0


# --- reading the store ----------------------------------------------------------------------------------------


def _median_latency(rows: Sequence[Mapping[str, Any]]) -> float | None:
    # The median, not the aggregates' mean: one slow first call (weights loading) would dominate a short run.
    seconds = [float(r.get("latency_s") or 0.0) for r in rows if not r.get("error")]
    return statistics.median(seconds) if seconds else None


def _entry(run: Mapping[str, Any], variant: Mapping[str, Any], participant: str) -> Entry | None:
    rows = variant.get("rows") or []
    if not rows:
        return None
    config, agg = variant_config(variant), variant.get("aggregates") or {}
    return Entry(
        participant=participant,
        variant=str(variant["name"]),
        config=config,
        config_key=config.behaviour_key(),
        run_id=int(run["run_id"]),
        run_at=str(run.get("started_at") or ""),
        question_set=str(run.get("questions") or ""),
        question_set_hash=str(run.get("question_set_hash") or ""),
        questions=len({str(r.get("qid")) for r in rows}),
        errors=int(agg.get("errors") or 0),
        accuracy=agg.get(PRIMARY_METRIC),
        accuracy_low=agg.get(f"{PRIMARY_METRIC}_ci_low"),
        accuracy_high=agg.get(f"{PRIMARY_METRIC}_ci_high"),
        judge_correct=agg.get(JUDGE_CORRECT),
        context_precision=agg.get("context_precision"),
        context_recall=agg.get("context_recall"),
        median_latency_s=_median_latency(rows),
        cost_usd=agg.get("cost_usd"),
    )


def read_run(stored: Mapping[str, Any]) -> RunEntries:
    """The board's view of one `ExperimentStore.load_run` record; entries only for a complete run."""
    meta = stored.get("meta") or {}
    room = meta.get("room")
    found = RunEntries(int(stored["id"]), str(stored.get("status")), None if room is None else str(room))
    if found.status != "complete":
        return found
    participant = str(meta.get("participant") or LOCAL_PARTICIPANT)
    try:
        run = store_run_to_dict(stored)
    except ConfigError:
        return RunEntries(found.run_id, found.status, found.room, unreadable=True)
    entries = (_entry(run, v, participant) for v in run["variants"])
    return RunEntries(found.run_id, found.status, found.room, tuple(e for e in entries if e is not None))


RunReader = Callable[[Mapping[str, Any]], RunEntries]


def room_runs(store: ExperimentStore, room_id: str | None, read: RunReader | None = None) -> list[RunEntries]:
    """The runs of a room, oldest first; `room_id` None: every run in the store (one user's own runs).

    `read` turns a `list_runs` row into RunEntries; a caller that refreshes often passes a cached one (a
    complete run never changes), the default loads the run each time."""
    reader = read or (lambda listed: read_run(store.load_run(int(listed["id"]))))
    runs = [reader(listed) for listed in sorted(store.list_runs(), key=lambda r: int(r["id"]))]
    return [r for r in runs if room_id is None or r.room == room_id]


# --- ranking --------------------------------------------------------------------------------------------------


def latest_per_config(runs: Iterable[RunEntries]) -> list[Entry]:
    """One entry per (participant, settings): the one from the latest run (runs are read in id order)."""
    kept: dict[str, Entry] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        for entry in run.entries:
            kept.pop(entry.key, None)  # re-inserted, so the dict's order follows the latest runs
            kept[entry.key] = entry
    return list(kept.values())


def ranking_metric(entries: Sequence[Entry]) -> str:
    """The judge's verdict when every entry was judged (a room with a judge judges every run), else the
    primary metric: entries are ranked on one scale, never a judged score against a string match."""
    judged = bool(entries) and all(e.judge_correct is not None for e in entries)
    return JUDGE_CORRECT if judged else PRIMARY_METRIC


def ranked(entries: Iterable[Entry], metric: str) -> list[Entry]:
    """Best first on `metric`; ties go to the higher accuracy, the narrower doubt (higher low end), and then
    to whoever got there first."""

    def order(e: Entry) -> tuple[bool, float, float, float, int]:
        score = e.score(metric)
        return score is None, -(score or 0.0), -(e.accuracy or 0.0), -(e.accuracy_low or 0.0), e.run_id

    return sorted(entries, key=order)


def question_sets(runs: Iterable[RunEntries]) -> dict[str, str]:
    """Question-set hash -> name of the sets the entries were scored on, the latest used first."""
    latest: dict[str, str] = {}
    for run in sorted(runs, key=lambda r: -r.run_id):
        for entry in run.entries:
            latest.setdefault(entry.question_set_hash, entry.question_set)
    return latest


def build_board(runs: Sequence[RunEntries], question_set_hash: str | None = None) -> Board:
    """The board of these runs; with `question_set_hash`, only the entries scored on that question set (scores
    on different questions cannot be ranked together)."""
    entries = [
        e
        for e in latest_per_config(runs)
        if question_set_hash is None or e.question_set_hash == question_set_hash
    ]
    metric = ranking_metric(entries)
    return Board(
        tuple(ranked(entries, metric)),
        metric,
        running=sum(r.status == "running" for r in runs),
        unreadable=sum(r.unreadable for r in runs),
    )


def spotlit(board: Board, key: str | None) -> Entry | None:
    """The entry the facilitator spotlighted, else the leader (None on an empty board)."""
    found = next((e for e in board.entries if e.key == key), None)
    return found or (board.entries[0] if board.entries else None)


# --- the baseline and a settings diff -------------------------------------------------------------------------


def room_baseline(room: RoomSettings | None = None, variants_file: Path = LADDER_FILE) -> VariantConfig:
    """The variant every entry is compared with: the sample ladder's `baseline` (prompt only, the settings the
    Evaluate page starts from), on the room's first model when the facilitator chose the models.

    The ladder file and not the Evaluate page's own starters: those follow one browser session's choices (its
    default model, its chunking), and every participant must see the same baseline."""
    baseline = load_variant_set(variants_file).get(BASELINE_VARIANT)
    if room is not None and room.models:
        return baseline.model_copy(update={"model": room.models[0]})
    return baseline


@dataclass(frozen=True)
class SettingChange:
    """One setting where a variant differs from the baseline, both values as text."""

    setting: str
    baseline: str
    value: str


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value or "(empty)"
    return json.dumps(value, ensure_ascii=False)


def settings_diff(config: VariantConfig, baseline: VariantConfig) -> list[SettingChange]:
    """The settings `config` changed from `baseline`, field by field (`VariantConfig.diff`). The index settings
    are left out for a variant that does not retrieve: they change nothing in its answers."""
    return [
        SettingChange(name, _shown(base), _shown(mine))
        for name, (mine, base) in config.diff(baseline).items()
        if name not in NOT_SETTINGS and (config.use_retrieval or not name.startswith("index."))
    ]


def diff_frame(changes: Sequence[SettingChange]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"setting": c.setting, "baseline": c.baseline, "this variant": c.value} for c in changes],
        columns=["setting", "baseline", "this variant"],
    )


# --- the table ------------------------------------------------------------------------------------------------

COLUMNS = {
    "participant": "participant",
    "variant": "variant",
    PRIMARY_METRIC: SUMMARY_LABELS[PRIMARY_METRIC],
    "interval": INTERVAL,
    JUDGE_CORRECT: SUMMARY_LABELS[JUDGE_CORRECT],
    "context_precision": SUMMARY_LABELS["context_precision"],
    "context_recall": SUMMARY_LABELS["context_recall"],
    "median_latency_s": "median seconds",
    "cost_usd": SUMMARY_LABELS["cost_usd"],
    "questions": "questions",
    "run": "run",
    "time": "time",
}

SCORE_COLUMNS = [
    PRIMARY_METRIC,
    JUDGE_CORRECT,
    "context_precision",
    "context_recall",
    "median_latency_s",
    "cost_usd",
]


def interval_text(entry: Entry) -> str:
    if entry.accuracy_low is None or entry.accuracy_high is None:
        return ""
    return f"{entry.accuracy_low:.0%} to {entry.accuracy_high:.0%}"


def _record(rank: int, e: Entry) -> dict[str, Any]:
    return {
        "rank": rank,
        "participant": e.participant,
        "variant": e.variant,
        PRIMARY_METRIC: e.accuracy,
        "interval": interval_text(e),
        JUDGE_CORRECT: e.judge_correct,
        "context_precision": e.context_precision,
        "context_recall": e.context_recall,
        "median_latency_s": e.median_latency_s,
        "cost_usd": e.cost_usd,
        "questions": e.questions,
        "run": e.run_id,
        "time": e.run_at.replace("T", " ")[:16],
    }


OPTIONAL_COLUMNS = [JUDGE_CORRECT, "context_precision", "context_recall"]


def board_frame(board: Board) -> pd.DataFrame:
    """One row per entry, best first, with readable column names; the judge's column only when it judged."""
    frame = pd.DataFrame(
        [_record(i, e) for i, e in enumerate(board.entries, start=1)], columns=["rank", *COLUMNS]
    )
    # Floats throughout, so a metric no entry has (no retrieval yet) is blank, not a column of None objects.
    frame[SCORE_COLUMNS] = frame[SCORE_COLUMNS].astype(float)
    # A column no entry has (no judge, or nobody retrieved yet) is left out rather than shown empty.
    frame = frame.drop(columns=[c for c in OPTIONAL_COLUMNS if frame[c].isna().all()])
    return frame.rename(columns=COLUMNS)
