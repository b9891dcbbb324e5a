"""What answers cost: list prices per model, the PLAYGROUND_PRICES override, and the cost of every call behind an
answer recorded in the run (HyDE and fact-check calls included) against an OpenAI-compatible server."""

from __future__ import annotations

import pytest

from playground.core.config import VariantConfig
from playground.core.errors import ConfigError
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import parse_questions
from playground.models import pricing
from playground.storage.store import ExperimentStore

from .openai_stub import openai_stub
from .test_pipeline import QUESTIONS


def test_prices_per_model() -> None:
    assert pricing.price("local:qwen2.5-0.5b") == (0.0, 0.0) == pricing.price("fake:extractive")
    assert pricing.price("openai:gpt-4o-mini") == (0.15, 0.60)
    assert pricing.price("openai:gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert pricing.price("openai:ft:gpt-4o-mini-2024-07-18:acme::abc123") == (0.30, 1.20)
    assert pricing.price("openai:some-new-model") is None
    assert pricing.price("openai-compatible:llama3.2@http://127.0.0.1:8000/v1") is None
    assert pricing.cost_usd("openai:gpt-4o", 1_000_000, 100_000) == pytest.approx(2.50 + 1.00)
    assert pricing.cost_usd("openai:unknown", 10, 10) is None


def test_prices_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pricing.PRICES_ENV, '{"llama3.2": [0.1, 0.3], "gpt-4o-mini": [1, 2]}')
    assert pricing.price("openai-compatible:llama3.2@http://127.0.0.1:8000/v1") == (0.1, 0.3)
    assert pricing.price("openai:gpt-4o-mini") == (1.0, 2.0)
    monkeypatch.setenv(pricing.PRICES_ENV, '{"llama3.2": 0.1}')
    with pytest.raises(ConfigError, match="PLAYGROUND_PRICES"):
        pricing.price("openai:gpt-4o")


def test_a_run_records_the_cost_of_every_call_behind_each_answer(
    settings, small_corpus_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.ingest.loaders import load_folder

    monkeypatch.setenv(pricing.PRICES_ENV, '{"tiny": [1000000, 2000000]}')  # $1 per prompt token: easy sums
    questions = parse_questions("q.jsonl", QUESTIONS).subset(2)
    store = ExperimentStore(settings)
    with openai_stub() as (url, _):
        model = f"openai-compatible:tiny@{url}"
        variants = [
            VariantConfig(name="plain", model=model, max_tokens=16),
            VariantConfig(name="checked", model=model, use_retrieval=True, hyde=True, fact_check=True),
        ]
        corpus = load_folder(small_corpus_dir)
        run = run_evaluation(variants, corpus, questions, settings, options=RunOptions(store=store))
        plain, checked = run.variants
        row = plain.rows[0]
        assert row.cost_usd == row.prompt_tokens + 2 * row.completion_tokens
        assert all(
            r.cost_usd > r.prompt_tokens + 2 * r.completion_tokens for r in checked.rows
        )  # + HyDE, check
        assert checked.aggregates()["cost_usd"] > plain.aggregates()["cost_usd"] > 0
        stored = store.load_run(run.run_id)["rows"]["checked"]
        assert [r["cost_usd"] for r in stored] == [r.cost_usd for r in checked.rows]
        again = run_evaluation(variants, corpus, questions, settings)
    assert again.variants[1].cache_misses == 0  # from the cache, yet priced the same: what answering costs
    assert [r.cost_usd for r in again.variants[1].rows] == [r.cost_usd for r in checked.rows]
    local = run_evaluation([VariantConfig(name="free", model="fake:extractive")], None, questions, settings)
    assert local.variants[0].aggregates()["cost_usd"] == 0.0
