"""The LLM judge: verdicts with reasons, faithfulness, unreadable replies counted, cached and priced calls, the
CLI's --judge and `judge:` key, human verdicts in the store, and agreement with Cohen's kappa."""

from __future__ import annotations

import json

import pytest

from playground.cli.main import main as cli_main
from playground.core.config import VariantConfig, load_variant_set_text
from playground.core.errors import ConfigError, InputError
from playground.evaluation.agreement import agreement, agreement_table, cohen_kappa, human_score
from playground.evaluation.judge import LLMJudge
from playground.evaluation.judge_rubrics import CLAIMS_SCHEMA, VERDICT_SCHEMA
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.evaluation.structured import conforms, parse_json_object
from playground.ingest.loaders import load_folder
from playground.ingest.questions import parse_questions
from playground.models.fake import FakeLLM
from playground.models.registry import get_llm
from playground.storage.store import ExperimentStore

from .openai_stub import openai_stub
from .test_pipeline import QUESTIONS

YES = '{"reason": "answer: 30 days; gold: 30 days; the same", "verdict": "yes"}'
NO = '{"reason": "answer: something else; gold: differs", "verdict": "no"}'
CLAIMS = '{"claims": [{"claim": "Returns within 30 days.", "supported": true}, {"claim": "Free.", "supported": false}]}'
VARIANTS = [
    VariantConfig(name="baseline", model="fake:extractive"),
    VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2),
]


def scripted_judge() -> FakeLLM:
    """A fake judge: yes when the answer names 30 days, no otherwise; two claims, one supported."""
    return FakeLLM(
        name="fake:judge",
        rules=[(r"^Context:", CLAIMS), (r"Answer: .*30 days", YES), (r"Gold answers:", NO)],
    )


@pytest.fixture
def corpus(small_corpus_dir):
    return load_folder(small_corpus_dir)


# --- the judge on its own -------------------------------------------------------------------------------------


def test_a_scripted_verdict_gives_score_and_reason():
    judge = LLMJudge(scripted_judge(), "fake:judge")
    right = judge.correct("How long?", "You have 30 days.", ["30 days"])
    wrong = judge.correct("How long?", "Two weeks.", ["30 days"])
    assert (right.score, right.verdict, right.calls) == (1.0, "yes", 1)
    assert right.reason == "answer: 30 days; gold: 30 days; the same" and not right.parse_failed
    assert (wrong.score, wrong.verdict) == (0.0, "no")


def test_faithfulness_is_the_share_of_supported_claims():
    judge = LLMJudge(scripted_judge(), "fake:judge")
    found = judge.faithful("How long?", "Returns within 30 days, for free.", ["Returns within 30 days."])
    assert found.score == 0.5 and found.claims == (("Returns within 30 days.", True), ("Free.", False))
    assert found.reason == "1 of 2 claims supported by the retrieved chunks"
    none = LLMJudge(FakeLLM(rules=[(".", '{"claims": []}')]), "fake:x").faithful(
        "q", "not in the documents.", ["c"]
    )
    assert none.score is None and none.verdict == "no claims" and not none.parse_failed


def test_garbage_is_asked_again_under_the_schema_then_counted_never_guessed():
    llm = FakeLLM(rules=[(".", "Well, I would say it is mostly right!")])
    found = LLMJudge(llm, "fake:garbage").correct("q", "a", ["a"])
    assert found.score is None and found.parse_failed and found.calls == 2 and found.constrained
    assert "could not be read" in found.reason and found.raw.startswith("Well")


def test_the_fake_model_judges_by_containment_when_asked_under_the_schema():
    from playground.evaluation.judge_rubrics import CORRECTNESS, correctness_case

    fake = FakeLLM()
    for answer, verdict in (("It is 30 days.", "yes"), ("It is 14 days.", "no")):
        messages = CORRECTNESS.messages(correctness_case("How long?", ["30 days"], answer))
        reply = fake.chat(messages, json_schema=VERDICT_SCHEMA)
        assert json.loads(reply.text)["verdict"] == verdict
    found = LLMJudge(fake, "fake:extractive").correct("How long?", "It is 30 days.", ["30 days"])
    assert found.score == 1.0 and found.calls == 2 and found.constrained  # free reply first, then the schema


def test_a_verdict_outside_the_three_is_asked_again():
    llm = FakeLLM(rules=[(".", '{"reason": "fine", "verdict": "correct"}')])
    found = LLMJudge(llm, "fake:x").correct("q", "a", ["a"])
    assert found.parse_failed and found.calls == 2
    assert not conforms({"reason": "r", "verdict": "correct"}, VERDICT_SCHEMA)
    assert conforms(json.loads(CLAIMS), CLAIMS_SCHEMA)


def test_a_hosted_judge_asks_for_a_structured_output_and_falls_back_to_json_mode(settings):
    with openai_stub() as (url, state):
        state.reply = YES
        judge = LLMJudge(
            get_llm(f"openai-compatible:judge@{url}", settings), f"openai-compatible:judge@{url}"
        )
        assert judge.correct("How long?", "30 days", ["30 days"]).score == 1.0
        sent = state.requests[-1]["response_format"]
        assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
        assert "maxLength" not in json.dumps(sent)  # strict structured outputs reject string lengths
        state.faults = ["400"]  # a server that knows only JSON mode
        assert judge.correct("How long?", "30 days", ["30 days"]).score == 1.0
        assert state.requests[-1]["response_format"] == {"type": "json_object"}


# --- in a run ----------------------------------------------------------------------------------------------


def _run(corpus, settings, judge_llm, **options):
    questions = parse_questions("q.jsonl", QUESTIONS)
    opts = RunOptions(judge="fake:judge", judge_llm=judge_llm, **options)
    return run_evaluation(VARIANTS, corpus, questions, settings, options=opts)


def test_a_run_judges_every_answer_and_keeps_verdicts_reasons_and_failures(corpus, settings):
    judge_llm = scripted_judge()
    run = _run(corpus, settings, judge_llm)
    baseline, rag = run.variants
    assert all("judge_correct" in r.metrics and "faithfulness" not in r.metrics for r in baseline.rows)
    assert all(r.metrics["faithfulness"] == 0.5 for r in rag.rows if r.retrieved)
    r1 = next(r for r in rag.rows if r.qid == "r1")
    assert r1.metrics["judge_correct"] == 1.0 and r1.judge["judge_correct"]["reason"].startswith("answer: 30")
    summary = {row["variant"]: row for row in run.summary_rows()}
    assert summary["rag"]["judge_parse_failures"] == 0 and summary["rag"]["judge_correct"] is not None
    saved = json.loads(json.dumps(run.to_dict()))  # what results.json holds
    assert saved["judge"] == "fake:judge"
    row = saved["variants"][1]["rows"][0]
    assert (
        row["judge"]["judge_correct"]["verdict"] in {"yes", "no"} and row["judge"]["judge_correct"]["reason"]
    )
    assert saved["variants"][1]["aggregates"]["judge_parse_failures"] == 0
    from playground.reporting.run_data import run_to_frames

    answers = run_to_frames(saved)[1]  # the CSV of every answer carries verdicts and reasons
    assert {"judge_correct_verdict", "judge_correct_reason", "faithfulness_reason"} <= set(answers.columns)
    from playground.reporting.report import summary_tables

    tables = summary_tables(saved)
    assert "<h3>Judged</h3>" in tables and "judged correct (LLM judge)" in tables


def test_judge_calls_are_cached_logged_and_kept_apart_from_the_answer_cost(corpus, settings):
    cold = _run(corpus, settings, scripted_judge())
    calls = scripted_judge()
    warm = _run(corpus, settings, calls)
    assert calls.calls == []  # every judge call answered from the cache
    rag_row = warm.variants[1].rows[0]
    # Answer, judge_correct and faithfulness: three logged keys, so a replay bundle carries all three.
    assert len([k for k in rag_row.cache["keys"]]) >= 3 and rag_row.from_cache
    assert rag_row.judge["tokens"]["prompt"] > 0 and rag_row.judge["cost_usd"] == 0.0
    assert [r.cost_usd for r in warm.variants[1].rows] == [r.cost_usd for r in cold.variants[1].rows]


def test_garbage_judge_replies_are_counted_and_no_question_is_dropped(corpus, settings):
    run = _run(corpus, settings, FakeLLM(rules=[(".", "no JSON here")]))
    summary = {row["variant"]: row for row in run.summary_rows()}
    assert summary["baseline"]["n"] == 3 and summary["baseline"]["judge_parse_failures"] == 3
    assert summary["rag"]["judge_parse_failures"] == 3 + sum(bool(r.retrieved) for r in run.variants[1].rows)
    assert summary["baseline"]["judge_correct"] is None  # no score, said so, never a silent NaN
    assert summary["baseline"]["contains"] is not None


def test_the_judge_is_a_run_setting_in_the_store(corpus, settings):
    store = ExperimentStore(settings)
    run = _run(corpus, settings, scripted_judge(), store=store)
    assert store.load_run(run.run_id)["meta"]["judge"] == "fake:judge"


# --- human verdicts and agreement ------------------------------------------------------------------------------


def test_human_verdicts_are_stored_with_the_run_and_become_a_metric(corpus, settings):
    store = ExperimentStore(settings)
    run = _run(corpus, settings, scripted_judge(), store=store)
    store.set_human_verdict(run.run_id, "rag", "r1", 0, "yes", human_score("yes"))
    store.set_human_verdict(run.run_id, "rag", "r2", 0, "partial", human_score("partial"))
    rows = store.load_run(run.run_id)["rows"]["rag"]
    assert [r.get("human") for r in rows] == ["yes", "partial", None]
    assert rows[1]["metrics"]["human"] == 0.5
    from playground.reporting.run_data import run_from_dict, store_run_to_dict

    again = run_from_dict(store_run_to_dict(store.load_run(run.run_id)))
    assert again.judge == "fake:judge" and again.variants[1].aggregates()["human"] == 0.75
    store.set_human_verdict(run.run_id, "rag", "r2", 0, None, None)
    assert "human" not in store.load_run(run.run_id)["rows"]["rag"][1]["metrics"]
    with pytest.raises(InputError, match="no saved answer"):
        store.set_human_verdict(run.run_id, "rag", "nope", 0, "yes", 1.0)


# Wikipedia's worked example: 50 items, both yes 20, A yes B no 5, A no B yes 10, both no 15: po 0.7, pe 0.5.
TEXTBOOK_A = ["yes"] * 25 + ["no"] * 25
TEXTBOOK_B = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15


def test_cohen_kappa_matches_the_reference():
    assert cohen_kappa(TEXTBOOK_A, TEXTBOOK_B) == pytest.approx(0.4)
    assert cohen_kappa(["yes"] * 3, ["yes"] * 3) is None and cohen_kappa([], []) is None
    human = ["yes", "yes", "no", "no", "partial", "yes", "no", "yes", "no", "yes"]
    judge = ["yes", "no", "no", "no", "yes", "yes", "no", "yes", "partial", "yes"]
    sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="the textbook example above still ran")
    assert cohen_kappa(human, judge) == pytest.approx(sklearn_metrics.cohen_kappa_score(human, judge))


def test_agreement_reads_each_rater_from_result_rows():
    def row(human, verdict, contains, f1):
        judge = {"judge_correct": {"verdict": verdict, "score": {"yes": 1.0, "no": 0.0}[verdict]}}
        return {"human": human, "judge": judge, "metrics": {"contains": contains, "token_f1": f1}}

    rows = [
        row("yes", "yes", 1.0, 0.9),
        row("no", "no", 0.0, 0.6),
        row("yes", "no", 0.0, 0.2),
        row(None, "yes", 1, 1),
    ]
    by_rater = {a.rater: a for a in agreement_table(rows)}
    assert by_rater["judge_correct"].n == 3 and by_rater["judge_correct"].agreement == pytest.approx(2 / 3)
    assert by_rater["token_f1"].agreement == pytest.approx(1 / 3)  # 0.6 >= 0.5 reads as yes
    assert agreement(rows, "contains").kappa == pytest.approx(
        cohen_kappa(["yes", "no", "yes"], ["yes", "no", "no"])
    )


# --- configuration and CLI ---------------------------------------------------------------------------------


def test_a_variants_file_names_its_judge(tmp_path):
    vset = load_variant_set_text("judge: local:qwen2.5-0.5b\nvariants:\n - {name: a}\n", tmp_path)
    assert vset.judge == "local:qwen2.5-0.5b" and "judge" not in vset.variants[0].model_dump()
    with pytest.raises(ConfigError, match="'judge' must be a model name"):
        load_variant_set_text("judge: [1]\nvariants:\n - {name: a}\n", tmp_path)


def _variants_file(tmp_path, corpus_dir, judge=""):
    (tmp_path / "q.jsonl").write_bytes(QUESTIONS)
    path = tmp_path / "v.yaml"
    path.write_text(
        f"corpus: {corpus_dir}\nquestions: q.jsonl\n{judge}defaults: {{model: fake:extractive}}\n"
        "variants:\n - {name: baseline}\n - {name: rag, use_retrieval: true, top_k: 2}\n"
    )
    return path


def test_cli_judge_flag_fail_under_and_results_json(tmp_path, small_corpus_dir, settings, capsys):
    vfile = _variants_file(tmp_path, small_corpus_dir)
    assert cli_main(["eval", "--variants", str(vfile), "--fail-under", "judge_correct=0.6"]) == 2
    assert "needs a judge" in capsys.readouterr().err
    out = tmp_path / "r.json"
    # The demo model judges too: yes when the answer contains a gold answer. Without retrieval it knows only
    # that the CEO question is not in the documents: 1 of 3.
    args = ["eval", "--variants", str(vfile), "--judge", "fake:extractive", "--out", str(out)]
    assert cli_main([*args, "--fail-under", "judge_correct=0.6"]) == 1
    printed = capsys.readouterr()
    assert "REGRESSION: baseline: judge_correct = 0.333 < 0.6" in printed.err
    assert "judged by fake:extractive: every reply was read" in printed.out
    data = json.loads(out.read_text())
    assert (
        data["judge"] == "fake:extractive" and data["variants"][0]["aggregates"]["judge_parse_failures"] == 0
    )
    verdict = data["variants"][0]["rows"][2]["judge"]["judge_correct"]
    assert verdict["verdict"] == "yes" and verdict["reason"].startswith("fake judge: the answer contains")
    judged_file = _variants_file(tmp_path, small_corpus_dir, judge="judge: fake:extractive\n")
    assert cli_main(["eval", "--variants", str(judged_file), "--no-store"]) == 0
    assert "judged by fake:extractive" in capsys.readouterr().out


# --- the real stack ------------------------------------------------------------------------------------------


def test_the_real_small_judge_gives_concrete_verdicts_under_the_grammar(settings):
    """The packaged 0.5B model: a plainly right and a plainly wrong answer, and a reply decoded under the
    grammar that parses and fits the schema."""
    from tests.conftest import FAST_LOCAL_MODEL

    llm = get_llm(FAST_LOCAL_MODEL, settings)
    judge = LLMJudge(llm, FAST_LOCAL_MODEL)
    question, golds = "How many days do customers have to return a product?", ["30 days"]
    # Plainly right in a few words: the 0.5B model misreads some full-sentence answers (see bench/judge.py).
    right = judge.correct(question, "Within 30 days.", golds)
    wrong = judge.correct(question, "Customers have 90 days to return a product.", golds)
    assert (right.verdict, wrong.verdict) == ("yes", "no") and right.reason and wrong.reason
    from playground.evaluation.judge_rubrics import CORRECTNESS, correctness_case

    messages = CORRECTNESS.messages(correctness_case(question, golds, "Customers have 30 days."))
    reply = llm.chat(messages, max_tokens=CORRECTNESS.max_tokens, json_schema=CORRECTNESS.schema)
    data = parse_json_object(reply.text)
    assert data is not None and conforms(data, VERDICT_SCHEMA)
    claims = judge.faithful(
        question,
        "Customers can return a product within 30 days.",
        ["You can return any product within 30 days of delivery, for any reason."],
    )
    assert not claims.parse_failed and not claims.error
