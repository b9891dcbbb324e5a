"""The History page's pieces: the list of saved runs, comparisons with statistics, diagnosis, downloads.

Runs come from the experiment store as `EvalRun.to_dict()`-shaped dicts (`export.store_run_to_dict`), so
the Evaluate page's views show them through `export.run_from_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from playground.core.settings import Settings
from playground.evaluation import diagnosis, stats
from playground.reporting import export
from playground.storage.store import ExperimentStore
from ui import resources, state, views, widgets

STATUS_HELP = {
    "complete": "finished",
    "stopped": "stopped by the user; the answers that finished are kept",
    "incomplete": "cut off (the app closed or the process was killed); the finished answers are kept",
    "running": "still running",
}
METRICS = {
    "contains": "accuracy (answer contains the gold)",
    "exact_match": "exact match",
    "token_f1": "token F1",
    "semantic_sim": "meaning similarity",
    "judge_correct": "judged correct (LLM judge)",
    "faithfulness": "faithfulness (LLM judge)",
    "human": "right (your verdicts)",
    "hit@k": "evidence found (hit@k)",
    "recall@k": "recall@k",
    "mrr": "MRR",
    "ndcg@k": "nDCG@k",
}


@st.cache_resource(show_spinner=False, max_entries=4)
def _store(path: str, _settings: Settings) -> ExperimentStore:
    return ExperimentStore(_settings)


def open_store(settings: Settings) -> ExperimentStore:
    """The data folder's experiment store, opened once per folder."""
    return _store(str(settings.data_dir), settings)


def load_run(store: ExperimentStore, run_id: int) -> dict[str, Any]:
    """A saved run in the `EvalRun.to_dict()` shape, with its status."""
    return export.store_run_to_dict(store.load_run(run_id))


def delete_run(store: ExperimentStore, run_id: int) -> bool:
    """Delete a run and its rows; True once done (errors raise, for `resources.guarded` to show)."""
    store.delete_run(run_id)
    return True


def run_label(run: Mapping[str, Any]) -> str:
    """'#3 · 2025-01-31 10:02 · fictional sample · complete' for a run of `list_runs`."""
    when = str(run.get("created_at") or "").replace("T", " ")[:16]
    return f"#{run['id']} · {when} · {run.get('corpus') or 'no corpus'} · {run.get('status')}"


def runs_frame(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per saved run, newest first."""
    return pd.DataFrame(
        [
            {
                "run": r["id"],
                "date": str(r.get("created_at") or "").replace("T", " ")[:19],
                "status": r.get("status"),
                "corpus": r.get("corpus") or "no corpus",
                "question set": r.get("questions"),
                "variants": ", ".join(str(v) for v in r.get("variants") or []),
                "answers saved": r.get("rows"),
            }
            for r in runs
        ]
    )


# --- comparing ----------------------------------------------------------------------------------------------


def first_repeat(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows of the first repeat: one answer per question, as the paired comparison needs."""
    return [r for r in rows if not r.get("repeat")]


def variant_rows(run: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    return next((first_repeat(v["rows"]) for v in run["variants"] if v["name"] == name), [])


def comparison_view(c: stats.Comparison) -> None:
    """The verdict in a plain sentence, then wins / losses / ties, the difference with its interval, p."""
    message = widgets.plain(c.verdict)
    if c.significant and c.diff > 0:
        st.success(message, icon=":material/check_circle:")
    elif c.significant:
        st.warning(message, icon=":material/warning:")
    else:
        st.info(message, icon=":material/remove:")
    cols = st.columns(4)
    cols[0].metric("B better", c.wins, help="Questions where B scored higher than A.")
    cols[1].metric("A better", c.losses, help="Questions where A scored higher than B.")
    cols[2].metric("Same score", c.ties, help="Questions where both scored the same.")
    cols[3].metric("Difference (B − A)", f"{c.diff:+.3f}", help="Mean score of B minus mean score of A.")
    st.caption(
        f"95% interval of the difference: {c.ci[0]:+.3f} to {c.ci[1]:+.3f} · p-value {c.p_value:.3g} "
        f"({c.test} test) · {c.n} questions answered by both"
    )


def _pick_side(side: str, labels: Mapping[int, str], current: int, key: str) -> int:
    ids: list[int] = list(labels)
    picked = st.selectbox(
        f"Run {side}",
        ids,
        index=ids.index(current),
        format_func=lambda i: labels[i],
        key=f"{key}_run_{side}",
        help="Any saved run; the run opened above is picked first.",
    )
    return current if picked is None else int(picked)


def _pick_variant(side: str, run: Mapping[str, Any], default: int, key: str) -> str:
    names = [v["name"] for v in run["variants"]]
    return str(
        st.selectbox(
            f"Variant {side}",
            names,
            index=min(default, len(names) - 1),
            key=f"{key}_variant_{side}",
            help=f"The variant of run {side} to compare.",
        )
    )


def _pick(
    side: str, store: ExperimentStore, labels: Mapping[int, str], current: Mapping[str, Any], key: str
) -> tuple[Mapping[str, Any] | None, str]:
    """One side of a comparison: a saved run and one of its variants."""
    run_id = _pick_side(side, labels, int(current["run_id"]), key)
    run = (
        current
        if run_id == current["run_id"]
        else resources.guarded("opening the run", load_run, store, run_id)
    )
    if run is None or not run["variants"]:
        return None, ""
    return run, _pick_variant(side, run, 0 if side == "A" else 1, key)


def _display_name(run: Mapping[str, Any], name: str, both: bool) -> str:
    return f"{name} (run #{run['run_id']})" if both else name


def compare_view(
    store: ExperimentStore, labels: Mapping[int, str], current: Mapping[str, Any], key: str
) -> None:
    """Pick any two (run, variant) pairs and a metric; show the paired comparison on shared questions."""
    left, right = st.columns(2)
    with left:
        run_a, name_a = _pick("A", store, labels, current, key)
    with right:
        run_b, name_b = _pick("B", store, labels, current, key)
    metrics: list[str] = list(METRICS)
    metric = st.selectbox(
        "Compare on",
        metrics,
        format_func=lambda m: METRICS[m],
        key=f"{key}_metric",
        help="The per-question score to compare; only questions that both variants answered are paired.",
    )
    if run_a is None or run_b is None:
        st.info("Pick runs that have answers to compare.")
        return
    if run_a["run_id"] == run_b["run_id"] and name_a == name_b:
        st.info("Pick two different variants, or the same variant in another run.")
        return
    two_runs = run_a["run_id"] != run_b["run_id"]
    comparison = stats.compare_variants(
        variant_rows(run_a, name_a),
        variant_rows(run_b, name_b),
        metric or "contains",
        name_a=_display_name(run_a, name_a, two_runs),
        name_b=_display_name(run_b, name_b, two_runs),
    )
    st.caption(widgets.plain(f"A = {comparison.name_a} · B = {comparison.name_b}"))
    comparison_view(comparison)


# --- diagnosis ----------------------------------------------------------------------------------------------


def _advice(advice: diagnosis.Advice) -> None:
    with st.container(border=True):
        st.markdown(f"**{widgets.plain(advice.title)}**")
        st.caption(widgets.plain(advice.why))
        st.text(advice.evidence)
        if advice.techniques:
            st.text("Try: " + "; ".join(advice.techniques))


def diagnosis_view(run: Mapping[str, Any]) -> None:
    """Per variant: why each question failed (counts) and the method's advice, as a suggestion."""
    variants = list(run["variants"])
    if not variants:
        return
    for tab, variant in zip(st.tabs([str(v["name"]) for v in variants]), variants, strict=True):
        with tab:
            found = diagnosis.diagnose({**variant, "rows": first_repeat(variant["rows"])})
            counts = pd.DataFrame([{"outcome": k, "questions": n} for k, n in found.counts.items() if n])
            st.dataframe(counts, hide_index=True)
            if not found.advice:
                st.caption("No failure class stands out: nothing to suggest.")
            for advice in found.advice:
                _advice(advice)


# --- downloads ----------------------------------------------------------------------------------------------


def downloads(run: Mapping[str, Any], settings: Settings, key: str) -> None:
    """CSV, JSON, the HTML report, the variants YAML and the replay bundle of a run."""
    stamp = f"run{run.get('run_id') or ''}-" + str(run.get("started_at", ""))[:10]
    summary, answers = export.run_to_frames(run)
    top, bottom = st.columns(3), st.columns(3)
    buttons = [
        (
            "Summary (CSV)",
            summary.to_csv(index=False),
            f"summary-{stamp}.csv",
            "text/csv",
            "One row per variant with every metric, for a spreadsheet.",
        ),
        (
            "Every answer (CSV)",
            answers.to_csv(index=False),
            f"answers-{stamp}.csv",
            "text/csv",
            "One row per question and variant, with the answers and scores.",
        ),
        (
            "Everything (JSON)",
            export.run_json(run),
            f"run-{stamp}.json",
            "application/json",
            "Configs, metrics and every answer with its chunks and prompt.",
        ),
        (
            "Report (HTML)",
            lambda: export.html_report(run),
            f"report-{stamp}.html",
            "text/html",
            "One file with the tables, charts, comparisons and advice; opens in any browser, offline.",
        ),
        (
            "Variants (YAML)",
            export.variants_yaml(run),
            f"variants-{stamp}.yaml",
            "text/yaml",
            "The run's variants as a file the Evaluate page and `playground eval` read.",
        ),
        (
            "Replay bundle (zip)",
            lambda: _bundle(run, settings),
            f"bundle-{stamp}.zip",
            "application/zip",
            "Configs, questions and the cached answers: replays in another install with no key and no model.",
        ),
    ]
    for column, (label, data, name, mime, help_text) in zip([*top, *bottom], buttons, strict=True):
        column.download_button(
            label, data, name, mime, key=f"{key}_{name.split('-')[0]}", help=help_text, on_click="ignore"
        )


def _bundle(run: Mapping[str, Any], settings: Settings) -> bytes:
    return export.make_bundle(run, None, export.run_cache_export(run, settings))


# --- replaying a shared bundle ------------------------------------------------------------------------------

REPLAY_MODES = {
    "rerun": "Re-ran every variant through the pipeline with no model: all {n} answers came from the bundle.",
    "rows": "Rebuilt from the bundle's answers ({n} checked against its cache). The bundle holds no "
    "documents, so retrieval was not run again; the cache is now in this data folder.",
}


def replay_view(settings: Settings, key: str) -> None:
    """Upload a bundle, import its cache and show its run; replayed once per uploaded file."""
    upload = st.file_uploader(
        "Replay bundle (zip)",
        type=["zip"],
        key=f"{key}_file",
        help="A bundle downloaded from this page in any playground. No model is called and no key is needed.",
    )
    if upload is None:
        return
    memo = f"history:replay:{upload.file_id}"
    replay = state.lab_value(memo) or resources.guarded(
        "replaying the bundle", export.replay_bundle, upload.getvalue(), settings
    )
    if replay is None:
        return
    state.set_lab_value(memo, replay)
    answers = replay["verified"] if replay["mode"] == "rows" else len(replay["answers"])
    st.success(REPLAY_MODES[replay["mode"]].format(n=answers), icon=":material/check_circle:")
    if replay.get("calls_missing"):
        st.warning(
            f"{replay['calls_missing']} of the run's {replay['calls']} model calls and searches are not in the "
            "bundle (the cache was cleared before it was made), so running these variants again calls the "
            "model for them. Export the bundle right after a run to carry them all."
        )
    run = resources.guarded("reading the bundle's run", export.run_from_dict, replay["run"])
    if run is not None:
        views.run_header(run)
        views.summary_table(run)
        views.charts_grid(run, f"{key}_charts")
