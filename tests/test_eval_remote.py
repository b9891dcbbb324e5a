"""Sweeps against an OpenAI-compatible server (the loopback stub): faults per question, and concurrent requests."""

import dataclasses
import threading

import pytest

from playground.cli.main import main as cli_main
from playground.core.config import VariantConfig
from playground.evaluation.runner import RunOptions, run_evaluation, sweep_concurrency
from playground.ingest.questions import parse_questions
from playground.storage.store import ExperimentStore

from .openai_stub import openai_stub
from .test_eval_runs import _variants_file
from .test_pipeline import QUESTIONS


def _variants(url: str) -> list[VariantConfig]:
    model = f"openai-compatible:tiny@{url}"
    return [VariantConfig(name="short", model=model, max_tokens=32), VariantConfig(name="long", model=model)]


def _comparable(run) -> list[list[tuple]]:
    """Each variant's rows without the timings, which differ from run to run."""
    return [[(r.qid, r.repeat, r.answer, r.prompt, r.metrics, r.error) for r in v.rows] for v in run.variants]


@pytest.fixture
def fast(settings):
    """A short timeout and no retries, so a fault costs a fraction of a second."""
    return dataclasses.replace(settings, request_timeout_s=0.5, max_retries=0)


@pytest.fixture
def patient(settings):
    """A timeout no answer comes near, even on a busy machine."""
    return dataclasses.replace(settings, request_timeout_s=10, max_retries=0)


def test_a_failing_call_becomes_an_error_row_and_the_sweep_goes_on(fast):
    questions = parse_questions("q.jsonl", QUESTIONS)
    store = ExperimentStore(fast)
    with openai_stub() as (url, state):
        state.timeout_delay_s, state.faults = 1.5, ["timeout", "malformed", "drop"]
        options = RunOptions(store=store, concurrency=1)
        run = run_evaluation(_variants(url)[:1], None, questions, fast, options=options)
        errors = [r.error or "" for r in run.variants[0].rows]
        assert "did not answer within 0.5 s" in errors[0]
        assert "not valid OpenAI JSON" in errors[1]
        assert "closed the connection" in errors[2]
        saved = store.load_run(run.run_id)
        assert saved["status"] == "complete" and [r["error"] for r in saved["rows"]["short"]] == errors
        asked = len(state.requests)
        rerun = run_evaluation(_variants(url)[:1], None, questions, fast, options=RunOptions(concurrency=1))
    assert not any(r.error for r in rerun.variants[0].rows)
    assert len(state.requests) == asked + 3  # errors are never cached: the next sweep asks again


def test_concurrent_requests_keep_the_sequential_rows(patient):
    questions = parse_questions("q.jsonl", QUESTIONS)
    uncached = RunOptions(use_cache=False, concurrency=1)
    with openai_stub() as (url, state):
        state.echo, state.delay_s = True, 0.2
        sequential = run_evaluation(_variants(url), None, questions, patient, options=uncached)
        assert state.max_in_flight == 1
        seen: list[tuple[str, int, str]] = []

        def on_row(result, row, done, total):
            seen.append((result.variant.name, done, threading.current_thread().name))

        store = ExperimentStore(patient)
        concurrent = run_evaluation(
            _variants(url),
            None,
            questions,
            patient,
            on_row=on_row,
            options=RunOptions(store=store, concurrency=4),
        )
        assert state.max_in_flight > 1
        assert _comparable(concurrent) == _comparable(sequential)
        assert [d for _, d, _ in seen] == list(range(1, 7)) and [n for n, _, _ in seen] == [
            "short",
            "long",
        ] * 3
        assert {t for _, _, t in seen} == {
            threading.current_thread().name
        }  # callbacks on the caller's thread
        saved = store.load_run(concurrent.run_id)["rows"]
        assert [r["qid"] for r in saved["long"]] == [r.qid for r in sequential.variants[1].rows]
        asked = len(state.requests)
        warm = run_evaluation(_variants(url), None, questions, patient, options=RunOptions(concurrency=4))
        assert len(state.requests) == asked and [v.cache_hits for v in warm.variants] == [3, 3]
        assert _comparable(warm) == _comparable(sequential)


def test_a_stop_request_keeps_the_answers_in_flight_and_resumes(patient):
    questions = parse_questions("q.jsonl", QUESTIONS)
    store = ExperimentStore(patient)
    seen = []
    with openai_stub() as (url, state):
        state.echo, state.delay_s = True, 0.1
        stopped = run_evaluation(
            _variants(url),
            None,
            questions,
            patient,
            on_row=lambda *a: seen.append(1),
            should_stop=lambda: len(seen) >= 1,
            options=RunOptions(store=store, concurrency=4),
        )
        kept = sum(len(v.rows) for v in stopped.variants)
        assert stopped.stopped and 1 <= kept < 6 and len(store.done_keys(stopped.run_id)) == kept
        resumed = run_evaluation(
            _variants(url),
            None,
            questions,
            patient,
            options=RunOptions(store=store, resume_run_id=stopped.run_id, concurrency=4),
        )
    assert [len(v.rows) for v in resumed.variants] == [3, 3] and not any(
        r.error for v in resumed.variants for r in v.rows
    )
    assert store.load_run(stopped.run_id)["status"] == "complete"


def test_rate_limits_under_concurrency_wait_for_retry_after(settings):
    questions = parse_questions("q.jsonl", QUESTIONS)
    retrying = dataclasses.replace(settings, request_timeout_s=10, max_retries=2)
    with openai_stub() as (url, state):
        state.echo, state.delay_s, state.retry_after = True, 0.05, "1"
        state.faults = ["429", "429"]
        run = run_evaluation(_variants(url), None, questions, retrying, options=RunOptions(concurrency=4))
    assert not any(r.error for v in run.variants for r in v.rows)
    assert len(state.requests) == 6 + 2
    for i, (refused_at, fault) in enumerate(state.times):
        if fault == "429":
            retried_at = next(
                t for j, (t, _) in enumerate(state.times) if j > i and state.requests[j] == state.requests[i]
            )
            assert retried_at - refused_at >= 0.95


def test_default_concurrency_is_four_for_hosted_models_and_one_for_local_ones(settings):
    hosted = [VariantConfig(name="a", model="openai-compatible:m@http://127.0.0.1:1/v1")]
    local = [VariantConfig(name="b", model="local:qwen2.5-0.5b")]
    assert sweep_concurrency(hosted, settings, RunOptions()) == 4
    assert sweep_concurrency(hosted + local, settings, RunOptions()) == 1
    assert sweep_concurrency(local, dataclasses.replace(settings, concurrency=3), RunOptions()) == 3
    assert (
        sweep_concurrency(hosted, dataclasses.replace(settings, concurrency=3), RunOptions(concurrency=2))
        == 2
    )


def test_cli_concurrency_flag(tmp_path, small_corpus_dir, settings, capsys):
    vfile = _variants_file(tmp_path, small_corpus_dir)
    with openai_stub() as (url, state):
        state.echo, state.delay_s = True, 0.2
        args = ["eval", "--variants", str(vfile), "--model", f"openai-compatible:tiny@{url}", "--no-store"]
        assert cli_main([*args, "--concurrency", "3"]) == 0  # no --fail-under, no --baseline: nothing to fail
        assert 1 < state.max_in_flight <= 3 and len(state.requests) == 6
        assert cli_main([*args, "--concurrency", "0"]) == 2
    assert "--concurrency must be 1 or more" in capsys.readouterr().err


def test_the_same_prompt_sent_by_two_variants_at_once_is_asked_once(patient):
    """Two variants that differ only in their name send identical prompts in parallel: one request each."""
    questions = parse_questions("q.jsonl", QUESTIONS)
    with openai_stub() as (url, state):
        state.delay_s = 0.3  # both variants' requests are in flight together
        twins = _variants(url)[:1]
        twins.append(twins[0].model_copy(update={"name": "short twin"}))
        run = run_evaluation(twins, None, questions, patient, options=RunOptions(concurrency=4))
    assert len(state.requests) == len(questions.questions)
    first, twin = run.variants
    assert [r.answer for r in first.rows] == [r.answer for r in twin.rows]
    assert first.cache_hits + twin.cache_hits == len(questions.questions)
