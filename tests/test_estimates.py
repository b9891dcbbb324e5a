"""Run-time estimates: the calls a variant makes, speeds measured from saved answers, and the words shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.core.config import VariantConfig
from playground.core.settings import Settings
from playground.evaluation import estimates
from playground.evaluation.estimates import Sample
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.storage.store import ExperimentStore
from tests.conftest import FAST_LOCAL_MODEL, FICTIONAL_QUESTIONS

SLOW = "local:qwen2.5-1.5b"


def _variant(**fields: object) -> VariantConfig:
    return VariantConfig.model_validate({"model": FAST_LOCAL_MODEL, "max_tokens": 64} | fields)


def test_a_variant_makes_one_call_plus_one_per_technique_and_per_reranked_candidate() -> None:
    assert len(estimates.calls(_variant())) == 1
    rag = _variant(use_retrieval=True, top_k=4)
    assert len(estimates.calls(rag)) == 1 and estimates.calls(rag)[0][0] > estimates.calls(_variant())[0][0]
    everything = _variant(
        use_retrieval=True, hyde=True, query_expansion=2, classify=True, fact_check=True, reranker="llm"
    )
    assert len(estimates.calls(everything)) == 1 + 4 + everything.rerank_candidates


def test_reranking_costs_time_in_proportion_to_its_candidates() -> None:
    speed = estimates.default_speed(FAST_LOCAL_MODEL)
    plain = estimates.answer_seconds(_variant(use_retrieval=True), speed)
    few = estimates.answer_seconds(_variant(use_retrieval=True, reranker="llm", rerank_candidates=5), speed)
    many = estimates.answer_seconds(_variant(use_retrieval=True, reranker="llm", rerank_candidates=20), speed)
    assert plain < few < many and many - plain == pytest.approx(4 * (few - plain))


def test_defaults_before_anything_is_measured_then_this_computers_speed() -> None:
    variants = [_variant(), _variant(use_retrieval=True)]
    first = estimates.estimate(variants, 10, [])
    assert not first.measured and first.seconds > 0
    assert (
        estimates.estimate([_variant(model=SLOW)], 10, []).seconds
        > estimates.estimate([_variant()], 10, []).seconds
    )
    assert estimates.estimate([_variant(model="fake:extractive")], 10, []).seconds == 0
    default = estimates.default_speed(FAST_LOCAL_MODEL)
    twice_as_slow = [Sample(FAST_LOCAL_MODEL, 500, 20, 2 * default.seconds(500, 20))] * 3
    measured = estimates.estimate(variants, 10, twice_as_slow)
    # three answers: three quarters of the measured scale (log scale), pulled towards the default
    assert measured.measured and measured.seconds == pytest.approx(2**0.75 * first.seconds)
    first_call = Sample(FAST_LOCAL_MODEL, 500, 20, 40 * default.seconds(500, 20))  # weights still loading
    many = [*twice_as_slow * 3, first_call]
    assert estimates.estimate(variants, 10, many).seconds == pytest.approx(2 ** (10 / 11) * first.seconds)
    assert "3 answers measured on this computer" in estimates.speed_note(
        {"m": estimates.measured_speed(FAST_LOCAL_MODEL, twice_as_slow)}
    )


def test_a_long_estimate_says_how_many_questions_fit_and_what_the_faster_model_takes() -> None:
    slow = [_variant(model=SLOW, use_retrieval=True, reranker="llm")]
    found = estimates.estimate(slow, 20, [])
    assert (
        found.long and estimates.slower_than_fast(SLOW) and not estimates.slower_than_fast(FAST_LOCAL_MODEL)
    )
    fits = estimates.questions_within(slow, estimates.LONG_S, {})
    assert 1 <= fits < 20 and estimates.run_seconds(slow, fits, {}) <= estimates.LONG_S
    quicker = estimates.estimate(estimates.with_model(slow, estimates.FAST_MODEL), 20, [])
    assert quicker.seconds < found.seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3, "a few seconds"), (42, "about 40 s"), (200, "about 3 min"), (4800, "about 1 h 20 min")],
)
def test_the_estimate_in_words(seconds: float, text: str) -> None:
    assert estimates.describe(seconds) == text


@pytest.mark.slow
def test_speeds_are_measured_from_saved_answers_but_not_from_cached_ones(
    settings: Settings, small_corpus_dir: Path
) -> None:
    """The real local model in a real store; the same run again comes from the cache and is left out."""
    store = ExperimentStore(settings)
    questions = load_questions(FICTIONAL_QUESTIONS).subset(2)
    variants = [VariantConfig(name="short", model=FAST_LOCAL_MODEL, max_tokens=8)]
    corpus = load_folder(small_corpus_dir)
    for _ in range(2):
        run_evaluation(variants, corpus, questions, settings, options=RunOptions(store=store))
    found = estimates.samples_from_store(store)
    assert len(store.list_runs()) == 2
    assert len(found) == 2 and {s.model for s in found} == {FAST_LOCAL_MODEL}
    assert all(s.seconds > 0 and s.prompt_tokens > 0 for s in found)
    speed = estimates.measured_speed(FAST_LOCAL_MODEL, found)
    assert speed.measured == 2 and 0 < speed.read_tps < float("inf")
