"""Sweeps that last: the response cache, the experiment store, repeats, and the CLI's CI flags."""

import json

import pytest

from playground.cli.main import main as cli_main
from playground.core.config import VariantConfig
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import parse_questions
from playground.models.fake import FakeLLM
from playground.storage.store import ExperimentStore

from .test_pipeline import QUESTIONS

VARIANTS = [
    VariantConfig(name="baseline", model="fake:extractive"),
    VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2),
]


@pytest.fixture
def corpus(small_corpus_dir):
    return load_folder(small_corpus_dir)


def test_an_unchanged_sweep_answers_from_the_cache(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS)
    cold = run_evaluation(VARIANTS, corpus, questions, settings)
    assert [v.cache_hits for v in cold.variants] == [0, 0]
    warm = run_evaluation(VARIANTS, corpus, questions, settings)
    assert [v.cache_hits for v in warm.variants] == [3, 3] and all(v.cache_misses == 0 for v in warm.variants)
    assert warm.summary_rows()[1]["contains"] == cold.summary_rows()[1]["contains"]
    assert warm.to_dict()["variants"][0]["cache_hits"] == 3


def test_no_cache_option_calls_the_model_again(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS)
    run_evaluation(VARIANTS[:1], corpus, questions, settings)
    llm = FakeLLM()
    run_evaluation(VARIANTS[:1], corpus, questions, settings, llm=llm, options=RunOptions(use_cache=False))
    assert len(llm.calls) == 3


def test_repeats_above_zero_temperature_are_cached_per_repeat(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS).subset(2)
    variant = VariantConfig(name="warm", model="fake:extractive", temperature=0.8)
    run = run_evaluation([variant], corpus, questions, settings, options=RunOptions(repeats=3))
    rows = run.variants[0].rows
    assert sorted({r.repeat for r in rows}) == [0, 1, 2] and len(rows) == 6
    assert run.variants[0].cache_misses == 6
    assert run.variants[0].repeat_spread()["n_repeats"] == 3
    again = run_evaluation([variant], corpus, questions, settings, options=RunOptions(repeats=3))
    assert again.variants[0].cache_hits == 6


class SeedRecordingLLM(FakeLLM):
    """The fake model, recording the seed of every call."""

    def __init__(self):
        super().__init__()
        self.seeds = []

    def chat(self, messages, **kwargs):
        self.seeds.append(kwargs.get("seed"))
        return super().chat(messages, **kwargs)


def test_repeats_in_flight_together_keep_their_own_seed_and_cache_entry(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS).subset(2)
    variant = VariantConfig(name="warm", model="fake:extractive", temperature=0.8)
    llm = SeedRecordingLLM()
    options = RunOptions(repeats=3, concurrency=4)  # answers of different repeats are computed at once
    run = run_evaluation([variant], corpus, questions, settings, llm=llm, options=options)
    rows = run.variants[0].rows
    assert sorted(llm.seeds) == [0, 0, 1, 1, 2, 2]
    assert [r.repeat for r in rows] == [0, 0, 1, 1, 2, 2]  # still recorded in task order
    assert len({r.cache["keys"][0] for r in rows}) == 6
    again = run_evaluation([variant], corpus, questions, settings, llm=SeedRecordingLLM(), options=options)
    assert [r.cache["keys"][0] for r in again.variants[0].rows] == [r.cache["keys"][0] for r in rows]
    assert again.variants[0].cache_hits == 6


def test_repeats_of_the_real_local_model_are_cached_per_repeat(settings):
    from tests.conftest import FAST_LOCAL_MODEL

    questions = parse_questions("q.jsonl", QUESTIONS).subset(1)
    variant = VariantConfig(name="warm", model=FAST_LOCAL_MODEL, temperature=0.9, max_tokens=12)
    options = RunOptions(repeats=2, concurrency=2)
    run = run_evaluation([variant], None, questions, settings, options=options)
    rows = run.variants[0].rows
    assert [r.repeat for r in rows] == [0, 1] and not any(r.error for r in rows)
    assert all(r.answer for r in rows) and rows[0].cache["keys"] != rows[1].cache["keys"]
    again = run_evaluation([variant], None, questions, settings, options=options)
    assert [r.answer for r in again.variants[0].rows] == [r.answer for r in rows]
    assert again.variants[0].cache_hits == 2 and again.variants[0].cache_misses == 0


def test_the_store_keeps_rows_and_a_stopped_run_resumes(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS)
    store = ExperimentStore(settings)
    seen = []
    stopped = run_evaluation(
        VARIANTS,
        corpus,
        questions,
        settings,
        options=RunOptions(store=store),
        on_row=lambda *a: seen.append(1),
        should_stop=lambda: len(seen) >= 3,
    )
    assert stopped.stopped and store.list_runs()[0]["status"] == "stopped"
    assert len(store.done_keys(stopped.run_id)) == 3
    resumed = run_evaluation(
        VARIANTS, corpus, questions, settings, options=RunOptions(store=store, resume_run_id=stopped.run_id)
    )
    assert [len(v.rows) for v in resumed.variants] == [3, 3]
    assert store.load_run(stopped.run_id)["status"] == "complete"


def _variants_file(tmp_path, corpus_dir):
    (tmp_path / "q.jsonl").write_bytes(QUESTIONS)
    path = tmp_path / "v.yaml"
    path.write_text(
        f"corpus: {corpus_dir}\nquestions: q.jsonl\ndefaults: {{model: fake:extractive}}\n"
        "variants:\n - {name: baseline}\n - {name: rag, use_retrieval: true, top_k: 2}\n"
    )
    return path


def test_cli_fail_under_and_baseline(tmp_path, small_corpus_dir, settings, capsys):
    vfile = _variants_file(tmp_path, small_corpus_dir)
    assert cli_main(["eval", "--variants", str(vfile), "--fail-under", "contains=0.5"]) == 1
    assert "REGRESSION: baseline: contains" in capsys.readouterr().err
    code = cli_main(
        ["eval", "--variants", str(vfile), "--baseline", "baseline", "--out", str(tmp_path / "r.json")]
    )
    printed = capsys.readouterr().out
    assert code == 0 and "compared with the baseline" in printed and "answers from cache" in printed
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["run_id"] and data["variants"][0]["cache_hits"] == 3
    # On 3 questions no difference can be significant (exact McNemar's smallest p there is 0.25): no regression.
    assert cli_main(["eval", "--variants", str(vfile), "--baseline", "rag"]) == 0
    assert "Not enough questions to tell rag and baseline apart" in capsys.readouterr().out


def test_cli_rejects_bad_thresholds(tmp_path, small_corpus_dir, settings, capsys):
    vfile = _variants_file(tmp_path, small_corpus_dir)
    assert cli_main(["eval", "--variants", str(vfile), "--fail-under", "contains"]) == 2
    assert "METRIC=VALUE" in capsys.readouterr().err


def test_variants_differing_only_in_the_prompt_search_once_per_question(corpus, settings):
    questions = parse_questions("q.jsonl", QUESTIONS)
    twins = [
        VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2),
        VariantConfig(
            name="rag short",
            model="fake:extractive",
            use_retrieval=True,
            top_k=2,
            template="Q: {question}\n{context}",
        ),
    ]
    run = run_evaluation(twins, corpus, questions, settings)
    first, second = (v.cache_counts()["retrieval"] for v in run.variants)
    assert first == {"hits": 0, "misses": 3} and second == {"hits": 3, "misses": 0}
    assert [r.retrieved for r in run.variants[0].rows] == [r.retrieved for r in run.variants[1].rows]
    row = run.variants[1].rows[0]
    assert row.cache["misses"]["llm"] == 1 and len(row.cache["keys"]) == 2  # its answer and its search


def test_cache_hits_per_variant_survive_the_store(corpus, settings):
    from playground.reporting.run_data import store_run_to_dict

    questions = parse_questions("q.jsonl", QUESTIONS)
    run_evaluation(VARIANTS, corpus, questions, settings)
    store = ExperimentStore(settings)
    warm = run_evaluation(VARIANTS, corpus, questions, settings, options=RunOptions(store=store))
    stored = store_run_to_dict(store.load_run(warm.run_id))
    assert [v["cache_hits"] for v in stored["variants"]] == [3, 3]
    assert stored["variants"][1]["cache"]["retrieval"] == {"hits": 3, "misses": 0}
    assert warm.cache_summary() == "baseline 3/3, rag 3/3"


def test_cli_cache_shows_and_clears_the_cache(tmp_path, small_corpus_dir, settings, capsys):
    vfile = _variants_file(tmp_path, small_corpus_dir)
    cli_main(["eval", "--variants", str(vfile)])
    capsys.readouterr()
    assert cli_main(["cache"]) == 0 and "llm 6" in capsys.readouterr().out
    assert cli_main(["cache", "--clear"]) == 0
    out = capsys.readouterr().out
    assert "cache cleared" in out and "llm 0" in out and "retrieval 0" in out
