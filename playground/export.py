"""Export and share a run: CSV / JSON tables, a single-file HTML report, the variants as YAML, and a replay
bundle that another install opens with no API key and no model call.

A bundle is a zip of `run.json` (the `EvalRun.to_dict()` shape), `variants.yaml`, `questions.jsonl` and
`cache.jsonl`: the cached responses behind the run's answers and the embeddings of its questions, chunks and
answers. `replay_bundle` imports the cache into a data folder, checks every answer it can against the
imported cache, and rebuilds the summary table from the bundled rows. It does not re-run the pipeline: the
bundle carries no corpus, so retrieval cannot run again; with the cache imported, a later re-run of the same
variants on the same corpus answers from the cache.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from playground import cache
from playground.config import VariantConfig, dump_variant_set, load_variant_set_text
from playground.errors import InputError, PlaygroundError
from playground.prompts import build_prompt, format_context
from playground.questions import QuestionSet, parse_questions
from playground.report import html_report
from playground.run_data import run_from_dict, run_to_frames, store_run_to_dict, variant_config
from playground.settings import Settings

__all__ = ["html_report", "make_bundle", "questions_jsonl", "read_bundle", "replay_bundle",
           "run_cache_export", "run_json", "run_to_frames", "store_run_to_dict", "variants_yaml"]

BUNDLE_FILES = ("run.json", "variants.yaml", "questions.jsonl", "cache.jsonl")
SEMANTIC_EMBEDDER = "local:all-minilm-l6-v2"  # what evaluation scores meaning similarity with
MAX_BUNDLE_BYTES = 2_000_000_000
DAMAGED = "The bundle's run.json or cache.jsonl is damaged. Download the bundle again."


def run_json(run: Mapping[str, Any]) -> str:
    """The run as indented JSON."""
    return json.dumps(run, indent=1, ensure_ascii=False, default=str)


def variants_yaml(run: Mapping[str, Any]) -> str:
    """The run's variant configs as a variants file that `load_variant_set` reads back."""
    return dump_variant_set([variant_config(v) for v in run.get("variants") or []])


def questions_jsonl(run: Mapping[str, Any]) -> bytes:
    """The run's questions with their gold answers, rebuilt from its rows (evidence quotes are not kept)."""
    seen: dict[str, dict[str, Any]] = {}
    for variant in run.get("variants") or []:
        for row in variant.get("rows") or []:
            seen.setdefault(str(row["qid"]), {"id": str(row["qid"]), "question": row.get("question", ""),
                                              "answers": list(row.get("golds") or [])})
    return "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in seen.values()).encode("utf-8")


# --- which cache entries a run needs ------------------------------------------------------------------------


def _prompt_candidates(config: VariantConfig, row: Mapping[str, Any]) -> list[list[dict[str, str]]]:
    """The answer prompt's messages, with the retrieved context, and without it (a question routed away)."""
    chunks = [(str(c.get("title", "")), str(c.get("text", ""))) for c in row.get("retrieved") or []]
    context = format_context(chunks) if config.use_retrieval else None
    found = [build_prompt(config, str(row.get("question", "")), context)]
    if config.use_retrieval and not chunks:
        routed = config.model_copy(update={"use_retrieval": False})  # routing found no documents needed
        found.append(build_prompt(routed, str(row.get("question", "")), None))
    return [[dict(m) for m in p.messages] for p in found if p.text == row.get("prompt")]


def answer_key(config: VariantConfig, row: Mapping[str, Any], identity: str) -> str | None:
    """The response-cache key of the call that produced the row's answer; None when it cannot be rebuilt."""
    if row.get("error"):
        return None
    candidates = _prompt_candidates(config, row)
    if not candidates:
        return None
    repeat = int(row.get("repeat") or 0)
    seed = repeat if config.temperature > 0 else None  # as CachedLLM seeds each repeat
    return cache.llm_cache_key(identity, candidates[0], config.temperature, config.max_tokens, None, seed,
                               repeat)


def _model_identity(config: VariantConfig, settings: Settings) -> str | None:
    try:
        return cache.model_identity(config.model, settings)
    except PlaygroundError:  # a local model file that is not on this computer any more
        return None


def answer_keys(run: Mapping[str, Any], settings: Settings) -> list[tuple[Mapping[str, Any], str | None]]:
    """(row, key or None) for every row of the run, repeats included."""
    pairs: list[tuple[Mapping[str, Any], str | None]] = []
    for variant in run.get("variants") or []:
        config = variant_config(variant)
        identity = _model_identity(config, settings)
        for row in variant.get("rows") or []:
            pairs.append((row, answer_key(config, row, identity) if identity else None))
    return pairs


def _texts(run: Mapping[str, Any]) -> set[str]:
    """Every text a run embeds: questions, HyDE passages, retrieved chunks, answers and golds."""
    texts: set[str] = set()
    for variant in run.get("variants") or []:
        for row in variant.get("rows") or []:
            texts.update([str(row.get("question", "")), str(row.get("answer", "")), *(row.get("golds") or [])])
            texts.update(str(c.get("text", "")) for c in row.get("retrieved") or [])
            if (row.get("steps") or {}).get("hyde_passage"):
                texts.add(str(row["steps"]["hyde_passage"]))
    return texts


def _embedder_identities(run: Mapping[str, Any], known: Iterable[str]) -> list[str]:
    """The cached identities that belong to the run's embedders ('name', 'name@…', 'name#query')."""
    names = {SEMANTIC_EMBEDDER} | {str((v.get("config") or {}).get("index", {}).get("embedder", ""))
                                   for v in run.get("variants") or []}
    return [i for i in known if any(i == n or i.startswith((f"{n}@", f"{n}#")) for n in names if n)]


def run_cache_export(run: Mapping[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """The cached answers and embeddings a run needs, as rows for `make_bundle`.

    Answers whose prompt can be rebuilt from the row are found by key; the extra calls of HyDE, rewording,
    re-ranking, routing and fact-checking are not (their prompts are not kept in the rows).
    """
    keys = {key for _, key in answer_keys(run, settings) if key}
    embeddings = cache.EmbeddingCache(settings)
    try:
        identities = _embedder_identities(run, embeddings.identities())
    finally:
        embeddings.close()
    hashes = {cache.text_hash(t) for t in _texts(run)}
    return cache.export_cache(settings, keys, identities, hashes)


# --- bundles ------------------------------------------------------------------------------------------------


def _questions_bytes(run: Mapping[str, Any], questions: str | Path | bytes | None) -> bytes:
    if questions is None:
        return questions_jsonl(run)
    if isinstance(questions, bytes):
        return questions
    try:
        return Path(questions).read_bytes()
    except OSError as err:
        raise InputError(f"Cannot read the question set {questions} ({err}). Check the path.") from None


def _public_run(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run without this install's store id, which means nothing in another install."""
    return dict(run) | {"run_id": None}


def make_bundle(run: Mapping[str, Any], questions: str | Path | bytes | None = None,
                cache_export: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """A zip that replays the run elsewhere: run.json, variants.yaml, questions.jsonl, cache.jsonl.

    `questions` is the question file (path or bytes; None rebuilds it from the rows), `cache_export` the
    rows of `run_cache_export`. No API key is ever part of a run, a config or the cache, so none can leak.
    """
    cache_lines = "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in cache_export)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("run.json", run_json(_public_run(run)))
        bundle.writestr("variants.yaml", variants_yaml(run))
        bundle.writestr("questions.jsonl", _questions_bytes(run, questions))
        bundle.writestr("cache.jsonl", cache_lines)
    return buffer.getvalue()


@dataclass(frozen=True)
class Bundle:
    run: dict[str, Any]
    variants: tuple[VariantConfig, ...]
    questions: QuestionSet
    cache_rows: list[dict[str, Any]]


def _read_members(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            names = set(bundle.namelist())
            missing = [n for n in BUNDLE_FILES if n not in names]
            if missing:
                raise InputError(f"This is not a playground bundle: {', '.join(missing)} is missing.")
            if sum(bundle.getinfo(n).file_size for n in BUNDLE_FILES) > MAX_BUNDLE_BYTES:
                raise InputError("The bundle unpacks to more than 2 GB; it cannot be a playground bundle.")
            return {n: bundle.read(n) for n in BUNDLE_FILES}
    except zipfile.BadZipFile:
        raise InputError("This file is not a zip bundle. Download the replay bundle again.") from None


def read_bundle(data: bytes) -> Bundle:
    """Open and check a bundle; raises InputError or ConfigError saying what is wrong."""
    files = _read_members(data)
    try:
        run = json.loads(files["run.json"])
        lines = files["cache.jsonl"].decode("utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (ValueError, UnicodeDecodeError):
        raise InputError(DAMAGED) from None
    if not isinstance(run, dict) or not all(isinstance(r, dict) for r in rows):
        raise InputError(DAMAGED)
    variants = load_variant_set_text(files["variants.yaml"].decode("utf-8"), Path("."), "the bundle's "
                                     "variants.yaml").variants
    return Bundle(run, variants, parse_questions("questions.jsonl", files["questions.jsonl"]), rows)


def _verify(run: Mapping[str, Any], settings: Settings) -> tuple[int, int, int]:
    """(answers found in the cache with the same text, answers missing from it, answers with no key)."""
    responses = cache.ResponseCache(settings)
    verified = missing = unverifiable = 0
    try:
        for row, key in answer_keys(run, settings):
            cached = responses.get(key) if key else None
            if key is None:
                unverifiable += 1
            elif cached is not None and cached.text == row.get("raw_output"):
                verified += 1
            else:
                missing += 1
    finally:
        responses.close()
    return verified, missing, unverifiable


def replay_bundle(data: bytes, settings: Settings) -> dict[str, Any]:
    """Import a bundle's cache into `settings.data_dir` and rebuild its run and tables; no model is called.

    The summary is recomputed from the bundled rows (not copied), so it equals the original table exactly
    when the rows are intact.
    """
    bundle = read_bundle(data)
    imported = cache.import_cache(settings, bundle.cache_rows)
    rebuilt = run_from_dict(bundle.run).to_dict() | {k: v for k, v in bundle.run.items() if k == "status"}
    summary, answers = run_to_frames(rebuilt)
    verified, missing, unverifiable = _verify(bundle.run, settings)
    return {"run": rebuilt, "summary": summary, "answers": answers, "imported": imported,
            "verified": verified, "missing": missing, "unverifiable": unverifiable, "questions": bundle.questions}
