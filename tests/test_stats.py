"""Paired statistics, checked against scipy.stats on known data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats as sps

from playground.evaluation import stats

# 30 questions, 0/1 outcomes: B fixes 9 questions A got wrong and breaks 1.
A_BIN = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0] * 3
B_BIN = [1, 1, 1, 1, 1, 0, 1, 1, 1, 0] * 3
B_BIN[0] = 0
# Continuous scores (token F1) on 12 questions, with one tie.
A_F1 = [0.20, 0.50, 0.31, 0.90, 0.10, 0.45, 0.66, 0.05, 0.70, 0.33, 0.25, 0.80]
B_F1 = [0.35, 0.48, 0.60, 0.90, 0.42, 0.71, 0.90, 0.30, 0.69, 0.58, 0.52, 0.95]


def test_paired_outcomes_counts_wins_losses_ties_and_drops_none_pairwise() -> None:
    out = stats.paired_outcomes([1, 0, 1, None, 0.5], [1, 1, 0, 1, None])
    assert out == {"wins": 1, "losses": 1, "ties": 1}
    assert stats.paired_outcomes(A_BIN, B_BIN) == {"wins": 9, "losses": 1, "ties": 20}


def test_paired_outcomes_rejects_unaligned_lists() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        stats.paired_outcomes([1, 0], [1])


@pytest.mark.parametrize("b_only,a_only", [(9, 1), (0, 0), (3, 3), (0, 7), (12, 2), (1, 0), (25, 20)])
def test_exact_mcnemar_equals_scipy_binomtest(b_only: int, a_only: int) -> None:
    expected = 1.0 if b_only + a_only == 0 else sps.binomtest(b_only, b_only + a_only, 0.5).pvalue
    assert stats.mcnemar_exact(b_only, a_only) == pytest.approx(expected, rel=1e-12)


def test_paired_test_uses_mcnemar_for_binary_outcomes() -> None:
    result = stats.paired_test(A_BIN, B_BIN)
    assert result["test"] == stats.MCNEMAR
    assert result["discordant"] == 10 and result["n"] == 30
    assert result["p_value"] == pytest.approx(sps.binomtest(9, 10, 0.5).pvalue, rel=1e-12)


def test_paired_test_uses_wilcoxon_for_continuous_scores() -> None:
    result = stats.paired_test(A_F1, B_F1)
    expected = sps.wilcoxon(np.array(B_F1) - np.array(A_F1), zero_method="wilcox")
    assert result["test"] == stats.WILCOXON
    assert result["p_value"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert result["statistic"] == pytest.approx(expected.statistic)


def test_wilcoxon_treats_float_noise_as_a_tie() -> None:
    a, b = [0.3, 0.1, 0.2, 0.4, 0.0], [0.1 + 0.2, 0.5, 0.6, 0.9, 0.3]  # 0.1 + 0.2 != 0.3 in floating point
    exact = sps.wilcoxon([0.0, 0.4, 0.4, 0.5, 0.3], zero_method="wilcox")
    assert stats.paired_test(a, b)["p_value"] == pytest.approx(exact.pvalue)


@pytest.mark.parametrize("a,b", [([1, 0, 1], [1, 0, 1]), ([0.2, 0.5], [0.2, 0.5]), ([], [])])
def test_identical_or_empty_inputs_give_p_one(a: list[float], b: list[float]) -> None:
    assert stats.paired_test(a, b)["p_value"] == 1.0
    assert stats.paired_bootstrap_diff(a, b)[0] == 0.0


@pytest.mark.parametrize("a,b", [(A_BIN, B_BIN), (A_F1, B_F1)])
def test_paired_bootstrap_matches_scipy_bootstrap(a: list[float], b: list[float]) -> None:
    def mean_diff(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(y - x, axis=axis)

    diff, low, high = stats.paired_bootstrap_diff(a, b, confidence=0.95, n_resamples=4000, seed=7)
    reference = sps.bootstrap(
        (np.array(a, float), np.array(b, float)),
        mean_diff,
        paired=True,
        vectorized=True,
        confidence_level=0.95,
        n_resamples=4000,
        method="percentile",
        rng=np.random.default_rng(7),
    )
    assert diff == pytest.approx(np.mean(np.array(b) - np.array(a)))
    assert low == pytest.approx(reference.confidence_interval.low, abs=1e-12)
    assert high == pytest.approx(reference.confidence_interval.high, abs=1e-12)


def test_paired_bootstrap_degenerate_cases() -> None:
    assert stats.paired_bootstrap_diff([0.5], [0.75]) == (0.25, 0.25, 0.25)
    assert stats.paired_bootstrap_diff([0, 0], [1, 1]) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="confidence"):
        stats.paired_bootstrap_diff([0, 1], [1, 1], confidence=1.5)


def _rows(values: list[float | None], prefix: str = "q") -> list[SimpleNamespace]:
    return [
        SimpleNamespace(qid=f"{prefix}{i}", metrics={"contains": v}, error=None) for i, v in enumerate(values)
    ]


def test_compare_variants_reports_a_real_gain_in_points() -> None:
    c = stats.compare_variants(_rows(A_BIN), _rows(B_BIN), "contains", name_a="prompt", name_b="rag")
    assert (c.n, c.wins, c.losses, c.ties) == (30, 9, 1, 20)
    assert c.mean_a == pytest.approx(0.5) and c.mean_b == pytest.approx(23 / 30)
    assert c.diff == pytest.approx(8 / 30) and c.ci[0] > 0
    assert c.significant and c.test == stats.MCNEMAR
    assert c.verdict.startswith("rag is better than prompt by 27 points (95% CI ")
    assert "p=0.021" in c.verdict


def test_compare_variants_says_within_noise_for_a_small_difference() -> None:
    a = [1, 0, 1, 1, 0, 1, 0, 1, 0, 1] * 3
    b = [1, 1, 1, 0, 0, 1, 1, 1, 0, 1] * 3
    c = stats.compare_variants(_rows(a), _rows(b))
    assert not c.significant
    assert c.verdict.startswith("The difference (10 points) is within noise on 30 questions: the 95%")
    assert "includes zero" in c.verdict and "−" in c.verdict


def test_compare_variants_flips_the_interval_when_a_is_better() -> None:
    c = stats.compare_variants(_rows(B_BIN), _rows(A_BIN), name_a="rag", name_b="prompt")
    assert c.diff < 0 and c.significant
    low, high = -c.ci[1], -c.ci[0]
    expected = f"rag is better than prompt by 27 points (95% CI {low * 100:.0f} to {high * 100:.0f},"
    assert c.verdict.startswith(expected)


def test_compare_variants_aligns_by_qid_and_skips_errors_and_dict_rows() -> None:
    a = [
        {"qid": "x", "metrics": {"contains": 1.0}, "error": None},
        {"qid": "y", "metrics": {"contains": 0.0}, "error": None},
        {"qid": "z", "metrics": {"contains": None}, "error": "model failed"},
    ]
    b = [
        SimpleNamespace(qid="y", metrics={"contains": 1.0}, error=None),
        SimpleNamespace(qid="x", metrics={"contains": 1.0}, error=None),
        SimpleNamespace(qid="z", metrics={"contains": 1.0}, error=None),
        SimpleNamespace(qid="w", metrics={"contains": 1.0}, error=None),
    ]
    c = stats.compare_variants(a, b)
    assert (c.n, c.wins, c.ties) == (2, 1, 1)


def test_compare_edge_cases_empty_and_single_question() -> None:
    empty = stats.compare_variants([], [], name_a="A", name_b="B")
    assert empty.n == 0 and empty.p_value == 1.0 and "nothing to compare" in empty.verdict
    one = stats.compare_variants(_rows([0]), _rows([1]))
    assert one.n == 1 and not one.significant and "too few" in one.verdict


def test_compare_non_unit_metric_uses_raw_units() -> None:
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    b = [2.5, 3.0, 4.5, 6.0, 7.0, 8.5]
    c = stats.compare_values(a, b, "latency_s")
    assert "points" not in c.verdict and c.test == stats.WILCOXON
    assert c.p_value == pytest.approx(sps.wilcoxon(np.array(b) - np.array(a)).pvalue)


def test_metric_cis_match_metrics_bootstrap_ci() -> None:
    from playground.evaluation.metrics import bootstrap_ci

    rows = _rows([1, 0, 1, 1, None])
    cis = stats.metric_cis(rows, ["contains", "token_f1"])
    assert cis["contains"] == bootstrap_ci([1, 0, 1, 1])
    assert cis["token_f1"] is None


def test_repeat_spread_over_per_repeat_means() -> None:
    repeats = [[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, None]]
    means = [0.75, 0.5, 1.0]
    spread = stats.repeat_spread(repeats)
    assert spread["n_repeats"] == 3
    assert spread["mean"] == pytest.approx(np.mean(means))
    assert spread["std"] == pytest.approx(np.std(means, ddof=1))
    assert (spread["min"], spread["max"]) == (0.5, 1.0)
    assert stats.repeat_spread([[1, 0]]) == {"n_repeats": 1, "mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert stats.repeat_spread([])["n_repeats"] == 0
