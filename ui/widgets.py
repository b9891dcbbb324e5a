"""Small shared pieces of every page: the page header and sidebar status, model labels, safe captions."""

from __future__ import annotations

import re
from collections.abc import Sequence

import streamlit as st

from playground.core.config import VariantConfig
from playground.finetune.registry import list_models
from playground.models.llms import known_models, split_lora
from playground.models.local_models import CATALOGUE, model_path
from ui import resources, state


def model_label(name: str) -> str:
    """A readable label for a model name, saying whether a local model is ready on this computer."""
    provider, _, rest = name.partition(":")
    base, adapter = split_lora(name)
    if adapter is not None:
        return f"{model_label(base)} + LoRA '{adapter.parent.name}' (fine-tuned)"
    if provider == "local" and rest in CATALOGUE:
        ready = "" if model_path(rest).exists() else " (not set up yet)"
        return f"{CATALOGUE[rest].label}{ready}"
    if provider == "fake":
        return "Demo: no model, copies the best-matching sentence (instant)"
    if provider == "openai":
        return f"OpenAI: {rest}"
    if provider == "openai-compatible":
        return f"Your server: {rest}"
    return name


def model_choices(current: str) -> list[str]:
    """The default model and the known ones, plus `current` last, so choosing one never reorders the list."""
    return list(dict.fromkeys([state.default_model(), *known_models(), *finetuned_models(), current]))


def finetuned_models() -> list[str]:
    """LLMs trained on the Fine-tune page (LoRA adapters, OpenAI fine-tunes), found under data_dir/models."""
    return [m.choice for m in list_models(state.settings()) if m.kind in ("lora", "openai")]


def plain(text: str) -> str:
    """Backslash-escape Markdown punctuation, for short user-provided names shown in a caption."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>$~:])", r"\\\1", text)


def sidebar_status() -> None:
    """What the pages currently work with, shown in the sidebar of every page."""
    with st.sidebar:
        st.caption(f"**Corpus:** {plain(state.corpus_label())}")
        st.caption(f"**Questions:** {plain(state.questions_label())}")
        st.caption(f"**Model:** {plain(model_label(state.default_model()))}")


def pad(variants: Sequence[VariantConfig], count: int, extra: Sequence[VariantConfig]) -> list[VariantConfig]:
    """`count` variants: the given ones first, then from `extra` (or copies of the last one)."""
    out = list(variants[:count])
    pool = [v for v in extra if v.name not in {o.name for o in out}]
    while len(out) < count:
        out.append(pool.pop(0) if pool else out[-1].model_copy(update={"name": f"{out[-1].name} copy"}))
    return out


def page_start(title: str, icon: str, intro: str, *, load_corpus: bool = True) -> None:
    """Page config, title, a one-paragraph intro and the sidebar status: the top of every page.

    `load_corpus=False` (the Home page) skips reading the default sample, so the first paint stays fast.
    """
    st.set_page_config(page_title=f"{title} · LLM playground", page_icon=icon, layout="wide")
    st.title(title)
    st.caption(intro)
    if load_corpus:
        resources.current_corpus()  # the default sample, read once per process, so every page has a corpus
    sidebar_status()
