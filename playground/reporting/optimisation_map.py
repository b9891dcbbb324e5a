"""The optimisation map: each variant placed by what it optimises, context (retrieval: what the model knows) and
behaviour (a fine-tuned model: how it acts), with its accuracy from the last evaluation.

Plain data, no chart library: the Home page draws it as a two-by-two grid of Streamlit containers, which shows on
first paint without loading a JavaScript charting bundle (that alone cost ~2 s of the first page on 2 cores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the Home page draws the map without loading pydantic and the configs
    from playground.core.config import VariantConfig
    from playground.evaluation.results import EvalRun

FINE_TUNED_MARKERS = ("ft:", "fine-tuned", "finetuned", "fine_tuned", "lora")
QUADRANTS = {  # (context, behaviour) -> (name, one-line meaning)
    (False, False): ("Prompt engineering", "better instructions and examples"),
    (True, False): ("RAG", "give the model the right documents"),
    (False, True): ("Fine-tuning", "teach the model how to act"),
    (True, True): ("All of them", "fine-tuned model + retrieval"),
}


@dataclass(frozen=True)
class MapPoint:
    """One variant on the optimisation map: which axes it optimises and, once evaluated, its accuracy."""

    name: str
    context: bool
    behaviour: bool
    accuracy: float | None = None

    @property
    def score(self) -> str:
        return f"{self.accuracy:.0%}" if self.accuracy is not None else "not evaluated"


def is_fine_tuned(model: str) -> bool:
    """Whether a model name points at a fine-tuned model (e.g. OpenAI's `ft:` names or a LoRA adapter)."""
    name = model.lower()
    return any(marker in name for marker in FINE_TUNED_MARKERS)


def map_points(variants: Sequence[VariantConfig], run: EvalRun | None = None) -> list[MapPoint]:
    """Place each variant: retrieval moves it along the context axis, a fine-tuned model up the other.

    Variants of the run come first with their accuracy; other variants follow without a score.
    """
    scores = {r["variant"]: r.get("contains") for r in run.summary_rows()} if run else {}
    evaluated = [v.variant for v in run.variants] if run else []
    others = [v for v in variants if v.name not in scores]
    return [
        MapPoint(v.name, v.use_retrieval, is_fine_tuned(v.model), scores.get(v.name))
        for v in [*evaluated, *others]
    ]


def by_quadrant(points: Sequence[MapPoint]) -> dict[tuple[bool, bool], list[MapPoint]]:
    """Every quadrant (in QUADRANTS order) with the points that fall in it, in their order."""
    return {quadrant: [p for p in points if (p.context, p.behaviour) == quadrant] for quadrant in QUADRANTS}
