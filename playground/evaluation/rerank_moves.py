"""What reranking did to the gold evidence: its rank before and after, and a verdict per answer and per variant.

The evidence rank of an answer is the rank of the best-placed chunk that holds any of its gold evidence (what
hit@k and MRR read): among the retriever's candidates before reranking, and among the chunks kept after it.

- "up" / "same" / "down": the evidence was kept and its rank rose, stayed or fell;
- "dropped": a candidate held the evidence but reranking kept none of those candidates;
- "missing": no candidate held it, so reranking could not help.

An answer whose variant does not rerank, whose question has no evidence located in the corpus, or that failed
has no verdict (None).

>>> evidence_move(["a", "b", "c"], ["c", "a"], {"c"}).verdict  # the evidence went from #3 to #1
'up'
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.core.documents import Chunk
from playground.ingest.questions import Span, holds

VERDICTS = ("up", "same", "down", "dropped", "missing")
Ranks = tuple[int | None, int | None]  # (rank before reranking, rank after it; None: not kept)


@dataclass(frozen=True)
class EvidenceMove:
    """One answer's evidence rank before and after reranking, and the verdict; `chunks` gives each evidence
    chunk's own ranks, by chunk id."""

    verdict: str
    before: int | None = None
    after: int | None = None
    chunks: dict[str, Ranks] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "before": self.before,
            "after": self.after,
            "chunks": {k: list(v) for k, v in self.chunks.items()},
        }

    def summary(self) -> str:
        """'up (#4 → #1)', 'dropped (was #5)', 'missing (no candidate held it)'."""
        if self.verdict == "missing":
            return "missing (no candidate held it)"
        if self.verdict == "dropped":
            return f"dropped (was #{self.before})"
        return f"{self.verdict} (#{self.before} → #{self.after})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> EvidenceMove | None:
        """The move as `to_dict` wrote it; None for no data or an unknown verdict."""
        if not data or data.get("verdict") not in VERDICTS:
            return None
        chunks = {str(k): (v[0], v[1]) for k, v in (data.get("chunks") or {}).items()}
        return cls(str(data["verdict"]), data.get("before"), data.get("after"), chunks)


def _rank(ids: Sequence[str], chunk_id: str) -> int | None:
    return ids.index(chunk_id) + 1 if chunk_id in ids else None


def evidence_move(before: Sequence[str], after: Sequence[str], evidence: Collection[str]) -> EvidenceMove:
    """The move of the evidence chunks (ids in `evidence`) from the candidate order `before` to the kept
    order `after`."""
    candidates = [*before, *(c for c in after if c not in before)]
    chunks = {c: (_rank(before, c), _rank(after, c)) for c in candidates if c in evidence}
    ranked = [b for b, _ in chunks.values() if b is not None]
    if not ranked:
        return EvidenceMove("missing", chunks=chunks)
    first = min(ranked)
    kept = [a for _, a in chunks.values() if a is not None]
    if not kept:
        return EvidenceMove("dropped", first, None, chunks)
    now = min(kept)
    verdict = "up" if now < first else "down" if now > first else "same"
    return EvidenceMove(verdict, first, now, chunks)


def holding_evidence(chunks: Iterable[Chunk], located: Sequence[Sequence[Span]]) -> set[str]:
    """The ids of the chunks that hold any located piece of evidence."""
    return {c.chunk_id for c in chunks if any(holds(c, s) for spans in located for s in spans)}


def rerank_move(
    steps: Mapping[str, Any], located: Sequence[Sequence[Span]], chunk_of: Callable[[str], Chunk]
) -> EvidenceMove | None:
    """The evidence move of one answer from its pipeline steps; `chunk_of` finds a candidate's chunk by id (a
    KeyError skips it). None when the answer was not reranked or its evidence is not in the corpus."""
    step = steps.get("rerank")
    if not step or not any(located):
        return None
    before, after = list(step.get("before") or []), list(step.get("after") or [])
    chunks = []
    for chunk_id in dict.fromkeys([*before, *after]):
        try:
            chunks.append(chunk_of(chunk_id))
        except KeyError:
            continue
    return evidence_move(before, after, holding_evidence(chunks, located))


def count_moves(moves: Iterable[EvidenceMove | Mapping[str, Any] | None]) -> dict[str, int] | None:
    """How many answers got each verdict (every verdict listed); None when no answer has one."""
    counts = dict.fromkeys(VERDICTS, 0)
    seen = False
    for move in moves:
        found = move if isinstance(move, EvidenceMove) else EvidenceMove.from_dict(move)
        if found is not None:
            counts[found.verdict] += 1
            seen = True
    return counts if seen else None


def move_columns(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """An answer's move as table columns (none when it has no verdict), for the per-answer exports."""
    move = EvidenceMove.from_dict(data)
    if move is None:
        return {}
    return {
        "rerank_evidence": move.verdict,
        "evidence_rank_before": move.before,
        "evidence_rank_after": move.after,
    }
