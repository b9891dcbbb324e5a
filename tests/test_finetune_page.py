"""The Fine-tune page through AppTest: it renders, builds a split from the question set, checks the chat file,
starts a (trivial) background job and shows its loss curve, and offers the fine-tuned models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground.core.settings import Settings
from playground.finetune import jobs, registry
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.retrieval.index import forget_loaded_indexes
from tests.conftest import FICTIONAL_QUESTIONS, ROOT
from ui import state

APP = str(ROOT / "app.py")
PAGE = "pages/6_Fine_tune.py"


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("text", "caption", "markdown", "success", "info", "warning", "error", "metric"):
        parts.extend(str(getattr(e, "value", "")) for e in at.get(kind))
    return "\n".join(parts)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture
def page(settings: Settings, small_corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """The page on four documents with the fictional questions, the fake model and a trivial training job."""
    monkeypatch.setitem(jobs.TARGETS, "embeddings", "tests.finetune_targets:count")
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
    yield ok(at.switch_page(PAGE).run())
    st.cache_resource.clear()


def test_the_page_walks_through_the_four_steps_with_the_advice(page: AppTest) -> None:
    shown = texts(page)
    assert [s.value for s in page.subheader] == [
        "1 · Prepare the data",
        "2 · Choose the hyperparameters",
        "3 · Train and watch the loss",
        "4 · Evaluate on the held-out questions",
    ]
    for advice in ("Try prompting first", "Set a baseline", "Quality beats quantity"):
        assert advice in shown
    assert page.button(key="ft_start").disabled  # nothing to train on yet
    assert "No training run yet" in shown
    assert all(
        w.help
        for w in [*page.number_input, *page.slider, *page.checkbox, *page.radio, *page.button]
        if w.key and str(w.key).startswith("ft_")
    )


def test_each_kind_has_its_own_model_name_and_no_step_count_before_there_is_data(page: AppTest) -> None:
    assert page.text_input(key="ft_name_embeddings").value == "minilm-finetuned"
    assert "No training data yet" in texts(page) and "0 pairs" not in texts(page)
    ok(page.radio(key="ft_kind").set_value("lora").run())
    assert page.text_input(key="ft_name_lora").value == "qwen-lora"
    assert "0 items" not in texts(page) and "the button above" not in texts(page)


def test_random_split_from_the_question_set_then_a_background_job(page: AppTest, settings: Settings) -> None:
    page.checkbox(key="ft_gen_on").uncheck()
    page.radio(key="ft_heldout").set_value("random")
    page.run()
    page.checkbox(key="ft_use_set").check()
    page.checkbox(key="ft_by_meaning").uncheck()
    ok(page.button(key="ft_split_go").click().run())
    metrics = {m.label: m.value for m in page.metric}
    assert int(metrics["Held-out questions"]) > 0 and int(metrics["Training items"]) > 0
    assert "usable examples" in texts(page)  # the checker looked at the training set
    ok(page.button(key="ft_start").click().run())
    started = jobs.list_jobs(settings)[0]
    assert started.kind == "embeddings"
    params = json.loads((jobs.jobs_dir(settings) / started.job_id / "job.json").read_text())["params"]
    assert params["name"] == "minilm-finetuned" and Path(params["pairs"]).exists()
    jobs.wait(settings, started.job_id, timeout_s=60)
    ok(page.run())
    assert "succeeded" in texts(page)
    assert any("Training loss" in c.proto.spec for c in page.get("plotly_chart"))


def test_the_question_set_as_heldout_needs_training_items(page: AppTest) -> None:
    page.checkbox(key="ft_gen_on").uncheck()
    page.checkbox(key="ft_by_meaning").uncheck()
    ok(page.run())
    page.button(key="ft_split_go").click().run()
    assert "No training items" in texts(page)
    assert page.button(key="ft_start").disabled


def test_writing_questions_with_a_model_keeps_only_good_ones(page: AppTest) -> None:
    page.number_input(key="ft_gen_n").set_value(3)
    ok(page.button(key="ft_gen").click().run())  # the fake model cannot write Q/A pairs: all are rejected
    page.checkbox(key="ft_by_meaning").uncheck()
    ok(page.button(key="ft_split_go").click().run())
    assert {m.label: m.value for m in page.metric}["Rejected by the quality filter"] == "3"


def test_fine_tuned_models_become_choices(page: AppTest, settings: Settings) -> None:
    folder = registry.models_dir(settings) / "tuned"
    staging = registry.staging_dir(folder)
    (staging / registry.ADAPTER_FILE).write_bytes(b"not really weights")
    registry.install(staging, folder, {"kind": "lora", "base_model": "local:qwen2.5-0.5b", "trained_on": "x"})
    ok(page.radio(key="ft_kind").set_value("lora").run())
    assert (
        "tuned: local:qwen2.5-0.5b + LoRA fine-tuned on x" in page.selectbox(key="ft_eval_model_lora").options
    )
    from ui import widgets

    assert (
        f"local:qwen2.5-0.5b+lora:{folder / registry.ADAPTER_FILE}"
        in page.session_state["ft_eval_model_lora"]
    )
    assert widgets.model_label(f"local:qwen2.5-0.5b+lora:{folder}/adapter.gguf").endswith("(fine-tuned)")
