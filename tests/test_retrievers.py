"""Retrievers (dense, BM25, hybrid), reciprocal rank fusion, and the BEIR retrieval bench."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from playground.cli.main import main as cli_main
from playground.core.config import IndexConfig
from playground.core.documents import Chunk
from playground.core.errors import InputError
from playground.evaluation.beir import ExactIndex, load_beir, score_run
from playground.evaluation.retrieval_bench import BenchOptions, ranked_queries, run_retrieval_bench
from playground.ingest.loaders import load_folder
from playground.models.fake import FakeLLM
from playground.models.registry import get_embedder
from playground.retrieval import porter
from playground.retrieval.bm25 import BM25Ranker, s_stem, tokenize
from playground.retrieval.index import ScoredChunk, get_or_build_index
from playground.retrieval.retrievers import (
    BM25Retriever,
    DenseRetriever,
    HybridRetriever,
    Query,
    bm25_for,
    fuse,
    make_retriever,
    rrf,
    search_all,
)

# --- reciprocal rank fusion -------------------------------------------------------------------------------


def test_rrf_matches_a_hand_computed_example():
    fused = dict(rrf([["a", "b", "c"], ["b", "c", "d"]], k=60))
    assert fused == pytest.approx({"b": 1 / 62 + 1 / 61, "c": 1 / 63 + 1 / 62, "a": 1 / 61, "d": 1 / 63})
    assert [doc for doc, _ in rrf([["a", "b", "c"], ["b", "c", "d"]])] == ["b", "c", "a", "d"]


def test_rrf_counts_an_id_once_per_list_and_breaks_ties_by_first_sight():
    assert dict(rrf([["a", "a", "b"]], k=1)) == pytest.approx({"a": 1 / 2, "b": 1 / 3})
    assert [doc for doc, _ in rrf([["x"], ["y"]])] == ["x", "y"]
    assert rrf([]) == []


def _chunk(cid: str, text: str, category: str = "") -> Chunk:
    return Chunk(chunk_id=cid, doc_id=cid, text=text, start=0, end=len(text), category=category)


def test_fuse_renumbers_ranks_and_uses_fused_scores():
    a, b, c = _chunk("a", "x"), _chunk("b", "y"), _chunk("c", "z")
    first = [ScoredChunk(a, 0.9, 1), ScoredChunk(b, 0.5, 2)]
    second = [ScoredChunk(b, 7.0, 1), ScoredChunk(c, 3.0, 2)]
    fused = fuse([first, second], k=2)
    assert [h.chunk.chunk_id for h in fused] == ["b", "a"] and [h.rank for h in fused] == [1, 2]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fuse([first], k=1) == first[:1]


# --- BM25 -------------------------------------------------------------------------------------------------

TEXTS = [
    "The cat sat on the mat.",
    "Dogs chase cats in the garden.",
    "Quantum physics studies particles.",
    "A recipe for apple pie with apples and cinnamon.",
]


def test_tokenize_lowercases_drops_stopwords_and_strips_plurals():
    assert tokenize(["The Cats are in the Gardens"]) == [["cat", "garden"]]
    stems = [s_stem(w) for w in ("studies", "cells", "virus", "class", "is")]
    assert stems == ["study", "cell", "virus", "class", "is"]


@pytest.mark.parametrize(
    "word, expected",
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("agreed", "agre"),
        ("feed", "feed"),
        ("hopping", "hop"),
        ("filing", "file"),
        ("happy", "happi"),
        ("sky", "sky"),
        ("relational", "relat"),
        ("rational", "ration"),
        ("generalizations", "gener"),
        ("oscillators", "oscil"),
        ("adoption", "adopt"),
        ("controll", "control"),
        ("replacement", "replac"),
        ("cease", "ceas"),
        ("rate", "rate"),
        ("is", "is"),
    ],
)
def test_porter_stemmer_matches_the_published_examples(word, expected):
    assert porter.stem(word) == expected


PORTER_DATA = Path(__file__).parent / "data" / "porter"

# Where the reference/Lucene variant stems differently from the 1980 paper, on purpose (both departures are in
# Martin Porter's reference implementation and in Lucene's PorterStemmer, so BM25 tokens match Anserini's).
# word: (our stem = reference output, the 1980 paper's stem, why)
DEPARTURES = {
    "apology": ("apolog", "apologi", "step 2 adds -logi -> -log"),
    "assembly": ("assembl", "assembli", "step 2 has -bli -> -ble where the paper has only -abli -> -able"),
    "assemblies": ("assembl", "assembli", "as assembly: -ies -> -i, then -bli -> -ble"),
    "possibly": ("possibl", "possibli", "as assembly"),
    "archaeology": ("archaeolog", "archaeologi", "as apology"),
}


def test_porter_stemmer_matches_martin_porters_reference_output():
    words = (PORTER_DATA / "voc.txt").read_text(encoding="utf-8").splitlines()
    stems = (PORTER_DATA / "output.txt").read_text(encoding="utf-8").splitlines()
    assert len(words) == len(stems) > 3000
    wrong = [
        (word, stem, porter.stem(word))
        for word, stem in zip(words, stems, strict=True)
        if porter.stem(word) != stem
    ]
    assert wrong == [], f"(word, reference stem, ours): {wrong[:20]}"


@pytest.mark.parametrize("word", sorted(DEPARTURES))
def test_porter_stemmer_keeps_the_reference_departures_from_the_1980_paper(word):
    ours, paper, _why = DEPARTURES[word]
    assert porter.stem(word) == ours != paper
    reference = dict(
        zip(
            (PORTER_DATA / "voc.txt").read_text(encoding="utf-8").splitlines(),
            (PORTER_DATA / "output.txt").read_text(encoding="utf-8").splitlines(),
            strict=True,
        )
    )
    assert reference.get(word, ours) == ours  # the published output agrees where it lists the word


def test_bm25_ranks_the_document_sharing_the_rare_words_first():
    ranker = BM25Ranker(TEXTS)
    assert ranker.top("apple cinnamon", 3)[0][0] == 3
    # Both mention a cat once; BM25's length normalisation (b=0.4) puts the shorter text (3 tokens, not 4) first.
    assert [i for i, _ in ranker.top("cats", 5)] == [0, 1]
    assert ranker.top("the of and", 5) == [], "a query of stopwords matches nothing"
    assert ranker.top("zebra", 5) == []
    assert ranker.top("cat", 5, allowed=np.array([False, True, True, True])) == [
        (1, pytest.approx(ranker.scores("cat")[1]))
    ]


def test_bm25_score_matches_the_lucene_formula_with_k1_09_b_04():
    ranker = BM25Ranker(TEXTS)
    lengths = [len(t) for t in tokenize(TEXTS)]
    avg = sum(lengths) / len(lengths)
    idf = math.log(1 + (4 - 1 + 0.5) / (1 + 0.5))  # "quantum" occurs in one of four documents
    tf_part = 1 / (1 + 0.9 * (1 - 0.4 + 0.4 * lengths[2] / avg))
    assert ranker.scores("quantum")[2] == pytest.approx(idf * tf_part, rel=1e-5)


# --- retrievers over a real index -------------------------------------------------------------------------


@pytest.fixture
def index_and_embedder(small_corpus_dir, settings):
    embedder = get_embedder("local:all-minilm-l6-v2", settings)
    return get_or_build_index(load_folder(small_corpus_dir), IndexConfig(), embedder, settings), embedder


def test_bm25_retriever_finds_the_return_policy_and_is_built_once(index_and_embedder):
    index, _ = index_and_embedder
    retriever = BM25Retriever(index)
    hits = retriever.search(Query("How many days to return a product?"), 3)
    assert hits and hits[0].chunk.category == "policies" and hits[0].rank == 1
    assert hits[0].score >= hits[-1].score
    assert bm25_for(index) is retriever.ranker
    only = retriever.search(Query("days"), 50, categories=["handbook"])
    assert only and {h.chunk.category for h in only} == {"handbook"}


@pytest.mark.parametrize("name", ["dense", "bm25", "hybrid"])
def test_every_retriever_answers_and_respects_k_and_categories(name, index_and_embedder):
    index, embedder = index_and_embedder
    retriever = make_retriever(name, index, embedder)
    assert retriever.name == name
    hits = retriever.search(Query("return a product within 30 days"), 2)
    assert 1 <= len(hits) <= 2 and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert any("30 days" in h.chunk.text for h in hits)
    filtered = retriever.search(Query("Sproutvault price"), 100, categories=["products"])
    assert filtered and all(h.chunk.category == "products" for h in filtered)


def test_dense_top_k_larger_than_the_index_returns_everything(index_and_embedder):
    index, embedder = index_and_embedder
    assert len(DenseRetriever(index, embedder).search(Query("anything"), 10_000)) == len(index)


def test_hybrid_holds_what_either_side_ranks_first(index_and_embedder):
    index, embedder = index_and_embedder
    dense, lexical = DenseRetriever(index, embedder), BM25Retriever(index)
    query = Query("What does a return label cost?")
    hybrid = HybridRetriever(dense, lexical).search(query, 5)
    ids = {h.chunk.chunk_id for h in hybrid}
    assert dense.search(query, 1)[0].chunk.chunk_id in ids
    assert lexical.search(query, 1)[0].chunk.chunk_id in ids


def test_search_all_fuses_several_queries(index_and_embedder):
    index, embedder = index_and_embedder
    retriever = DenseRetriever(index, embedder)
    one = search_all(retriever, [Query("holiday days")], 3)
    many = search_all(retriever, [Query("holiday days"), Query("return label price")], 3)
    assert len(one) == len(many) == 3 and one != many


def test_a_query_vector_replaces_the_text_for_dense_search(index_and_embedder):
    index, embedder = index_and_embedder
    retriever = DenseRetriever(index, embedder)
    vector = embedder.embed_query("business travel expenses")
    assert retriever.search(Query("xyz", vector), 1) == retriever.search(Query("business travel expenses"), 1)


def test_exact_index_is_an_exact_cosine_search():
    chunks = [_chunk("a", "a", "x"), _chunk("b", "b", "y"), _chunk("c", "c", "x")]
    vectors = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    index = ExactIndex("k", chunks, vectors)
    assert [h.chunk.chunk_id for h in index.search(np.array([0.0, 1.0]), 3)] == ["c", "b", "a"]
    assert [h.chunk.chunk_id for h in index.search(np.array([0.0, 1.0]), 5, ["x"])] == ["c", "a"]


# --- BEIR -------------------------------------------------------------------------------------------------


@pytest.fixture
def beir_dir(tmp_path):
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    docs = [
        ("d1", "Cats", "Cats purr when they are content and sleep most of the day."),
        ("d2", "Dogs", "Dogs bark at strangers and love long walks."),
        ("d3", "Volcanoes", "A volcano erupts when magma rises through the crust."),
        ("d4", "Tea", "Green tea contains caffeine and antioxidants."),
    ]
    rows = [json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in docs]
    (folder / "corpus.jsonl").write_text("\n".join(rows))
    queries = [
        ("q1", "why do cats purr"),
        ("q2", "what makes a volcano erupt"),
        ("q3", "caffeine in green tea"),
        ("q9", "a query without judgments"),
    ]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": i, "text": t}) for i, t in queries))
    qrels = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\nq3\td4\t1\n"
    (folder / "qrels" / "test.tsv").write_text(qrels)
    return folder


def test_load_beir_reads_whole_passages_and_judged_queries(beir_dir):
    data = load_beir(beir_dir)
    assert len(data.passages) == 4 and data.passages[0].text.startswith("Cats Cats purr")
    assert data.query_ids() == ["q1", "q2", "q3"] and data.query_ids(2) == ["q1", "q2"]
    assert data.qrels["q2"] == {"d3": 1}


def test_load_beir_says_which_file_is_missing(tmp_path):
    with pytest.raises(InputError, match=r"corpus\.jsonl is missing"):
        load_beir(tmp_path)


def test_score_run_by_hand():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
    scores = score_run({"q1": ["x", "a"], "q2": ["b", "y", "z"]}, qrels)
    ndcg_q1 = (1 / math.log2(3)) / 1.0
    ndcg_q2 = 1.0 / (1 + 1 / math.log2(3))
    assert scores["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2, abs=1e-4)
    assert scores["recall@100"] == pytest.approx(0.75) and scores["mrr@10"] == pytest.approx(0.75)
    assert scores["n_queries"] == 2


def test_cli_retrieval_bench_bm25_prints_json(beir_dir, tmp_path, settings, capsys):
    out = tmp_path / "r.json"
    args = ["retrieval-bench", "--dataset", str(beir_dir), "--retriever", "bm25", "--out", str(out)]
    assert cli_main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ndcg@10"] == 1.0 and printed["n_queries"] == 3
    assert {"recall@100", "mrr@10", "timings"} <= set(printed) and printed["timings"]["search_s"] >= 0
    assert json.loads(out.read_text())["retriever"] == "bm25"


def test_cli_retrieval_bench_reports_a_bad_folder(tmp_path, capsys):
    assert cli_main(["retrieval-bench", "--dataset", str(tmp_path), "--retriever", "bm25"]) == 2
    assert "corpus.jsonl is missing" in capsys.readouterr().err


def test_dense_bench_caches_corpus_embeddings(beir_dir, settings):
    first = run_retrieval_bench(beir_dir, BenchOptions("dense"), settings)
    again = run_retrieval_bench(beir_dir, BenchOptions("hybrid"), settings)
    assert first["ndcg@10"] == 1.0 and not first["corpus_embeddings_cached"]
    assert again["corpus_embeddings_cached"] and again["ndcg@10"] == 1.0
    assert list((settings.data_dir / "beir").glob("tiny-*.npy"))


def test_ranked_queries_are_the_orders_the_bench_scores(beir_dir, settings):
    """What bench/reranker_versus pairs a reranker's orders with: the same ids, query by query."""
    data = load_beir(beir_dir)
    for name in ("bm25", "dense"):
        ranked = ranked_queries(data, data.query_ids(), BenchOptions(name), settings)
        assert [ids[0] for ids in ranked.values()] == ["d1", "d3", "d4"] and set(ranked) == {"q1", "q2", "q3"}
        assert score_run(ranked, data.qrels) == {
            k: v
            for k, v in run_retrieval_bench(beir_dir, BenchOptions(name), settings).items()
            if k in ("ndcg@10", "recall@100", "mrr@10", "n_queries")
        }


def test_rerank_bench_reorders_the_bm25_candidates(beir_dir, settings):
    llm = FakeLLM(rules=[(r"Passage: Cats", "yes"), (r"Passage:", "no")])
    result = run_retrieval_bench(beir_dir, BenchOptions("rerank", limit=2, candidates=3), settings, llm=llm)
    assert result["n_queries"] == 2 and result["baseline"]["retriever"] == "bm25"
    first = result["per_query"][0]
    assert first["method"] == "text" and first["after"][0] == "d1"
    assert set(first["after"]) == set(first["before"])
    assert result["ndcg@10"] == result["baseline"]["ndcg@10"] == 1.0
    kept = result["fusions"]["interpolate 0.5"]["vs_retriever"]
    assert kept["ndcg@10_diff"] == 0.0 and kept["up"] == kept["down"] == 0 and kept["p_value"] == 1.0
    assert json.loads(json.dumps(result))["fusions"] == result["fusions"]  # written as the CLI writes it


def test_rerank_bench_can_rank_listwise(beir_dir, settings):
    llm = FakeLLM(rules=[(r"Rank the", "2 > 1 > 3")])
    options = BenchOptions("rerank", limit=2, candidates=3, reranker="listwise", fusion="replace")
    result = run_retrieval_bench(beir_dir, options, settings, llm=llm)
    first = result["per_query"][0]
    assert first["method"] == "listwise" and set(first["after"]) >= set(first["before"])
    assert result["reranker"] == "listwise" and set(result["fusions"]) >= {
        "replace",
        "rrf",
        "interpolate 0.5",
    }


def test_hyde_bench_records_passages_and_fallbacks(beir_dir, settings):
    llm = FakeLLM(rules=[(r"cats purr", "Purring is a sound cats make when they are content."), (r".", "")])
    result = run_retrieval_bench(beir_dir, BenchOptions("hyde", limit=2), settings, llm=llm)
    assert result["fallbacks"] == 1 and result["per_query"][0]["passage"].startswith("Purring")
    assert result["baseline"]["retriever"] == "dense" and result["n_queries"] == 2
