"""Small shared pieces of every page: the page header, the sidebar (links and status), model labels, safe captions.

The sidebar is drawn by the app, not by Streamlit's automatic page list (hidden in .streamlit/config.toml): that
list names the Home page after its file ("app") and shows emoji that render as empty boxes where no emoji font is
installed. Our own `st.page_link`s name every page as we choose, with Material icons that need no font.

Only light modules are imported at the top: the Home page imports this module, and whatever it loads delays the
first page a visitor sees. Models, the fine-tune registry and the cached resources are imported where used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import streamlit as st

from playground.models.local_models import CATALOGUE, model_path
from playground.models.names import known_models, try_parse_model_name
from ui import state

if TYPE_CHECKING:
    from playground.core.config import VariantConfig

HOME = "app.py"
# (script, label in the sidebar, Material icon): the sidebar's links, in this order.
PAGES = (
    (HOME, "Home", ":material/home:"),
    ("pages/1_Corpus.py", "Corpus", ":material/folder_open:"),
    ("pages/2_Prompt_lab.py", "Prompt lab", ":material/edit_note:"),
    ("pages/3_RAG_lab.py", "RAG lab", ":material/manage_search:"),
    ("pages/4_Evaluate.py", "Evaluate", ":material/bar_chart:"),
    ("pages/5_Settings.py", "Settings", ":material/settings:"),
    ("pages/6_Fine_tune.py", "Fine-tune", ":material/tune:"),
    ("pages/7_History.py", "History", ":material/history:"),
    ("pages/8_Leaderboard.py", "Leaderboard", ":material/leaderboard:"),
    ("pages/9_Room.py", "Room", ":material/groups:"),
)
ICONS = {script: icon for script, _, icon in PAGES}


def model_label(name: str) -> str:
    """A readable label for a model name, saying whether a local model is ready on this computer."""
    parsed = try_parse_model_name(name)
    if parsed is None:
        return name
    if parsed.lora is not None:
        return f"{model_label(str(parsed.base))} + LoRA '{parsed.lora.parent.name}' (fine-tuned)"
    if parsed.is_catalogued:
        ready = "" if model_path(parsed.model).exists() else " (not set up yet)"
        return f"{CATALOGUE[parsed.model].label}{ready}"
    if parsed.provider == "fake":
        return "Demo: no model, copies the best-matching sentence (instant)"
    if parsed.provider == "openai":
        return f"OpenAI: {parsed.model}"
    if parsed.provider == "openai-compatible":
        return f"Your server: {parsed.model}@{parsed.base_url}"
    return name


def model_choices(current: str) -> list[str]:
    """The default model and the known ones, plus `current` last, so choosing one never reorders the list.
    In a workshop room, a participant gets the room's models only (and `current`, which callers select)."""
    from ui import room_rules  # the room's file and the ingest package: not needed by the Home page

    allowed = room_rules.allowed_models()
    if allowed is not None:
        return list(dict.fromkeys([*allowed, current]))
    return list(dict.fromkeys([state.default_model(), *known_models(), *finetuned_models(), current]))


def finetuned_models() -> list[str]:
    """LLMs trained on the Fine-tune page (LoRA adapters, OpenAI fine-tunes), found under data_dir/models."""
    from playground.finetune.registry import list_models

    return [m.choice for m in list_models(state.settings()) if m.kind in ("lora", "openai")]


def plain(text: str) -> str:
    """Backslash-escape Markdown punctuation, for short user-provided names shown in a caption."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>$~:])", r"\\\1", text)


def _draw_status(slot: st.delta_generator.DeltaGenerator) -> None:
    from ui import room

    member = room.current_member()
    with slot.container():
        if member is not None:
            role = " (facilitator)" if member.is_facilitator else ""
            st.caption(f"In the room as **{plain(member.name)}**{role}")
        st.caption(f"**Corpus:** {plain(state.corpus_label())}")
        st.caption(f"**Questions:** {plain(state.questions_label())}")
        st.caption(f"**Model:** {plain(model_label(state.default_model()))}")


def sidebar() -> None:
    """The page links, then what the pages currently work with.

    The status sits in a placeholder that is redrawn whenever the corpus, question set or model changes later in
    the same run: drawn only here, it would show the state from before the click that changed it.
    """
    with st.sidebar:
        for script, label, icon in PAGES:
            st.page_link(script, label=label, icon=icon)
        st.divider()
        slot = st.empty()
    _draw_status(slot)
    state.on_status_change(lambda: _draw_status(slot))


def pad(variants: Sequence[VariantConfig], count: int, extra: Sequence[VariantConfig]) -> list[VariantConfig]:
    """`count` variants: the given ones first, then from `extra` (or copies of the last one)."""
    out = list(variants[:count])
    pool = [v for v in extra if v.name not in {o.name for o in out}]
    while len(out) < count:
        out.append(pool.pop(0) if pool else out[-1].model_copy(update={"name": f"{out[-1].name} copy"}))
    return out


def page_start(title: str, script: str, intro: str, *, load_corpus: bool = True) -> None:
    """Page config, title, a one-paragraph intro and the sidebar: the top of every page.

    `script` names the page (its path, as in PAGES) for its icon. `load_corpus=False` (the Home page) skips
    reading the default sample, so the first paint stays fast.
    """
    st.set_page_config(page_title=f"{title} · LLM playground", page_icon=ICONS[script], layout="wide")
    st.title(title)
    st.caption(intro)
    sidebar()
    if load_corpus:
        # models, indexes, chromadb: not needed by the Home page's first paint
        from ui import resources, room_rules

        room_rules.follow_room()  # in a workshop room, the room's corpus, questions and models
        resources.current_corpus()  # the default sample, read once per process, so every page has a corpus
