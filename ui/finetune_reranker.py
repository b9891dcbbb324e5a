"""The reranker on the Fine-tune page: its hyperparameters (step 2), the corpus's chunks its job mines hard
negatives from (step 3), and retrieval with and without it on the held-out questions (step 4)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from playground.core.documents import Corpus
from playground.finetune import data, evaluate, registry
from playground.finetune.charts import before_after_chart
from playground.finetune.reranker import LOSSES, RerankHyper, planned_size
from playground.finetune.reranker_job import save_chunks
from ui import resources, state

LOSS_LABELS = {"bce": "Pairwise yes / no", "listwise": "Ranked (listwise)"}
DEFAULT_SENTENCES = 200


def hyper() -> RerankHyper:
    a, b, c, h = st.columns(4)
    epochs = a.number_input(
        "Epochs", 1, 20, 1, key="ft_r_epochs", help="Passes over the pairs. 1-2 is usual."
    )
    batch = b.number_input("Batch size", 1, 128, 16, key="ft_r_batch", help="Pairs per step.")
    lr = c.number_input(
        "Learning rate",
        1e-7,
        1e-2,
        5e-5,
        format="%.1e",
        key="ft_r_lr",
        help="Step size of the encoder (the MiniLM layers).",
    )
    head_lr = h.number_input(
        "Head learning rate",
        1e-6,
        1e-1,
        1e-3,
        format="%.1e",
        key="ft_r_head_lr",
        help="Step size of the scoring head, which starts from random weights: larger than the encoder's, "
        "so a few hundred steps are enough for it to learn.",
    )
    d, e, f, g = st.columns(4)
    negatives = d.number_input(
        "Hard negatives per question",
        1,
        30,
        4,
        key="ft_r_negatives",
        help="Passages BM25 and dense search rank high that do not hold the evidence: the reranker learns "
        "to push them down. More teach more, and cost more time.",
    )
    length = e.number_input(
        "Max length (tokens)",
        32,
        512,
        256,
        32,
        key="ft_r_length",
        help="Tokens of question + passage the model reads at once; a longer passage is read in windows of "
        "that length and scores as its best one. Shorter is faster to train; reranking reads every window.",
    )
    loss = f.selectbox(
        "Loss",
        LOSSES,
        key="ft_r_loss",
        format_func=LOSS_LABELS.__getitem__,
        help="Each pair on its own (yes / no per passage), or ranked: each question's evidence against its "
        "hard negatives and other questions' passages at once, which is what a reranker is used for.",
    )
    layers = g.number_input(
        "Layers",
        1,
        6,
        6,
        key="ft_r_layers",
        help="Transformer layers kept from the MiniLM (it has 6). Fewer make a smaller model that trains and "
        "reranks faster (2 layers: 0.34 s for 50 passages against 0.83 s), but may learn nothing: on SciFact "
        "a 2-layer model still gave every passage the same score after 1,800 steps, where 6 layers learned. "
        "Keep 6 unless you are experimenting; a model that learns nothing is not saved.",
    )
    return RerankHyper(
        epochs=int(epochs),
        batch_size=int(batch),
        learning_rate=float(lr),
        head_learning_rate=float(head_lr),
        negatives=int(negatives),
        max_length=int(length),
        loss=loss,
        layers=0 if int(layers) >= 6 else int(layers),
    )


def sentences_input() -> int:
    """How many passages give a sentence as a question for the rest of the passage (the inverse cloze task):
    training data from the documents alone, no question set or generation needed."""
    column = st.columns(4)[0]
    return int(
        column.number_input(
            "Sentences as questions",
            0,
            100_000,
            DEFAULT_SENTENCES,
            50,
            key="ft_r_sentences",
            help="Also train on this many passages of the corpus, each with one of its sentences taken out "
            "and asked as a question for the rest of it: the model learns what a passage is about, from your "
            "documents alone (no question set needed, no waiting for an LLM to write questions). Passages "
            "with fewer than three sentences, and those holding a held-out question's evidence, give none. "
            "On SciFact, adding 5,175 such sentences to its 674 written questions lifted the reranker alone "
            "from nDCG@10 0.36 to 0.64; on a small corpus a few dozen sentences teach little (step 4 shows "
            "it). 0 trains on the questions of step 1 only.",
        )
    )


def _passages() -> int:
    corpus = resources.current_corpus()
    return len(resources.chunks(corpus, state.index_config())) if corpus is not None else 0


def size_text(questions: int, sentences: int, plan: RerankHyper) -> str:
    """What a run will read, and roughly how long it takes (layers scale the time; a listwise step reads each
    question's evidence, its negatives and a few other questions' passages). Each passage gives at most one
    sentence."""
    sentences = min(sentences, _passages())
    size = planned_size(questions + sentences, plan)
    layers = plan.layers or 6
    made = f" and up to {sentences} sentences taken out of passages" if sentences else ""
    return (
        f"{questions} questions{made}, each with {plan.negatives} hard negatives: up to {size.steps} steps "
        f"reading about {size.pairs_read} pairs in all. On 2 CPU cores expect roughly "
        f"{5 * 6 / layers:.0f} pairs per second at max length 256 with {layers} layers, plus a minute to mine "
        "negatives."
    )


def chunks_file(folder: Path) -> str:
    """The current corpus's chunks beside the job's training items: the worker mines negatives among them."""
    corpus = resources.current_corpus()
    chunks = resources.chunks(corpus, state.index_config()) if corpus is not None else []
    return str(save_chunks(folder / "chunks.jsonl", chunks))


def _compare(model: registry.FineTunedModel, items: list[data.TrainingItem], corpus: Corpus, k: int) -> None:
    with st.spinner(
        "Retrieving for each held-out question and reranking (the first time indexes the corpus)…"
    ):
        scores = evaluate.rerank_scores(
            items, corpus, state.index_config(), model.choice, state.settings(), k=k
        )
    state.set_lab_value("ft_eval_rerank", (model.choice, k, scores))


RERANKED = ("retrieval", "+ reranker, fused (the default)", "+ reranker's order alone")


def _result(choice: str) -> None:
    found = state.lab_value("ft_eval_rerank")
    if not found or found[0] != choice or len(found[2]) != len(RERANKED):
        return
    _, k, scores = found
    st.plotly_chart(
        before_after_chart(
            list(RERANKED), [s.hit for s in scores], f"Held-out questions whose evidence is in the top {k}"
        ),
        key="ft_eval_rerank_chart",
        width="stretch",
    )
    st.caption(
        " · ".join(
            f"{name}: hit@{k} {s.hit:.0%}, MRR {s.mrr:.2f} on {s.n} questions"
            for name, s in zip(RERANKED, scores, strict=True)
        )
    )
    base, alone = scores[0], scores[-1]
    if alone.mrr < base.mrr:
        st.info(
            "Alone, this reranker orders the passages worse than retrieval did: it has not learned enough to "
            "lead (a cross-encoder usually needs thousands of questions; more sentences as questions, more "
            "epochs or a larger question set help). A variant fuses it with the retriever's scores by "
            "default, which is the middle bar.",
            icon=":material/info:",
        )


def evaluate_step(model: registry.FineTunedModel, items: list[data.TrainingItem], corpus: Corpus) -> None:
    k = int(
        st.number_input(
            "k (how many passages the answer sees)",
            1,
            20,
            5,
            key="ft_eval_rk",
            help="hit@k: the share of questions whose evidence is among the top k, before and after reranking "
            "the top 20 that retrieval found: fused with retrieval's scores as a variant does by default "
            "(interpolated, weight 0.5), and by the reranker's order alone (a variant's 'replace').",
        )
    )
    if st.button(
        "Compare with and without the reranker",
        key="ft_eval_rerank_go",
        type="primary",
        disabled=not items,
        help="The corpus settings' retrieval on the held-out questions, then the same candidates reordered.",
    ):
        resources.guarded(
            "comparing retrieval with and without the reranker", _compare, model, items, corpus, k
        )
    _result(model.choice)
    st.caption(
        f"Use it in a variant: reranker **cross-encoder**, reranker model `{model.choice}` (it is offered in "
        "the reranker choices)."
    )
