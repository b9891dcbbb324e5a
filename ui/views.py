"""Read-only displays shared by the pages: an answer with its chunks and prompt, and evaluation results.

Text that comes from documents, models or users is shown with `st.text` / `st.code` / `st.dataframe`, never as
Markdown, so nothing in a document can change how the page looks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from playground.core.documents import Chunk, Corpus
from playground.evaluation.metrics import contains_gold
from playground.evaluation.rerank_moves import move_columns
from playground.evaluation.results import EvalRun, QuestionResult
from playground.ingest.questions import EvidenceLocator, Question, Span, holds
from playground.rag.pipeline import PipelineResult
from playground.reporting import charts, export
from playground.reporting.report import SUMMARY_GROUPS  # one column grouping for the page and the HTML report
from playground.reporting.run_data import SUMMARY_LABELS, judged_columns
from ui import metric_choice, rerank_view, verdicts, widgets

SUMMARY_COLUMNS = SUMMARY_LABELS  # the same readable names as the exported tables


RERANK_SCALE_NOTE = (
    "Re-ranked: each score is the model's judgement of how likely the piece helps answer (0 to 1), not the "
    "search's similarity score. The two are on different scales: compare scores within one column only."
)


def _chunk_box(
    position: int,
    score: float,
    source: str,
    text: str,
    holds_evidence: bool | None,
    note: str = "",
    reranked: bool = False,
) -> None:
    with st.container(border=True):
        kind = "relevance (re-ranker)" if reranked else "search score"
        st.text(f"#{position} · {kind} {score:.3f} · {source}")
        if note:  # the rank before and after re-ranking (numbers only, so Markdown is safe)
            st.markdown(note)
        if holds_evidence:
            st.markdown(":green[:material/star: holds the gold evidence]")
        st.code(text, language=None, wrap_lines=True)


def _reranked(steps: dict[str, Any]) -> bool:
    """Whether the model re-ranked the chunks; if so, say that their scores are on another scale."""
    if not steps.get("rerank"):
        return False
    st.caption(RERANK_SCALE_NOTE)
    return True


def steps_view(steps: dict[str, Any]) -> None:
    """What each technique did: routing, the imagined answer, rewordings, the search, the fact-check."""
    routed = steps.get("classification")
    if routed:
        where = ", ".join(routed.get("categories") or []) or "all documents"
        text = f"searched {where}" if routed.get("needs_documents", True) else "needs no documents"
        st.caption(f"Routing: {widgets.plain(text)}")
    if steps.get("hyde_passage"):
        with st.expander("Imagined answer used for the search (HyDE)"):
            st.text(str(steps["hyde_passage"]))
    if steps.get("expansions"):
        with st.expander(f"Rewordings searched ({len(steps['expansions'])})"):
            st.text("\n".join(str(q) for q in steps["expansions"]))
    search = steps.get("retrieval")
    if search:
        st.caption(
            f"Search: {search.get('retriever')}, {search.get('queries')} question version(s), "
            f"{search.get('candidates')} candidates"
        )
    check = steps.get("fact_check")
    if check:
        verdict, reason = widgets.plain(str(check.get("verdict"))), widgets.plain(str(check.get("reason")))
        st.caption(f"Fact-check: {verdict} — {reason}")
        if check.get("replaced"):
            st.caption(
                f"The original answer was withdrawn: {widgets.plain(str(check.get('original_answer')))}"
            )


def evidence_spans(corpus: Corpus | None, question: Question | None) -> list[list[Span]] | None:
    """Where the question's gold evidence lies in the corpus; None when there is no evidence to look for."""
    if corpus is None or question is None or not question.evidence:
        return None
    return EvidenceLocator(corpus).locate_all(question)


def _evidence_summary(flags: Sequence[bool], in_corpus: bool | None) -> None:
    """Say which retrieved chunk holds the gold evidence; `in_corpus` is None when there is none to find."""
    if in_corpus is None:
        return
    if not in_corpus:
        st.caption("The gold evidence is not in this corpus (the question may belong to another corpus).")
    elif any(flags):
        ranks = ", ".join(f"#{i}" for i, flag in enumerate(flags, start=1) if flag)
        st.caption(f"The gold evidence is in retrieved chunk {ranks}.")
    else:
        st.caption(f"None of the {len(flags)} retrieved chunks holds the gold evidence.")


def answer_card(
    result: PipelineResult,
    gold: Question | None,
    corpus: Corpus | None,
    retrieval: bool,
    chunk_of: Callable[[str], Chunk] | None = None,
) -> None:
    """The answer, whether it matches the gold, cost, the retrieved chunks and the exact prompt. `chunk_of`
    finds the re-ranker's candidates by id, to say where re-ranking put the gold evidence."""
    st.caption("Answer")
    st.text(result.answer or "(empty answer)")
    if gold is not None:
        if contains_gold(result.answer, gold.answers) >= 1.0:
            st.markdown(":green[:material/check: contains the gold answer]")
        else:
            st.markdown(":orange[:material/close: does not contain the gold answer]")
    st.caption(
        f"{result.latency_s:.2f} s · {result.prompt_tokens} prompt tokens + "
        f"{result.completion_tokens} answer tokens"
    )
    if result.raw_output.strip() != result.answer.strip():
        with st.expander("The model's full reply"):
            st.code(result.raw_output, language=None, wrap_lines=True)
    steps_view(result.steps)
    if result.retrieved:
        located = evidence_spans(corpus, gold)
        flags = [any(holds(h.chunk, s) for spans in located or [] for s in spans) for h in result.retrieved]
        notes = rerank_view.rank_notes(result.steps, [h.chunk.chunk_id for h in result.retrieved])
        st.caption(f"Retrieved {len(result.retrieved)} chunks")
        _evidence_summary(flags, None if located is None else any(located))
        rerank_view.show_move(rerank_view.lab_move(result.steps, located, chunk_of))
        reranked = _reranked(result.steps)
        for position, (hit, flag, note) in enumerate(
            zip(result.retrieved, flags, notes, strict=True), start=1
        ):
            page = f" (page {hit.chunk.page})" if hit.chunk.page else ""
            source = f"{hit.chunk.source}{page}"
            _chunk_box(position, hit.score, source, hit.chunk.text, flag if located else None, note, reranked)
    elif retrieval:
        st.caption("Nothing was retrieved.")
    with st.expander("Exact prompt sent"):
        st.code(result.prompt.text, language=None, wrap_lines=True)


# --- evaluation results -------------------------------------------------------------------------------------


def summary_frame(run: EvalRun) -> pd.DataFrame:
    frame = pd.DataFrame(run.summary_rows())
    return frame[[c for c in SUMMARY_COLUMNS if c in frame.columns]].rename(columns=SUMMARY_COLUMNS)


def rows_frame(run: EvalRun) -> pd.DataFrame:
    """One row per (question, variant), with every metric: the long table behind the charts."""
    records: list[dict[str, Any]] = []
    for result in run.variants:
        for row in result.rows:
            records.append(
                {
                    "question_id": row.qid,
                    "variant": result.variant.name,
                    "question": row.question,
                    "gold": " | ".join(row.golds),
                    "answer": row.answer,
                    "outcome": row.outcome,
                    **row.metrics,
                    "latency_s": row.latency_s,
                    "prompt_tokens": row.prompt_tokens,
                    "completion_tokens": row.completion_tokens,
                    "error": row.error or "",
                    **judged_columns({"judge": row.judge, "human": row.human}),
                    **move_columns(row.evidence_move),
                }
            )
    return pd.DataFrame(records)


def run_header(run: EvalRun) -> None:
    """When and on what the run was made, and a warning when it was stopped early."""
    answered = sum(len(v.rows) for v in run.variants)
    st.caption(
        f"Run of {run.started_at} · {run.corpus or 'no corpus'} · {run.questions} · {answered} answers"
    )
    if any(v.cache_hits for v in run.variants):
        st.caption(f"Model calls answered from the cache (no model run): {run.cache_summary()}.")
    if run.stopped:
        st.warning(
            f"This run was stopped: {answered} answers finished and are shown; the scores use only those."
        )


# The results in three narrow tables rather than one of twenty columns: a wide table hid every column past
# "token F1" off the right edge, where a reader never thought to scroll.
INTERVAL = "accuracy 95% interval"
_PERCENT = st.column_config.NumberColumn(format="percent")
_DECIMAL = st.column_config.NumberColumn(format="%.2f")
_DECIMALS = ("semantic_sim", "recall@k", "mrr", "ndcg@k", "context_precision", "context_recall", "latency_s")


def _interval(row: pd.Series) -> str:
    low, high = row.get("contains_ci_low"), row.get("contains_ci_high")
    return "" if pd.isna(low) or pd.isna(high) else f"{low:.0%} to {high:.0%}"


_TEXT = ("variant", "model", "interval")


def _group_frame(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    present = [c for c in columns if c in frame.columns and (c == "variant" or frame[c].notna().any())]
    labels = SUMMARY_COLUMNS | {"interval": INTERVAL}
    # numbers as numbers, and a metric that does not apply (retrieval, for a variant without it) shown as "–"
    numbers = {c: pd.to_numeric(frame[c], errors="coerce") for c in present if c not in _TEXT}
    return frame[present].assign(**numbers).rename(columns=labels)


def summary_table(run: EvalRun) -> None:
    """One row per variant, in three tables that each fit the page: answers, retrieval, time and cost."""
    frame = pd.DataFrame(run.summary_rows())
    if frame.empty:
        st.caption("No answers yet.")
        return
    frame["interval"] = frame.apply(_interval, axis=1)
    config: dict[str, Any] = {
        SUMMARY_COLUMNS["variant"]: st.column_config.TextColumn(pinned=True),
        SUMMARY_COLUMNS["contains"]: st.column_config.ProgressColumn(
            format="percent", min_value=0.0, max_value=1.0
        ),
        **{SUMMARY_COLUMNS[k]: _DECIMAL for k in _DECIMALS},
        **{
            SUMMARY_COLUMNS[k]: _PERCENT
            for k in ("exact_match", "token_f1", "hit@k", "judge_correct", "faithfulness", "human")
        },
    }
    for title, columns in SUMMARY_GROUPS:
        table = _group_frame(frame, columns)
        if title in ("Retrieval", "Judged") and len(table.columns) == 1:
            continue  # no variant retrieved (or was judged): nothing to show
        st.caption(title)
        st.dataframe(table, hide_index=True, width="stretch", column_config=config, placeholder="–")


def charts_grid(run: EvalRun, key: str) -> None:
    """Accuracy, retrieval, cost and the question-by-variant matrix, in a two-column grid."""
    rows = run.summary_rows()
    metric = metric_choice.choose(rows, key)
    left, right = st.columns(2)
    scored = metric_choice.with_interval(run, rows, metric)
    left.plotly_chart(charts.accuracy_chart(scored, metric), key=f"{key}_acc", width="stretch")
    right.plotly_chart(charts.retrieval_chart(rows), key=f"{key}_ret", width="stretch")
    left.plotly_chart(charts.cost_chart(rows), key=f"{key}_cost", width="stretch")
    right.plotly_chart(charts.outcome_matrix(run), key=f"{key}_matrix", width="stretch")
    rerank_view.moves_chart(run, key)


def _find_row(run: EvalRun, qid: str, variant: str) -> QuestionResult | None:
    for result in run.variants:
        if result.variant.name == variant:
            return next((r for r in result.rows if r.qid == qid), None)
    return None


def cell_inspector(run: EvalRun, key: str) -> None:
    """Pick a cell of the matrix (question and variant) to see that answer, its chunks and the gold."""
    questions = {r.qid: r.question for v in run.variants for r in v.rows}
    if not questions:
        return
    left, right = st.columns([3, 1])
    qid = left.selectbox(
        "Question",
        list(questions),
        key=f"{key}_q",
        format_func=lambda q: f"{q} · {questions[q]}",
        help="A row of the matrix above.",
    )
    variant = right.selectbox(
        "Variant",
        [v.variant.name for v in run.variants],
        key=f"{key}_v",
        help="A column of the matrix above.",
    )
    row = _find_row(run, qid, variant)
    if row is None:
        st.info("This variant did not answer this question (the run was stopped before it).")
        return
    st.text(f"Outcome: {row.outcome}")
    st.text(f"Gold answer: {' | '.join(row.golds)}")
    st.text(f"Answer: {row.answer or '(empty)'}")
    if row.error:
        st.error(row.error)
    scores = {k: v for k, v in row.metrics.items() if v is not None}
    st.dataframe(pd.DataFrame([scores | {"seconds": row.latency_s}]), hide_index=True)
    verdicts.judge_view(row)
    verdicts.human_verdict(run, variant, row, key)
    steps_view(row.steps)
    if row.retrieved:
        flags = [bool(c.get("holds_evidence")) for c in row.retrieved]
        notes = rerank_view.rank_notes(row.steps, [c["chunk_id"] for c in row.retrieved])
        st.caption(f"Retrieved {len(row.retrieved)} chunks")
        _evidence_summary(flags, row.evidence_in_corpus)
        rerank_view.show_move(row.evidence_move)
        reranked = _reranked(row.steps)
        for position, (chunk, flag, note) in enumerate(
            zip(row.retrieved, flags, notes, strict=True), start=1
        ):
            _chunk_box(position, chunk["score"], chunk["doc_id"], chunk["text"], flag, note, reranked)
    with st.expander("Exact prompt sent"):
        st.code(row.prompt, language=None, wrap_lines=True)


def downloads(run: EvalRun, key: str) -> None:
    stamp = run.started_at.replace(":", "").replace("-", "")[:15]
    a, b, c = st.columns(3)
    a.download_button(
        "Summary (CSV)",
        summary_frame(run).to_csv(index=False),
        f"summary-{stamp}.csv",
        "text/csv",
        key=f"{key}_csv",
        help="One row per variant with every metric, for a spreadsheet.",
    )
    b.download_button(
        "Every answer (CSV)",
        rows_frame(run).to_csv(index=False),
        f"answers-{stamp}.csv",
        "text/csv",
        key=f"{key}_rows",
        help="One row per question and variant, with the answers.",
    )
    c.download_button(
        "Everything (JSON)",
        json.dumps(run.to_dict(), indent=1),
        f"run-{stamp}.json",
        "application/json",
        key=f"{key}_json",
        help="Configs, metrics and every answer with its chunks and prompt, to keep or share.",
    )
    st.columns(3)[0].download_button(
        "Report (HTML)",
        lambda: export.html_report(run.to_dict()),
        f"report-{stamp}.html",
        "text/html",
        key=f"{key}_html",
        help="One file with the tables, charts, comparisons and advice; opens in any browser, offline.",
        on_click="ignore",
    )
