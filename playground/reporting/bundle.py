"""Replay bundles: a run, its variants, its questions and the cached responses behind it, in one zip that
another install replays with no API key and no model call.

`make_bundle` writes `run.json` (the `EvalRun.to_dict()` shape), `variants.yaml`, `questions.jsonl` and
`cache.jsonl` (rows of `export_cache`: the answers' cached responses, and the embeddings of the run's
questions, chunks, answers and golds). `replay_bundle` imports the cache into a data folder, then:
- a run without retrieval is re-run through the real pipeline with a model that refuses every call, so each
  answer must come from the imported cache (`misses` counts those that did not);
- a run with retrieval cannot be re-run (a bundle carries no corpus to search), so its summary is recomputed
  from the bundled rows, and every answer whose prompt can be rebuilt is checked against the imported cache.
Either way, a later run of the same variants on the same corpus answers from the cache: the bundle carries every
call its answers logged (HyDE, rewording, routing, re-ranking and fact-checking calls, and the searches).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.config import VariantConfig, load_variant_set_text
from playground.core.errors import InputError, ModelError, PlaygroundError
from playground.core.settings import Settings
from playground.evaluation.results import EvalRun
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import QuestionSet, parse_questions
from playground.models.llms import Completion, Message
from playground.rag.prompts import build_prompt, format_context
from playground.rag.strategies.classify import classify_messages
from playground.rag.strategies.expansion import expansion_messages
from playground.rag.strategies.fact_check import fact_check_messages
from playground.rag.strategies.hyde import hyde_messages
from playground.rag.strategies.rerank import relevance_messages
from playground.reporting.run_data import (
    questions_jsonl,
    run_from_dict,
    run_json,
    run_to_frames,
    variant_config,
    variants_yaml,
)
from playground.storage.cache_admin import export_cache, import_cache
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.keys import llm_cache_key, model_identity, sha256_hex, text_hash
from playground.storage.response_cache import ResponseCache

BUNDLE_FILES = ("run.json", "variants.yaml", "questions.jsonl", "cache.jsonl")
SEMANTIC_EMBEDDER = "local:all-minilm-l6-v2"  # what evaluation scores meaning similarity with
MAX_BUNDLE_BYTES = 2_000_000_000
DAMAGED = "The bundle's run.json or cache.jsonl is damaged. Download the bundle again."
RERUN, ROWS = "rerun", "rows"


# --- which cache entries a run needs ------------------------------------------------------------------------


def _prompt_candidates(config: VariantConfig, row: Mapping[str, Any]) -> list[list[Message]]:
    """The answer prompt's messages, with the retrieved context and without it (a question routed away),
    kept only when they give back the exact prompt the row recorded."""
    chunks = [(str(c.get("title", "")), str(c.get("text", ""))) for c in row.get("retrieved") or []]
    question = str(row.get("question", ""))
    found = [build_prompt(config, question, format_context(chunks) if config.use_retrieval else None)]
    if config.use_retrieval and not chunks:
        found.append(build_prompt(config.model_copy(update={"use_retrieval": False}), question, None))
    return [p.messages for p in found if p.text == row.get("prompt")]


def answer_key(config: VariantConfig, row: Mapping[str, Any], identity: str) -> str | None:
    """The response-cache key of the call that wrote the row's answer; None when it cannot be rebuilt."""
    candidates = [] if row.get("error") else _prompt_candidates(config, row)
    if not candidates:
        return None
    repeat = int(row.get("repeat") or 0)
    seed = repeat if config.temperature > 0 else None  # as CachedLLM seeds each repeat
    return llm_cache_key(identity, candidates[0], config.temperature, config.max_tokens, None, seed, repeat)


def _identity(config: VariantConfig, settings: Settings) -> str | None:
    try:
        return model_identity(config.model, settings)
    except PlaygroundError:  # a local model file that is not on this computer any more
        return None


def answer_keys(run: Mapping[str, Any], settings: Settings) -> list[tuple[Mapping[str, Any], str | None]]:
    """(row, its answer's cache key or None) for every row of the run, repeats included."""
    pairs: list[tuple[Mapping[str, Any], str | None]] = []
    for variant in run.get("variants") or []:
        config = variant_config(variant)
        identity = _identity(config, settings)
        pairs.extend(
            (row, answer_key(config, row, identity) if identity else None)
            for row in variant.get("rows") or []
        )
    return pairs


def _texts(run: Mapping[str, Any]) -> set[str]:
    """Every text a run embeds: questions, HyDE passages, retrieved chunks, answers and golds."""
    texts: set[str] = set()
    for variant in run.get("variants") or []:
        for row in variant.get("rows") or []:
            texts.update([str(row.get("question", "")), str(row.get("answer", ""))])
            texts.update(str(g) for g in row.get("golds") or [])
            texts.update(str(c.get("text", "")) for c in row.get("retrieved") or [])
            steps = row.get("steps") or {}
            if steps.get("hyde_passage"):
                texts.add(str(steps["hyde_passage"]))
            texts.update(str(t) for t in steps.get("expansions") or [])  # the rewordings, searched too
    return texts


def _embedder_identities(run: Mapping[str, Any], known: Iterable[str]) -> list[str]:
    """The cached identities that belong to the run's embedders ('name', 'name@…', 'name#query')."""
    names = {SEMANTIC_EMBEDDER} | {
        str((v.get("config") or {}).get("index", {}).get("embedder", "")) for v in run.get("variants") or []
    }
    return [i for i in known if any(i == n or i.startswith((f"{n}@", f"{n}#")) for n in names if n)]


def logged_keys(run: Mapping[str, Any]) -> set[str]:
    """Every response key the run's answers used, as logged while they ran: the answer itself and the calls of
    HyDE, rewording, routing, re-ranking and fact-checking, and the searches."""
    return {
        str(key)
        for variant in run.get("variants") or []
        for row in variant.get("rows") or []
        for key in (row.get("cache") or {}).get("keys") or []
    }


def run_cache_export(
    run: Mapping[str, Any], settings: Settings, extra_texts: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The cached responses, searches and embeddings a run needs, as rows for `make_bundle`.

    Keys come from the rows' call logs; answers of runs saved before calls were logged are found by
    rebuilding their prompts from the rows. `extra_texts` adds embeddings the rows do not name (every chunk of
    an index, so another data folder builds it from the cache).
    """
    keys = logged_keys(run) | {key for _, key in answer_keys(run, settings) if key}
    embeddings = EmbeddingCache(settings)
    try:
        identities = _embedder_identities(run, embeddings.identities())
    finally:
        embeddings.close()
    hashes = {text_hash(t) for t in _texts(run)} | {text_hash(t) for t in extra_texts}
    return export_cache(settings, keys, identities, hashes)


# --- writing and reading ------------------------------------------------------------------------------------


def _questions_bytes(run: Mapping[str, Any], questions: str | Path | bytes | None) -> bytes:
    if questions is None:
        return questions_jsonl(run)
    if isinstance(questions, bytes):
        return questions
    try:
        return Path(questions).read_bytes()
    except OSError as err:
        raise InputError(f"Cannot read the question set {questions} ({err}). Check the path.") from None


def make_bundle(
    run: Mapping[str, Any],
    questions: str | Path | bytes | None = None,
    cache_export: Sequence[Mapping[str, Any]] = (),
) -> bytes:
    """A zip that replays the run elsewhere: run.json, variants.yaml, questions.jsonl, cache.jsonl.

    `questions` is the question file (a path or its bytes; None rebuilds it from the rows), `cache_export`
    the rows of `run_cache_export`. No API key is part of a run, a config or the cache, so none can leak.
    """
    lines = "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in cache_export)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("run.json", run_json(dict(run) | {"run_id": None}))  # a store id is local
        bundle.writestr("variants.yaml", variants_yaml(run))
        bundle.writestr("questions.jsonl", _questions_bytes(run, questions))
        bundle.writestr("cache.jsonl", lines)
    return buffer.getvalue()


@dataclass(frozen=True)
class Bundle:
    run: dict[str, Any]
    variants: tuple[VariantConfig, ...]
    questions: QuestionSet
    cache_rows: list[dict[str, Any]]


def _members(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            missing = [n for n in BUNDLE_FILES if n not in bundle.namelist()]
            if missing:
                raise InputError(f"This is not a playground bundle: {', '.join(missing)} is missing.")
            if sum(bundle.getinfo(n).file_size for n in BUNDLE_FILES) > MAX_BUNDLE_BYTES:
                raise InputError("The bundle unpacks to more than 2 GB, so it is not a playground bundle.")
            return {n: bundle.read(n) for n in BUNDLE_FILES}
    except zipfile.BadZipFile:
        raise InputError("This file is not a zip bundle. Download the replay bundle again.") from None


def read_bundle(data: bytes) -> Bundle:
    """Open and check a bundle; raises InputError or ConfigError saying what is wrong."""
    files = _members(data)
    try:
        run = json.loads(files["run.json"])
        lines = files["cache.jsonl"].decode("utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (ValueError, UnicodeDecodeError):
        raise InputError(DAMAGED) from None
    if not isinstance(run, dict) or not all(isinstance(r, dict) for r in rows):
        raise InputError(DAMAGED)
    text = files["variants.yaml"].decode("utf-8", errors="replace")
    variants = load_variant_set_text(text, Path("."), "the bundle's variants.yaml").variants
    return Bundle(run, variants, parse_questions("questions.jsonl", files["questions.jsonl"]), rows)


# --- replaying ----------------------------------------------------------------------------------------------


class NoCallLLM:
    """Stands in for every model in a replay: a call means the answer is missing from the bundle's cache."""

    name = "replay:no-model"

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        raise ModelError("A replay calls no model, and this answer is not in the bundle's cache.")


def _rerun(bundle: Bundle, settings: Settings) -> EvalRun:
    """The run again through the pipeline, on its own questions and repeats, every answer from the cache."""
    rows = [r for v in bundle.run.get("variants") or [] for r in v.get("rows") or []]
    qids = list(dict.fromkeys(str(r["qid"]) for r in rows))
    repeats = 1 + max((int(r.get("repeat") or 0) for r in rows), default=0)
    return run_evaluation(
        list(bundle.variants),
        None,
        bundle.questions.subset(ids=qids),
        settings,
        llm=NoCallLLM(),
        # The run's judge, if it had one, answers from the bundle's cache too (its calls are logged per answer).
        options=RunOptions(repeats=repeats, judge=bundle.run.get("judge"), judge_llm=NoCallLLM()),
    )


def _check_answers(run: Mapping[str, Any], settings: Settings) -> dict[str, int]:
    """How many bundled answers the imported cache holds with the same text, lacks, or cannot be looked up."""
    responses = ResponseCache(settings)
    counts = {"verified": 0, "missing": 0, "unverifiable": 0}
    try:
        for row, key in answer_keys(run, settings):
            cached = responses.get(key) if key else None
            kind = (
                "unverifiable"
                if key is None
                else "verified"
                if cached is not None and cached.text == row.get("raw_output")
                else "missing"
            )
            counts[kind] += 1
    finally:
        responses.close()
    return counts


def _check_calls(run: Mapping[str, Any], settings: Settings) -> dict[str, int]:
    """How many logged calls (answers, technique calls, searches) the run made, and how many the imported
    cache lacks (a bundle made from a cache that was cleared in between)."""
    keys = logged_keys(run)
    responses = ResponseCache(settings)
    try:
        return {"calls": len(keys), "calls_missing": len(responses.missing(keys))}
    finally:
        responses.close()


def replay_bundle(data: bytes, settings: Settings) -> dict[str, Any]:
    """Import a bundle's cache into `settings.data_dir` and rebuild its run and tables with no model call.

    Returns "mode" (RERUN or ROWS, see the module doc), "run", "summary", "answers" (DataFrames),
    "imported" (cache rows per kind), "misses" (re-run answers not in the cache), the answer check
    ("verified", "missing", "unverifiable"), the call check ("calls", "calls_missing") and "questions".
    """
    bundle = read_bundle(data)
    imported = import_cache(settings, bundle.cache_rows)
    mode, misses = ROWS, 0
    rebuilt = run_from_dict(bundle.run)
    if not any(v.use_retrieval for v in bundle.variants):
        rerun = _rerun(bundle, settings)
        misses = sum(v.cache_misses for v in rerun.variants)
        mode, rebuilt = (RERUN, rerun) if misses == 0 else (ROWS, rebuilt)
    run = rebuilt.to_dict()
    summary, answers = run_to_frames(run)
    return {
        "mode": mode,
        "run": run,
        "summary": summary,
        "answers": answers,
        "imported": imported,
        "misses": misses,
        **_check_answers(bundle.run, settings),
        **_check_calls(bundle.run, settings),
        "questions": bundle.questions,
    }


# --- the sample replays shipped in the repository (stored and imported by `storage.cache_admin`) -------------


def prompt_fingerprint() -> str:
    """SHA-256 of every prompt the sample variants can send, built for placeholder inputs: any template change
    changes it (the freshness test checks the bundles' keys themselves; this says at a glance what they used)."""
    variant = VariantConfig()
    prompts = [
        build_prompt(
            variant.model_copy(update={"use_retrieval": r, "think_step_by_step": s}), "Q", "C"
        ).messages
        for r in (False, True)
        for s in (False, True)
    ]
    prompts += [hyde_messages("Q"), classify_messages("Q", ["a", "b"]), expansion_messages("Q", 2)]
    prompts += [fact_check_messages("Q", "A", []), relevance_messages("Q", "P")]
    return sha256_hex(json.dumps(prompts, sort_keys=True))
