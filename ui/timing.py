"""How long an Ask or a Run will take, shown before the click, from the speeds measured on this computer.

The measurements are the saved runs' answers (read at most once a minute) and this session's lab answers. When
the estimate is long, the page offers what makes it shorter: the faster model, or fewer questions.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from playground.core.config import VariantConfig
from playground.evaluation import estimates
from playground.evaluation.estimates import Estimate, Sample
from playground.rag.pipeline import PipelineResult
from ui import resources, state, widgets

SAMPLES = "timing:samples"
KEEP = 200  # lab answers remembered per session


@st.cache_data(ttl=60, show_spinner=False)
def _stored_samples(data_dir: str) -> list[Sample]:
    from ui import history

    store = history.open_store(state.settings())
    return estimates.samples_from_store(store)


def samples() -> list[Sample]:
    """Every measurement this session can use: saved answers on this computer and this session's lab answers."""
    stored = resources.guarded("reading the measured speeds", _stored_samples, str(state.settings().data_dir))
    return [*(stored or []), *st.session_state.get(SAMPLES, [])]


def record(model: str, result: PipelineResult | None) -> None:
    """Remember how long a lab answer took, so the next estimate uses this computer's speed."""
    seconds = result.timings.get("generate") if result is not None and not result.error else None
    if result is None or not seconds:
        return
    kept = st.session_state.setdefault(SAMPLES, [])
    kept.append(Sample(model, result.prompt_tokens, result.completion_tokens, seconds))
    del kept[:-KEEP]


def _reranking_note(variants: Sequence[VariantConfig], found: Estimate, questions: int) -> str:
    slowest = max(range(len(variants)), key=lambda i: found.per_question[i])
    variant = variants[slowest]
    if variant.reranker != "llm" or len(variants) < 2:
        return ""
    return (
        f" Re-ranking asks the model about each of the {variant.rerank_candidates} candidates, so "
        f"'{widgets.plain(variant.name)}' alone takes "
        f"{estimates.describe(found.per_question[slowest] * questions)}."
    )


def column_estimate(variant: VariantConfig) -> None:
    """Under one lab column's settings: how long its answer will take, kept current by the column's own reruns."""
    measured = samples()
    speeds = estimates.speeds_for([variant.model], measured)
    found = estimates.estimate([variant], 1, speeds)
    rerank = (
        f" (re-ranking asks the model about each of the {variant.rerank_candidates} candidates)"
        if variant.use_retrieval and variant.reranker == "llm"
        else ""
    )
    st.caption(f"Estimated time: {found.text()}{rerank}; {estimates.speed_note(speeds)}.")
    if found.long and _slow_models([variant]):
        quicker = estimates.estimate(estimates.with_model([variant], estimates.FAST_MODEL), 1, measured)
        fast = widgets.plain(widgets.model_label(estimates.FAST_MODEL))
        st.caption(f"That is long: {fast} would take {quicker.text()} (Settings page).")


def _slow_models(variants: Sequence[VariantConfig]) -> bool:
    return any(estimates.slower_than_fast(v.model) for v in variants)


def _use_fast_model() -> None:
    # A callback runs before the page is drawn: no sidebar of this run to redraw yet (the page draws it).
    st.session_state.pop(state.STATUS_LISTENER, None)
    state.set_default_model(estimates.FAST_MODEL)


def _use_fewer(key: str, count: int) -> None:
    st.session_state[key] = count


def show(variants: Sequence[VariantConfig], questions: int = 1, limit_key: str | None = None) -> Estimate:
    """A caption with the estimate for `questions` questions with every variant. When it is long: the faster
    model (a button where the variants follow the default model, else a link to Settings), and with
    `limit_key` (the number-of-questions input) a button to keep only as many questions as fit."""
    measured = samples()
    speeds = estimates.speeds_for((v.model for v in variants), measured)
    found = estimates.estimate(variants, questions, speeds)
    answers = len(variants) * questions
    st.caption(
        f"Estimated time: {found.text()} for {answers} answer{'s' if answers != 1 else ''} "
        f"({estimates.speed_note(speeds)}).{_reranking_note(variants, found, questions)}"
    )
    if found.long:
        _offer_shorter(variants, questions, measured, limit_key)
    return found


def _offer_shorter(
    variants: Sequence[VariantConfig], questions: int, measured: list[Sample], limit_key: str | None
) -> None:
    fast = widgets.model_label(estimates.FAST_MODEL)
    left, right = st.columns(2)
    if _slow_models(variants):
        quicker = estimates.estimate(
            estimates.with_model(variants, estimates.FAST_MODEL), questions, measured
        )
        follows = any(v.model == state.default_model() for v in variants)
        if limit_key is not None and follows:
            left.button(
                f"Answer with the faster model ({quicker.text()})",
                key=f"{limit_key}_fast",
                on_click=_use_fast_model,
                help=f"Makes {fast} the default model; variants that use the default switch to it.",
            )
        else:
            st.caption(f"That is long: {widgets.plain(fast)} would take {quicker.text()}.")
            left.page_link(
                "pages/5_Settings.py", label="Choose the faster model on Settings", icon=":material/speed:"
            )
    speeds = estimates.speeds_for((v.model for v in variants), measured)
    fits = estimates.questions_within(variants, estimates.LONG_S, speeds)
    if limit_key is not None and fits < questions:
        right.button(
            f"Use only the first {fits} questions (about 2 min)",
            key=f"{limit_key}_fewer",
            on_click=_use_fewer,
            args=(limit_key, fits),
            help="Fewer questions give a rougher score, sooner; you can run the rest later.",
        )
