"""Widget groups that build library configs: the variant editor, the chunking editor and the question picker.

Every control carries a one-line, plain-language `help=`, so a non-engineer knows what it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import streamlit as st

from playground.chunking import CHUNKERS
from playground.config import FewShotExample, IndexConfig, VariantConfig
from playground.errors import ConfigError
from playground.llms import known_models
from playground.local_models import CATALOGUE, model_path
from playground.prompts import DEFAULT_RAG_TEMPLATE, DEFAULT_SYSTEM, DEFAULT_TEMPLATE, render_template
from playground.questions import Question, QuestionSet
from ui import state

CHUNKER_LABELS = {
    "recursive": "By paragraphs and sentences",
    "tokens": "Fixed number of tokens",
    "markdown": "By headings (Markdown sections)",
}


def model_label(name: str) -> str:
    """A readable label for a model name, saying whether a local model is ready on this computer."""
    provider, _, rest = name.partition(":")
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
    return list(dict.fromkeys([state.default_model(), *known_models(), current]))


def index_editor(key: str, config: IndexConfig) -> IndexConfig:
    """Chunker, chunk size and overlap. An overlap that does not fit the size keeps the previous settings."""
    chunker = st.selectbox(
        "How to cut documents",
        CHUNKERS,
        index=CHUNKERS.index(config.chunker),
        key=f"{key}_chunker",
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
        help="Longest piece, in tokens (about ¾ of a word each). Small is precise, large keeps more context.",
    )
    overlap = st.number_input(
        "Overlap (tokens)",
        min_value=0,
        max_value=1000,
        value=config.chunk_overlap,
        step=10,
        key=f"{key}_overlap",
        help="Text shared by neighbouring pieces, so a sentence cut in two is still whole in one of them.",
    )
    if overlap >= size:
        st.warning(
            f"The overlap ({overlap}) must be smaller than the chunk size ({size}). "
            "Lower the overlap; the previous chunking stays in use until then."
        )
        return config
    return config.model_copy(
        update={"chunker": chunker, "chunk_size": int(size), "chunk_overlap": int(overlap)}
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


def _retrieval_fields(key: str, variant: VariantConfig) -> dict[str, Any]:
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
    index = index_editor(f"{key}_ix", variant.index)
    return {"use_retrieval": use, "top_k": top_k, "index": index}


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
    first, second = (
        (_prompt_fields, _retrieval_fields) if focus == "prompt" else (_retrieval_fields, _prompt_fields)
    )
    fields |= first(key, variant)
    fields |= _generation_fields(key, variant) if focus == "prompt" else {}
    with st.expander("Retrieval settings" if focus == "prompt" else "Prompt and model settings"):
        fields |= second(key, variant)
        fields |= _generation_fields(key, variant) if focus == "retrieval" else {}
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
    except ValueError as err:  # pydantic's ValidationError
        st.warning(
            f"These settings do not fit together ({err.__class__.__name__}). The previous settings stay "
            "in use until this is fixed."
        )
        return previous
    return updated


def question_picker(key: str, questions: QuestionSet | None) -> tuple[str, Question | None]:
    """A question from the current set (with its gold answer) or one the user types."""
    modes = ["From the question set", "Type my own"] if questions else ["Type my own"]
    mode = st.radio(
        "Question",
        modes,
        key=f"{key}_mode",
        horizontal=True,
        help="Pick a question with a known answer to see which variant gets it right, or ask your own.",
    )
    if mode == "Type my own" or questions is None:
        text = st.text_input(
            "Your question",
            key=f"{key}_text",
            placeholder="e.g. How long do I have to return a product?",
            help="Any question about the documents.",
        )
        return text, None
    by_id = {q.qid: q for q in questions.questions}
    qid = st.selectbox(
        "Pick a question",
        list(by_id),
        key=f"{key}_pick",
        format_func=lambda i: f"{i} · {by_id[i].question}",
        help="Questions from the current question set; each has a gold (expected) answer.",
    )
    chosen = by_id[qid]
    st.text(f"Gold answer: {' | '.join(chosen.answers)}")
    return chosen.question, chosen


def limit_input(key: str, total: int, default: int = 10) -> int:
    return int(
        st.number_input(
            "How many questions",
            min_value=1,
            max_value=max(total, 1),
            value=min(default, max(total, 1)),
            key=key,
            help="Use the first N questions of the set: fewer is faster, more gives a surer score.",
        )
    )


def sidebar_status() -> None:
    """What the pages currently work with, shown in the sidebar of every page."""
    with st.sidebar:
        st.caption("Working with")
        st.text(f"Corpus: {state.corpus_label()}")
        st.text(f"Questions: {state.questions_label()}")
        st.text(f"Model: {model_label(state.default_model())}")


def pad(variants: Sequence[VariantConfig], count: int, extra: Sequence[VariantConfig]) -> list[VariantConfig]:
    """`count` variants: the given ones first, then from `extra` (or copies of the last one)."""
    out = list(variants[:count])
    pool = [v for v in extra if v.name not in {o.name for o in out}]
    while len(out) < count:
        out.append(pool.pop(0) if pool else out[-1].model_copy(update={"name": f"{out[-1].name} copy"}))
    return out


def page_start(title: str, icon: str, intro: str) -> None:
    """Page config, title, a one-paragraph intro and the sidebar status: the top of every page."""
    st.set_page_config(page_title=f"{title} · LLM playground", page_icon=icon, layout="wide")
    st.title(f"{icon} {title}")
    st.caption(intro)
    sidebar_status()
