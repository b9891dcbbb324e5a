"""Widget groups that build library configs: the chunking editor and the variant editor.

Every control carries a one-line, plain-language `help=`, so a non-engineer knows what it changes. Invalid
combinations show a warning and keep the previous config, so a half-typed edit never breaks a page.
"""

from __future__ import annotations

from typing import Any, Literal

import streamlit as st
from pydantic import ValidationError

from playground.core.config import FewShotExample, IndexConfig, VariantConfig
from playground.core.errors import ConfigError
from playground.ingest.chunking import CHUNKERS
from playground.rag.prompts import DEFAULT_RAG_TEMPLATE, DEFAULT_SYSTEM, DEFAULT_TEMPLATE, render_template
from ui.reranker_choice import reranker_fields
from ui.widgets import model_choices, model_label

CHUNKER_LABELS = {
    "recursive": "By paragraphs and sentences",
    "tokens": "Fixed number of tokens",
    "markdown": "By headings (Markdown sections)",
}
RETRIEVER_LABELS = {
    "dense": "By meaning (embeddings)",
    "bm25": "By matching words (BM25)",
    "hybrid": "Both, merged (hybrid)",
}
# What the retrieval techniques are set to when retrieval is off (the config refuses them without retrieval).
TECHNIQUES_OFF: dict[str, Any] = {
    "retriever": "dense",
    "hyde": False,
    "query_expansion": 0,
    "reranker": "none",
    "reranker_model": None,
    "classify": False,
    "fact_check": False,
}


def index_editor(key: str, config: IndexConfig, disabled: bool = False) -> IndexConfig:
    """Chunker, chunk size and overlap. An overlap that does not fit the size keeps the previous settings."""
    chunker = st.selectbox(
        "How to cut documents",
        CHUNKERS,
        index=CHUNKERS.index(config.chunker),
        key=f"{key}_chunker",
        disabled=disabled,
        format_func=lambda c: CHUNKER_LABELS.get(c, c),
        help="Retrieval searches pieces of documents ('chunks'); this decides where the cuts fall.",
    )
    size = st.number_input(
        "Chunk size (tokens)",
        min_value=16,
        max_value=2000,
        value=config.chunk_size,
        step=25,
        key=f"{key}_size",
        disabled=disabled,
        help="Longest piece, in tokens (about ¾ of a word each). Small is precise, large keeps more context.",
    )
    overlap = st.number_input(
        "Overlap (tokens)",
        min_value=0,
        max_value=1000,
        value=config.chunk_overlap,
        step=10,
        key=f"{key}_overlap",
        disabled=disabled,
        help="Text shared by neighbouring pieces, so a sentence cut in two is still whole in one of them.",
    )
    embedder = st.text_input(
        "Embedder",
        value=config.embedder,
        key=f"{key}_embedder",
        disabled=disabled,
        help="The model that turns text into vectors: local:all-minilm-l6-v2 (built in), or st:<folder> "
        "for a fine-tuned one.",
    )
    if overlap >= size:
        st.warning(
            f"The overlap ({overlap}) must be smaller than the chunk size ({size}). "
            "Lower the overlap; the previous chunking stays in use until then."
        )
        return config
    return config.model_copy(
        update={
            "chunker": chunker,
            "chunk_size": int(size),
            "chunk_overlap": int(overlap),
            "embedder": embedder.strip() or config.embedder,
        }
    )


def _parse_pairs(text: str, sep: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        left, found, right = line.partition(sep)
        if found and left.strip() and right.strip():
            pairs.append((left.strip(), right.strip()))
    return pairs


def _prompt_fields(key: str, variant: VariantConfig) -> dict[str, Any]:
    system = st.text_area(
        "System prompt",
        value=variant.system_prompt or "",
        key=f"{key}_system",
        placeholder=DEFAULT_SYSTEM,
        height=100,
        help="Standing instructions the model reads before every question. Empty = the default shown.",
    )
    default_template = DEFAULT_RAG_TEMPLATE if variant.use_retrieval else DEFAULT_TEMPLATE
    template = st.text_area(
        "Prompt template",
        value=variant.template or "",
        key=f"{key}_template",
        placeholder=default_template,
        height=90,
        help="How the question is put to the model: {question}, {context} (the retrieved text) and "
        "your own {names}. Empty = the default shown.",
    )
    variables = st.text_area(
        "Your variables (name = value, one per line)",
        key=f"{key}_vars",
        height=68,
        value="\n".join(f"{k} = {v}" for k, v in variant.variables.items()),
        help="Values for your own {placeholders} in the prompts, e.g. company = Tansywick.",
    )
    few_shot = st.text_area(
        "Examples to imitate (question | answer, one per line)",
        key=f"{key}_fewshot",
        height=68,
        value="\n".join(f"{e.question} | {e.answer}" for e in variant.few_shot),
        help="Worked examples shown before the real question ('few-shot'), to show the answer style.",
    )
    step = st.checkbox(
        "Think step by step",
        value=variant.think_step_by_step,
        key=f"{key}_step",
        help="Ask the model to reason first and give its answer on a last 'Answer:' line.",
    )
    return {
        "system_prompt": system.strip() or None,
        "template": template.strip() or None,
        "variables": dict(_parse_pairs(variables, "=")),
        "few_shot": tuple(FewShotExample(question=q, answer=a) for q, a in _parse_pairs(few_shot, "|")),
        "think_step_by_step": step,
    }


def _active_techniques(variant: VariantConfig) -> str:
    """A short summary for the collapsed techniques section, so the choice shows without opening it."""
    on = [RETRIEVER_LABELS[variant.retriever].split(" (")[0].lower()] if variant.retriever != "dense" else []
    on += [
        name
        for name, active in (
            ("HyDE", variant.hyde),
            ("rewordings", variant.query_expansion > 0),
            ("re-ranking", variant.reranker != "none"),
            ("routing", variant.classify),
            ("fact-check", variant.fact_check),
        )
        if active
    ]
    return ", ".join(on) or "none"


def _retrieval_fields(key: str, variant: VariantConfig, compact: bool = False) -> dict[str, Any]:
    use = st.toggle(
        "Look things up in the documents (RAG)",
        value=variant.use_retrieval,
        key=f"{key}_rag",
        help="On: search the corpus first and give the best pieces to the model as context.",
    )
    top_k = st.slider(
        "Pieces to retrieve (top-k)",
        1,
        20,
        value=min(variant.top_k, 20),
        key=f"{key}_topk",
        disabled=not use,
        help="How many of the best-matching chunks the model gets to read.",
    )
    if compact:  # keep the columns short in the RAG lab: the details fold away
        # A fixed label: a label that changed with the settings would collapse the expander on every click.
        with st.expander("Chunking and techniques (HyDE, re-ranking, …)"):
            index = index_editor(f"{key}_ix", variant.index, disabled=not use)
            techniques = _technique_fields(key, variant, use)
        if use:
            st.caption(
                f"Chunks of {index.chunk_size} tokens ({index.chunk_overlap} overlap) · techniques: "
                f"{_active_techniques(variant.model_copy(update=techniques))}"
            )
    else:
        index = index_editor(f"{key}_ix", variant.index, disabled=not use)
        techniques = _technique_fields(key, variant, use)
    return {"use_retrieval": use, "top_k": top_k, "index": index} | (techniques if use else TECHNIQUES_OFF)


def _technique_fields(key: str, variant: VariantConfig, use: bool) -> dict[str, Any]:
    """The retrieval techniques the engine offers; all of them need retrieval switched on."""
    retrievers: list[str] = list(RETRIEVER_LABELS)
    retriever = st.selectbox(
        "How to search",
        retrievers,
        index=retrievers.index(variant.retriever),
        key=f"{key}_retriever",
        format_func=lambda name: RETRIEVER_LABELS[name],
        disabled=not use,
        help="Meaning finds paraphrases; word matching finds exact names and codes; hybrid merges both.",
    )
    hyde = st.checkbox(
        "Search with an imagined answer (HyDE)",
        value=variant.hyde,
        key=f"{key}_hyde",
        disabled=not use,
        help="The model first writes a guess at the answer; the search then looks for text like that guess.",
    )
    expansion = st.number_input(
        "Extra rewordings of the question",
        0,
        5,
        value=variant.query_expansion,
        key=f"{key}_expand",
        disabled=not use,
        help="The model rewrites the question this many ways and the results of all versions are merged.",
    )
    reranking = reranker_fields(key, variant, use)
    classify = st.checkbox(
        "Route the question to a kind of document first",
        value=variant.classify,
        key=f"{key}_classify",
        disabled=not use,
        help="The model picks which categories (say, policies or products) to search, or none at all.",
    )
    fact_check = st.checkbox(
        "Fact-check the answer",
        value=variant.fact_check,
        key=f"{key}_factcheck",
        disabled=not use,
        help="After answering, the model checks its answer against the pieces and drops it if unsupported.",
    )
    return {
        "retriever": retriever,
        "hyde": hyde,
        "query_expansion": int(expansion),
        **reranking,
        "classify": classify,
        "fact_check": fact_check,
    }


def _generation_fields(key: str, variant: VariantConfig) -> dict[str, Any]:
    choices = model_choices(variant.model)
    model = st.selectbox(
        "Model",
        choices,
        index=choices.index(variant.model),
        key=f"{key}_model",
        format_func=model_label,
        help="Which language model answers. Add hosted models on the Settings page.",
    )
    temperature = st.slider(
        "Temperature",
        0.0,
        2.0,
        value=float(variant.temperature),
        step=0.1,
        key=f"{key}_temp",
        help="0 = the same answer every time; higher = more varied wording.",
    )
    max_tokens = st.number_input(
        "Longest answer (tokens)",
        1,
        8192,
        value=variant.max_tokens,
        step=32,
        key=f"{key}_maxtok",
        help="The answer is cut off after this many tokens.",
    )
    return {"model": model, "temperature": float(temperature), "max_tokens": int(max_tokens)}


def variant_editor(
    key: str, variant: VariantConfig, focus: Literal["prompt", "retrieval"] = "prompt"
) -> VariantConfig:
    """Edit one variant. The focused section is shown open; the rest sits in an expander below it.

    Invalid input (an unknown {name} in a template, say) shows a warning and keeps the previous variant.
    """
    name = st.text_input(
        "Variant name",
        value=variant.name,
        key=f"{key}_name",
        help="A short name for this variant in tables and charts.",
    )
    fields: dict[str, Any] = {"name": name or variant.name}
    if focus == "retrieval":
        fields |= _retrieval_fields(key, variant, compact=True)
        with st.expander("Prompt and model settings"):
            fields |= _prompt_fields(key, variant) | _generation_fields(key, variant)
    else:
        fields |= _prompt_fields(key, variant) | _generation_fields(key, variant)
        with st.expander("Retrieval settings"):
            fields |= _retrieval_fields(key, variant)
    return _build_variant(variant, fields)


def _build_variant(previous: VariantConfig, fields: dict[str, Any]) -> VariantConfig:
    try:
        updated = VariantConfig.model_validate(previous.model_dump() | fields)
        values = {**updated.variables, "question": "", "context": ""}
        for text in (updated.system_prompt, updated.template):
            if text:
                render_template(text, values)
    except ConfigError as err:
        st.warning(f"{err} The previous settings stay in use until this is fixed.")
        return previous
    except ValidationError as err:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in err.errors())
        st.warning(
            f"These settings do not fit together: {problems}. The previous settings stay in use until "
            "this is fixed."
        )
        return previous
    return updated
