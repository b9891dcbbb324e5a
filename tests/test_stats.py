"""Paired statistics, checked against scipy.stats on known data."""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def _hand_written_mcnemar(b_only: int, a_only: int) -> float:
    """The implementation stats.mcnemar_exact had before it called scipy: doubled binomial tail, capped at 1."""
    n = b_only + a_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b_only, a_only) + 1))
    return min(1.0, 2.0 * tail / 2**n)


def _hand_written_percentile_bootstrap(values: list[float], n_resamples: int = 5000) -> tuple[float, float]:
    """The percentile bootstrap the module had before scipy's BCa (same resampling, 95%)."""
    x = np.asarray(values, dtype=np.float64)
    means = x[np.random.default_rng(0).integers(0, x.size, (n_resamples, x.size))].mean(axis=-1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


@pytest.mark.parametrize("b_only,a_only", [(9, 1), (0, 0), (3, 3), (0, 7), (12, 2), (1, 0), (25, 20), (5, 1)])
def test_exact_mcnemar_equals_the_hand_written_binomial_tail(b_only: int, a_only: int) -> None:
    assert stats.mcnemar_exact(b_only, a_only) == pytest.approx(
        _hand_written_mcnemar(b_only, a_only), rel=1e-9
    )


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_mcnemar_interval_excludes_zero_exactly_when_the_test_rejects(confidence: float) -> None:
    for b_only in range(26):
        for a_only in range(26):
            n = b_only + a_only + 7  # seven tied questions
            low, high = stats.mcnemar_interval(b_only, a_only, n, confidence)
            point = (b_only - a_only) / n
            assert low <= point <= high
            rejects = stats.mcnemar_exact(b_only, a_only) < 1 - confidence
            assert (low > 0 or high < 0) == rejects, (b_only, a_only)


def test_mcnemar_interval_is_clopper_pearson_on_the_discordant_pairs() -> None:
    share = sps.binomtest(5, 6).proportion_ci(0.95, method="exact")
    low, high = stats.mcnemar_interval(5, 1, 20)
    assert (low, high) == pytest.approx((6 / 20 * (2 * share.low - 1), 6 / 20 * (2 * share.high - 1)))
    assert stats.mcnemar_interval(0, 0, 20) == (0.0, 0.0)
    with pytest.raises(ValueError, match="confidence"):
        stats.mcnemar_interval(1, 1, 4, confidence=0.0)


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
def test_paired_bootstrap_is_scipys_bca_on_the_differences(a: list[float], b: list[float]) -> None:
    diff, low, high = stats.paired_bootstrap_diff(a, b, confidence=0.95, n_resamples=4000, seed=7)
    differences = np.array(b, float) - np.array(a, float)
    reference = sps.bootstrap(
        (differences,), np.mean, n_resamples=4000, method="BCa", rng=np.random.default_rng(7)
    ).confidence_interval
    assert diff == pytest.approx(differences.mean())
    assert (low, high) == pytest.approx((reference.low, reference.high), abs=1e-12)


@pytest.mark.parametrize("a,b", [(A_BIN, B_BIN), (A_F1, B_F1)])
def test_bca_interval_is_close_to_the_former_percentile_bootstrap(a: list[float], b: list[float]) -> None:
    _, low, high = stats.paired_bootstrap_diff(a, b)
    old_low, old_high = _hand_written_percentile_bootstrap((np.array(b) - np.array(a)).tolist())
    assert low == pytest.approx(old_low, abs=0.04) and high == pytest.approx(old_high, abs=0.04)


def test_paired_bootstrap_degenerate_cases() -> None:
    assert stats.paired_bootstrap_diff([0.5], [0.75]) == (0.25, 0.25, 0.25)
    assert stats.paired_bootstrap_diff([0, 0], [1, 1]) == (1.0, 1.0, 1.0)
    assert stats.paired_bootstrap_diff([0.1, 0.4, 0.2], [0.3, 0.6, 0.4]) == pytest.approx((0.2, 0.2, 0.2))
    with pytest.raises(ValueError, match="confidence"):
        stats.paired_bootstrap_diff([0, 1], [1, 1], confidence=1.5)


def test_paired_interval_is_exact_for_binary_outcomes_and_bca_otherwise() -> None:
    assert stats.paired_interval(A_BIN, B_BIN) == pytest.approx((8 / 30, *stats.mcnemar_interval(9, 1, 30)))
    assert stats.paired_interval(A_F1, B_F1) == stats.paired_bootstrap_diff(A_F1, B_F1)


def _rows(values: Sequence[float | None], prefix: str = "q") -> list[SimpleNamespace]:
    return [
        SimpleNamespace(qid=f"{prefix}{i}", metrics={"contains": v}, error=None) for i, v in enumerate(values)
    ]


def test_compare_variants_reports_a_real_gain_in_points() -> None:
    c = stats.compare_variants(_rows(A_BIN), _rows(B_BIN), "contains", name_a="prompt", name_b="rag")
    assert (c.n, c.wins, c.losses, c.ties) == (30, 9, 1, 20)
    assert c.mean_a == pytest.approx(0.5) and c.mean_b == pytest.approx(23 / 30)
    assert c.diff == pytest.approx(8 / 30) and c.ci[0] > 0
    assert c.significant and c.test == stats.MCNEMAR
    low, high = (f"{x * 100:.0f}" for x in stats.mcnemar_interval(9, 1, 30))
    assert c.verdict == (
        "rag is better than prompt by 27 points on 30 questions (rag was right on 9 questions prompt missed, "
        f"prompt on 1 that rag missed; p=0.021, 95% interval {low} to {high})."
    )


def test_compare_variants_says_within_noise_for_a_small_difference() -> None:
    a = [1, 0, 1, 1, 0, 1, 0, 1, 0, 1] * 3
    b = [1, 1, 1, 0, 0, 1, 1, 1, 0, 1] * 3
    c = stats.compare_variants(_rows(a), _rows(b))
    assert not c.significant and c.ci[0] < 0 < c.ci[1]
    assert c.verdict.startswith(
        "Not enough questions to tell A and B apart: B's lead of 10 points is within noise on 30 questions "
        "(B was right on 6 questions A missed, A on 3 that B missed; p=0.51, 95% interval −"
    )
    assert c.verdict.endswith(". Run more questions to tell.")


def _discordant_pairs(b_only: int, a_only: int, ties: int) -> tuple[list[int], list[int]]:
    """0/1 outcomes with the given discordant counts and `ties` questions both got right."""
    return [0] * b_only + [1] * a_only + [1] * ties, [1] * b_only + [0] * a_only + [1] * ties


def test_five_against_one_discordant_pairs_is_not_enough_and_says_so() -> None:
    # The complaint of issue 15: an interval that excluded zero next to a test that did not. Now they agree.
    a, b = _discordant_pairs(5, 1, 14)
    c = stats.compare_values(a, b, name_a="prompt", name_b="rag")
    assert c.p_value == pytest.approx(0.21875) and c.ci[0] < 0 < c.ci[1] and not c.significant
    assert c.verdict == (
        "Not enough questions to tell prompt and rag apart: rag's lead of 20 points is within noise on "
        "20 questions (rag was right on 5 questions prompt missed, prompt on 1 that rag missed; p=0.22, "
        "95% interval −8 to 30). Run more questions to tell."
    )


def test_three_of_five_questions_won_no_longer_reads_as_a_near_miss() -> None:
    # Five questions, B fixes three: the old percentile bootstrap gave "20 to 100" beside p=0.25.
    a, b = _discordant_pairs(3, 0, 2)
    c = stats.compare_values(a, b)
    assert c.p_value == pytest.approx(0.25) and c.ci[0] < 0 and not c.significant
    assert "barely" not in c.verdict and "disagree" not in c.verdict
    assert c.verdict.startswith("Not enough questions to tell A and B apart: B's lead of 60 points")


def test_one_question_won_in_a_single_discordant_pair_is_one_question() -> None:
    a, b = _discordant_pairs(1, 0, 4)
    assert "B was right on 1 question A missed, A on 0 that B missed" in stats.compare_values(a, b).verdict


def test_same_outcome_everywhere_says_nothing_tells_them_apart() -> None:
    c = stats.compare_values([1, 0, 1, 0], [1, 0, 1, 0], name_a="x", name_b="y")
    assert c.verdict == "x and y scored the same on all 4 questions: these questions cannot tell them apart."


def test_when_interval_and_test_disagree_the_verdict_says_undecided() -> None:
    # Three continuous scores, all better: the bootstrap interval leaves out zero, Wilcoxon cannot reach p<0.05.
    c = stats.compare_values([0.2, 0.5, 0.1], [0.9, 0.6, 0.15], "token_f1")
    assert c.ci[0] > 0 and c.p_value == pytest.approx(0.25) and not c.significant
    assert "B scored higher on 3 questions, A on 0" in c.verdict
    assert c.verdict.endswith(
        "The interval and the paired test disagree, as they can on few questions: take it as undecided "
        "and run more questions."
    )


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
    assert c.verdict.startswith("B is better than A by 1.75 on 6 questions (B scored higher on 6 questions")
    assert "points" not in c.verdict and c.test == stats.WILCOXON
    assert c.p_value == pytest.approx(sps.wilcoxon(np.array(b) - np.array(a)).pvalue)


def test_metric_cis_match_metrics_bootstrap_ci() -> None:
    from playground.evaluation.metrics import bootstrap_ci

    rows = _rows([1, 0, 1, 1, None])
    cis = stats.metric_cis(rows, ["contains", "token_f1"])
    assert cis["contains"] == bootstrap_ci([1, 0, 1, 1])
    assert cis["token_f1"] is None


def test_repeat_spread_over_per_repeat_means() -> None:
    repeats: list[list[float | None]] = [[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, None]]
    means = [0.75, 0.5, 1.0]
    spread = stats.repeat_spread(repeats)
    assert spread["n_repeats"] == 3
    assert spread["mean"] == pytest.approx(np.mean(means))
    assert spread["std"] == pytest.approx(np.std(means, ddof=1))
    assert (spread["min"], spread["max"]) == (0.5, 1.0)
    assert stats.repeat_spread([[1, 0]]) == {"n_repeats": 1, "mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert stats.repeat_spread([])["n_repeats"] == 0
