"""Exports of a run: tables from a live run and its stored copy, the HTML report (self-contained, escaped),
the variants YAML, and replay bundles that reproduce the summary table in a fresh data folder."""

from __future__ import annotations

import copy
import dataclasses
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from playground.core.config import VariantConfig, load_variant_set_text
from playground.core.documents import Corpus
from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import QuestionSet, parse_questions
from playground.models.fake import FakeLLM
from playground.reporting import export
from playground.reporting.bundle import NoCallLLM
from playground.storage.cached_models import CachedLLM
from playground.storage.response_cache import ResponseCache
from playground.storage.store import ExperimentStore
from tests.test_app_pages import QUESTIONS

PAYLOAD = "<script>alert(1)</script>"
QUESTIONS_BYTES = "\n".join(__import__("json").dumps(q) for q in QUESTIONS).encode()
PROMPT_VARIANTS = [
    VariantConfig(name="plain", model="fake:extractive", max_tokens=32),
    VariantConfig(name="short form", model="fake:extractive", template="Q: {question}", max_tokens=32),
]
RAG_VARIANTS = [
    PROMPT_VARIANTS[0],
    VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2, max_tokens=64),
]


def _fake() -> FakeLLM:
    """Right on two questions with the short template, on one with the plain one."""
    return FakeLLM(rules=[(r"^Q: .*return a product", "30 days"), (r"portal", "Wayfarer")])


@pytest.fixture
def questions() -> QuestionSet:
    return parse_questions("small.jsonl", QUESTIONS_BYTES)


@pytest.fixture
def corpus(small_corpus_dir: Path) -> Corpus:
    return load_folder(small_corpus_dir)


def _run(
    variants: list[VariantConfig],
    corpus: Corpus | None,
    questions: QuestionSet,
    settings: Settings,
    store: ExperimentStore | None = None,
) -> dict[str, Any]:
    run = run_evaluation(variants, corpus, questions, settings, llm=_fake(), options=RunOptions(store=store))
    return run.to_dict()


def _fresh(tmp_path: Path, name: str = "elsewhere") -> Settings:
    return Settings(data_dir=tmp_path / name)


# --- tables, YAML -------------------------------------------------------------------------------------------


def test_frames_are_the_same_for_a_live_run_and_its_copy_in_the_store(
    settings: Settings, questions: QuestionSet
) -> None:
    store = ExperimentStore(settings)
    live = _run(PROMPT_VARIANTS, None, questions, settings, store)
    stored = export.store_run_to_dict(store.load_run(live["run_id"]))
    assert stored["status"] == "complete" and not stored["stopped"]
    summary, answers = export.run_to_frames(live)
    pd.testing.assert_frame_equal(export.run_to_frames(stored)[0], summary)
    pd.testing.assert_frame_equal(export.run_to_frames(stored)[1], answers)
    assert list(summary["variant"]) == ["plain", "short form"] and set(summary["answers"]) == {4.0}
    assert len(answers) == 8 and {"question_id", "answer", "outcome", "contains"} <= set(answers.columns)
    rebuilt = export.run_from_dict(stored)
    assert [v.variant for v in rebuilt.variants] == PROMPT_VARIANTS and rebuilt.run_id == live["run_id"]


def test_variants_yaml_reads_back_into_the_same_configs(settings: Settings, questions: QuestionSet) -> None:
    run = _run(PROMPT_VARIANTS, None, questions, settings)
    loaded = load_variant_set_text(export.variants_yaml(run), Path("."))
    assert list(loaded.variants) == PROMPT_VARIANTS


# --- the HTML report ----------------------------------------------------------------------------------------


def _plant(run: dict[str, Any]) -> dict[str, Any]:
    """The payload in an answer, a raw output, a question and a retrieved chunk."""
    planted = copy.deepcopy(run)
    row = planted["variants"][0]["rows"][0]
    row["answer"] = row["raw_output"] = f"answer {PAYLOAD}"
    row["question"] = f"question {PAYLOAD}"
    row["retrieved"] = [
        {
            "chunk_id": "c1",
            "doc_id": "d.md",
            "title": "d",
            "score": 0.5,
            "rank": 1,
            "text": f"chunk {PAYLOAD}",
            "holds_evidence": False,
        }
    ]
    return planted


def test_the_report_is_one_file_with_plotly_inline_and_nothing_remote(
    settings: Settings, questions: QuestionSet
) -> None:
    page = export.html_report(_run(PROMPT_VARIANTS, None, questions, settings))
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I), "every script is inline"
    assert not re.search(r"<link[^>]*href\s*=\s*['\"]?https?:", page, re.I)
    assert page.count("plotly.js v") == 1  # the library, inlined once
    assert page.count("Plotly.newPlot") == 5  # accuracy, retrieval, cost, matrix, journey
    for heading in (
        "Summary",
        "Optimisation journey",
        "Compared with the first variant",
        "Diagnosis and advice",
        "Every answer",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "Not enough questions to tell plain and short form apart" in page  # too few questions to call it


def test_the_report_escapes_answers_chunks_and_names(settings: Settings, questions: QuestionSet) -> None:
    run = _plant(_run(PROMPT_VARIANTS, None, questions, settings))
    run["variants"][1]["name"] = run["variants"][1]["config"]["name"] = '<img src=x onerror="alert(2)">'
    page = export.html_report(run)
    assert PAYLOAD not in page and "<img src=x" not in page
    assert "chunk &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "answer &lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- replay bundles -----------------------------------------------------------------------------------------


def _members(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_a_prompt_only_bundle_reruns_in_a_fresh_folder_with_every_answer_from_the_cache(
    settings: Settings, questions: QuestionSet, tmp_path: Path
) -> None:
    run = _run(PROMPT_VARIANTS, None, questions, settings)
    bundle = export.make_bundle(run, QUESTIONS_BYTES, export.run_cache_export(run, settings))
    assert set(_members(bundle)) == {"run.json", "variants.yaml", "questions.jsonl", "cache.jsonl"}
    replay = export.replay_bundle(bundle, _fresh(tmp_path))
    assert replay["mode"] == "rerun" and replay["misses"] == 0
    assert replay["imported"]["responses"] == 8 and replay["imported"]["embeddings"] > 0
    assert (replay["verified"], replay["missing"], replay["unverifiable"]) == (8, 0, 0)
    pd.testing.assert_frame_equal(replay["summary"], export.run_to_frames(run)[0])
    assert [v["cache_hits"] for v in replay["run"]["variants"]] == [4, 4]


def test_a_retrieval_bundle_rebuilds_the_table_from_its_rows(
    settings: Settings, questions: QuestionSet, corpus: Corpus, tmp_path: Path
) -> None:
    run = _run(RAG_VARIANTS, corpus, questions, settings)
    bundle = export.make_bundle(run, None, export.run_cache_export(run, settings))
    replay = export.replay_bundle(bundle, _fresh(tmp_path))
    assert replay["mode"] == "rows"
    assert (replay["verified"], replay["missing"], replay["unverifiable"]) == (8, 0, 0)
    pd.testing.assert_frame_equal(replay["summary"], export.run_to_frames(run)[0])
    pd.testing.assert_frame_equal(replay["answers"], export.run_to_frames(run)[1])
    assert [q.qid for q in replay["questions"].questions] == ["t1", "t2", "t3", "t4"]
    fresh = ResponseCache(_fresh(tmp_path))
    assert fresh.stats()["llm"] == 8 and fresh.stats()["embedding"] > 0


def test_a_bundle_never_holds_the_api_key(tmp_path: Path, questions: QuestionSet, settings: Settings) -> None:
    secret = "sk-test-bundle-secret-4242"
    keyed = dataclasses.replace(settings, openai_api_key=secret, openai_base_url="https://api.example.com/v1")
    run = _run(PROMPT_VARIANTS, None, questions, keyed)
    bundle = export.make_bundle(run, QUESTIONS_BYTES, export.run_cache_export(run, keyed))
    assert secret.encode() not in bundle
    assert not any(secret.encode() in data for data in _members(bundle).values())


def test_a_damaged_bundle_is_a_clear_error(
    settings: Settings, questions: QuestionSet, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="not a zip bundle"):
        export.replay_bundle(b"not a zip", _fresh(tmp_path))
    run = _run(PROMPT_VARIANTS, None, questions, settings)
    rows = export.run_cache_export(run, settings)
    rows[0] = rows[0] | {"key": "../../etc"}
    with pytest.raises(InputError, match="damaged"):
        export.replay_bundle(export.make_bundle(run, None, rows), _fresh(tmp_path))


def test_cache_entries_export_and_import_by_key(settings: Settings, tmp_path: Path) -> None:
    responses = ResponseCache(settings)
    llm = CachedLLM(FakeLLM(), responses, "fake:extractive")
    llm.chat([{"role": "user", "content": "Question: one?"}])
    llm.chat([{"role": "user", "content": "Question: two?"}])
    rows = responses.export_entries()
    assert len(rows) == 2 and len(responses.export_entries([rows[0]["key"]])) == 1
    other = ResponseCache(_fresh(tmp_path))
    assert other.import_entries(rows[:1]) == 1 and other.get(rows[0]["key"]) == responses.get(rows[0]["key"])
    assert other.get(rows[1]["key"]) is None


EVERY_TECHNIQUE = dict(
    use_retrieval=True,
    top_k=2,
    hyde=True,
    query_expansion=1,
    reranker="llm",
    rerank_candidates=3,
    classify=True,
    fact_check=True,
    max_tokens=48,
)


def _replays_with_no_model_call(
    variants: list[VariantConfig], corpus: Corpus, questions: QuestionSet, settings: Settings, tmp_path: Path
) -> dict[str, Any]:
    """Run, bundle, replay in a fresh folder, then run the variants there on the same corpus with no model."""
    run = run_evaluation(variants, corpus, questions, settings).to_dict()
    bundle = export.make_bundle(run, None, export.run_cache_export(run, settings))
    fresh = _fresh(tmp_path)
    replay = export.replay_bundle(bundle, fresh)
    again = run_evaluation(variants, corpus, questions, fresh, llm=NoCallLLM())
    return {"run": run, "replay": replay, "again": again}


def test_a_bundle_carries_the_calls_of_every_technique(
    settings: Settings, questions: QuestionSet, corpus: Corpus, tmp_path: Path
) -> None:
    variant = VariantConfig(name="everything", model="fake:extractive", **EVERY_TECHNIQUE)
    out = _replays_with_no_model_call([variant], corpus, questions.subset(2), settings, tmp_path)
    rows = out["run"]["variants"][0]["rows"]
    assert all(r["steps"].get("hyde") and r["steps"].get("fact_check") for r in rows)
    assert out["replay"]["calls"] > 2 * 4 and out["replay"]["calls_missing"] == 0
    again = out["again"].variants[0]
    assert all(r.error is None for r in again.rows) and again.cache_misses == 0
    assert [r.answer for r in again.rows] == [r["answer"] for r in rows]


@pytest.mark.slow
def test_a_real_model_run_with_every_technique_replays_from_its_bundle(
    settings: Settings, questions: QuestionSet, corpus: Corpus, tmp_path: Path
) -> None:
    """The local llama.cpp model, MiniLM and chromadb: every HyDE, rewording, routing, rerank and fact-check call
    and every search travels in the bundle, so the same sweep elsewhere calls no model at all."""
    from tests.conftest import FAST_LOCAL_MODEL

    variant = VariantConfig(name="everything", model=FAST_LOCAL_MODEL, **EVERY_TECHNIQUE)
    out = _replays_with_no_model_call([variant], corpus, questions.subset(1), settings, tmp_path)
    again = out["again"].variants[0]
    assert out["replay"]["calls_missing"] == 0 and out["replay"]["calls"] >= 5
    assert all(r.error is None for r in again.rows) and again.cache_misses == 0
    assert again.cache_counts()["retrieval"]["misses"] == 0
    assert [r.answer for r in again.rows] == [r["answer"] for r in out["run"]["variants"][0]["rows"]]
