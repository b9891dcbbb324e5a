"""Metrics against their references: the official SQuAD v2 script, ranx, RAGAS and scipy."""

from __future__ import annotations

import collections
import math
import random
import re
import string

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from ranx import Qrels, Run, evaluate

from playground.evaluation.metrics import (
    average_precision,
    bootstrap_ci,
    contains_gold,
    context_precision,
    context_recall,
    exact_match,
    hit_at_k,
    mean,
    ndcg_at_k,
    normalize_answer,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
    semantic_similarity,
    token_f1,
)

# The official SQuAD v2.0 evaluation script, https://rajpurkar.github.io/SQuAD-explorer/ (evaluate-v2.0.py),
# copied with only the names changed.


def _official_normalize_answer(s: str) -> str:
    def remove_articles(text: str) -> str:
        regex = re.compile(r"\b(a|an|the)\b", re.UNICODE)
        return re.sub(regex, " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text: str) -> str:
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def _official_get_tokens(s: str) -> list[str]:
    if not s:
        return []
    return _official_normalize_answer(s).split()


def _official_compute_exact(a_gold: str, a_pred: str) -> int:
    return int(_official_normalize_answer(a_gold) == _official_normalize_answer(a_pred))


def _official_compute_f1(a_gold: str, a_pred: str) -> float:
    gold_toks = _official_get_tokens(a_gold)
    pred_toks = _official_get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        # If either is no-answer, then F1 is 1 if they agree, 0 otherwise
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def _official_raw_scores(prediction: str, golds: list[str]) -> tuple[float, float]:
    """The per-question part of the script's get_raw_scores."""
    gold_answers = [a for a in golds if _official_normalize_answer(a)]
    if not gold_answers:
        # For unanswerable questions, only correct answer is empty string
        gold_answers = [""]
    exact = max(_official_compute_exact(a, prediction) for a in gold_answers)
    f1 = max(_official_compute_f1(a, prediction) for a in gold_answers)
    return exact, f1


SQUAD_CASES: list[tuple[str, list[str]]] = [
    ("The Eiffel Tower", ["Eiffel Tower"]),
    ("eiffel tower!", ["The Eiffel Tower."]),
    ("", [""]),
    ("", ["Paris"]),
    ("Paris", []),
    ("", []),
    ("a an the", ["Paris"]),
    ("the the the", []),
    ("--", ["-"]),
    ("Paris Paris Paris", ["Paris"]),
    ("Paris France", ["Paris", "France"]),
    ("New York City", ["new york", "NYC"]),
    ("U.S.A.", ["USA"]),
    ("1,000", ["1000", "1 000"]),
    ("It's 14", ["its 14"]),
    ("theater", ["the ater", "theater"]),
    ("an apple a day", ["apple day"]),
    ("  multiple   spaces\tand\nnewlines ", ["multiple spaces and newlines"]),
    ("Café", ["cafe"]),
    ("red red blue", ["red blue blue"]),
    ("Abraham Lincoln", ["Lincoln", "President Abraham Lincoln"]),
    ("don't know", ["do not know"]),
    ("THE END", ["an end"]),
    ("Anne the Athena", ["anne athena"]),
    ("x", ["", "x y"]),
]


@pytest.mark.parametrize(("prediction", "golds"), SQUAD_CASES)
def test_squad_scores_match_the_official_script(prediction: str, golds: list[str]) -> None:
    official_exact, official_f1 = _official_raw_scores(prediction, golds)
    assert normalize_answer(prediction) == _official_normalize_answer(prediction)
    assert exact_match(prediction, golds) == official_exact
    assert token_f1(prediction, golds) == pytest.approx(official_f1, abs=1e-12)


def test_normalize_answer_examples() -> None:
    assert normalize_answer("The  Quick, brown FOX!") == "quick brown fox"
    assert normalize_answer("theater an") == "theater"
    assert normalize_answer("") == ""


def test_token_f1_hand_computed() -> None:
    # 2 of 3 predicted tokens are in the 2-token gold: P=2/3, R=1, F1=0.8
    assert token_f1("red blue green", ["red blue"]) == pytest.approx(0.8)
    assert exact_match("red blue green", ["red blue", "Red, Blue Green."]) == 1.0


@pytest.mark.parametrize(
    ("prediction", "golds", "expected"),
    [
        ("The answer is 140.", ["14"], 0.0),
        ("It was 14 years", ["14"], 1.0),
        ("In the United States.", ["united states"], 1.0),
        ("unitedstates", ["united states"], 0.0),
        ("New York City", ["York City"], 1.0),
        ("Paris", ["", "Paris"], 1.0),
        ("", ["."], 0.0),
        ("anything", [], 0.0),
    ],
)
def test_contains_gold(prediction: str, golds: list[str], expected: float) -> None:
    assert contains_gold(prediction, golds) == expected


_VECTORS = {"cat": [1.0, 0.0], "kitten": [3.0, 1.0], "dog": [0.0, 5.0], "void": [0.0, 0.0]}


def _fake_embed(texts: list[str], calls: list[list[str]] | None = None) -> np.ndarray:
    if calls is not None:
        calls.append(texts)
    return np.array([_VECTORS[text] for text in texts])


def test_semantic_similarity_takes_the_best_cosine_of_unnormalised_rows() -> None:
    calls: list[list[str]] = []
    score = semantic_similarity("cat", ["dog", "kitten"], lambda texts: _fake_embed(texts, calls))
    assert score == pytest.approx(3 / math.sqrt(10))
    assert calls == [["cat", "dog", "kitten"]]
    assert semantic_similarity("cat", ["dog"], _fake_embed) == pytest.approx(0.0)
    assert semantic_similarity("kitten", ["kitten"], _fake_embed) == pytest.approx(1.0)


def test_semantic_similarity_edge_cases() -> None:
    calls: list[list[str]] = []
    assert semantic_similarity("", ["cat"], lambda texts: _fake_embed(texts, calls)) == 0.0
    assert semantic_similarity("  ", ["cat"], lambda texts: _fake_embed(texts, calls)) == 0.0
    assert calls == []
    assert semantic_similarity("cat", [], _fake_embed) == 0.0
    assert semantic_similarity("void", ["cat"], _fake_embed) == 0.0
    assert semantic_similarity("cat", ["void"], _fake_embed) == 0.0


# Ranking metrics ------------------------------------------------------------------------------------------


def _random_queries(seed: int, n_queries: int = 30) -> tuple[dict, dict]:
    """Graded judgments (0-3, at least one relevant) and scored rankings without ties, for ranx."""
    rng = random.Random(seed)
    pool = [f"d{i}" for i in range(40)]
    qrels, run = {}, {}
    for q in range(n_queries):
        judged = rng.sample(pool, rng.randint(1, 8))
        grades = {doc: rng.randint(0, 3) for doc in judged}
        grades[judged[0]] = rng.randint(1, 3)
        candidates = judged + rng.sample(pool, 10)
        rng.shuffle(candidates)
        ranked = list(dict.fromkeys(candidates))[: rng.randint(1, 15)]
        qrels[f"q{q}"] = grades
        run[f"q{q}"] = {doc: float(len(ranked) - rank) for rank, doc in enumerate(ranked)}
    return qrels, run


def _ranked_and_relevant(qrels: dict, run: dict) -> tuple[dict, dict]:
    """Per query: ids in descending score order, and the ids graded above 0."""
    ranked = {q: sorted(scores, key=scores.__getitem__, reverse=True) for q, scores in run.items()}
    relevant = {q: {doc for doc, grade in grades.items() if grade > 0} for q, grades in qrels.items()}
    return ranked, relevant


_RANX_NAMES = ("hit_rate", "recall", "precision", "mrr", "ndcg", "map")


@pytest.mark.filterwarnings("ignore:unsafe cast")  # raised inside ranx's numba code
@pytest.mark.parametrize("k", [1, 3, 5, 10, 20])
@pytest.mark.parametrize("seed", [0, 1])
def test_ranking_metrics_match_ranx(k: int, seed: int) -> None:
    qrels, run = _random_queries(seed)
    expected = evaluate(Qrels(qrels), Run(run), [f"{name}@{k}" for name in _RANX_NAMES])
    ranked, relevant = _ranked_and_relevant(qrels, run)

    def ours(metric):  # type: ignore[no-untyped-def]
        return mean(metric(ranked[q], relevant[q], k) for q in run)

    assert ours(hit_at_k) == pytest.approx(expected[f"hit_rate@{k}"], abs=1e-9)
    assert ours(recall_at_k) == pytest.approx(expected[f"recall@{k}"], abs=1e-9)
    assert ours(precision_at_k) == pytest.approx(expected[f"precision@{k}"], abs=1e-9)
    assert ours(reciprocal_rank) == pytest.approx(expected[f"mrr@{k}"], abs=1e-9)
    assert ours(average_precision) == pytest.approx(expected[f"map@{k}"], abs=1e-9)
    graded_ndcg = mean(ndcg_at_k(ranked[q], qrels[q], k) for q in run)
    assert graded_ndcg == pytest.approx(expected[f"ndcg@{k}"], abs=1e-9)


def test_uncut_reciprocal_rank_and_average_precision_match_ranx() -> None:
    qrels, run = _random_queries(seed=2)
    expected = evaluate(Qrels(qrels), Run(run), ["mrr", "map"])
    ranked, relevant = _ranked_and_relevant(qrels, run)
    mrr = mean(reciprocal_rank(ranked[q], relevant[q]) for q in run)
    mean_ap = mean(average_precision(ranked[q], relevant[q]) for q in run)
    assert mrr == pytest.approx(expected["mrr"], abs=1e-9)
    assert mean_ap == pytest.approx(expected["map"], abs=1e-9)


def test_repeated_ids_count_only_at_their_first_position() -> None:
    ranked, relevant = ["a", "a", "b"], {"a", "b"}
    assert hit_at_k(ranked, relevant, 2) == 1.0
    assert recall_at_k(ranked, relevant, 2) == 0.5
    assert precision_at_k(ranked, relevant, 2) == 0.5
    assert reciprocal_rank(["x", "x", "a"], relevant) == pytest.approx(1 / 3)
    assert average_precision(ranked, relevant, 2) == 0.5
    assert average_precision(ranked, relevant) == pytest.approx((1 + 2 / 3) / 2)
    assert ndcg_at_k(["a", "a"], {"a": 1, "b": 1}, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ranking_metrics_hand_computed() -> None:
    grades = {"a": 3, "b": 1, "c": 2, "z": 0}
    ideal = 3 + 2 / math.log2(3) + 1 / 2
    assert ndcg_at_k(["x", "a", "b"], grades, 3) == pytest.approx((3 / math.log2(3) + 1 / 2) / ideal)
    assert ndcg_at_k(["a", "c", "b", "z"], grades, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 2) == pytest.approx(1.0)
    assert ndcg_at_k(["z"], grades, 1) == 0.0
    assert ndcg_at_k(["a"], {}, 1) == 0.0
    assert precision_at_k(["a"], {"a"}, 5) == pytest.approx(0.2)
    assert recall_at_k(["a"], set(), 5) == 0.0
    assert reciprocal_rank(["x", "a"], {"a"}, k=1) == 0.0
    assert average_precision([], {"a"}) == 0.0
    assert hit_at_k([], {"a"}, 3) == 0.0


@pytest.mark.parametrize("metric", [hit_at_k, recall_at_k, precision_at_k, reciprocal_rank, ndcg_at_k])
def test_k_below_one_is_rejected(metric) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="k must be at least 1"):
        metric(["a"], {"a"}, 0)


_IDS = st.sampled_from(list("abcdefgh"))


@given(
    ranked=st.lists(_IDS, max_size=12),
    grades=st.dictionaries(_IDS, st.integers(0, 3), max_size=8),
    k=st.integers(1, 14),
)
def test_ranking_metrics_stay_in_unit_interval(ranked: list[str], grades: dict[str, int], k: int) -> None:
    relevant = {doc for doc, grade in grades.items() if grade > 0}
    scores = [
        hit_at_k(ranked, relevant, k),
        recall_at_k(ranked, relevant, k),
        precision_at_k(ranked, relevant, k),
        reciprocal_rank(ranked, relevant, k),
        reciprocal_rank(ranked, relevant),
        ndcg_at_k(ranked, grades, k),
        ndcg_at_k(ranked, relevant, k),
        average_precision(ranked, relevant, k),
        average_precision(ranked, relevant),
    ]
    assert all(0.0 <= score <= 1.0 + 1e-12 for score in scores)
    hit, recall = scores[0], scores[1]
    assert hit >= recall
    if recall > 0:
        assert hit == 1.0


# RAG context metrics --------------------------------------------------------------------------------------


def _ragas_context_precision(verdicts: list[bool]) -> float:
    """RAGAS's formula, with its epsilon in the denominator."""
    verdict_list = [int(v) for v in verdicts]
    numerator = sum(
        (sum(verdict_list[: i + 1]) / (i + 1)) * verdict_list[i] for i in range(len(verdict_list))
    )
    return numerator / (sum(verdict_list) + 1e-10)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([True, False, True], (1 + 2 / 3) / 2),
        ([False, True], 0.5),
        ([True, True, True], 1.0),
        ([False, False, False], 0.0),
        ([], 0.0),
    ],
)
def test_context_precision(verdicts: list[bool], expected: float) -> None:
    assert context_precision(verdicts) == pytest.approx(expected)
    assert context_precision(verdicts) == pytest.approx(_ragas_context_precision(verdicts), abs=1e-9)


def test_context_recall() -> None:
    assert context_recall([True, False, True, True]) == 0.75
    assert context_recall([False]) == 0.0
    assert context_recall([]) == 0.0


# Aggregation ----------------------------------------------------------------------------------------------


def test_mean_ignores_none_and_is_zero_when_empty() -> None:
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([]) == 0.0
    assert mean([None]) == 0.0


def test_bootstrap_ci_is_close_to_scipy_percentile_method() -> None:
    values = np.random.default_rng(7).uniform(size=50)
    ours = bootstrap_ci(values.tolist())
    reference = scipy.stats.bootstrap(
        (values,), np.mean, confidence_level=0.95, n_resamples=9999, method="percentile", rng=1
    ).confidence_interval
    assert ours[0] == pytest.approx(reference.low, abs=0.02)
    assert ours[1] == pytest.approx(reference.high, abs=0.02)
    assert ours[0] < values.mean() < ours[1]
    assert bootstrap_ci(values.tolist()) == ours


def test_bootstrap_ci_edge_cases() -> None:
    assert bootstrap_ci([]) == (0.0, 0.0)
    assert bootstrap_ci([0.7]) == (0.7, 0.7)
    assert bootstrap_ci([0.1] * 10) == (0.1, 0.1)
    assert bootstrap_ci([None, 0.4, None]) == (0.4, 0.4)
    narrow = bootstrap_ci([0.0, 1.0] * 10, confidence=0.5)
    wide = bootstrap_ci([0.0, 1.0] * 10, confidence=0.99)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([0.0, 1.0], confidence=1.0)
