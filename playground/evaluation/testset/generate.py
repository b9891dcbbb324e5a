"""A question set written from any corpus: sources sampled over the documents (seeded), kinds mixed, every
question checked, until N are kept or the sources or tries run out (with a note that says why)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from playground.core.documents import Chunk, Corpus
from playground.core.errors import ConfigError, InputError
from playground.evaluation.testset import facts, sampling
from playground.evaluation.testset.report import KINDS, GenerationReport, Kind
from playground.evaluation.testset.writer import DocumentChecks, QuestionWriter
from playground.models.llms import LLM

SHARES: dict[Kind, float] = {"single": 0.7, "multi-hop": 0.15, "unanswerable": 0.15}
_ALIASES: dict[str, Kind] = {
    "single": "single",
    "multi": "multi-hop",
    "multi-hop": "multi-hop",
    "multihop": "multi-hop",
    "unanswerable": "unanswerable",
}
OnProgress = Callable[[GenerationReport], None]


def parse_kinds(text: str) -> tuple[Kind, ...]:
    """Kinds from text such as "single,multi,unanswerable" -> the kinds, in the project's names; unknown names raise InputError."""
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in _ALIASES]
    if unknown or not names:
        raise InputError(
            f"Unknown question kind(s): {', '.join(unknown) or 'none given'}. "
            "Use a comma-separated list of single, multi, unanswerable."
        )
    return tuple(dict.fromkeys(_ALIASES[n] for n in names))


@dataclass(frozen=True)
class GenerationOptions:
    """How many questions, of which kinds, from which random draw, and how hard to try."""

    n: int = 20
    kinds: tuple[Kind, ...] = ("single",)
    seed: int = 0
    tries_per_question: float = 3.0
    give_up_after: int = 8  # tries of a kind with nothing kept: the model cannot write that kind
    max_tokens: int = 200
    shares: dict[Kind, float] = field(default_factory=lambda: dict(SHARES))

    def __post_init__(self) -> None:
        if self.n < 1:
            raise InputError("Ask for at least one question.")
        if not self.kinds or any(k not in KINDS for k in self.kinds):
            raise InputError(f"Question kinds must be some of {', '.join(KINDS)}.")


def plan(n: int, kinds: Sequence[Kind], shares: dict[Kind, float] = SHARES) -> dict[Kind, int]:
    """How many questions of each kind: the shares rescaled to the chosen kinds, rounded by largest remainder,
    each kind at least one when N allows."""
    total = sum(shares[k] for k in kinds)
    exact = {k: n * shares[k] / total for k in kinds}
    counts = {k: max(1 if n >= len(kinds) else 0, math.floor(v)) for k, v in exact.items()}
    for k in sorted(kinds, key=lambda k: exact[k] - math.floor(exact[k]), reverse=True):
        if sum(counts.values()) >= n:
            break
        counts[k] += 1
    while sum(counts.values()) > n:
        biggest = max(counts, key=lambda k: counts[k])
        counts[biggest] -= 1
    return counts


@dataclass(frozen=True)
class _Source:
    chunks: tuple[Chunk, ...]
    name: str = ""  # the name two passages share (multi-hop)


@dataclass
class _Plan:
    targets: dict[Kind, int]
    budget: dict[Kind, int]
    sources: dict[Kind, Iterator[_Source]]
    available: dict[Kind, int]
    tried: dict[Kind, int] = field(default_factory=dict)
    exhausted: set[Kind] = field(default_factory=set)

    def next_kind(self, kept: dict[str, int], give_up_after: int) -> Kind | None:
        """The kind furthest behind its target that can still be tried; a kind with nothing kept after
        `give_up_after` tries is given up (the model cannot write it), so it stops taking every turn."""
        for kind in self.targets:
            if not kept.get(kind, 0) and self.tried.get(kind, 0) >= give_up_after:
                self.budget[kind] = min(self.budget[kind], self.tried.get(kind, 0))
        open_kinds = [
            k
            for k in self.targets
            if kept.get(k, 0) < self.targets[k]
            and self.tried.get(k, 0) < self.budget[k]
            and k not in self.exhausted
        ]
        return min(
            open_kinds, key=lambda k: (kept.get(k, 0) / self.targets[k], self.tried.get(k, 0)), default=None
        )

    def refill(self, kept: dict[str, int], tries_per_question: float) -> dict[Kind, int]:
        """Move what closed kinds could not make to single-fact questions (while those can still be made), so
        a run still ends with N questions; returns how many moved from each kind."""
        if "single" not in self.targets or "single" in self.exhausted:
            return {}
        moved: dict[Kind, int] = {}
        for kind in [k for k in self.targets if k != "single"]:
            short = self.targets[kind] - kept.get(kind, 0)
            if short > 0:
                moved[kind] = short
                self.targets[kind] -= short
                self.targets["single"] += short
                self.budget["single"] += math.ceil(short * tries_per_question)
        return moved

    def next_source(self, kind: Kind) -> _Source | None:
        source = next(self.sources[kind], None)
        if source is None:
            self.exhausted.add(kind)
        else:
            self.tried[kind] = self.tried.get(kind, 0) + 1
        return source


def _make_plan(passages: list[Chunk], options: GenerationOptions) -> _Plan:
    targets = {k: t for k, t in plan(options.n, options.kinds, options.shares).items() if t > 0}
    pairs = sampling.entity_pairs(passages, options.seed) if "multi-hop" in targets else []
    lists: dict[Kind, list[_Source]] = {
        "single": [_Source((c,)) for c in sampling.spread(passages, options.seed)],
        "multi-hop": [_Source((a, b), name) for a, b, name in pairs],
        "unanswerable": [_Source((c,)) for c in sampling.spread(passages, options.seed + 1)],
    }
    return _Plan(
        targets,
        {k: math.ceil(t * options.tries_per_question) for k, t in targets.items()},
        {k: iter(lists[k]) for k in targets},
        {k: len(lists[k]) for k in targets},
    )


def _write(writer: QuestionWriter, kind: Kind, source: _Source) -> None:
    if kind == "single":
        writer.single(source.chunks[0])
    elif kind == "multi-hop":
        writer.multi(source.chunks[0], source.chunks[1], source.name)
    else:
        writer.unanswerable(source.chunks[0])


def _refilled(jobs: _Plan, report: GenerationReport, options: GenerationOptions) -> Kind | None:
    """After the other kinds closed short: single-fact questions in their place, with a note saying so."""
    moved = jobs.refill(report.by_kind(), options.tries_per_question)
    for kind, count in moved.items():
        why = _top_reason(report, kind)
        because = f"most rejected for {why}" if why else "nothing to write them from"
        report.notes.append(
            f"{kind}: {count} could not be made ({because}); single-fact questions were written instead."
        )
    return jobs.next_kind(report.by_kind(), options.give_up_after) if moved else None


def _top_reason(report: GenerationReport, kind: Kind) -> str | None:
    reasons = [r.reason for r in report.rejected if r.kind == kind]
    return f"'{max(set(reasons), key=reasons.count)}'" if reasons else None


def _shortfall(report: GenerationReport, jobs: _Plan, passages: int) -> list[str]:
    """For each kind that fell short, why, and what to do."""
    notes, kept = [], report.by_kind()
    for kind, target in jobs.targets.items():
        if kept.get(kind, 0) >= target:
            continue
        head = f"{kind}: kept {kept.get(kind, 0)} of {target}"
        if kind in jobs.exhausted and kind == "multi-hop":
            notes.append(
                f"{head}: only {jobs.available[kind]} pairs of passages from different files share a name. "
                "Add documents that refer to each other, or ask for fewer multi-hop questions."
            )
        elif kind in jobs.exhausted:
            notes.append(
                f"{head}: the corpus has only {passages} passages long enough to ask about. "
                "Add documents, or ask for fewer questions."
            )
        else:
            notes.append(
                f"{head} after {jobs.tried.get(kind, 0)} tries, most rejected for {_top_reason(report, kind)}. "
                "A larger model writes better questions; or ask for fewer."
            )
    return notes


def _hopeless(report: GenerationReport, options: GenerationOptions) -> str | None:
    if report.items or report.attempts < options.give_up_after * len(options.kinds):
        return None
    top = next(iter(report.reasons()), "none")
    return (
        f"None of the model's first {report.attempts} tries passed the checks (most often: '{top}'). "
        "The model may be too small for this: choose a larger one."
    )


def generate_questions(
    chunks: Sequence[Chunk],
    llm: LLM,
    options: GenerationOptions,
    *,
    corpus: Corpus | None = None,
    checks: DocumentChecks | None = None,
    on_progress: OnProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    report: GenerationReport | None = None,
) -> GenerationReport:
    """Write `options.n` checked questions from the chunks. Pass your own `report` to see it fill in: a run
    that is stopped, or fails on a model error, leaves there every question that finished."""
    passages = sampling.usable(chunks)
    if not passages:
        raise InputError(
            f"No passage has {sampling.MIN_PASSAGE_WORDS} words or more to write questions from. "
            "Add documents with more text."
        )
    if "unanswerable" in options.kinds and (checks is None or checks.supported is None):
        raise ConfigError("Unanswerable questions need a retrieval check (DocumentChecks.supported).")
    report = report if report is not None else GenerationReport()
    report.target = options.n
    jobs = _make_plan(passages, options)
    writer = QuestionWriter(
        llm,
        report,
        corpus=corpus,
        checks=checks,
        common_words=facts.lowercase_words(c.text for c in passages),
        seed=options.seed,
        max_tokens=options.max_tokens,
    )
    started = time.perf_counter() - report.elapsed_s
    kept = report.by_kind
    while (
        kind := jobs.next_kind(kept(), options.give_up_after) or _refilled(jobs, report, options)
    ) is not None:
        if should_stop is not None and should_stop():
            report.stopped = True
            break
        source = jobs.next_source(kind)
        if source is None:
            continue
        report.attempts += 1
        _write(writer, kind, source)
        report.elapsed_s = time.perf_counter() - started
        if on_progress is not None:
            on_progress(report)
        if (hopeless := _hopeless(report, options)) is not None:
            report.notes.append(hopeless)
            return report
    report.notes.extend(_shortfall(report, jobs, len(passages)))
    return report
