"""Choosing a re-ranker in the RAG lab (AppTest): the language model or a cross-encoder, a cross-encoder trained on
the Fine-tune page or a rerank server typed by name, how its order meets the search's; a typo is a warning."""

from __future__ import annotations

import json

from playground.core.settings import Settings
from tests.test_app_pages import MakeApp, make_app, ok, small_corpus, texts  # noqa: F401 (fixtures)
from tests.test_rerankers import RerankStub, rerank_server


def _variant(at, column: int = 1):
    return at.session_state["lab:rag_lab:variants"][column]


def test_a_cross_encoder_trained_here_is_offered_and_chosen(make_app: MakeApp, settings: Settings) -> None:  # noqa: F811
    folder = settings.data_dir / "models" / "my-reranker"
    folder.mkdir(parents=True)
    (folder / "finetune.json").write_text(json.dumps({"kind": "reranker", "trained_on": "the sample"}))
    at = make_app("pages/3_RAG_lab.py")
    at.checkbox(key="rag1_rerank").check().run()
    ok(at.selectbox(key="rag1_reranker").set_value("cross-encoder").run())
    assert at.selectbox(key="rag1_ce").options[0] == "Trained here: my-reranker"
    variant = _variant(at)
    assert variant.reranker == "cross-encoder" and variant.reranker_model == f"ce:{folder}"
    assert variant.rerank_fusion == "auto"
    ok(at.selectbox(key="rag1_fusion").set_value("interpolate").run())
    ok(at.slider(key="rag1_rerank_weight").set_value(0.3).run())
    assert (_variant(at).rerank_fusion, _variant(at).rerank_weight) == ("interpolate", 0.3)


def test_a_rerank_server_typed_by_name_reranks_the_answer(make_app: MakeApp) -> None:  # noqa: F811
    stub = RerankStub()
    with rerank_server(stub) as url:
        at = make_app("pages/3_RAG_lab.py")
        at.checkbox(key="rag1_rerank").check().run()
        at.selectbox(key="rag1_reranker").set_value("cross-encoder").run()
        assert any("No cross-encoder chosen yet" in i.value for i in at.info)
        assert _variant(at).reranker == "llm", "the previous settings stay until a cross-encoder is named"
        ok(at.text_input(key="rag1_ce_name").input("local:qwen2.5-0.5b").run())
        assert any("is not a cross-encoder name" in w.value for w in at.warning)
        ok(at.text_input(key="rag1_ce_name").input(f"rerank:m@{url}").run())
        assert _variant(at).reranker_model == f"rerank:m@{url}"
        ok(at.button(key="rag_ask").click().run())
    assert len(stub.requests) == 1 and stub.requests[0]["model"] == "m"
    assert "relevance (re-ranker)" in texts(at)


def test_the_llm_reranker_can_judge_with_another_model(make_app: MakeApp) -> None:  # noqa: F811
    at = make_app("pages/3_RAG_lab.py")
    at.checkbox(key="rag1_rerank").check().run()
    assert _variant(at).reranker == "llm" and _variant(at).reranker_model is None
    ok(at.selectbox(key="rag1_rerank_llm").set_value("local:qwen2.5-1.5b").run())
    assert _variant(at).reranker_model == "local:qwen2.5-1.5b"
    ok(at.checkbox(key="rag1_rerank").uncheck().run())
    assert (_variant(at).reranker, _variant(at).reranker_model) == ("none", None)
