"""The HTML report's summary: three narrow tables (answers, retrieval, time and cost) that fit the page."""

from __future__ import annotations

from playground.core.config import VariantConfig
from playground.evaluation.results import EvalRun, QuestionResult, VariantResult
from playground.reporting.report import INTERVAL, html_report, summary_tables


def _run() -> EvalRun:
    def row(qid: str, hit: float) -> QuestionResult:
        metrics = {"contains": hit, "exact_match": hit, "token_f1": 0.5, "hit@k": 1.0}
        return QuestionResult(
            qid, "How long?", ["544 base pairs"], "544", "544", [], metrics, "p", 9, 2, 1.0, {}, True
        )

    variants = [
        VariantResult(
            VariantConfig(name=name, use_retrieval=True), [row(f"q{i}", float(i % 2)) for i in range(4)]
        )
        for name in ("baseline", "<b>rag</b>")
    ]
    return EvalRun("corpus", "questions", "hash", variants)


def test_the_summary_is_split_into_tables_that_each_fit() -> None:
    html = summary_tables(_run().to_dict())
    assert [part.split("</h3>")[0] for part in html.split("<h3>")[1:]] == [
        "Answers",
        "Retrieval",
        "Time and cost",
    ]
    assert INTERVAL in html and "accuracy 95% low" not in html
    assert "&lt;b&gt;rag&lt;/b&gt;" in html and "<b>rag" not in html  # names escaped once, never markup


def test_every_table_of_the_report_sits_in_a_scrollable_box() -> None:
    page = html_report(_run().to_dict())
    assert page.count("<table") - page.count("<div class='wide'><table") == 1  # only the short facts table
