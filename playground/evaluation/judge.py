"""An LLM judge: the one place for an object among the metrics (pydantic_evals' `LLMJudge` style): a rubric,
the model that applies it, and a score that carries its reason.

Two rubrics:
- `judge_correct`: does the answer say the same as a gold answer? Verdict yes / partial / no (1 / 0.5 / 0) with a
  one-line reason.
- `faithfulness` (ragas' definition): the share of the answer's claims that the retrieved chunks support. One
  call lists the claims and marks each supported or not; an answer that makes no claim has no score, and says so.

Every reply must fit a JSON schema. A hosted judge is asked under the schema at once (structured outputs). A
local one first decodes freely and, only when that reply does not fit, again under the schema's grammar
(`structured.ask_json`): grammar decoding is slower on CPU (1.5 times for a verdict, about three times for
longer replies), and in `bench/judge.py` every one of 460 free replies fitted. A reply that still cannot be read
is never a silent NaN: its judgement says `parse_failed`, keeps the raw reply, and the run counts it
(`judge_parse_failures`). `free_first=False` decodes every reply under the grammar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from playground.core.errors import ModelLoadError, PlaygroundError
from playground.evaluation.judge_rubrics import (
    CORRECTNESS,
    FAITHFULNESS,
    FAITHFULNESS_RUBRIC,
    JUDGE_CORRECT,
    MAX_CLAIMS,
    VERDICT_SCORES,
    Rubric,
    correctness_case,
    faithfulness_case,
)
from playground.evaluation.structured import JsonReply, ask_json, conforms, parse_json_object
from playground.models.llms import LLM
from playground.models.names import try_parse_model_name

DEFAULT_JUDGE = "local:qwen2.5-1.5b"
JUDGE_METRICS = (JUDGE_CORRECT, FAITHFULNESS)
UNREADABLE = "The judge's reply could not be read as the JSON asked for, so this answer has no score from it."


@dataclass(frozen=True)
class Judgement:
    """One rubric applied to one answer: the score (None when there is none, and `reason` says why)."""

    metric: str
    score: float | None
    verdict: str | None
    reason: str
    claims: tuple[tuple[str, bool], ...] = ()
    parse_failed: bool = False
    error: str | None = None
    raw: str = ""
    calls: int = 0
    constrained: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["claims"] = [{"claim": c, "supported": s} for c, s in self.claims]
        return data


def _hosted(model: str) -> bool:
    name = try_parse_model_name(model)
    return name is not None and name.is_hosted


def _without_lengths(schema: Any) -> Any:
    """The schema without string lengths, which OpenAI's strict structured outputs do not accept."""
    if isinstance(schema, dict):
        return {k: _without_lengths(v) for k, v in schema.items() if k not in ("maxLength", "minLength")}
    if isinstance(schema, list):
        return [_without_lengths(v) for v in schema]
    return schema


@dataclass(frozen=True)
class LLMJudge:
    """A rubric-applying model. `model` is its name, which says whether it is hosted; `llm` answers as it.

    `free_first`: a local judge decodes freely first and under the grammar only when that reply does not fit
    (the default, for speed); off, every reply is decoded under the grammar. A hosted judge always gets the
    schema at once.
    """

    llm: LLM
    model: str
    free_first: bool = True

    def _ask(self, rubric: Rubric, user: str) -> JsonReply:
        messages = rubric.messages(user)
        hosted = _hosted(self.model)
        if self.free_first and not hosted:
            return ask_json(self.llm, messages, rubric.schema, max_tokens=rubric.max_tokens)
        schema = _without_lengths(rubric.schema) if hosted else rubric.schema
        reply = self.llm.chat(messages, temperature=0.0, max_tokens=rubric.max_tokens, json_schema=schema)
        data = parse_json_object(reply.text)
        fits = data is not None and conforms(data, rubric.schema)
        return JsonReply(data if fits else None, reply.text, 1, True)

    def _judge(self, rubric: Rubric, user: str) -> JsonReply | Judgement:
        """The reply, or a judgement that says why there is none (a model error, an unreadable reply)."""
        try:
            reply = self._ask(rubric, user)
        except ModelLoadError:
            raise  # a judge that cannot load would fail every judgement: the run stops with its message
        except PlaygroundError as err:
            return Judgement(rubric.metric, None, None, f"The judge failed: {err}", error=str(err))
        if reply.data is None:
            return _judgement(rubric.metric, None, None, UNREADABLE, reply, parse_failed=True)
        return reply

    def correct(self, question: str, answer: str, golds: Sequence[str]) -> Judgement:
        """Whether `answer` says the same as one of `golds`: yes / partial / no with a one-line reason."""
        reply = self._judge(CORRECTNESS, correctness_case(question, list(golds), answer))
        if isinstance(reply, Judgement):
            return reply
        data = reply.data or {}
        verdict = str(data["verdict"])  # one of the three: the reply was checked against the schema's enum
        reason = _one_line(str(data["reason"]))
        return _judgement(JUDGE_CORRECT, VERDICT_SCORES[verdict], verdict, reason, reply)

    def faithful(self, question: str, answer: str, contexts: Sequence[str]) -> Judgement:
        """The share of the answer's claims that `contexts` support (ragas' faithfulness)."""
        reply = self._judge(FAITHFULNESS_RUBRIC, faithfulness_case(question, list(contexts), answer))
        if isinstance(reply, Judgement):
            return reply
        listed = (reply.data or {})["claims"][:MAX_CLAIMS]
        claims = tuple((_one_line(str(c["claim"])), bool(c["supported"])) for c in listed)
        if not claims:
            return _judgement(FAITHFULNESS, None, "no claims", "The answer states no fact to check.", reply)
        held = sum(s for _, s in claims)
        reason = f"{held} of {len(claims)} claims supported by the retrieved chunks"
        return _judgement(FAITHFULNESS, held / len(claims), f"{held}/{len(claims)}", reason, reply, claims)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _judgement(
    metric: str,
    score: float | None,
    verdict: str | None,
    reason: str,
    reply: JsonReply,
    claims: tuple[tuple[str, bool], ...] = (),
    parse_failed: bool = False,
) -> Judgement:
    return Judgement(
        metric, score, verdict, reason, claims, parse_failed, None, reply.text, reply.calls, reply.constrained
    )


def describe(judgement: dict[str, Any]) -> str:
    """'yes: the answer gives the date', for display; says when there is no score, and why."""
    if judgement.get("error") or judgement.get("parse_failed"):
        return str(judgement.get("reason"))
    return f"{judgement.get('verdict')}: {judgement.get('reason')}"
