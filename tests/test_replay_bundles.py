"""The sample replays shipped in sample_corpus/replay are fresh: every call an unchanged sample run would make, with
the current prompts, variants files, questions, corpus and model files, is in its bundle, and a run from a bundle
alone answers every question without a model.

A stale bundle fails here instead of the sample run silently answering live. The key check runs the real pipeline
over the bundle's rows with stand-ins that refuse every model call, every embedding and every search, so each key
is computed by the code that computes it in a real run, and nothing but the bundle can answer it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from playground.core.config import VariantConfig, load_variant_set
from playground.core.documents import Chunk, Corpus
from playground.core.errors import InputError, ModelError, PlaygroundError
from playground.core.settings import Settings
from playground.evaluation.runner import run_evaluation
from playground.evaluation.scoring import score_answer
from playground.evaluation.sweep_setup import SEMANTIC_EMBEDDER
from playground.ingest.loaders import load_folder
from playground.ingest.questions import EvidenceLocator, Question, QuestionSet, Span, load_questions
from playground.models import lazy
from playground.models.embedders import Embedder
from playground.models.registry import get_embedder
from playground.rag import prompts
from playground.rag.pipeline import Pipeline
from playground.reporting.bundle import NoCallLLM, prompt_fingerprint
from playground.retrieval.index import ScoredChunk, corpus_chunks, index_key
from playground.retrieval.retrievers import make_retriever
from playground.storage.cache_admin import (
    REBUILD_REPLAYS,
    SHIPPED_REPLAYS,
    clear_cache,
    import_cache,
    import_shipped_replays,
    read_cache_file,
    read_replay_manifest,
    write_cache_file,
)
from playground.storage.cached_models import CachedEmbedder, CachedLLM, CachedRetriever
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.keys import model_identity
from playground.storage.response_cache import ResponseCache
from tests.conftest import ROOT

BUNDLES: list[dict[str, Any]] = read_replay_manifest()["bundles"]
LADDER_BUNDLES = [b for b in BUNDLES if b["variants"].endswith("/ladder.yaml")]
MAX_BUNDLE_BYTES = 1_500_000  # they live in git: a bigger one carries rows its run did not use


def bundle_id(entry: dict[str, Any]) -> str:
    return str(entry["file"]).removesuffix(".jsonl.gz")


def rebuild(entry: dict[str, Any]) -> str:
    return f"Rebuild it: {REBUILD_REPLAYS} --only {bundle_id(entry)}"


# --- stand-ins that refuse: whatever reaches them is a call the bundle lacks --------------------------------


class NoCallEmbedder:
    """The real embedder's name and identity (known without loading it); a text to embed is a stale call."""

    def __init__(self, real: Embedder) -> None:
        self.name = real.name
        self.identity = real.identity

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        raise ModelError(
            f"{len(texts)} embeddings of {self.name} are not in the bundle, e.g. {texts[0][:60]!r}"
        )

    def embed_query(self, text: str) -> np.ndarray:
        raise ModelError(f"the query embedding of {text[:60]!r} is not in the bundle")


class BundleIndex:
    """An index's key and chunks, without a vector store: every search has to come from the bundle."""

    def __init__(self, key: str, chunks: list[Chunk]) -> None:
        self.key = key
        self.chunks = chunks

    def search(
        self, query_vector: np.ndarray, k: int, categories: Sequence[str] | None = None
    ) -> list[ScoredChunk]:
        raise ModelError(f"a search (top {k}) is not in the bundle")


def bundle_pipeline(
    variant: VariantConfig, corpus: Corpus, settings: Settings, caches: tuple[ResponseCache, EmbeddingCache]
) -> Pipeline:
    """The variant's pipeline as a run builds it, with the cache in front of stand-ins that refuse every call."""
    llm = CachedLLM(NoCallLLM(), caches[0], model_identity(variant.model, settings))
    if not variant.use_retrieval:
        return Pipeline(variant, llm)
    embedder = CachedEmbedder(NoCallEmbedder(get_embedder(variant.index.embedder, settings)), caches[1])
    index = BundleIndex(index_key(corpus, variant.index, embedder), corpus_chunks(corpus, variant.index))
    retriever = CachedRetriever(
        make_retriever(variant.retriever, index, embedder), caches[0], index.key, index.chunks
    )
    return Pipeline(variant, llm, index, embedder, retriever)  # type: ignore[arg-type]


def stale_calls(entry: dict[str, Any], settings: Settings) -> list[str]:
    """'variant / question: what was missing' for every call an unchanged run makes that the bundle lacks."""
    import_cache(settings, read_cache_file(SHIPPED_REPLAYS / entry["file"]))
    vset = load_variant_set(ROOT / entry["variants"])
    assert vset.corpus is not None and vset.questions is not None
    corpus, questions = load_folder(vset.corpus), load_questions(vset.questions)
    # Every variant with the bundle's model, as `playground eval --model` runs them.
    variants = [v.model_copy(update={"model": entry["model"]}) for v in vset.variants]
    caches = ResponseCache(settings), EmbeddingCache(settings)
    try:
        pipelines = [bundle_pipeline(v, corpus, settings, caches) for v in variants]
        semantic = CachedEmbedder(NoCallEmbedder(get_embedder(SEMANTIC_EMBEDDER, settings)), caches[1])
        return [
            f"{pipeline.variant.name} / {question.qid}: {err}"
            for question, located in zip(questions.questions, locate(corpus, questions), strict=True)
            for pipeline in pipelines
            if (err := refused_call(pipeline, question, located, semantic)) is not None
        ]
    finally:
        caches[0].close()
        caches[1].close()


def locate(corpus: Corpus, questions: QuestionSet) -> list[list[list[Span]]]:
    locator = EvidenceLocator(corpus)
    return [locator.locate_all(q) for q in questions.questions]


def refused_call(
    pipeline: Pipeline, question: Question, located: list[list[Span]], semantic: Embedder
) -> str | None:
    """What a stand-in refused while the pipeline answered and the answer was scored, or None."""
    try:
        outcome = pipeline.run(question.question)
        score_answer(question, outcome, located, pipeline.variant.top_k, semantic.embed_documents)
    except PlaygroundError as err:
        return str(err)
    return None


def assert_fresh(entry: dict[str, Any], settings: Settings) -> None:
    stale = stale_calls(entry, settings)
    then, now = entry["prompt_fingerprint"][:12], prompt_fingerprint()[:12]
    assert not stale, (
        f"{entry['file']} is stale: {len(stale)} calls of an unchanged run are not in it (prompt fingerprint "
        f"{then} when built, {now} now), e.g.\n  " + "\n  ".join(stale[:5]) + f"\n{rebuild(entry)}"
    )


# --- the shipped files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("variants", ["ladder", "techniques"])
def test_each_sample_variants_file_ships_a_bundle_per_local_model(variants: str) -> None:
    models = {b["model"] for b in BUNDLES if b["variants"] == f"sample_corpus/variants/{variants}.yaml"}
    assert {"local:qwen2.5-0.5b", "local:qwen2.5-1.5b"} <= models, (
        f"{variants}.yaml needs a bundle per local model, found {sorted(models)}. "
        f"Build them: {REBUILD_REPLAYS} --only {variants}-qwen2.5-0.5b --only {variants}-qwen2.5-1.5b"
    )


@pytest.mark.parametrize("entry", BUNDLES, ids=bundle_id)
def test_a_bundle_is_the_file_its_manifest_names_and_small(entry: dict[str, Any]) -> None:
    data = (SHIPPED_REPLAYS / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], (
        f"{entry['file']} changed since it was built. {rebuild(entry)}"
    )
    assert len(data) < MAX_BUNDLE_BYTES


@pytest.mark.parametrize("entry", BUNDLES, ids=bundle_id)
def test_a_bundle_was_made_with_this_installs_model_files(entry: dict[str, Any], settings: Settings) -> None:
    assert model_identity(entry["model"], settings) == entry["model_identity"], (
        f"{entry['file']} holds answers of another {entry['model']} file. {rebuild(entry)}"
    )
    embedder = get_embedder(SEMANTIC_EMBEDDER, settings).identity
    # The identity names the embedder, then '@' and what decides its vectors: the same name with another suffix
    # and no change to the embedder means that suffix depends on the install, so no bundle can fit every clone.
    assert embedder in entry["embedder_identities"], (
        f"{entry['file']} holds vectors of embedder {entry['embedder_identities'][0]}, this install's is "
        f"{embedder}. If the embedder did not change, its identity depends on where or when it was installed "
        f"(playground/models/st_embedder.py st_identity) and must not. Otherwise: {rebuild(entry)}"
    )


# --- the keys -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", BUNDLES, ids=bundle_id)
def test_every_call_of_an_unchanged_run_is_in_its_bundle(entry: dict[str, Any], settings: Settings) -> None:
    assert_fresh(entry, settings)


@pytest.mark.skipif(
    not LADDER_BUNDLES,
    reason="no ladder bundle yet: test_each_sample_variants_file_ships_a_bundle_per_local_model fails",
)
def test_a_changed_prompt_template_makes_a_bundle_stale(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = LADDER_BUNDLES[0]
    monkeypatch.setattr(prompts, "DEFAULT_TEMPLATE", "Answer this question: {question}")
    assert prompt_fingerprint() != entry["prompt_fingerprint"]
    with pytest.raises(AssertionError, match=r"Rebuild it: .*scripts/build_replays\.py --only") as failed:
        assert_fresh(entry, settings)
    assert "baseline / f01" in str(failed.value)  # the variant without retrieval, whose prompt changed


# --- the real stack -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", LADDER_BUNDLES, ids=bundle_id)
def test_a_ladder_run_from_its_bundle_alone_calls_no_model(entry: dict[str, Any], settings: Settings) -> None:
    """A fresh data folder with only the bundle: the real index (chromadb), embedder and scoring, and a model that
    refuses every call; every answer comes from the bundle and no model loads, not even the embedder."""
    import_cache(settings, read_cache_file(SHIPPED_REPLAYS / entry["file"]))
    vset = load_variant_set(ROOT / entry["variants"])
    assert vset.corpus is not None and vset.questions is not None
    variants = [v.model_copy(update={"model": entry["model"]}) for v in vset.variants]
    loads = lazy.load_count()
    run = run_evaluation(
        variants, load_folder(vset.corpus), load_questions(vset.questions), settings, llm=NoCallLLM()
    )
    failed = [(v.variant.name, r.qid, r.error) for v in run.variants for r in v.rows if r.error]
    assert not failed, (
        f"{len(failed)} answers were not in {entry['file']}, e.g. {failed[:3]}. {rebuild(entry)}"
    )
    assert all(v.cache_misses == 0 for v in run.variants)
    assert sum(len(v.rows) for v in run.variants) == entry["answers"]
    assert lazy.load_count() == loads


@pytest.mark.skipif(not BUNDLES, reason="no bundle shipped yet")
def test_the_set_up_imports_the_bundles_once_and_again_after_the_cache_is_cleared(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from playground.cli.main import main

    assert main(["replays", "import"]) == 0  # the set-up's step, into the fixture's data folder
    assert "answers and scores" in capsys.readouterr().out
    assert import_shipped_replays(settings) is None
    clear_cache(settings)
    counts = import_shipped_replays(settings)
    assert counts is not None and counts["responses"] == sum(
        b["rows"]["llm"] + b["rows"]["scores"] + b["rows"]["retrieval"] for b in BUNDLES
    )


def test_a_missing_manifest_imports_nothing(settings: Settings, tmp_path: Path) -> None:
    assert import_shipped_replays(settings, tmp_path / "nowhere") is None


def test_a_cache_file_is_the_same_bytes_for_the_same_rows(tmp_path: Path) -> None:
    rows = [{"table": "scores", "key": "a" * 64, "value": 0.5}]
    write_cache_file(tmp_path / "one.jsonl.gz", rows)
    write_cache_file(tmp_path / "two.jsonl.gz", rows)
    assert (tmp_path / "one.jsonl.gz").read_bytes() == (tmp_path / "two.jsonl.gz").read_bytes()
    assert read_cache_file(tmp_path / "one.jsonl.gz") == rows


def test_a_damaged_cache_file_says_how_to_restore_it(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(InputError, match=r"git checkout -- .*scripts/build_replays"):
        read_cache_file(tmp_path / "bad.jsonl.gz")
