"""Prompt lab: two to four prompt variants side by side on one question, then over the question set."""

from __future__ import annotations

import streamlit as st

from playground.core.answers import NOT_FOUND
from playground.core.config import FewShotExample, VariantConfig
from playground.core.documents import Corpus
from ui import choosers, lab, resources, runner, state, timing, views, widgets

LAB = "prompt_lab"

widgets.page_start(
    "Prompt lab",
    "pages/2_Prompt_lab.py",
    "Same model, different instructions: compare prompt variants on one question, then on the whole question "
    "set. This is the 'prompt engineering' corner of the optimisation map.",
)


def starter_prompts() -> list[VariantConfig]:
    """Four prompt-only variants that differ in one idea each, written for any documents."""
    base = VariantConfig(name="plain", model=state.default_model(), index=state.index_config(), max_tokens=64)
    return [
        base,
        base.model_copy(
            update={
                "name": "expert",
                "system_prompt": (
                    "You are an expert on the subject of these questions. Answer with the fact asked for, "
                    f"in a few words, with no explanation. If you are not sure, reply exactly: {NOT_FOUND}."
                ),
            }
        ),
        base.model_copy(update={"name": "step by step", "think_step_by_step": True, "max_tokens": 256}),
        base.model_copy(
            update={
                "name": "with examples",
                "few_shot": (
                    FewShotExample(question="What is the capital of France?", answer="Paris"),
                    FewShotExample(question="How many days does a leap year have?", answer="366"),
                ),
            }
        ),
    ]


def corpus_for(variant: VariantConfig) -> Corpus | None:
    """The documents to search: the current corpus (indexed on demand) for a variant that retrieves."""
    return resources.current_corpus() if variant.use_retrieval else state.corpus()


PROMPT_LAB = lab.Lab(LAB, "pl", "prompt", starter_prompts, corpus_for)
questions = resources.current_questions()
question, gold = choosers.question_picker("pl_question", questions)

count = st.slider(
    "Variants side by side",
    2,
    4,
    value=state.lab_value(f"{LAB}_count", 3),
    key="pl_count",
    help="How many prompt variants to compare at once.",
)
state.set_lab_value(f"{LAB}_count", count)
PROMPT_LAB.variants(count)  # pads the working variants to the chosen count
ask = st.button(
    "Ask every variant",
    type="primary",
    key="pl_ask",
    disabled=not question.strip(),
    help="Send the question to each variant and show the answers below each one.",
)
lab.columns(PROMPT_LAB, count, question, gold, state.corpus(), ask)
variants = PROMPT_LAB.variants(count)
if lab.mostly_not_found(PROMPT_LAB, variants, question):
    st.info(
        "The variants answer 'not in the documents': without retrieval a model knows only what it learned "
        "in training, and your documents were not part of it. Let it look things up in them.",
        icon=":material/lightbulb:",
    )
    st.page_link("pages/3_RAG_lab.py", label="Try retrieval in the RAG lab", icon=":material/manage_search:")

st.divider()
st.subheader("Run these variants on the question set")
if questions is None:
    st.info(
        "There is no question set yet. Pick a sample corpus on the Corpus page, or upload, generate or type "
        "a question set about your documents on the Evaluate page."
    )
    st.stop()
st.caption(
    f"Question set: {state.questions_label()} ({len(questions.questions)} questions). The variants also "
    "become the ones the Evaluate page runs."
)
limit = choosers.limit_input("pl_limit", len(questions.questions), default=5)
timing.show(variants, limit)
if st.button(
    "Run these variants on the question set",
    key="pl_run",
    help="Score each variant on the first questions of the set; the full charts are on the Evaluate page.",
):
    state.set_variants(variants)
    corpus = resources.current_corpus() if any(v.use_retrieval for v in variants) else state.corpus()
    run = runner.evaluate(variants, corpus, questions.subset(limit))
    state.set_lab_value("pl_run", run)
run = state.lab_value("pl_run")
if run is not None:
    views.run_header(run)
    views.summary_table(run)
    st.page_link(
        "pages/4_Evaluate.py",
        label="See the charts and every answer on the Evaluate page",
        icon=":material/bar_chart:",
    )
