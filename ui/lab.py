"""The labs' side-by-side variants: one column per variant, its settings above its answer.

Each column is an `st.fragment`: a widget change in one column reruns and redraws that column only, not the whole
page with every other column's answer, chunks and prompt (that full redraw is what made a toggle feel slow).
The question, the number of columns and the Ask button stay outside, so changing them reruns the page.

Asking happens inside each column, after its settings are read, so an edit made just before the click is the one
that answers. A fragment reruns with the arguments of the last full run, so the columns still to ask travel in a
set that each column empties as it asks: a later rerun of one column never asks again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from playground.core.answers import NOT_FOUND
from playground.core.config import VariantConfig
from playground.core.documents import Corpus
from playground.ingest.questions import Question
from ui import editors, rerank_view, runner, state, timing, views, widgets


@dataclass(frozen=True)
class Lab:
    """One lab page: its name in session state, its widget-key prefix, which editor fields come first, its
    starting variants, and whether each answer says if retrieval was on."""

    name: str
    key: str
    focus: Literal["prompt", "retrieval"]
    starters: Callable[[], list[VariantConfig]]
    corpus_for: Callable[[VariantConfig], Corpus | None]  # the documents a variant answers from
    show_retrieval: bool = False

    @property
    def answers_key(self) -> str:
        return f"{self.key}_answers"

    def answers(self) -> dict[int, runner.Answer]:
        """Each column's last answer (shown while it matches the column's variant and the question)."""
        found: dict[int, runner.Answer] | None = state.lab_value(self.answers_key)
        if found is None:
            found = {}
            state.set_lab_value(self.answers_key, found)
        return found

    def variants(self, count: int) -> list[VariantConfig]:
        """The first `count` working variants (padded from the starters), as the columns last edited them."""
        stored = state.lab_variants(self.name, self.starters)
        working = widgets.pad(stored, count, self.starters())
        if len(stored) < count:
            state.set_lab_variants(self.name, working + list(stored[count:]))
        return working


def columns(
    lab: Lab, count: int, question: str, gold: Question | None, shown: Corpus | None, ask: bool
) -> None:
    """The variant columns, each rerunning on its own; with `ask`, each answers the question as it is drawn.
    `shown` is the corpus whose documents the answers' chunks are looked up in."""
    pending = set(range(count)) if ask else set()
    for i, column in enumerate(st.columns(count)):
        with column:
            _variant_column(lab, i, question, gold, shown, pending)


@st.fragment
def _variant_column(
    lab: Lab, i: int, question: str, gold: Question | None, shown: Corpus | None, pending: set[int]
) -> None:
    variants = state.lab_variants(lab.name, lab.starters)
    st.markdown(f"**Variant {i + 1}**")
    edited = editors.variant_editor(f"{lab.key}{i}", variants[i], focus=lab.focus)
    variants = state.unique_names([*variants[:i], edited, *variants[i + 1 :]])
    state.set_lab_variants(lab.name, variants)
    timing.column_estimate(variants[i])
    if i in pending:
        pending.discard(i)
        lab.answers()[i] = runner.answer_with(variants[i], question, lab.corpus_for(variants[i]))
    _answer(lab, i, variants[i], question, gold, shown)


def _answer(
    lab: Lab, i: int, variant: VariantConfig, question: str, gold: Question | None, corpus: Corpus | None
) -> None:
    found = lab.answers().get(i)
    if found is not None and (found.variant_key != variant.key() or found.question != question):
        found = None
    if lab.show_retrieval:
        st.markdown(f"**{'Retrieval on' if variant.use_retrieval else 'No retrieval'}**")
    if found is None:
        st.caption("Press 'Ask every variant' to see this variant's answer.")
    elif found.result is not None:
        # The re-ranker's candidates, to say where it put the gold evidence (only when there is some to find).
        chunk_of = rerank_view.chunk_lookup(corpus, variant) if gold is not None and gold.evidence else None
        views.answer_card(found.result, gold, corpus, variant.use_retrieval, chunk_of)


def mostly_not_found(lab: Lab, variants: list[VariantConfig], question: str) -> bool:
    """Whether at least half the prompt-only variants that answered this question said "not in the documents"
    (what a model without retrieval says about documents it never saw)."""
    found = [
        a.result.answer
        for i, a in lab.answers().items()
        if i < len(variants)
        and not variants[i].use_retrieval
        and a.result is not None
        and a.question == question
        and a.variant_key == variants[i].key()
    ]
    said = sum(NOT_FOUND in " ".join(answer.lower().split()) for answer in found)
    return bool(found) and 2 * said >= len(found)
