"""The plotly figure builders: right data in the right place, and a message instead of an empty chart."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from playground.core.config import VariantConfig
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.reporting import charts
from playground.reporting.optimisation_map import by_quadrant, map_points


def _row(qid: str, contains: float, hit: float | None = None, error: str | None = None) -> QuestionResult:
    metrics: dict[str, float | None] = {"contains": contains, "hit@k": hit}
    return QuestionResult(
        qid,
        f"question {qid}",
        ["gold"],
        "answer",
        "answer",
        [],
        metrics,
        "prompt",
        10,
        2,
        0.5,
        {"generate": 0.5},
        None,
        error,
    )


def _run() -> EvalRun:
    baseline = VariantResult(VariantConfig(name="baseline"), [_row("q1", 0.0), _row("q2", 1.0)])
    rag = VariantResult(
        VariantConfig(name="rag", use_retrieval=True),
        [_row("q1", 1.0, hit=1.0), _row("q2", 0.0, hit=0.0, error="boom")],
    )
    return EvalRun("corpus", "questions", "hash", [baseline, rag])


def test_accuracy_chart_has_one_bar_per_variant_with_its_interval() -> None:
    rows = _run().summary_rows()
    bar: Any = charts.accuracy_chart(rows).data[0]
    assert list(bar.x) == ["baseline", "rag"]
    assert list(bar.y) == [0.5, 1.0]
    for row, plus, minus, value in zip(rows, bar.error_y.array, bar.error_y.arrayminus, bar.y, strict=True):
        assert value + plus == row["contains_ci_high"] and value - minus == row["contains_ci_low"]


def test_retrieval_chart_shows_only_variants_that_retrieve() -> None:
    figure = charts.retrieval_chart(_run().summary_rows())
    assert {tuple(trace.x) for trace in figure.data} == {("rag",)}
    empty = charts.retrieval_chart([r for r in _run().summary_rows() if not r["retrieval"]])
    assert not empty.data and "No variant with retrieval" in empty.layout.annotations[0].text


def test_outcome_matrix_codes_each_cell_and_leaves_unanswered_ones_blank() -> None:
    run = _run()
    run.variants[1].rows.pop()  # a stopped run: rag never answered q2
    heatmap: Any = charts.outcome_matrix(run).data[0]
    correct, wrong = charts.OUTCOMES.index("correct"), charts.OUTCOMES.index("wrong")
    assert [list(r) for r in heatmap.z] == [[wrong, correct], [correct, None]]
    assert list(heatmap.x) == ["baseline", "rag"]


def _colour_of(heatmap: Any, code: int) -> str:
    """The colour plotly paints a cell with value `code`: its place between zmin and zmax on the scale."""
    place = (code - heatmap.zmin) / (heatmap.zmax - heatmap.zmin)
    return next(colour for (low, colour), (high, _) in pairwise(heatmap.colorscale) if low <= place <= high)


def test_error_and_missing_evidence_outcomes_get_their_own_colour() -> None:
    baseline = VariantResult(VariantConfig(name="baseline"), [_row("q1", 0.0), _row("q2", 1.0)])
    rag = VariantResult(
        VariantConfig(name="rag", use_retrieval=True),
        [_row("q1", 0.0, hit=0.0), _row("q2", 1.0, hit=1.0, error="timeout")],
    )
    heatmap: Any = charts.outcome_matrix(EvalRun("corpus", "questions", "hash", [baseline, rag])).data[0]
    shown = {
        (qid, name): charts.OUTCOMES[code]
        for qid, codes in zip(["q1", "q2"], heatmap.z, strict=True)
        for name, code in zip(["baseline", "rag"], codes, strict=True)
    }
    assert shown == {
        ("q1", "baseline"): "wrong",
        ("q1", "rag"): "no evidence retrieved",  # wrong, and retrieval found no gold evidence
        ("q2", "baseline"): "correct",
        ("q2", "rag"): "error",  # an error wins over a right-looking answer
    }
    colours = {outcome: _colour_of(heatmap, charts.OUTCOMES.index(outcome)) for outcome in charts.OUTCOMES}
    assert colours == charts.OUTCOME_COLOURS
    assert len(set(colours.values())) == len(charts.OUTCOMES)


def test_cost_chart_shows_seconds_and_stacked_tokens_per_variant() -> None:
    rows = _run().summary_rows()
    latency, prompt, answer = charts.cost_chart(rows).data
    assert list(latency.x) == ["baseline", "rag"] and list(latency.y) == [0.5, 0.5]
    assert (prompt.name, list(prompt.y)) == ("prompt tokens", [r["prompt_tokens"] for r in rows])
    assert (answer.name, list(answer.y)) == ("answer tokens", [r["completion_tokens"] for r in rows])
    assert list(prompt.y) == [10, 10] and list(answer.y) == [2, 2]
    empty = charts.cost_chart([{**r, "latency_s": None} for r in rows])
    assert not empty.data and empty.layout.annotations[0].text == "No answers yet."


def test_map_places_retrieval_right_and_fine_tuned_models_up() -> None:
    variants = [
        VariantConfig(name="tuned", model="openai:ft:gpt-4o-mini:acme::123"),
        VariantConfig(name="tuned+rag", model="openai:ft:gpt-4o-mini:acme::123", use_retrieval=True),
    ]
    points = map_points(variants, _run())
    assert [(p.name, p.context, p.behaviour) for p in points] == [
        ("baseline", False, False),
        ("rag", True, False),
        ("tuned", False, True),
        ("tuned+rag", True, True),
    ]
    assert points[0].accuracy == 0.5 and points[2].accuracy is None
    assert points[0].score == "50%" and points[2].score == "not evaluated"
    cells = by_quadrant(points)
    assert [p.name for p in cells[(True, True)]] == ["tuned+rag"] and len(cells) == 4
