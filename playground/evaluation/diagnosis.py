"""The method's decision: why each question failed, what to try next, and the optimisation journey.

Each answered question is put in one class (see `classify_failure`). A variant's counts then map to advice,
in the method's order: fix errors, add retrieval, make retrieval find the evidence, then make the model use
it (prompting first, fine-tuning last), then teach it to say when the documents do not hold the answer.
Advice is a suggestion with its evidence (counts and a few question ids), never an automatic change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from playground.evaluation import stats
from playground.evaluation.stats import metric_value, row_value
from playground.models.names import try_parse_model_name
from playground.rag.prompts import NOT_FOUND

# The same as playground.evaluation.runner.PRIMARY_METRIC; not imported so that evaluation can import this module.
PRIMARY_METRIC = "contains"

CORRECT = "correct"
RETRIEVAL_MISS = "retrieval miss"
GENERATION_MISS = "generation miss"
UNSUPPORTED = "unsupported answer"
NO_RETRIEVAL = "no retrieval"
UNEXPLAINED = "unexplained miss"
ERROR = "error"
CLASSES = (CORRECT, RETRIEVAL_MISS, GENERATION_MISS, UNSUPPORTED, NO_RETRIEVAL, UNEXPLAINED, ERROR)

# Advice shows when a class holds at least MIN_CASES questions and at least SHARE of the variant's questions.
MIN_CASES = {ERROR: 1, NO_RETRIEVAL: 2, RETRIEVAL_MISS: 2, GENERATION_MISS: 2, UNSUPPORTED: 1, UNEXPLAINED: 3}
SHARE = {
    ERROR: 0.0,
    NO_RETRIEVAL: 0.2,
    RETRIEVAL_MISS: 0.15,
    GENERATION_MISS: 0.15,
    UNSUPPORTED: 0.05,
    UNEXPLAINED: 0.25,
}
ADVICE_ORDER = (ERROR, NO_RETRIEVAL, RETRIEVAL_MISS, GENERATION_MISS, UNSUPPORTED, UNEXPLAINED)
NEAR_MISS_F1 = 0.5  # a wrong answer this close to the gold (token F1) is most likely a format problem
EXAMPLE_IDS = 3


def is_unanswerable(golds: Sequence[str]) -> bool:
    """Whether the gold answers say the documents do not hold the answer."""
    return bool(golds) and all(g.strip().lower() == NOT_FOUND for g in golds)


def classify_failure(row: Any, used_retrieval: bool | None = None, metric: str = PRIMARY_METRIC) -> str:
    """One of CLASSES for a result row (object or dict); `used_retrieval` None means: judge from the row.

    "unexplained miss": a wrong answer after retrieval on a question whose gold evidence was not located in
    the corpus, so a retrieval miss cannot be told from a generation miss.
    """
    if row_value(row, "error"):
        return ERROR
    if is_unanswerable(row_value(row, "golds") or []):
        return CORRECT if NOT_FOUND in (row_value(row, "answer") or "").lower() else UNSUPPORTED
    if (metric_value(row, metric) or 0.0) >= 1.0:
        return CORRECT
    retrieved, hit = bool(row_value(row, "retrieved")), metric_value(row, "hit@k")
    if used_retrieval is False or (used_retrieval is None and not retrieved and hit is None):
        return NO_RETRIEVAL
    if hit is None:
        return RETRIEVAL_MISS if not retrieved and row_value(row, "evidence_in_corpus") else UNEXPLAINED
    return GENERATION_MISS if hit >= 1.0 else RETRIEVAL_MISS


@dataclass(frozen=True)
class Advice:
    """One suggestion: what to try, why, and the counts and question ids it rests on."""

    title: str
    why: str
    evidence: str
    failure: str
    techniques: tuple[str, ...] = ()
    question_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    variant: str
    n: int
    counts: dict[str, int]
    question_ids: dict[str, list[str]]
    advice: list[Advice] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _variant_parts(variant_result: Any) -> tuple[str, dict[str, Any], list[Any]]:
    """(name, config as a JSON dict, rows) from a VariantResult or its `to_dict()`."""
    if isinstance(variant_result, Mapping):
        config = dict(variant_result.get("config") or {})
        config.setdefault("use_retrieval", variant_result.get("used_retrieval"))
        name = variant_result.get("name", config.get("name", "variant"))
        return str(name), config, list(variant_result["rows"])
    config = variant_result.variant.model_dump(mode="json")
    return str(variant_result.variant.name), config, list(variant_result.rows)


def _fine_tuned_embedder(name: str) -> bool:
    parsed = try_parse_model_name(name)
    return parsed is not None and parsed.is_sentence_transformers


def _retrieval_techniques(cfg: dict[str, Any]) -> list[str]:
    index = cfg.get("index") or {}
    options = [
        (
            True,
            f"change the chunking (now {index.get('chunker', '?')}, {index.get('chunk_size', '?')} "
            "tokens): smaller chunks or more overlap",
        ),
        ((cfg.get("top_k") or 0) < 8, f"retrieve more chunks (top_k is {cfg.get('top_k')})"),
        (not cfg.get("hyde"), "HyDE (search with a hypothetical answer)"),
        (cfg.get("reranker", "none") == "none", "reranking (reranker: cross-encoder, or llm)"),
        (cfg.get("retriever") != "hybrid", "hybrid search (dense + BM25)"),
        (not _fine_tuned_embedder(str(index.get("embedder", ""))), "fine-tuned embeddings"),
    ]
    return [text for wanted, text in options if wanted]


def _generation_techniques(cfg: dict[str, Any]) -> list[str]:
    options = [
        (not cfg.get("system_prompt"), "clear instructions in the system prompt (answer form, length)"),
        (not cfg.get("few_shot"), "few-shot examples showing the expected answer"),
        (not cfg.get("think_step_by_step"), "thinking step by step"),
        (True, "then fine-tuning the model on question-answer pairs"),
    ]
    return [text for wanted, text in options if wanted]


def _unsupported_techniques(cfg: dict[str, Any]) -> list[str]:
    custom = (cfg.get("system_prompt") or "") + (cfg.get("template") or "")
    shows_refusal = any(NOT_FOUND in str(ex.get("answer", "")).lower() for ex in cfg.get("few_shot") or ())
    options = [
        (
            bool(custom) and NOT_FOUND not in custom.lower(),
            f'an instruction to reply "{NOT_FOUND}" when the documents do not hold the answer',
        ),
        (not shows_refusal, f'a few-shot example of an unanswerable question answered "{NOT_FOUND}"'),
        (
            not cfg.get("fact_check"),
            "a fact-check step (fact_check: true)"
            + ("" if cfg.get("use_retrieval") else ", after adding retrieval"),
        ),
    ]
    return [text for wanted, text in options if wanted]


def _near_misses(rows: Iterable[Any]) -> int:
    return sum(1 for r in rows if (metric_value(r, "token_f1") or 0.0) >= NEAR_MISS_F1)


# kind -> (title, why, what the evidence says about the questions)
_TEXTS = {
    ERROR: (
        "Fix the errors first",
        "Failed questions count as neither right nor wrong, so every comparison with this variant is weaker.",
        "failed",
    ),
    NO_RETRIEVAL: (
        "Add retrieval (RAG)",
        "The model answers from memory and gets these wrong; giving it the relevant passages comes first.",
        "were answered wrongly without retrieval",
    ),
    RETRIEVAL_MISS: (
        "Improve retrieval",
        "The gold evidence was not among the retrieved chunks, so no prompt can fix these: find it first.",
        "had no gold evidence in the top {top_k} retrieved chunks",
    ),
    GENERATION_MISS: (
        "Improve how the model uses the evidence",
        "The evidence was retrieved, yet the answer is wrong or badly formatted: try prompting, then "
        "fine-tuning.",
        "had the evidence retrieved but a wrong answer",
    ),
    UNSUPPORTED: (
        f'Teach the model to say "{NOT_FOUND}"',
        "These questions have no answer in the documents, yet the model answered: invented answers mislead.",
        "are unanswerable but got an answer",
    ),
    UNEXPLAINED: (
        "Add gold evidence to the questions",
        "Without a located evidence quote, a wrong answer cannot be blamed on retrieval or on generation.",
        "were wrong with no gold evidence located in the corpus",
    ),
}


def _techniques(kind: str, cfg: dict[str, Any]) -> tuple[str, ...]:
    """What to try for a failure class, skipping what the variant already does."""
    if kind == NO_RETRIEVAL:
        return ("use_retrieval: true",)
    if kind == RETRIEVAL_MISS:
        return tuple(_retrieval_techniques(cfg))
    if kind == GENERATION_MISS:
        return tuple(_generation_techniques(cfg))
    if kind == UNSUPPORTED:
        return tuple(_unsupported_techniques(cfg))
    if kind == UNEXPLAINED:
        return ("an evidence quote per question, copied from the documents",)
    return ()


def _detail(kind: str, ids: list[str], by_id: dict[str, Any]) -> str:
    """What the evidence adds beyond the count: the first error, or how many wrong answers were close."""
    if kind == ERROR:
        return f"; the first error: {row_value(by_id[ids[0]], 'error')}"
    near = _near_misses(by_id[i] for i in ids) if kind == GENERATION_MISS else 0
    return f"; {near} close to the gold (token F1 ≥ {NEAR_MISS_F1}), so mind the format" if near else ""


def _advice_for(kind: str, ids: list[str], rows: list[Any], cfg: dict[str, Any]) -> Advice:
    """The method's suggestion for one failure class, with the counts and question ids behind it."""
    title, why, what = _TEXTS[kind]
    by_id = {str(row_value(r, "qid")): r for r in rows}
    more = len(ids) - EXAMPLE_IDS
    examples = ", ".join(ids[:EXAMPLE_IDS]) + (f" and {more} more" if more > 0 else "")
    what = what.format(top_k=cfg.get("top_k", "k"))
    evidence = (
        f"{len(ids)} of {len(rows)} questions ({len(ids) / len(rows):.0%}) {what}"
        f"{_detail(kind, ids, by_id)}. For example: {examples}."
    )
    return Advice(title, why, evidence, kind, _techniques(kind, cfg), tuple(ids))


def diagnose(variant_result: Any, metric: str = PRIMARY_METRIC) -> Diagnosis:
    """Counts per failure class and the method's advice for a VariantResult (or its `to_dict()`)."""
    name, cfg, rows = _variant_parts(variant_result)
    used = cfg.get("use_retrieval")
    used = used if isinstance(used, bool) else None
    ids: dict[str, list[str]] = {kind: [] for kind in CLASSES}
    for row in rows:
        ids[classify_failure(row, used, metric)].append(str(row_value(row, "qid")))
    n = len(rows)
    advice = [
        _advice_for(kind, ids[kind], rows, cfg)
        for kind in ADVICE_ORDER
        if len(ids[kind]) >= MIN_CASES[kind] and len(ids[kind]) / max(n, 1) >= SHARE[kind]
    ]
    return Diagnosis(name, n, {kind: len(v) for kind, v in ids.items()}, ids, advice)


# --- the optimisation journey -------------------------------------------------------------------------------

PerQuestion = Mapping[str, Mapping[str, float | None]]  # variant name -> qid -> score


@dataclass(frozen=True)
class JourneyStep:
    """One rung of the ladder: its score (with interval) and its gain over the previous rung."""

    variant: str
    score: float
    score_low: float | None = None
    score_high: float | None = None
    gain: float | None = None
    gain_low: float | None = None
    gain_high: float | None = None
    p_value: float | None = None
    significant: bool = False
    n_paired: int = 0
    verdict: str = ""


def _step(
    row: Mapping[str, Any], metric: str, prev: JourneyStep | None, per_question: PerQuestion | None, seed: int
) -> JourneyStep:
    name, score = str(row["variant"]), float(row[metric])
    base = JourneyStep(name, score, row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high"))
    if prev is None:
        return base
    gain = replace(base, gain=score - prev.score)
    if not per_question or name not in per_question or prev.variant not in per_question:
        return gain
    before, after = per_question[prev.variant], per_question[name]
    shared = [q for q in before if q in after]
    c = stats.compare_values(
        [before[q] for q in shared],
        [after[q] for q in shared],
        metric,
        name_a=prev.variant,
        name_b=name,
        seed=seed,
    )
    return JourneyStep(
        name,
        score,
        base.score_low,
        base.score_high,
        c.diff,
        c.ci[0],
        c.ci[1],
        c.p_value,
        c.significant,
        c.n,
        c.verdict,
    )


def journey(
    summary_rows: Sequence[Mapping[str, Any]],
    metric: str = PRIMARY_METRIC,
    per_question: PerQuestion | None = None,
    seed: int = 0,
) -> list[JourneyStep]:
    """The ladder in the given order; with `per_question` (variant -> qid -> score) gains get a paired CI.

    Rows are `EvalRun.summary_rows()`-like dicts with "variant" and the metric; unscored rows are skipped.
    """
    steps: list[JourneyStep] = []
    for row in summary_rows:
        if row.get(metric) is not None:
            steps.append(_step(row, metric, steps[-1] if steps else None, per_question, seed))
    return steps


def journey_for_run(run: Any, metric: str = PRIMARY_METRIC, seed: int = 0) -> list[JourneyStep]:
    """The journey of an EvalRun (or its `to_dict()`), variants in the run's order, with paired intervals."""
    if isinstance(run, Mapping):
        variants = run["variants"]
        summary = [{"variant": v["name"]} | v["aggregates"] for v in variants]
        per_question = {v["name"]: stats.per_question_values(v["rows"], metric) for v in variants}
    else:
        summary = run.summary_rows()
        per_question = {v.variant.name: stats.per_question_values(v.rows, metric) for v in run.variants}
    return journey(summary, metric, per_question, seed)
