"""Step 4 of the Fine-tune page: base against fine-tuned on the held-out questions (hit@k for embedders;
answer accuracy without and with retrieval for LLMs), and handing the winners to the rest of the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from playground.core.documents import Corpus
from playground.finetune import data, evaluate, registry
from playground.finetune.charts import before_after_chart
from playground.finetune.embeddings import BASE_EMBEDDER
from playground.finetune.split import Split
from playground.models.names import openai_model_name
from playground.reporting.charts import accuracy_chart
from ui import finetune_reranker, queue_status, resources, state, views


def _heldout(model: registry.FineTunedModel, split: Split | None) -> list[data.TrainingItem]:
    path = Path(str(model.meta.get("heldout", "")))
    if path.is_file():
        return data.load_items(path)
    return list(split.heldout) if split else []


def _compare_retrieval(
    model: registry.FineTunedModel, items: list[data.TrainingItem], corpus: Corpus, k: int
) -> None:
    settings, index = state.settings(), state.index_config()
    with st.spinner("Indexing the corpus with each embedder and searching (the first time takes a while)…"):
        scores = [
            evaluate.retrieval_score(items, corpus, index, name, settings, k=k)
            for name in (BASE_EMBEDDER, model.choice)
        ]
    state.set_lab_value("ft_eval_retrieval", (model.choice, k, scores))


def _compare_answers(model: registry.FineTunedModel, items: list[data.TrainingItem], corpus: Corpus) -> None:
    base = str(model.meta["base_model"])
    base = str(openai_model_name(base)) if model.kind == "openai" else base
    variants = evaluate.comparison_variants(base, model.choice, state.index_config())
    bar = st.progress(0.0, text="Answering…")

    def on_row(result: Any, row: Any, done: int, total: int) -> None:
        bar.progress(done / total, text=f"Answered {done} of {total} ({result.variant.name})")

    run = queue_status.as_session(evaluate.answer_comparison)(
        items, corpus, variants, state.settings(), on_row=on_row
    )
    bar.empty()
    state.set_lab_value("ft_eval_answers", (model.choice, run, variants))


def _retrieval_result(choice: str) -> None:
    found = state.lab_value("ft_eval_retrieval")
    if not found or found[0] != choice:
        return
    _, k, scores = found
    st.plotly_chart(
        before_after_chart(
            ["base embedder", "fine-tuned"],
            [s.hit for s in scores],
            f"Held-out questions whose evidence is in the top {k}",
        ),
        key="ft_eval_chart",
        width="stretch",
    )
    st.caption(
        " · ".join(
            f"{name}: hit@{k} {s.hit:.0%}, MRR {s.mrr:.2f} on {s.n} questions"
            for name, s in zip(("base", "fine-tuned"), scores, strict=True)
        )
    )
    if st.button(
        "Use this embedder in new variants",
        key="ft_use_embedder",
        help="Sets the embedder of the corpus settings, which the labs' variants follow.",
    ):
        state.set_index_config(state.index_config().model_copy(update={"embedder": choice}))
        st.toast("The labs now retrieve with the fine-tuned embedder.")


def _answers_result(choice: str) -> None:
    found = state.lab_value("ft_eval_answers")
    if not found or found[0] != choice:
        return
    _, run, variants = found
    views.summary_table(run)
    st.plotly_chart(accuracy_chart(run.summary_rows()), key="ft_eval_acc", width="stretch")
    if st.button(
        "Send these four variants to the Evaluate page",
        key="ft_send",
        help="Base, fine-tuned, RAG and fine-tuned + RAG, to score on any question set.",
    ):
        state.set_variants(list(variants))
        st.toast("The Evaluate page will run these variants.")


def evaluate_step(kind: str, corpus: Corpus) -> None:
    settings = state.settings()
    models = registry.list_models(settings, kind)
    if not models:
        st.caption("No fine-tuned model of this kind yet: train one in step 3.")
        return
    by_choice = {m.choice: m for m in models}
    choice = st.selectbox(
        "Fine-tuned model",
        list(by_choice),
        format_func=lambda c: by_choice[c].label,
        key=f"ft_eval_model_{kind}",
        help="Compared with the model it was trained from.",
    )
    model = by_choice[choice]
    items = _heldout(model, state.lab_value("ft_split"))
    st.caption(f"{len(items)} held-out questions (kept out of this model's training).")
    if kind == "reranker":
        finetune_reranker.evaluate_step(model, items, corpus)
        return
    if kind == "embeddings":
        k = int(
            st.number_input(
                "k (how many passages retrieval returns)",
                1,
                20,
                5,
                key="ft_eval_k",
                help="hit@k: the share of questions whose evidence is among the top k.",
            )
        )
        if st.button(
            "Compare retrieval",
            key="ft_eval_go",
            type="primary",
            disabled=not items,
            help="Base and fine-tuned embedder on the same held-out questions.",
        ):
            resources.guarded("comparing the embedders", _compare_retrieval, model, items, corpus, k)
        _retrieval_result(choice)
        return
    limit = int(
        st.number_input(
            "Questions to use",
            1,
            max(1, len(items)),
            min(10, max(1, len(items))),
            key="ft_eval_limit",
            help="Four variants answer each question: fewer is faster.",
        )
    )
    if st.button(
        "Compare answers",
        key="ft_eval_go",
        type="primary",
        disabled=not items,
        help="Base model, fine-tuned, RAG and fine-tuned + RAG on the held-out questions.",
    ):
        resources.guarded("comparing the models", _compare_answers, model, items[:limit], corpus)
    _answers_result(choice)
