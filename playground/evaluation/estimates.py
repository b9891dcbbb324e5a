"""How long model work will take, said before it starts: from the speed of each model measured on this computer.

A page shows the estimate before Ask or Run and, when it is long, offers the faster model or fewer questions.
The model: every call a variant makes (the answer, and each technique's calls: HyDE, rewordings, routing, one
relevance judgement per re-ranked candidate, the fact-check) reads some prompt tokens and writes some answer
tokens. A model's speed is tokens read and written per second; before anything is measured it is a default for
the model's size on a 2-core machine, afterwards that default scaled to what this computer's answers took.
Answers served from the cache are left out of the measurement (they took no model time).

    >>> describe(run_seconds([VariantConfig(model="local:qwen2.5-0.5b")], 10, {}))
    'about 1 min'
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from playground.core.config import VariantConfig
from playground.models.names import try_parse_model_name
from playground.storage.store import ExperimentStore

FAST_MODEL = "local:qwen2.5-0.5b"
LONG_S = 120.0  # an estimate above this is "long": the page offers a faster way


@dataclass(frozen=True)
class Speed:
    """Tokens a model reads and writes per second, a fixed cost per call, and how many answers measured it."""

    read_tps: float
    write_tps: float
    per_call_s: float
    measured: int = 0

    def seconds(self, read: float, written: float) -> float:
        return self.per_call_s + read / self.read_tps + written / self.write_tps


# Defaults for a 2-core machine, measured with llama.cpp (Q4_K_M) while other work shared the cores.
DEFAULT_SPEEDS = {
    "local:qwen2.5-0.5b": Speed(read_tps=150.0, write_tps=15.0, per_call_s=0.05),
    "local:qwen2.5-1.5b": Speed(read_tps=50.0, write_tps=5.0, per_call_s=0.05),
    "local:smollm2-135m": Speed(read_tps=400.0, write_tps=40.0, per_call_s=0.05),
}
HOSTED_SPEED = Speed(read_tps=5000.0, write_tps=60.0, per_call_s=0.8)  # a round trip dominates
INSTANT = Speed(read_tps=math.inf, write_tps=math.inf, per_call_s=0.0)  # the fake model
OTHER_LOCAL = DEFAULT_SPEEDS["local:qwen2.5-1.5b"]  # a .gguf file of unknown size: assume the slower one

PROMPT_OVERHEAD = 60  # system prompt and template, in tokens
QUESTION_TOKENS = 25
SHORT_ANSWER = 24  # a short factual answer; the step-by-step variant writes up to its limit
RERANK_PASSAGE_CAP = 400  # the reranker cuts each passage at 1,500 characters


@dataclass(frozen=True)
class Sample:
    """One answer as measured: the model, tokens read and written by its answering call, and its seconds."""

    model: str
    prompt_tokens: int
    answer_tokens: int
    seconds: float


def _base_model(name: str) -> str:
    parsed = try_parse_model_name(name)
    return str(parsed.base) if parsed else name  # a LoRA adapter barely changes the speed of its base model


def default_speed(model: str) -> Speed:
    """The speed assumed before anything is measured."""
    parsed = try_parse_model_name(model)
    if parsed is not None and parsed.provider == "fake":
        return INSTANT
    if parsed is not None and parsed.provider == "local":
        return DEFAULT_SPEEDS.get(str(parsed.base), OTHER_LOCAL)
    return HOSTED_SPEED


def slower_than_fast(model: str) -> bool:
    """Whether the fast local model would answer sooner than `model` (judged by their default speeds)."""
    parsed = try_parse_model_name(model)
    is_local = parsed is not None and parsed.provider == "local"
    return is_local and default_speed(model).write_tps < default_speed(FAST_MODEL).write_tps


def measured_speed(model: str, samples: Iterable[Sample]) -> Speed:
    """The default speed scaled by how much longer (or shorter) this model's measured answers took than it predicts.

    The scale is the median over answers (one slow first call, while the weights are still being read from disk,
    does not set it), and pulled towards the default while few answers are measured: with n answers, n/(n+1) of
    the measured scale, on a log scale.
    """
    base = default_speed(model)
    ratios = sorted(
        s.seconds / predicted
        for s in samples
        if _base_model(s.model) == _base_model(model)
        and s.seconds > 0
        and math.isfinite(predicted := base.seconds(s.prompt_tokens, s.answer_tokens))
        and predicted > 0
    )
    if not ratios:
        return base
    n = len(ratios)
    slower = math.exp(statistics.median(math.log(r) for r in ratios) * n / (n + 1))
    return Speed(base.read_tps / slower, base.write_tps / slower, base.per_call_s * slower, n)


def speeds_for(models: Iterable[str], samples: Sequence[Sample]) -> dict[str, Speed]:
    return {m: measured_speed(m, samples) for m in dict.fromkeys(models)}


def calls(variant: VariantConfig) -> list[tuple[float, float]]:
    """(tokens read, tokens written) for each model call the variant makes to answer one question."""
    question = PROMPT_OVERHEAD + QUESTION_TOKENS
    examples = 30 * len(variant.few_shot)
    written = variant.max_tokens if variant.think_step_by_step else min(variant.max_tokens, SHORT_ANSWER)
    if not variant.use_retrieval:
        return [(question + examples, written)]
    chunk = 0.8 * variant.index.chunk_size  # chunks are cut at or below the size
    context = variant.top_k * chunk
    out: list[tuple[float, float]] = [(question + examples + context, written)]
    if variant.hyde:
        out.append((question, 120))
    if variant.query_expansion:
        out.append((question, 20 * variant.query_expansion + 8))
    if variant.classify:
        out.append((question + 40, 24))
    if variant.reranker == "llm":  # a cross-encoder is no chat-model call
        passage = PROMPT_OVERHEAD + min(chunk, RERANK_PASSAGE_CAP)
        out.extend([(passage, 1)] * variant.rerank_candidates)
    if variant.fact_check:
        out.append((question + context + written, 60))
    return out


def answer_seconds(variant: VariantConfig, speed: Speed) -> float:
    """Seconds one question takes with this variant at this speed (model load and index build not included)."""
    return sum(speed.seconds(read, written) for read, written in calls(variant))


@dataclass(frozen=True)
class Estimate:
    """Seconds for the whole job, each variant's seconds per question (in order), and whether every model's
    speed was measured on this computer."""

    seconds: float
    per_question: tuple[float, ...]
    measured: bool

    def text(self) -> str:
        return describe(self.seconds)

    @property
    def long(self) -> bool:
        return self.seconds > LONG_S


def estimate(
    variants: Sequence[VariantConfig], questions: int, speeds: Mapping[str, Speed] | Sequence[Sample]
) -> Estimate:
    """How long `questions` questions take with every variant; `speeds` by model, or samples to measure them."""
    if not isinstance(speeds, Mapping):
        speeds = speeds_for((v.model for v in variants), speeds)
    known = {v.model: speeds.get(v.model) or default_speed(v.model) for v in variants}
    per_question = tuple(answer_seconds(v, known[v.model]) for v in variants)
    measured = all(s.measured or s is INSTANT for s in known.values())
    return Estimate(sum(per_question) * questions, per_question, measured)


def run_seconds(variants: Sequence[VariantConfig], questions: int, speeds: Mapping[str, Speed]) -> float:
    return estimate(variants, questions, speeds).seconds


def questions_within(variants: Sequence[VariantConfig], budget_s: float, speeds: Mapping[str, Speed]) -> int:
    """How many questions fit in `budget_s` seconds (at least 1)."""
    one = run_seconds(variants, 1, speeds)
    return max(1, int(budget_s // one)) if one > 0 else 1_000_000


def with_model(variants: Sequence[VariantConfig], model: str) -> list[VariantConfig]:
    """The variants answered by `model` instead (a fine-tuned LoRA variant keeps its own model)."""
    return [v if _fine_tuned(v.model) else v.model_copy(update={"model": model}) for v in variants]


def _fine_tuned(model: str) -> bool:
    parsed = try_parse_model_name(model)
    return parsed is not None and parsed.lora is not None


def describe(seconds: float) -> str:
    """'a few seconds', 'about 40 s', 'about 3 min', 'about 1 h 20 min'."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"about {round(seconds / 5) * 5:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


def _row_sample(model: str, row: Mapping[str, Any]) -> Sample | None:
    """A stored answer as a measurement, or None when it cost no model time (cached, failed, no timing)."""
    cached = ((row.get("cache") or {}).get("hits") or {}).get("llm")  # some call took no model time
    if row.get("error") or cached:
        return None
    seconds = (row.get("timings") or {}).get("generate")
    if not seconds:
        return None
    return Sample(model, int(row.get("prompt_tokens") or 0), int(row.get("completion_tokens") or 0), seconds)


def samples_from_store(store: ExperimentStore, runs: int = 5, per_run: int = 200) -> list[Sample]:
    """Measurements from the answers of the latest saved runs on this computer."""
    found: list[Sample] = []
    for record in store.list_runs()[:runs]:
        run = store.load_run(int(record["id"]))
        models = {c.get("name"): c.get("model", "") for c in run.get("configs") or []}
        for variant, rows in (run.get("rows") or {}).items():
            for row in rows[:per_run]:
                sample = _row_sample(str(models.get(variant) or ""), row)
                if sample is not None and sample.model:
                    found.append(sample)
    return found


def speed_note(speeds: Mapping[str, Speed]) -> str:
    """Where the speeds come from, in one short clause."""
    measured = sum(s.measured for s in speeds.values())
    if measured:
        return f"from {measured} answer{'s' if measured != 1 else ''} measured on this computer"
    return "a first guess for this kind of computer; it is corrected as answers come in"
