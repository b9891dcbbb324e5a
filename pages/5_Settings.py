"""Settings: the default model, an API key for hosted models (this session only), data folder, caches."""

from __future__ import annotations

import os

import streamlit as st

from playground.core.errors import UnknownModelError
from playground.models.llamacpp import loaded_local_models
from playground.models.local_models import CATALOGUE, SETUP_COMMAND, model_path
from playground.models.names import (
    compatible_model_name,
    local_model_name,
    openai_model_name,
    parse_model_name,
    try_parse_model_name,
)
from playground.storage import cache_admin as cache
from ui import resources, room_rules, state, widgets

LOCAL, OPENAI, COMPATIBLE, DEMO = "local", "openai", "openai-compatible", "fake"
KINDS = {
    LOCAL: "A local model on this computer (no key, nothing leaves the machine)",
    OPENAI: "OpenAI (needs an API key)",
    COMPATIBLE: "An OpenAI-compatible server (Ollama, vLLM, llama.cpp server…)",
    DEMO: "Demo mode: no model, copies the best-matching sentence (instant)",
}

widgets.page_start(
    "Settings",
    "pages/5_Settings.py",
    "Which model answers by default, keys for hosted models, and caches.",
)


# --- default model ------------------------------------------------------------------------------------------
def chosen_model(kind: str, current: str) -> str | None:
    """The model name the controls describe, or None while it is incomplete."""
    parsed = try_parse_model_name(current)
    provider = parsed.provider if parsed else None
    if kind == LOCAL:
        names = [str(local_model_name(n)) for n in CATALOGUE]
        names += [current] if provider == LOCAL and current not in names else []
        pick = st.selectbox(
            "Local model",
            names,
            index=names.index(current) if current in names else 0,
            key="set_local",
            format_func=widgets.model_label,
            help="Smaller models answer faster; larger ones answer better.",
        )
        picked = parse_model_name(pick)
        if picked.is_catalogued and not model_path(picked.model).exists():
            st.warning(f"This model is not set up on this computer yet. Run the set-up: {SETUP_COMMAND}.")
        return pick
    if kind == OPENAI:
        name = st.text_input(
            "OpenAI model name",
            value=parsed.model if parsed and provider == OPENAI else "gpt-4o-mini",
            key="set_openai",
            help="For example gpt-4o-mini. Needs an API key (below).",
        )
        return str(openai_model_name(name.strip())) if name.strip() else None
    if kind == COMPATIBLE:
        model, url = (
            (parsed.model, parsed.base_url or "")
            if parsed and provider == COMPATIBLE
            else ("llama3.2", "http://localhost:11434/v1")
        )
        url = st.text_input(
            "Server address (base URL)",
            value=url,
            key="set_url",
            help="The server's OpenAI-style address, usually ending in /v1.",
        )
        model = st.text_input(
            "Model name on that server",
            value=model,
            key="set_remote_model",
            help="The name the server knows the model by, e.g. llama3.2 for Ollama.",
        )
        try:
            return str(compatible_model_name(model.strip(), url.strip()))
        except UnknownModelError:
            st.error("Give a model name and an address that starts with http:// or https://.")
            return None
    return "fake:extractive"


st.subheader("Default model")
current = state.default_model()
kinds = list(KINDS)
current_name = try_parse_model_name(current)
provider = current_name.provider if current_name else LOCAL
kind = st.radio(
    "Where answers come from",
    kinds,
    format_func=KINDS.get,
    key="set_kind",
    index=kinds.index(provider) if provider in kinds else 0,
    help="The model that new variants use; variants that used the previous default switch too.",
)
name = chosen_model(kind, current)
if name is not None:
    state.set_default_model(name)
st.caption(f"Default model now: {widgets.model_label(state.default_model())}")

# --- API key ------------------------------------------------------------------------------------------------
st.subheader("API key for hosted models")
typed = st.text_input(
    "OpenAI API key",
    value=state.typed_api_key(),
    type="password",
    key="set_api_key",
    help="Kept only in this browser session's memory: never saved to disk, gone when you close the tab.",
)
state.set_typed_api_key(typed)
if state.typed_api_key():
    st.caption("A key typed here is in use for this session.")
elif os.environ.get("OPENAI_API_KEY"):
    st.caption("A key was found in the environment (OPENAI_API_KEY) and is in use; it is not shown.")
else:
    st.caption("No key: hosted models will not work. Local models and the demo mode need none.")

# --- data folder and caches ---------------------------------------------------------------------------------
st.subheader("Data folder")
st.code(str(state.settings().data_dir), language=None)
st.caption("Indexes and results are kept here. Set PLAYGROUND_DATA_DIR before starting the app to move it.")

with st.expander("Server settings (set as environment variables before starting the app)"):
    server = state.settings()
    st.dataframe(
        [
            {
                "variable": "PLAYGROUND_CHROMA_URL",
                "value": server.chroma_url or "(embedded store)",
                "what it does": "Keep the indexes on a chromadb server instead of in the data folder.",
            },
            {
                "variable": "PLAYGROUND_CONCURRENCY",
                "value": str(server.concurrency or "auto"),
                "what it does": "Answers in flight at once during an evaluation (auto: 4 hosted, 1 local).",
            },
            {
                "variable": "PLAYGROUND_REQUEST_TIMEOUT_S",
                "value": f"{server.request_timeout_s:g}",
                "what it does": "Seconds to wait for a hosted model's answer.",
            },
            {
                "variable": "PLAYGROUND_MAX_RETRIES",
                "value": str(server.max_retries),
                "what it does": "Retries after a timeout, a dropped connection, a 429 or a 5xx answer.",
            },
        ],
        hide_index=True,
        width="stretch",
    )

st.subheader("Caches")
loaded = loaded_local_models()
st.caption(
    "Local models in memory: "
    + (", ".join(loaded) if loaded else "none yet (they load when first used)")
    + ". They stay loaded, so switching back to one is instant; clearing the caches below frees them."
)
shared = room_rules.follows_room()  # a room's participant: the caches are the whole room's, not theirs
if shared:
    st.caption("In a workshop room the caches are shared by everyone: only the facilitator clears them.")
if not shared and st.button(
    "Clear cached models, corpora and indexes",
    key="set_clear",
    help="Forgets cached objects so the next use loads them afresh; the index files on disk are kept.",
):
    resources.clear_caches()
    st.success("Caches cleared. The next question loads what it needs again.")

if (
    not shared
    and st.button(
        "Clear the answer cache",
        key="set_clear_answers",
        help="Deletes every cached answer, embedding and search, so the next evaluation asks the models again. "
        "Saved runs in the History stay.",
    )
    and resources.guarded("clearing the answer cache", cache.clear_cache, state.settings()) is not None
):
    st.success("The answer cache is empty now.")
stats = resources.guarded("reading the answer cache", cache.cache_stats, state.settings())
if stats is not None:
    st.caption(
        f"Answer cache: {stats['llm']:,} model answers, {stats['scores']:,} rerank scores, "
        f"{stats['embedding']:,} embeddings and {stats['retrieval']:,} searches, {stats['bytes'] / 1e6:.1f} MB. "
        "An unchanged evaluation is answered from it instantly."
    )
