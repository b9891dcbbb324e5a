"""The re-ranking controls of the variant editor: on or off, which re-ranker (the language model, or a
cross-encoder trained on the Fine-tune page or reached at a rerank server), how its order meets the search's, and
how many candidates it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from playground.core.config import VariantConfig
from playground.models.names import RERANKER_FORMS, try_parse_model_name
from ui import state
from ui.widgets import model_choices, model_label

KINDS = {
    "llm": "The language model (asks it 'does this help?')",
    "cross-encoder": "A cross-encoder (a model made for ranking)",
}
FUSIONS = {
    "auto": "Automatic (both scores mixed, half and half: a sure re-ranker leads, an unsure one moves little)",
    "rrf": "Merge both orders (reciprocal rank fusion)",
    "interpolate": "Mix both scores, weighted",
    "replace": "The re-ranker's order alone",
}
OTHER = "other"
OWN_MODEL = ""


def trained_rerankers() -> list[str]:
    """Cross-encoders trained on the Fine-tune page (`ce:<folder>` names), newest first."""
    from playground.finetune import registry

    return list(registry.trained_rerankers(state.settings()))


def _reranker_label(name: str) -> str:
    parsed = try_parse_model_name(name)
    if name == OTHER:
        return "Another one (type its name below)"
    if parsed is not None and parsed.provider == "ce":
        return f"Trained here: {Path(parsed.model).name}"
    return name


def _cross_encoder(key: str, current: str | None, disabled: bool) -> str | None:
    """A trained cross-encoder, or a typed `ce:<folder>` / `rerank:<model>@<url>`; None until one is valid."""
    trained = trained_rerankers()
    choices = [*trained, OTHER]
    picked = st.selectbox(
        "Cross-encoder",
        choices,
        # The newest trained one first, unless the variant names another.
        index=choices.index(current) if current in trained else 0 if current is None else len(choices) - 1,
        key=f"{key}_ce",
        format_func=_reranker_label,
        disabled=disabled,
        help="Train one on the Fine-tune page (what to train: the reranker), or name a folder or a server below.",
    )
    if picked != OTHER:
        return picked
    typed = st.text_input(
        "Cross-encoder name",
        value=current if current and current not in trained else "",
        key=f"{key}_ce_name",
        disabled=disabled,
        placeholder="ce:/path/to/folder or rerank:bge-reranker-v2-m3@http://localhost:8000",
        help=f"{RERANKER_FORMS}. A rerank server is vLLM, Text Embeddings Inference, Infinity or "
        "llama-server --reranking.",
    ).strip()
    parsed = try_parse_model_name(typed) if typed else None
    if typed and (parsed is None or not parsed.is_reranker):
        st.warning(f"'{typed}' is not a cross-encoder name: write {RERANKER_FORMS}.")
        return None
    if not typed and not disabled:
        st.info(
            "No cross-encoder chosen yet: train one on the Fine-tune page, or type a name above. The "
            "previous settings stay in use until then.",
            icon=":material/info:",
        )
    return typed or None


def _judge(key: str, answering: str, current: str | None, disabled: bool) -> str | None:
    """The chat model that judges relevance; None: the variant's own model (`answering`)."""
    choices = list(dict.fromkeys([OWN_MODEL, *model_choices(current or answering)]))
    current = current or OWN_MODEL
    picked = st.selectbox(
        "Model that judges relevance",
        choices,
        index=choices.index(current),
        key=f"{key}_rerank_llm",
        format_func=lambda n: "The variant's own model" if n == OWN_MODEL else model_label(n),
        disabled=disabled,
        help="A larger model judges better but takes longer: it reads every candidate.",
    )
    return picked or None


def reranker_fields(key: str, variant: VariantConfig, use: bool) -> dict[str, Any]:
    """The variant's reranker, reranker_model, rerank_fusion, rerank_weight and rerank_candidates."""
    rerank = st.checkbox(
        "Re-rank the pieces with the model",
        value=variant.reranker != "none",
        key=f"{key}_rerank",
        disabled=not use,
        help="Fetch more candidates, let a model judge how relevant each one is, and keep the best top-k.",
    )
    on = use and rerank
    kinds = list(KINDS)
    kind = st.selectbox(
        "Re-ranker",
        kinds,
        index=kinds.index(variant.reranker) if variant.reranker in kinds else 0,
        key=f"{key}_reranker",
        format_func=KINDS.__getitem__,
        disabled=not on,
        help="A cross-encoder reads the question and a piece together and is fast; the language model is "
        "slow and, when small, a poor judge.",
    )
    current = variant.reranker_model if variant.reranker == kind else None
    model = (
        _cross_encoder(key, current, not on)
        if kind == "cross-encoder"
        else _judge(key, variant.model, current, not on)
    )
    fusions = list(FUSIONS)
    fusion = st.selectbox(
        "Combine with the search's order",
        fusions,
        index=fusions.index(variant.rerank_fusion),
        key=f"{key}_fusion",
        format_func=FUSIONS.__getitem__,
        disabled=not on,
        help="Mixing the re-ranker's confidence into the search's scores keeps what the search found best "
        "unless the re-ranker is sure, so an unsure judge (a small model) cannot ruin a good search. The "
        "re-ranker's order alone suits a strong cross-encoder.",
    )
    weight = variant.rerank_weight
    if fusion == "interpolate":
        weight = st.slider(
            "Re-ranker's weight",
            0.0,
            1.0,
            value=float(variant.rerank_weight),
            step=0.1,
            key=f"{key}_rerank_weight",
            disabled=not on,
            help="0 = the search's order, 1 = the re-ranker's order.",
        )
    candidates = st.number_input(
        "Candidates to re-rank",
        1,
        200,
        value=variant.rerank_candidates,
        key=f"{key}_candidates",
        disabled=not on,
        help="How many pieces the search fetches for the re-ranker to judge; at least the top-k.",
    )
    return {
        "reranker": kind if rerank else "none",
        "reranker_model": model if rerank else None,
        "rerank_fusion": fusion,
        "rerank_weight": float(weight),
        "rerank_candidates": int(candidates),
    }
