"""The reranker on the Fine-tune page through AppTest: its hyperparameters, a (trivial) background job that gets
the training items and the corpus's chunks, and trained rerankers offered for the held-out comparison."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground.core.settings import Settings
from playground.finetune import data, evaluate, jobs, registry
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.retrieval.index import forget_loaded_indexes
from tests.conftest import FICTIONAL_QUESTIONS, ROOT
from ui import state

APP = str(ROOT / "app.py")
PAGE = "pages/6_Fine_tune.py"


def texts(at: AppTest) -> str:
    parts: list[str] = []
    for kind in ("text", "caption", "markdown", "success", "info", "warning", "error", "metric"):
        parts.extend(str(getattr(e, "value", "")) for e in at.get(kind))
    return "\n".join(parts)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture
def page(settings: Settings, small_corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """The page on four documents with the fictional questions, the reranker chosen, a trivial training job."""
    monkeypatch.setitem(jobs.TARGETS, "reranker", "tests.finetune_targets:count")
    st.cache_resource.clear()
    forget_loaded_indexes()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[state.DEFAULT_MODEL] = "fake:extractive"
    at.session_state[state.CORPUS] = load_folder(small_corpus_dir)
    at.session_state[state.CORPUS_LABEL] = "four test documents"
    at.session_state[state.CORPUS_SOURCE] = "test"
    at.session_state[state.QUESTIONS] = load_questions(FICTIONAL_QUESTIONS)
    at.session_state[state.QUESTIONS_LABEL] = "fictional questions"
    at.session_state[state.QUESTIONS_SOURCE] = "test"
    at.run()
    ok(at.switch_page(PAGE).run())
    yield ok(at.radio(key="ft_kind").set_value("reranker").run())
    st.cache_resource.clear()


def test_the_reranker_has_its_own_name_and_hyperparameters(page: AppTest) -> None:
    assert page.text_input(key="ft_name_reranker").value == "minilm-reranker"
    keys = {str(w.key) for w in page.number_input}
    assert {"ft_r_epochs", "ft_r_batch", "ft_r_lr", "ft_r_head_lr", "ft_r_negatives", "ft_r_length"} <= keys
    assert all(w.help for w in page.number_input if str(w.key).startswith("ft_r_"))
    assert page.selectbox(key="ft_r_loss").options == ["Pairwise yes / no", "Ranked (listwise)"]
    assert page.number_input(key="ft_r_layers").value == 6
    assert page.number_input(key="ft_r_sentences").value == 200
    made = re.search(r"0 questions and up to (\d+) sentences taken out of passages", texts(page))
    assert made and 0 < int(made[1]) <= 200  # no step 1 needed; one sentence per passage at most
    assert "No fine-tuned model of this kind yet" in texts(page)


def test_training_a_reranker_runs_a_job_with_the_items_and_the_chunks(
    page: AppTest, settings: Settings
) -> None:
    page.checkbox(key="ft_gen_on").uncheck()
    page.radio(key="ft_heldout").set_value("random")
    page.run()
    page.checkbox(key="ft_use_set").check()
    page.checkbox(key="ft_by_meaning").uncheck()
    page.number_input(key="ft_r_negatives").set_value(3)
    page.selectbox(key="ft_r_loss").set_value("listwise")
    page.number_input(key="ft_r_layers").set_value(3)
    ok(page.button(key="ft_split_go").click().run())
    assert "hard negatives" in texts(page)  # the size caption counts pairs with their negatives
    ok(page.button(key="ft_start").click().run())
    started = jobs.list_jobs(settings)[0]
    assert started.kind == "reranker"
    params = json.loads((jobs.jobs_dir(settings) / started.job_id / "job.json").read_text())["params"]
    assert params["name"] == "minilm-reranker" and params["hyper"]["negatives"] == 3
    assert params["hyper"]["loss"] == "listwise" and params["hyper"]["layers"] == 3
    assert params["sentences"] == 200 and Path(params["heldout"]).read_text().strip()
    chunks = Path(params["chunks"]).read_text().splitlines()
    assert chunks and {"chunk_id", "doc_id", "text", "start", "end"} <= set(json.loads(chunks[0]))
    assert Path(params["items"]).read_text().strip()
    jobs.wait(settings, started.job_id, timeout_s=60)
    ok(page.run())
    assert "succeeded" in texts(page)
    assert any("Training loss" in c.proto.spec for c in page.get("plotly_chart"))


def test_a_reranker_trains_on_the_documents_sentences_with_no_question_at_all(
    page: AppTest, settings: Settings
) -> None:
    page.checkbox(key="ft_gen_on").uncheck()
    page.number_input(key="ft_r_sentences").set_value(0)
    ok(page.run())
    assert page.button(key="ft_start").disabled
    assert "or take sentences out of the passages as questions" in texts(page)
    ok(page.number_input(key="ft_r_sentences").set_value(50).run())
    assert re.search(r"0 questions and up to \d+ sentences taken out of passages", texts(page))
    ok(page.button(key="ft_start").click().run())
    started = jobs.list_jobs(settings)[0]
    params = json.loads((jobs.jobs_dir(settings) / started.job_id / "job.json").read_text())["params"]
    assert params["sentences"] == 50 and not Path(params["items"]).read_text().strip()
    heldout = {json.loads(line)["qid"] for line in Path(params["heldout"]).read_text().splitlines()}
    assert heldout and heldout <= {
        q.qid for q in load_questions(FICTIONAL_QUESTIONS).questions
    }  # the set, held out
    assert Path(params["chunks"]).read_text().strip()
    assert jobs.wait(settings, started.job_id, timeout_s=60).status == "succeeded"


def test_trained_rerankers_are_offered_for_the_comparison(page: AppTest, settings: Settings) -> None:
    folder = registry.models_dir(settings) / "my-reranker"
    staging = registry.staging_dir(folder)
    (staging / "config.json").write_text("{}")
    registry.install(staging, folder, {"kind": "reranker", "trained_on": "the handbook"})
    ok(page.run())
    box = page.selectbox(key="ft_eval_model_reranker")
    assert box.options == ["my-reranker: cross-encoder reranker fine-tuned on the handbook"]
    assert box.value == f"ce:{folder}"
    assert page.button(key="ft_eval_rerank_go").disabled  # no held-out questions yet
    assert f"ce:{folder}" in texts(page)


def test_the_comparison_shows_the_reranker_fused_as_variants_use_it_and_alone(
    page: AppTest, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scores are stubbed (a real comparison is tested in test_finetune_reranker): a reranker that orders
    worse than retrieval alone is said to be so, with the fused default beside it."""
    heldout = tmp_path / "heldout.jsonl"
    data.save_items(heldout, [data.TrainingItem("q1", "When was it founded?", "2019", "Founded in 2019.")])
    folder = registry.models_dir(settings) / "weak-reranker"
    staging = registry.staging_dir(folder)
    (staging / "config.json").write_text("{}")
    registry.install(staging, folder, {"kind": "reranker", "trained_on": "x", "heldout": str(heldout)})

    def scores(*_: object, k: int = 5, **__: object) -> tuple[evaluate.RetrievalScore, ...]:
        return tuple(
            evaluate.RetrievalScore(name, k, 1, hit, mrr, {"q1": hit})
            for name, hit, mrr in (("retrieval", 1.0, 1.0), ("fused", 1.0, 0.5), ("alone", 0.0, 0.1))
        )

    monkeypatch.setattr(evaluate, "rerank_scores", scores)
    ok(page.run())
    ok(page.button(key="ft_eval_rerank_go").click().run())
    shown = texts(page)
    assert "retrieval: hit@5 100%, MRR 1.00" in shown
    assert "+ reranker, fused (the default): hit@5 100%, MRR 0.50" in shown
    assert "+ reranker's order alone: hit@5 0%, MRR 0.10" in shown
    assert "orders the passages worse than retrieval did" in shown
