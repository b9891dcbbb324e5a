"""The engine end to end: fast tests with the fake LLM, and one pass through the real local stack."""

import json

import pytest

from playground.cli.main import main as cli_main
from playground.core.config import IndexConfig, VariantConfig
from playground.evaluation.runner import run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import parse_questions
from playground.models.fake import FakeLLM
from playground.models.registry import get_embedder
from playground.rag.pipeline import build_pipeline
from playground.retrieval.index import get_or_build_index, index_key

from .conftest import FAST_LOCAL_MODEL

QUESTIONS = b"""{"id": "r1", "question": "How many days do customers have to return a product?", "answers": ["30 days"], "evidence": ["You can return any product within 30 days of delivery, for any reason, even if it has been used."]}
{"id": "r2", "question": "What does a return label cost?", "answers": ["\\u20ac6.50", "6.50 euros"], "evidence": ["For all other returns a return label costs \\u20ac6.50, deducted from the"]}
{"id": "u1", "question": "What is the CEO's favourite colour?", "answers": ["not in the documents"]}
"""


@pytest.fixture
def corpus(small_corpus_dir):
    return load_folder(small_corpus_dir)


def test_index_is_reused_for_equal_settings_and_separate_for_different_ones(corpus, settings):
    embedder = get_embedder("local:all-minilm-l6-v2", settings)
    calls = []
    first = get_or_build_index(corpus, IndexConfig(), embedder, settings, lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] == len(first)
    again = get_or_build_index(
        corpus, IndexConfig(), embedder, settings, lambda d, t: calls.append("rebuilt")
    )
    assert again is first and "rebuilt" not in calls
    other = IndexConfig(chunk_size=64, chunk_overlap=8)
    assert index_key(corpus, other, embedder) != first.key
    assert len(get_or_build_index(corpus, other, embedder, settings)) > len(first)


def test_index_survives_a_restart_without_re_embedding(corpus, settings):
    from playground.retrieval import index as index_module

    embedder = get_embedder("local:all-minilm-l6-v2", settings)
    built = get_or_build_index(corpus, IndexConfig(), embedder, settings)
    index_module.forget_loaded_indexes()
    calls = []
    reopened = get_or_build_index(corpus, IndexConfig(), embedder, settings, lambda d, t: calls.append(d))
    assert calls == [] and reopened.key == built.key and len(reopened) == len(built)


def test_pipeline_returns_everything_a_user_inspects(corpus, settings):
    variant = VariantConfig(name="rag", use_retrieval=True, top_k=3)
    result = build_pipeline(variant, corpus, settings, llm=FakeLLM()).run(
        "How many days do customers have to return a product?"
    )
    assert len(result.retrieved) == 3 and result.retrieved[0].rank == 1
    assert result.retrieved[0].score >= result.retrieved[-1].score
    assert "30 days" in result.answer
    assert result.retrieved[0].chunk.text in result.prompt.text
    assert set(result.timings) == {"retrieve", "generate"} and result.prompt_tokens > 0


def test_top_k_larger_than_the_index_returns_what_there_is(corpus, settings):
    variant = VariantConfig(name="rag", use_retrieval=True, top_k=100)
    pipe = build_pipeline(variant, corpus, settings, llm=FakeLLM())
    assert len(pipe.run("return window").retrieved) == len(pipe.index)


def test_evaluation_scores_answers_and_retrieval(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS)
    variants = [VariantConfig(name="baseline"), VariantConfig(name="rag", use_retrieval=True, top_k=3)]
    rows_seen = []
    run = run_evaluation(
        variants,
        corpus,
        questions,
        settings,
        llm=FakeLLM(),
        on_row=lambda v, r, d, t: rows_seen.append((v.variant.name, d, t)),
    )
    assert rows_seen[-1][1:] == (6, 6)
    base, rag = (v.aggregates() for v in run.variants)
    assert base["hit@k"] is None and rag["hit@k"] == 1.0
    assert rag["contains"] > base["contains"]
    assert run.variants[1].rows[0].outcome == "correct"
    data = run.to_dict()
    assert data["variants"][1]["used_retrieval"] is True
    json.dumps(data)


def test_a_failing_question_is_recorded_and_the_sweep_goes_on(corpus, settings):
    class Flaky(FakeLLM):
        def chat(self, messages, **kw):
            if "colour" in messages[-1]["content"]:
                from playground.core.errors import ModelError

                raise ModelError("model crashed")
            return super().chat(messages, **kw)

    questions = parse_questions("q.jsonl", QUESTIONS)
    run = run_evaluation([VariantConfig(name="b")], corpus, questions, settings, llm=Flaky())
    outcomes = [r.outcome for r in run.variants[0].rows]
    assert outcomes.count("error") == 1 and len(outcomes) == 3
    assert run.variants[0].aggregates()["errors"] == 1.0


def test_stop_keeps_finished_rows(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS)
    done = []
    run = run_evaluation(
        [VariantConfig(name="b")],
        corpus,
        questions,
        settings,
        llm=FakeLLM(),
        on_row=lambda *a: done.append(1),
        should_stop=lambda: len(done) >= 2,
    )
    assert run.stopped and len(run.variants[0].rows) == 2


def test_empty_question_is_a_clear_error(corpus, settings):
    from playground.core.errors import InputError

    pipe = build_pipeline(VariantConfig(), corpus, settings, llm=FakeLLM())
    with pytest.raises(InputError, match="empty"):
        pipe.run("   ")


@pytest.mark.slow
def test_real_local_stack_answers_from_retrieved_context(corpus, settings):
    """Real embedder, real chromadb, real llama.cpp model: RAG finds what the baseline cannot know."""
    questions = parse_questions("q.jsonl", QUESTIONS)
    variants = [
        VariantConfig(name="baseline", model=FAST_LOCAL_MODEL, max_tokens=32),
        VariantConfig(name="rag", model=FAST_LOCAL_MODEL, use_retrieval=True, top_k=3, max_tokens=32),
    ]
    run = run_evaluation(variants, corpus, questions.subset(2), settings)
    base, rag = run.variants
    assert all(r.error is None for r in base.rows + rag.rows)
    assert rag.aggregates()["contains"] >= 0.5 > base.aggregates()["contains"]
    assert rag.aggregates()["hit@k"] == 1.0
    assert all(r.completion_tokens > 0 and r.latency_s > 0 for r in rag.rows)


@pytest.mark.slow
def test_cli_eval_writes_results(tmp_path, small_corpus_dir, settings, capsys):
    qfile = tmp_path / "q.jsonl"
    qfile.write_bytes(QUESTIONS)
    vfile = tmp_path / "v.yaml"
    vfile.write_text(
        f"corpus: {small_corpus_dir}\nquestions: q.jsonl\ndefaults: {{model: fake:extractive}}\n"
        "variants:\n - {name: baseline}\n - {name: rag, use_retrieval: true, top_k: 2}\n"
    )
    out = tmp_path / "results.json"
    assert cli_main(["eval", "--variants", str(vfile), "--limit", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "baseline" in printed and "rag" in printed
    data = json.loads(out.read_text())
    rag = data["variants"][1]
    assert rag["used_retrieval"] and {
        "exact_match",
        "token_f1",
        "contains",
        "hit@k",
        "mrr",
        "ndcg@k",
        "latency_s",
    } <= set(rag["aggregates"])
    assert rag["rows"][0]["retrieved"][0]["chunk_id"]


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    bad = tmp_path / "v.yaml"
    bad.write_text("variants: [{name: a, topk: 3}]")
    assert cli_main(["eval", "--variants", str(bad)]) == 2
    assert "unknown key 'topk'" in capsys.readouterr().err
