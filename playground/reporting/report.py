"""A run as one self-contained HTML file: tables, the charts (plotly.js inlined once), comparisons, advice.

Everything from documents, models or users is html-escaped, in the tables and in the chart data alike, so
an answer or a chunk holding `<script>` shows as text and never runs. The file needs no network.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from playground.evaluation import diagnosis, stats
from playground.evaluation.rerank_moves import EvidenceMove
from playground.reporting import charts
from playground.reporting.charts_journey import journey_chart
from playground.reporting.run_data import SUMMARY_LABELS, run_from_dict, summary_rows

PRIMARY_METRIC = "contains"
_ANSWER_METRICS = ("contains", "exact_match", "token_f1", "hit@k")
REPORT_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#1f2937;
padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;width:100%}
th,td{border:1px solid #e5e7eb;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;word-break:break-word;background:#f9fafb;padding:.4rem;margin:.2rem 0;
font-size:.8rem}
.meta{color:#6b7280}.warn{background:#fff7ed;border:1px solid #fdba74;padding:.5rem;border-radius:4px}
.grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1rem}.wide{overflow-x:auto}
td{overflow-wrap:anywhere}
"""


def esc(value: Any) -> str:
    """Any value as text that can never become markup (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = "" if pd.isna(value) else f"{value:.0f}" if value.is_integer() else f"{value:.3f}"
        return f'<td class="num">{text}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    return f"<td>{esc(value)}</td>"


def table(frame: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table."""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>"
        for row in frame.astype(object).itertuples(index=False)
    )
    return f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def escaped(value: Any) -> Any:
    """A copy of JSON-like data with every string html-escaped, for the charts' labels and hover texts."""
    if isinstance(value, str):
        return esc(value)
    if isinstance(value, Mapping):
        return {k: escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(v) for v in value]
    return value


# The summary in three narrow tables, as in the app: one table of twenty columns ran off the right edge.
SUMMARY_GROUPS = (
    (
        "Answers",
        (
            "variant",
            "model",
            "n",
            "errors",
            "contains",
            "interval",
            "exact_match",
            "token_f1",
            "semantic_sim",
        ),
    ),
    ("Retrieval", ("variant", "hit@k", "recall@k", "mrr", "ndcg@k", "context_precision", "context_recall")),
    (
        "Judged",
        ("variant", "judge_correct", "faithfulness", "human", "judge_parse_failures", "judge_cost_usd"),
    ),
    ("Time and cost", ("variant", "latency_s", "prompt_tokens", "completion_tokens", "cost_usd")),
)
INTERVAL = "accuracy 95% interval"


def summary_tables(run: Mapping[str, Any]) -> str:
    """The summary rows as up to four tables, each with the columns that hold a value."""
    frame = pd.DataFrame(summary_rows(run))
    if frame.empty:
        return "<p>No answers.</p>"
    low, high = (frame.get(f"{PRIMARY_METRIC}_ci_{end}") for end in ("low", "high"))
    if low is not None and high is not None:
        frame["interval"] = [
            "" if pd.isna(a) or pd.isna(b) else f"{a:.0%} to {b:.0%}" for a, b in zip(low, high, strict=True)
        ]
    parts = []
    for title, columns in SUMMARY_GROUPS:
        present = [c for c in columns if c in frame.columns and (c == "variant" or frame[c].notna().any())]
        if len(present) > 1:
            labels = SUMMARY_LABELS | {"interval": INTERVAL}
            parts.append(f"<h3>{esc(title)}</h3>{table(frame[present].rename(columns=labels))}")
    return "".join(parts)


def section(title: str, *parts: str) -> str:
    return f"<section><h2>{esc(title)}</h2>{''.join(parts)}</section>"


def figure_html(figures: Sequence[go.Figure]) -> list[str]:
    """Each figure's div; plotly.js is inlined once, with the first."""
    return [
        fig.to_html(
            full_html=False,
            include_plotlyjs="inline" if i == 0 else False,
            config={"displaylogo": False, "responsive": True},
        )
        for i, fig in enumerate(figures)
    ]


def _metadata(run: Mapping[str, Any]) -> str:
    answered = sum(len(v.get("rows") or []) for v in run.get("variants") or [])
    status = run.get("status") or ("stopped" if run.get("stopped") else "complete")
    facts = [
        ("Started", run.get("started_at")),
        ("Status", status),
        ("Corpus", run.get("corpus") or "no corpus"),
        ("Question set", run.get("questions")),
        ("Question set hash", run.get("question_set_hash")),
        ("Variants", len(run.get("variants") or [])),
        ("Answers", answered),
        ("Playground version", run.get("version")),
    ]
    items = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts if v not in (None, ""))
    note = (
        '<p class="warn">This run did not finish: the scores use only the answers that were saved.</p>'
        if run.get("stopped")
        else ""
    )
    return f"<table>{items}</table>{note}"


def comparisons_frame(run: Mapping[str, Any], metric: str = PRIMARY_METRIC) -> pd.DataFrame:
    """Every variant against the first one: the paired verdict, wins / losses / ties, interval and p."""
    variants = list(run.get("variants") or [])
    records = []
    for other in variants[1:]:
        c = stats.compare_variants(
            variants[0]["rows"], other["rows"], metric, name_a=variants[0]["name"], name_b=other["name"]
        )
        records.append(
            {
                "variant": c.name_b,
                "against": c.name_a,
                "verdict": c.verdict,
                "questions": c.n,
                "wins": c.wins,
                "losses": c.losses,
                "ties": c.ties,
                "difference": c.diff,
                "95% low": c.ci[0],
                "95% high": c.ci[1],
                "p-value": c.p_value,
                "test": c.test,
            }
        )
    return pd.DataFrame(records)


def _advice_html(advice: Iterable[diagnosis.Advice]) -> str:
    items = []
    for a in advice:
        tries = "".join(f"<li>{esc(t)}</li>" for t in a.techniques)
        items.append(
            f"<li><b>{esc(a.title)}</b>: {esc(a.why)}<br><span class='meta'>{esc(a.evidence)}</span>"
            + (f"<ul>{tries}</ul>" if tries else "")
            + "</li>"
        )
    return f"<ul>{''.join(items)}</ul>" if items else "<p>No advice: no failure class stands out.</p>"


def _diagnosis_html(run: Mapping[str, Any]) -> str:
    parts = []
    for variant in run.get("variants") or []:
        d = diagnosis.diagnose(variant)
        counts = pd.DataFrame([{"outcome": k, "questions": n} for k, n in d.counts.items() if n])
        parts.append(
            f"<h3>{esc(d.variant)}</h3>"
            + (table(counts) if len(counts) else "<p>No answers.</p>")
            + _advice_html(d.advice)
        )
    return "".join(parts)


def _journey_html(run: Mapping[str, Any]) -> tuple[go.Figure, str]:
    steps = diagnosis.journey_for_run(run)
    lines = "".join(f"<li><b>{esc(s.variant)}</b>: {esc(s.verdict)}</li>" for s in steps if s.verdict)
    return journey_chart(steps), f"<ul>{lines}</ul>" if lines else ""


def _chunks_html(chunks: Sequence[Mapping[str, Any]]) -> str:
    if not chunks:
        return ""
    boxes = "".join(
        f"<p class='meta'>#{i} · {esc(c.get('doc_id'))} · score {esc(c.get('score'))}"
        f"{' · holds the gold evidence' if c.get('holds_evidence') else ''}</p>"
        f"<pre>{esc(c.get('text'))}</pre>"
        for i, c in enumerate(chunks, start=1)
    )
    return f"<details><summary>{len(chunks)} retrieved chunks</summary>{boxes}</details>"


def _move_cell(row: Mapping[str, Any]) -> list[str]:
    move = EvidenceMove.from_dict(row.get("evidence_move"))
    return [esc(move.summary() if move else "")]


def _answer_row(variant: str, row: Mapping[str, Any], reranked: bool = False) -> str:
    metrics = row.get("metrics") or {}
    cells = [
        esc(row.get("qid")),
        esc(variant),
        esc(row.get("question")),
        esc(" | ".join(row.get("golds") or [])),
        f"<pre>{esc(row.get('answer'))}</pre>{_chunks_html(row.get('retrieved') or [])}",
        esc(row.get("outcome")),
        *(esc("" if metrics.get(m) is None else f"{metrics[m]:.2f}") for m in _ANSWER_METRICS),
        *(_move_cell(row) if reranked else []),
        esc(row.get("error") or ""),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _answers_html(run: Mapping[str, Any]) -> str:
    variants = run.get("variants") or []
    reranked = any(v.get("evidence_moves") for v in variants)
    moved = ("evidence after re-ranking",) if reranked else ()
    head = ("question", "variant", "question text", "gold", "answer", "outcome", *_ANSWER_METRICS)
    head = (*head, *moved, "error")
    rows = "".join(_answer_row(v["name"], r, reranked) for v in variants for r in v.get("rows") or [])
    return (
        f"<div class='wide'><table><thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _moves_figure(run: Mapping[str, Any]) -> list[go.Figure]:
    """The chart of where re-ranking moved the evidence, when a variant re-ranked (else none)."""
    counts = {v["name"]: v.get("evidence_moves") for v in run.get("variants") or []}
    return [charts.evidence_moves_chart(counts)] if any(counts.values()) else []


def html_report(run: Mapping[str, Any], title: str | None = None) -> str:
    """One self-contained HTML page for a run in the `EvalRun.to_dict()` shape."""
    safe = escaped(dict(run))  # the charts take labels as plotly pseudo-HTML: escape what goes in
    rows = summary_rows(safe)
    journey_fig, journey_text = _journey_html(safe)
    figures = figure_html(
        [
            charts.accuracy_chart(rows),
            charts.retrieval_chart(rows),
            charts.cost_chart(rows),
            charts.outcome_matrix(run_from_dict(safe)),
            journey_fig,
            *_moves_figure(safe),
        ]
    )
    title = title or f"LLM playground run of {run.get('started_at', '')}"
    variants = run.get("variants") or []
    first = esc(variants[0]["name"]) if variants else ""
    body = "".join(
        [
            f"<h1>{esc(title)}</h1>",
            _metadata(run),
            section("Summary", summary_tables(run)),
            section(
                "Charts",
                f"<div class='grid'>{''.join(f'<div>{f}</div>' for f in [*figures[:4], *figures[5:]])}</div>",
            ),
            section("Optimisation journey", figures[4], journey_text),
            section(
                "Compared with the first variant",
                f"<p class='meta'>Paired on the same questions, against {first}.</p>",
                table(comparisons_frame(run)),
            ),
            section("Diagnosis and advice", _diagnosis_html(run)),
            section("Every answer", _answers_html(run)),
        ]
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{REPORT_STYLE}</style>"
        f"</head><body>{body}</body></html>"
    )
