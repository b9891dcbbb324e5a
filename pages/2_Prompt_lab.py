"""Prompt lab: two to four prompt variants side by side on one question, then over the question set."""

from __future__ import annotations

import streamlit as st

from playground.config import FewShotExample, VariantConfig
from ui import choosers, editors, resources, runner, state, views, widgets

LAB = "prompt_lab"

widgets.page_start(
    "Prompt lab",
    "✍️",
    "Same model, different instructions: compare prompt variants on one question, then on the whole question "
    "set. This is the 'prompt engineering' corner of the optimisation map.",
)


def starter_prompts() -> list[VariantConfig]:
    """Four prompt-only variants that differ in one idea each."""
    base = VariantConfig(name="plain", model=state.default_model(), index=state.index_config(), max_tokens=64)
    return [
        base,
        base.model_copy(
            update={
                "name": "expert",
                "system_prompt": (
                    "You are the most experienced support agent of the organisation these questions are "
                    "about. Answer "
                    "with the fact asked for, in a few words, with no explanation. If you are not sure, "
                    "reply exactly: "
                    "not in the documents."
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


questions = resources.current_questions()
question, gold = choosers.question_picker("pl_question", questions)

stored = state.lab_variants(LAB, starter_prompts)
count = st.slider(
    "Variants side by side",
    2,
    4,
    value=state.lab_value(f"{LAB}_count", 3),
    key="pl_count",
    help="How many prompt variants to compare at once.",
)
state.set_lab_value(f"{LAB}_count", count)
working = widgets.pad(stored, count, starter_prompts())
edited = []
for i, column in enumerate(st.columns(count)):
    with column:
        st.markdown(f"**Variant {i + 1}**")
        edited.append(editors.variant_editor(f"pl{i}", working[i], focus="prompt"))
edited = state.unique_names(edited)
state.set_lab_variants(LAB, edited + list(stored[count:]))

ask = st.button(
    "Ask every variant",
    type="primary",
    key="pl_ask",
    disabled=not question.strip(),
    help="Send the question to each variant and show the answers below each one.",
)
answers: list[runner.Answer] = state.lab_value("pl_answers", [])
answer_columns = st.columns(count)
if ask:
    corpus = resources.current_corpus() if any(v.use_retrieval for v in edited) else state.corpus()
    answers = []
    for variant, column in zip(edited, answer_columns, strict=True):
        with column:
            answers.append(runner.answer_with(variant, question, corpus))
    state.set_lab_value("pl_answers", answers)
for variant, column in zip(edited, answer_columns, strict=True):
    found = next((a for a in answers if a.variant_key == variant.key() and a.question == question), None)
    with column:
        if found is None:
            st.caption("Press 'Ask every variant' to see this variant's answer.")
        elif found.result is not None:
            views.answer_card(found.result, gold, state.corpus(), variant.use_retrieval)

st.divider()
st.subheader("Run these variants on the question set")
if questions is None:
    st.info(
        "There is no question set yet. Pick a sample corpus on the Corpus page, or upload a question file "
        "on the Evaluate page."
    )
    st.stop()
st.caption(
    f"Question set: {state.questions_label()} ({len(questions.questions)} questions). The variants also "
    "become the ones the Evaluate page runs."
)
limit = choosers.limit_input("pl_limit", len(questions.questions), default=5)
if st.button(
    "Run these variants on the question set",
    key="pl_run",
    help="Score each variant on the first questions of the set; the full charts are on the Evaluate page.",
):
    state.set_variants(edited)
    corpus = resources.current_corpus() if any(v.use_retrieval for v in edited) else state.corpus()
    run = runner.evaluate(edited, corpus, questions.subset(limit))
    state.set_lab_value("pl_run", run)
run = state.lab_value("pl_run")
if run is not None:
    views.run_header(run)
    views.summary_table(run)
    st.page_link(
        "pages/4_Evaluate.py", label="See the charts and every answer on the Evaluate page", icon="📊"
    )
