"""Every page through Streamlit's AppTest: it renders, its main controls work, and a small run shows results.

Most tests answer with the packaged fake model on four documents, so they are fast; one answers with the real
local model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from playground.core.documents import Corpus, FileError
from playground.core.settings import Settings
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.ingest.loaders import load_folder
from playground.ingest.questions import parse_questions
from playground.retrieval.index import forget_loaded_indexes
from tests.conftest import FAST_LOCAL_MODEL, ROOT
from ui import state, widgets

APP = str(ROOT / "app.py")
TIMEOUT = 120
FAKE = "fake:extractive"
QUESTIONS = [
    {
        "id": "t1",
        "question": "How many days do customers have to return a product?",
        "answers": ["30 days"],
        "evidence": [
            "You can return any product within 30 days of delivery, for any reason, even if it has been used."
        ],
    },
    {
        "id": "t2",
        "question": "In which portal are train, flight and hotel bookings made?",
        "answers": ["Wayfarer"],
        "evidence": ["Bookings for trains, flights and hotels are made in the Wayfarer travel portal"],
    },
    {
        "id": "t3",
        "question": "How much does a return label cost for other returns?",
        "answers": ["€6.50"],
        "evidence": ["For all other returns a return label costs €6.50, deducted from the refund"],
    },
    {"id": "t4", "question": "Who is the chief executive of Tansywick?", "answers": ["not in the documents"]},
]

MakeApp = Callable[..., AppTest]


@pytest.fixture
def small_corpus(small_corpus_dir: Path) -> Corpus:
    return load_folder(small_corpus_dir)


def _clear_caches() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()
    forget_loaded_indexes()


@pytest.fixture
def make_app(settings: Settings, small_corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeApp]:
    """Start the app on a page with the fake model, the small corpus and its questions in session state."""
    monkeypatch.delenv(state.MODEL_ENV, raising=False)
    _clear_caches()
    data = "\n".join(json.dumps(q) for q in QUESTIONS).encode()
    questions = parse_questions("small.jsonl", data)

    def make(page: str | None = None, *, model: str = FAKE, corpus: Corpus | None = small_corpus) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state[state.DEFAULT_MODEL] = model
        if corpus is not None:
            at.session_state[state.CORPUS] = corpus
            at.session_state[state.CORPUS_LABEL] = "four test documents"
            at.session_state[state.CORPUS_SOURCE] = "test"
            at.session_state[state.QUESTIONS] = questions
            at.session_state[state.QUESTIONS_LABEL] = "four test questions"
            at.session_state[state.QUESTIONS_SOURCE] = "test"
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield make
    _clear_caches()


def texts(at: AppTest) -> str:
    """Everything shown as text, caption, markdown, code or message, joined for `in` checks."""
    parts = []
    for kind in ("text", "caption", "markdown", "code", "success", "info", "warning", "error", "metric"):
        parts.extend(str(getattr(e, "value", "")) for e in at.get(kind))
    return "\n".join(parts)


def answers_table(at: AppTest):
    """The results table of answer metrics (the summary is split into answers, retrieval, time and cost)."""
    return next(d.value for d in at.dataframe if "answers" in d.value.columns)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- Home ---------------------------------------------------------------------------------------------------


def test_home_shows_the_map_and_the_start_path(make_app: MakeApp) -> None:
    at = make_app()
    shown = texts(at)
    for word in ("Prompt engineering", "RAG", "Fine-tuning", "All of them", "baseline", "not evaluated"):
        assert word in shown
    assert not at.get("plotly_chart"), "the first page loads no chart bundle"
    links = [e.proto.page for e in at.get("page_link")]
    assert links[:4] == ["Corpus", "Prompt_lab", "RAG_lab", "Evaluate"]


def test_pages_keep_the_state_when_moving_between_them(make_app: MakeApp) -> None:
    at = make_app("pages/3_RAG_lab.py")
    at.slider(key="rag_count").set_value(3).run()
    at.switch_page("pages/5_Settings.py").run()
    ok(at.switch_page("pages/3_RAG_lab.py").run())
    assert at.slider(key="rag_count").value == 3
    assert "four test documents" in texts(at)


# --- Corpus -------------------------------------------------------------------------------------------------


def test_corpus_page_picks_a_sample_and_previews_its_chunks(make_app: MakeApp) -> None:
    at = make_app("pages/1_Corpus.py", corpus=None)
    assert at.radio(key="corpus_source_pick").value == "sample:fictional"  # the default sample is loaded
    ok(at.radio(key="corpus_source_pick").set_value("sample:squad2").run())
    assert at.session_state[state.CORPUS_SOURCE] == "sample:squad2"
    assert at.session_state[state.QUESTIONS].questions[0].qid == "s001"
    assert len(at.dataframe[0].value) == len(at.session_state[state.CORPUS].documents)
    chunks_before = next(m.value for m in at.metric if m.label == "Chunks")
    ok(at.number_input(key="corpus_ix_size").set_value(50).run())
    assert next(m.value for m in at.metric if m.label == "Chunks") != chunks_before
    assert "Chunk 1 of" in texts(at) and at.code  # one code box per chunk: the boundaries are visible
    ok(at.number_input(key="corpus_ix_overlap").set_value(60).run())
    assert "must be smaller than the chunk size" in texts(at)


def test_corpus_page_builds_the_index_with_progress(make_app: MakeApp) -> None:
    at = make_app("pages/1_Corpus.py")
    ok(at.button(key="corpus_build").click().run())
    assert "Index ready" in texts(at)


def test_corpus_page_lists_files_that_could_not_be_read(make_app: MakeApp, small_corpus: Corpus) -> None:
    broken = Corpus(
        "mixed", small_corpus.documents, (FileError("scan.pdf", "scan.pdf has no extractable text"),)
    )
    at = make_app("pages/1_Corpus.py", corpus=broken)
    assert any("scan.pdf has no extractable text" in w.value for w in at.warning)
    assert len(at.dataframe[0].value) == len(small_corpus.documents)  # the good files are kept


def test_corpus_page_uploads_files_and_lists_the_ones_that_failed(make_app: MakeApp) -> None:
    at = make_app("pages/1_Corpus.py")
    ok(at.radio(key="corpus_source_pick").set_value("upload").run())
    files = [
        ("notes.md", b"# Notes\n\nThe greenhouse opens at 7 am.", "text/markdown"),
        ("empty.txt", b"", "text/plain"),
        ("faq.csv", b"question,text\nWhen?,At noon.\nWhere?,In Veyholm.", "text/csv"),
    ]
    ok(at.file_uploader(key="corpus_files").set_value(files).run())
    assert at.session_state[state.CORPUS_LABEL] == "Your upload (3 files)"
    assert any("empty.txt is empty" in w.value for w in at.warning)
    assert list(at.dataframe[0].value["id"]) == ["faq.csv#row=1", "faq.csv#row=2", "notes.md"]


# --- Prompt lab ---------------------------------------------------------------------------------------------


def test_prompt_lab_compares_variants_side_by_side(make_app: MakeApp) -> None:
    at = make_app("pages/2_Prompt_lab.py")
    assert at.slider(key="pl_count").value == 3
    at.text_area(key="pl1_system").input("Answer like a pirate.")
    ok(at.button(key="pl_ask").click().run())
    prompts = [c.value for c in at.code if "### system" in c.value]
    assert len(prompts) == 3 and "Answer like a pirate." in prompts[1]
    assert "How many days do customers have to return a product?" in prompts[0]
    assert texts(at).count("prompt tokens") == 3


def test_prompt_lab_runs_the_variants_on_the_question_set(make_app: MakeApp) -> None:
    at = make_app("pages/2_Prompt_lab.py")
    at.number_input(key="pl_limit").set_value(2)
    ok(at.button(key="pl_run").click().run())
    table = answers_table(at)
    assert list(table["variant"]) == ["plain", "expert", "step by step"]
    assert set(table["answers"]) == {2.0}
    assert [v.name for v in at.session_state[state.VARIANTS]] == ["plain", "expert", "step by step"]


def test_prompt_lab_warns_about_an_unknown_template_variable(make_app: MakeApp) -> None:
    at = make_app("pages/2_Prompt_lab.py")
    ok(at.text_area(key="pl0_template").input("{question} for {company}").run())
    assert any("{company}" in w.value for w in at.warning)
    ok(at.text_area(key="pl0_vars").input("company = Tansywick").run())
    assert not any("{company}" in w.value for w in at.warning)


def test_a_model_error_is_shown_as_a_message(make_app: MakeApp) -> None:
    at = make_app("pages/2_Prompt_lab.py", model="openai:gpt-4o-mini")
    ok(at.button(key="pl_ask").click().run())
    assert any("needs an OpenAI API key" in e.value for e in at.error)


def test_a_missing_or_corrupt_local_model_file_names_the_setup_command(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app on a machine where set-up did not finish: the model file is missing, then damaged."""
    from playground.models import llamacpp

    monkeypatch.setenv("PLAYGROUND_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(llamacpp, "_LOCAL_MODELS", {})
    at = make_app("pages/2_Prompt_lab.py", model="local:qwen2.5-0.5b")
    ok(at.button(key="pl_ask").click().run())
    assert any("make run" in e.value for e in at.error), [e.value for e in at.error]
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(b"GGUF" + b"\0" * 100)
    at = make_app("pages/2_Prompt_lab.py", model=f"local:{damaged}")
    ok(at.button(key="pl_ask").click().run())
    assert any("corrupt" in e.value for e in at.error), [e.value for e in at.error]


# --- RAG lab ------------------------------------------------------------------------------------------------


def test_rag_lab_shows_retrieved_chunks_and_the_gold_evidence(make_app: MakeApp) -> None:
    at = make_app("pages/3_RAG_lab.py")
    assert [t.value for t in at.toggle if t.key.endswith("_rag")] == [False, True]
    ok(at.button(key="rag_ask").click().run())
    shown = texts(at)
    assert "#1 · search score" in shown and "holds the gold evidence" in shown
    assert "The gold evidence is in retrieved chunk #1" in shown
    assert any("within 30 days of delivery" in c.value for c in at.code)  # chunk text rendered as text
    assert ":material/check: contains the gold answer" in shown  # the retrieval variant used the evidence
    ok(at.toggle(key="rag0_rag").set_value(True).run())  # settings changed: the old answer is not shown
    assert "Press 'Ask every variant'" in texts(at)


def test_rag_lab_shows_what_each_retrieval_technique_did(make_app: MakeApp) -> None:
    at = make_app("pages/3_RAG_lab.py")
    at.selectbox(key="rag1_retriever").set_value("hybrid")
    at.checkbox(key="rag1_hyde").check()
    at.checkbox(key="rag1_rerank").check()
    ok(at.checkbox(key="rag1_factcheck").check().run())
    ok(at.button(key="rag_ask").click().run())
    shown = texts(at)
    assert "Search: hybrid" in shown and "Fact-check:" in shown and "by re-ranking" in shown
    assert any(e.label == "Imagined answer used for the search (HyDE)" for e in at.expander)
    ok(at.toggle(key="rag1_rag").set_value(False).run())  # the techniques need retrieval: they switch off
    assert not at.warning
    variant = at.session_state["lab:rag_lab:variants"][1]
    assert not variant.use_retrieval and not variant.hyde and variant.reranker == "none"


@pytest.mark.slow
def test_rag_lab_answers_with_the_real_local_model(make_app: MakeApp) -> None:
    at = make_app("pages/3_RAG_lab.py", model=FAST_LOCAL_MODEL)
    at.slider(key="rag_count").set_value(1).run()
    ok(at.toggle(key="rag0_rag").set_value(True).run())
    ok(at.slider(key="rag0_topk").set_value(1).run())  # one chunk: a short prompt keeps the test quick
    ok(at.button(key="rag_ask").click().run(timeout=300))
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    assert "holds the gold evidence" in shown and "prompt tokens" in shown
    lines = [t.value for t in at.text]
    answer = lines[lines.index("Gold answer: 30 days") + 1]  # the answer follows the question's gold
    assert "30" in answer


# --- Evaluate -----------------------------------------------------------------------------------------------


def test_evaluate_runs_and_shows_charts_matrix_and_downloads(make_app: MakeApp) -> None:
    at = make_app("pages/4_Evaluate.py")
    assert at.multiselect[0].value == ["baseline", "rag"]
    at.number_input(key="ev_limit").set_value(3)
    ok(at.button(key="ev_run").click().run())
    summary = answers_table(at)
    assert list(summary["variant"]) == ["baseline", "rag"] and set(summary["answers"]) == {3.0}
    assert summary.set_index("variant").loc["rag", "accuracy (contains gold)"] > 0
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Answers: contains the gold answer" in s for s in specs)
    assert any("no evidence retrieved" in s for s in specs)
    ok(at.radio(key="ev_metric").set_value("token_f1").run())  # the reader picks the metric that fits
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Answers: word overlap (token F1)" in s for s in specs)
    assert "partial credit for the words the answer shares with the gold" in texts(at)
    ok(at.selectbox(key="ev_cell_q").set_value("t1").run())
    ok(at.selectbox(key="ev_cell_v").set_value("rag").run())
    shown = texts(at)
    assert "Gold answer: 30 days" in shown and "holds the gold evidence" in shown
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"Summary (CSV)", "Every answer (CSV)", "Everything (JSON)"} <= labels
    ok(at.switch_page("app.py").run())
    on_map = [m.value for m in at.markdown if m.value.startswith(":")]
    assert on_map[0].startswith(":gray[●] baseline · **") and on_map[1].startswith(":blue[●] rag · **")
    assert not any("not evaluated" in label for label in on_map)


def test_evaluate_runs_the_sample_ladder_with_the_default_model(make_app: MakeApp) -> None:
    at = make_app("pages/4_Evaluate.py")
    ok(at.radio(key="ev_variants_source").set_value("ladder").run())
    assert at.checkbox(key="ev_variants_use_default").value
    at.number_input(key="ev_limit").set_value(1)
    ok(at.button(key="ev_run").click().run())
    assert {v.variant.model for v in at.session_state[state.LAST_RUN].variants} == {FAKE}


def test_evaluate_uses_uploaded_variants_and_questions(make_app: MakeApp) -> None:
    at = make_app("pages/4_Evaluate.py")
    ok(at.radio(key="ev_variants_source").set_value("upload").run())
    yaml_text = (
        b"variants:\n  - name: short\n    max_tokens: 8\n  - name: looked-up\n    use_retrieval: true\n"
    )
    ok(at.file_uploader(key="ev_variants_file").set_value(("mine.yaml", yaml_text, "text/yaml")).run())
    assert at.multiselect[0].value == ["short", "looked-up"]
    ok(at.radio(key="ev_questions_source").set_value("upload").run())
    csv_text = (
        "question,answers,evidence\nWhere are trips booked?,Wayfarer,made in the Wayfarer travel portal\n"
    )
    ok(
        at.file_uploader(key="ev_questions_file")
        .set_value(("trips.csv", csv_text.encode(), "text/csv"))
        .run()
    )
    assert at.session_state[state.QUESTIONS_LABEL] == "Uploaded: trips.csv"
    ok(at.button(key="ev_run").click().run())
    run = at.session_state[state.LAST_RUN]
    assert [v.variant.name for v in run.variants] == ["short", "looked-up"] and run.variants[1].rows[
        0
    ].qid == "q1"
    ok(
        at.file_uploader(key="ev_variants_file")
        .set_value(("bad.yaml", b"variants: [{nme: x}]", "text/yaml"))
        .run()
    )
    assert any("unknown key 'nme'" in e.value for e in at.error)


def test_evaluate_keeps_the_rows_of_an_interrupted_run_as_stopped(make_app: MakeApp) -> None:
    """A click during a run (Stop, or another page) interrupts the script; what finished must stay."""
    at = make_app("pages/4_Evaluate.py")
    variant = at.session_state[state.VARIANTS][0]
    row = QuestionResult(
        "t1",
        QUESTIONS[0]["question"],
        ["30 days"],
        "30 days",
        "30 days",
        [],
        {"contains": 1.0},
        "### user\n...",
        10,
        2,
        0.1,
        {"generate": 0.1},
        None,
    )
    live = EvalRun("test", "small", "hash", [VariantResult(variant, [row])])
    at.session_state[state.LIVE_RUN] = live
    at.session_state[state.RUN_IN_PROGRESS] = True
    ok(at.button(key="ev_stop").click().run())
    assert any("This run was stopped: 1 answers finished" in w.value for w in at.warning)
    assert at.session_state[state.LAST_RUN].stopped and not at.session_state[state.RUN_IN_PROGRESS]


def test_evaluate_on_an_unusable_data_folder_says_what_to_do_and_keeps_the_last_results(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = make_app("pages/4_Evaluate.py")
    at.number_input(key="ev_limit").set_value(1)
    ok(at.button(key="ev_run").click().run())
    before = at.session_state[state.LAST_RUN]
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(blocker / "data"))
    ok(at.button(key="ev_run").click().run())
    errors = [e.value for e in at.error]
    assert errors and all("PLAYGROUND_DATA_DIR" in e for e in errors)
    assert at.session_state[state.LAST_RUN] is before and not before.stopped
    assert not any("stopped" in w.value for w in at.warning)


# --- Settings -----------------------------------------------------------------------------------------------


def test_settings_choose_the_model_and_keep_the_key_in_the_session_only(
    make_app: MakeApp, tmp_path: Path
) -> None:
    at = make_app("pages/2_Prompt_lab.py")  # creates the lab's own variants with the fake model
    ok(at.switch_page("pages/5_Settings.py").run())
    assert at.radio(key="set_kind").value == "fake"
    ok(at.radio(key="set_kind").set_value("openai-compatible").run())
    ok(at.text_input(key="set_url").input("localhost:8000").run())
    assert any("http://" in e.value for e in at.error)
    ok(at.text_input(key="set_url").input("http://127.0.0.1:8000/v1").run())
    assert at.session_state[state.DEFAULT_MODEL] == "openai-compatible:llama3.2@http://127.0.0.1:8000/v1"
    chosen = at.session_state[state.DEFAULT_MODEL]
    assert {v.model for v in at.session_state[state.VARIANTS]} == {chosen}
    assert {v.model for v in at.session_state["lab:prompt_lab:variants"]} == {chosen}
    secret = "sk-test-secret-123"
    ok(at.text_input(key="set_api_key").input(secret).run())
    assert at.session_state[state.API_KEY] == secret
    assert secret not in texts(at) and "A key typed here is in use" in texts(at)
    assert not any(secret in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())
    assert str(tmp_path / "data") in texts(at)
    ok(at.button(key="set_clear").click().run())
    assert "Caches cleared" in texts(at)


def test_settings_show_and_clear_the_answer_cache(make_app: MakeApp) -> None:
    at = make_app("pages/4_Evaluate.py")
    at.number_input(key="ev_limit").set_value(2)
    ok(at.button(key="ev_run").click().run())
    ok(at.switch_page("pages/5_Settings.py").run())
    assert "Answer cache: 4 model answers" in texts(at) and "2 searches" in texts(at)
    ok(at.button(key="set_clear_answers").click().run())
    assert "The answer cache is empty now." in texts(at) and "Answer cache: 0 model answers" in texts(at)


def test_loaded_models_are_frozen_out_of_the_garbage_collector_until_the_caches_are_cleared(
    make_app: MakeApp,
) -> None:
    """A full collection walked every object torch, chromadb and the models left behind, on nearly every rerun."""
    import gc

    gc.unfreeze()
    at = make_app("pages/3_RAG_lab.py")
    ok(at.button(key="rag_ask").click().run())
    assert gc.get_freeze_count() > 0
    ok(at.switch_page("pages/5_Settings.py").run())
    ok(at.button(key="set_clear").click().run())
    assert gc.get_freeze_count() == 0


# --- A newcomer with their own documents (issue 15) ---------------------------------------------------------

EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def sidebar_status(at: AppTest) -> str:
    return "\n".join(c.value for c in at.sidebar.caption).replace("\\", "")


def test_no_emoji_is_used_anywhere_in_the_app() -> None:
    """Emoji render as empty boxes where no emoji font is installed; Material icons need no font."""
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    found = {f.name: EMOJI.findall(f.read_text()) for f in files}
    assert not {name: chars for name, chars in found.items() if chars}


def test_the_sidebar_lists_home_first_and_follows_each_change_at_once(make_app: MakeApp) -> None:
    at = make_app("pages/5_Settings.py", model="local:qwen2.5-1.5b")
    links = [(e.proto.page, e.proto.label) for e in at.sidebar.get("page_link")]
    assert links[0][1] == "Home" and len(links) == len(widgets.PAGES)
    assert all(e.proto.icon.startswith(":material/") for e in at.sidebar.get("page_link"))
    assert "Qwen2.5-Coder 1.5B" in sidebar_status(at)
    ok(at.selectbox(key="set_local").set_value("local:qwen2.5-0.5b").run())
    assert "Qwen2.5-Coder 0.5B" in sidebar_status(at), "the sidebar names the model chosen by this very click"
    ok(at.switch_page("pages/1_Corpus.py").run())
    ok(at.radio(key="corpus_source_pick").set_value("sample:fictional").run())
    assert "Tansywick" in sidebar_status(at) and "Sample questions" in sidebar_status(at)
    ok(at.radio(key="corpus_source_pick").set_value("upload").run())
    files = [("notes.txt", b"The observatory records the comet every night in March.", "text/plain")]
    ok(at.file_uploader(key="corpus_files").set_value(files).run())
    status = sidebar_status(at)
    assert "Your upload (1 file)" in status and "no question set yet" in status


def test_evaluate_preselects_no_sample_questions_for_an_upload(make_app: MakeApp) -> None:
    at = make_app("pages/4_Evaluate.py", corpus=None)
    assert at.radio(key="ev_questions_source").value == "sample:fictional"  # the sample's own questions
    ok(at.switch_page("pages/1_Corpus.py").run())
    ok(at.radio(key="corpus_source_pick").set_value("upload").run())
    files = [("notes.txt", b"The observatory records the comet every night in March.", "text/plain")]
    ok(at.file_uploader(key="corpus_files").set_value(files).run())
    ok(at.switch_page("pages/4_Evaluate.py").run())
    assert at.radio(key="ev_questions_source").value is None
    assert at.button(key="ev_run").disabled
    assert any("Your documents need questions about them" in i.value for i in at.info)
    assert at.session_state[state.QUESTIONS] is None


def test_the_estimate_is_shown_before_asking_and_offers_a_shorter_run(make_app: MakeApp) -> None:
    at = make_app("pages/3_RAG_lab.py", model="local:qwen2.5-1.5b")
    ok(at.checkbox(key="rag1_rerank").check().run())
    estimates = [c.value for c in at.caption if c.value.startswith("Estimated time:")]
    assert len(estimates) == 2, "each column says how long its answer takes, before Ask"
    assert "re-ranking asks the model about each of the 20 candidates" in estimates[1]
    ok(at.button(key="rag_keep").click().run())  # the re-ranked variant goes to the Evaluate page
    ok(at.switch_page("pages/4_Evaluate.py").run())
    assert "Estimated time:" in texts(at) and "a first guess" in texts(at)
    assert at.button(key="ev_limit_fast").label.startswith("Answer with the faster model")
    fewer = at.button(key="ev_limit_fewer")
    assert fewer.label.startswith("Use only the first")
    ok(fewer.click().run())
    assert at.number_input(key="ev_limit").value < 4
    ok(at.number_input(key="ev_limit").set_value(4).run())
    ok(at.button(key="ev_limit_fast").click().run())
    assert at.session_state[state.DEFAULT_MODEL] == "local:qwen2.5-0.5b"
    assert "Qwen2.5-Coder 0.5B" in sidebar_status(at)


def test_rerank_scores_are_said_to_be_on_another_scale(make_app: MakeApp) -> None:
    at = make_app("pages/3_RAG_lab.py")
    ok(at.checkbox(key="rag1_rerank").check().run())
    ok(at.button(key="rag_ask").click().run())
    shown = texts(at)
    assert "relevance (re-ranker)" in shown and "different scales" in shown


def test_the_prompt_lab_points_to_retrieval_when_prompts_cannot_know_the_documents(
    make_app: MakeApp,
) -> None:
    at = make_app("pages/2_Prompt_lab.py")
    assert not any(
        "organisation" in (v.system_prompt or "") for v in at.session_state["lab:prompt_lab:variants"]
    )
    at.radio(key="pl_question_mode").set_value("Type my own").run()
    at.text_input(key="pl_question_text").input("Which comet does the observatory record?").run()
    ok(at.button(key="pl_ask").click().run())
    assert any("Let it look things up" in i.value for i in at.info), [t.value for t in at.text]
    assert "pages/3_RAG_lab.py" in [e.proto.page for e in at.main.get("page_link")][-1] or any(
        "RAG_lab" in e.proto.page for e in at.main.get("page_link")
    )
