"""What re-ranking did, on screen: each chunk's rank before and after, where the gold evidence went, and the
chart of those moves per variant. Only numbers and fixed words go into Markdown here, never document text."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from playground.core.config import VariantConfig
from playground.core.documents import Chunk, Corpus
from playground.evaluation.rerank_moves import EvidenceMove, rerank_move
from playground.evaluation.results import EvalRun
from playground.ingest.questions import Span
from playground.reporting import charts
from ui import resources

_ARROW = ":material/arrow_forward:"
_MOVED = {
    "up": ("green", "arrow_upward"),
    "down": ("orange", "arrow_downward"),
    "same": ("gray", "drag_handle"),
}


def rank_notes(steps: Mapping[str, Any], chunk_ids: Sequence[str]) -> list[str]:
    """For each kept chunk, its rank before and after re-ranking as a Markdown line ("" when not re-ranked)."""
    before = list((steps.get("rerank") or {}).get("before") or [])
    if not before:
        return [""] * len(chunk_ids)
    return [_rank_note(before.index(c) + 1, now) if c in before else "" for now, c in enumerate(chunk_ids, 1)]


def _rank_note(was: int, now: int) -> str:
    """ ":green[:material/arrow_upward: #3 → #1 by re-ranking]", with an arrow icon for the →."""
    colour, icon = _MOVED["up" if now < was else "down" if now > was else "same"]
    return f":{colour}[:material/{icon}: #{was} {_ARROW} #{now} by re-ranking]"


def evidence_line(move: EvidenceMove) -> str:
    """One Markdown sentence on where re-ranking put the gold evidence."""
    was, now = move.before, move.after
    return {
        "up": f":green[:material/arrow_upward:] Re-ranking moved the gold evidence up: #{was} {_ARROW} #{now}.",
        "same": f":gray[:material/drag_handle:] Re-ranking left the gold evidence at #{was}.",
        "down": f":orange[:material/arrow_downward:] Re-ranking moved the gold evidence down: "
        f"#{was} {_ARROW} #{now}.",
        "dropped": f":red[:material/remove_circle:] Re-ranking dropped the gold evidence: it was candidate "
        f"#{was}, and no chunk holding it was kept.",
        "missing": ":gray[:material/search_off:] No candidate held the gold evidence, so re-ranking could "
        "not bring it in.",
    }[move.verdict]


def show_move(move: EvidenceMove | Mapping[str, Any] | None) -> None:
    """Say where re-ranking put the gold evidence; nothing when there is no verdict."""
    found = move if isinstance(move, EvidenceMove) else EvidenceMove.from_dict(move)
    if found is not None:
        st.markdown(evidence_line(found))


def chunk_lookup(corpus: Corpus | None, variant: VariantConfig) -> Callable[[str], Chunk] | None:
    """The chunks of the variant's index by id (what its re-ranker chose from), when it re-ranks."""
    if corpus is None or not variant.use_retrieval or variant.reranker == "none":
        return None
    return {c.chunk_id: c for c in resources.chunks(corpus, variant.index)}.__getitem__


def lab_move(
    steps: Mapping[str, Any],
    located: Sequence[Sequence[Span]] | None,
    chunk_of: Callable[[str], Chunk] | None,
) -> EvidenceMove | None:
    """The lab answer's evidence move: only with a gold evidence to look for and the candidates' chunks."""
    if located is None or chunk_of is None:
        return None
    return rerank_move(steps, located, chunk_of)


def moves_chart(run: EvalRun, key: str) -> None:
    """The chart of where re-ranking moved the evidence, per variant; nothing when no variant re-ranked."""
    counts = {v.variant.name: v.evidence_moves() for v in run.variants}
    if any(counts.values()):
        st.plotly_chart(charts.evidence_moves_chart(counts), key=f"{key}_moves", width="stretch")
