"""The run's judge: the judged metrics of one answer, with the judge's calls cached, logged and priced apart.

The judge is a run setting, not part of a variant: every variant's answers are judged by the same model. Its
calls enter the answer's call log (so a replay bundle carries them and a rerun answers them from the cache), but
its tokens and cost are kept apart from the answer's: judging is the cost of measuring, not of the technique.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.core.settings import Settings
from playground.evaluation.judge import JUDGE_METRICS, Judgement, LLMJudge
from playground.ingest.questions import Question
from playground.models import pricing
from playground.models.llms import LLM
from playground.models.registry import get_llm
from playground.rag.pipeline import PipelineResult
from playground.storage.cached_models import CachedLLM, OnLoad
from playground.storage.call_log import KINDS, CallLog, call_log, note_call
from playground.storage.keys import model_identity
from playground.storage.response_cache import ResponseCache


@dataclass(frozen=True)
class JudgedAnswer:
    """The judged metrics of one answer (None where the judge gave no score) and what the row keeps of them."""

    metrics: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def make_judge(
    model: str,
    settings: Settings,
    cache: ResponseCache | None = None,
    llm: LLM | None = None,
    *,
    on_load: OnLoad | None = None,
) -> LLMJudge:
    """The judge `model` (or `llm` standing in for it), answering from `cache` when it can; a local judge loads
    on its first miss (`on_load` is told just before)."""
    pricing.price(model)  # a malformed PLAYGROUND_PRICES stops the run here, with what to fix
    judge_llm = llm if llm is not None else get_llm(model, settings)
    if cache is not None:
        judge_llm = CachedLLM(judge_llm, cache, model_identity(model, settings), on_load=on_load)
    return LLMJudge(judge_llm, model)


def _pass_on(log: CallLog) -> None:
    """Count the judge's cache traffic and keys in the answer's log (tokens stay apart)."""
    for kind in KINDS:
        note_call(kind, log.hits[kind], log.misses[kind])
    for key in log.keys:
        note_call("llm", 0, 0, key)


def judge_answer(judge: LLMJudge, question: Question, result: PipelineResult) -> JudgedAnswer:
    """`judge_correct` against the golds (when the question has any) and, for an answer written from retrieved
    chunks, `faithfulness` to them."""
    if result.error is not None:
        return JudgedAnswer()
    with call_log() as log:
        found: list[Judgement] = []
        if question.answers:
            found.append(judge.correct(question.question, result.answer, question.answers))
        if result.retrieved:
            contexts = [hit.chunk.text for hit in result.retrieved]
            found.append(judge.faithful(question.question, result.answer, contexts))
    _pass_on(log)
    tokens = dict(log.tokens)
    cost = (
        pricing.cost_usd(judge.model, tokens["prompt"], tokens["completion"])
        if any(tokens.values())
        else None
    )
    details = {
        "model": judge.model,
        **{j.metric: j.as_dict() for j in found},
        "tokens": tokens,
        "cost_usd": cost,
    }
    return JudgedAnswer({j.metric: j.score for j in found}, details)


def judgements(details: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's judgements, in the order of `JUDGE_METRICS`."""
    return [details[m] for m in JUDGE_METRICS if isinstance(details.get(m), dict)]


def count_failures(rows: Sequence[Any]) -> dict[str, float]:
    """Over a variant's rows: judge replies that could not be read, judge calls that failed, and the judge's
    mean cost per answer. Empty when nothing was judged."""
    judged = [r.judge for r in rows if getattr(r, "judge", None)]
    if not judged:
        return {}
    found = [j for details in judged for j in judgements(details)]
    costs = [float(d["cost_usd"]) for d in judged if d.get("cost_usd") is not None]
    return {
        "judge_parse_failures": float(sum(bool(j.get("parse_failed")) for j in found)),
        "judge_errors": float(sum(bool(j.get("error")) for j in found)),
        "judge_cost_usd": sum(costs) / len(costs) if costs else 0.0,
    }
