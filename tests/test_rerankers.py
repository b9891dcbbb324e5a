"""Rerankers through the real stack: the `/rerank` protocol against a loopback server that speaks it (both
response shapes, a server that is down, one that answers garbage), a real CrossEncoder built from the packaged
MiniLM reranking a real chromadb index of the fictional sample, scores from the cache on a second run and in the
replay bundle, a failing reranker's message in its variant's rows, and the fusions that keep a weak reranker from
wrecking a good retrieval."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from playground.core.config import VariantConfig
from playground.core.errors import ModelError, UnknownModelError
from playground.core.settings import Settings
from playground.evaluation.runner import run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import parse_questions
from playground.models.fake import FakeLLM
from playground.models.registry import get_reranker
from playground.rag.pipeline import build_pipeline
from playground.rag.strategies import cross_encoder_rerank, listwise_rerank, llm_rerank
from playground.rag.strategies.rerank import listwise_messages, parse_ranking
from playground.rag.strategies.rerank_fusion import FUSIONS, fused_order, resolve_fusion
from playground.reporting.bundle import run_cache_export
from playground.retrieval.index import ScoredChunk
from playground.storage.cached_reranker import CachedReranker, reranker_cache
from playground.storage.response_cache import ResponseCache
from tests.conftest import FAST_LOCAL_MODEL

RETURN_Q = "What does a return label cost?"
QUESTIONS = [
    {"id": "t1", "question": RETURN_Q, "answers": ["€6.50"], "evidence": ["a return label costs €6.50"]},
    {"id": "t2", "question": "How many days do customers have to return a product?", "answers": ["30 days"]},
]


# --- a loopback server that speaks /rerank -------------------------------------------------------------------


def _relevance(query: str, document: str) -> float:
    """Shared words of four letters or more: enough to tell the stub's passages apart."""
    words = {w for w in re.findall(r"\w+", query.lower()) if len(w) > 3}
    return float(sum(1 for w in words if w in document.lower()))


@dataclasses.dataclass
class RerankStub:
    shape: str = "cohere"  # cohere | tei | garbage | wrong-shape | short
    requests: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> tuple[int, bytes]:
        self.requests.append(body)
        if self.shape == "garbage":
            return 200, b"<html>not a reranker</html>"
        if self.shape == "wrong-shape":
            return 200, b'{"data": [0.1, 0.2]}'
        if self.shape == "tei":
            if "texts" not in body:  # what TEI says to a Cohere-style request
                return 422, b'{"error": "Failed to deserialize the JSON body: missing field `texts`"}'
            scores = [_relevance(body["query"], t) for t in body["texts"]]
            return 200, json.dumps([{"index": i, "score": s} for i, s in enumerate(scores)]).encode()
        scores = [_relevance(body["query"], d) for d in body["documents"]]
        results = sorted(
            ({"index": i, "relevance_score": s} for i, s in enumerate(scores)),
            key=lambda r: -r["relevance_score"],
        )
        if self.shape == "short":
            results = results[:1]
        return 200, json.dumps({"model": body.get("model"), "results": results}).encode()


@contextmanager
def rerank_server(stub: RerankStub) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, payload = stub.answer(body) if self.path == "/rerank" else (404, b"{}")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def strict(settings: Settings) -> Settings:
    """No retries, a short timeout: failures are reported at once."""
    return dataclasses.replace(settings, max_retries=0, request_timeout_s=5.0)


PASSAGES = ["Dogs bark at night.", "A return label costs €6.50.", "Returns within 30 days."]


@pytest.mark.parametrize("shape", ["cohere", "tei"])
def test_a_rerank_server_scores_in_either_response_shape(shape: str, strict: Settings) -> None:
    stub = RerankStub(shape)
    with rerank_server(stub) as url:
        reranker = get_reranker(f"rerank:bge-reranker@{url}", strict)
        scores = reranker.score("what does a return label cost", PASSAGES)
        assert scores == [0.0, 3.0, 1.0], "one score per passage, in the passages' order"
        reranker.score("return label", PASSAGES[:1])
    if shape == "cohere":
        assert stub.requests[0] == {
            "model": "bge-reranker",
            "query": "what does a return label cost",
            "documents": PASSAGES,
            "top_n": 3,
        }
    else:  # asked once in the Cohere form, then in TEI's, which the client keeps to
        assert [sorted(r) for r in stub.requests] == [
            ["documents", "model", "query", "top_n"],
            ["query", "raw_scores", "texts"],
            ["query", "raw_scores", "texts"],
        ]


@pytest.mark.parametrize(
    "shape, message",
    [
        ("garbage", r"not JSON .*Check that the address is a rerank server"),
        ("wrong-shape", r"not a rerank result \(expected .*relevance_score"),
        ("short", r"scored 1 of the 3 passages"),
    ],
)
def test_a_server_that_answers_garbage_says_so(shape: str, message: str, strict: Settings) -> None:
    with rerank_server(RerankStub(shape)) as url, pytest.raises(ModelError, match=message):
        get_reranker(f"rerank:m@{url}", strict).score("return label", PASSAGES)


def test_a_server_that_is_down_says_how_to_start_one(strict: Settings) -> None:
    with rerank_server(RerankStub()) as url:
        pass  # the server is gone: its port is closed now
    with pytest.raises(ModelError, match=r"cannot reach the rerank server at .*/rerank.*Start the server"):
        get_reranker(f"rerank:m@{url}", strict).score("q", ["p"])


def test_reranker_names_resolve_by_provider(settings: Settings) -> None:
    with pytest.raises(UnknownModelError, match=r"'local:qwen2.5-0.5b' is not a cross-encoder.*ce:<"):
        get_reranker("local:qwen2.5-0.5b", settings)
    with pytest.raises(UnknownModelError, match=r"should look like rerank:<model>@http://host:port"):
        get_reranker("rerank:bge", settings)


def test_config_asks_for_a_cross_encoder_and_says_where_to_get_one() -> None:
    with pytest.raises(ValueError, match=r"Fine-tune page.*finetune-reranker.*ce:<.*rerank:<model>@"):
        VariantConfig(use_retrieval=True, reranker="cross-encoder")
    with pytest.raises(ValueError, match="reranker_model is set but reranker is none"):
        VariantConfig(use_retrieval=True, reranker_model="ce:/x")
    assert (
        VariantConfig(use_retrieval=True, reranker="llm", reranker_model="local:qwen2.5-1.5b").rerank_fusion
        == "auto"
    )
    assert (
        resolve_fusion("llm", "auto") == "interpolate"
        and resolve_fusion("cross-encoder", "auto") == "interpolate"
    )


# --- a real cross-encoder ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained CrossEncoder on the packaged MiniLM (enough for the plumbing), saved as a folder."""
    from sentence_transformers import CrossEncoder

    from playground.models.st_embedder import packaged_minilm_path

    folder = tmp_path_factory.mktemp("models") / "minilm-ce"
    CrossEncoder(str(packaged_minilm_path()), num_labels=1, device="cpu").save(str(folder))
    return folder


def test_a_folder_that_is_not_a_cross_encoder_says_what_one_holds(tmp_path: Path, settings: Settings) -> None:
    from playground.models.st_embedder import packaged_minilm_path

    embedder = packaged_minilm_path()  # loads as a CrossEncoder with a random head: refused instead
    with pytest.raises(
        ModelError, match=rf"{re.escape(str(embedder))} is not a cross-encoder .*BertModel.*config\.json"
    ):
        get_reranker(f"ce:{embedder}", settings).score("q", ["p"])
    with pytest.raises(ModelError, match=r"no config\.json.*Fine-tune page"):
        get_reranker(f"ce:{tmp_path}", settings).score("q", ["p"])


def test_a_cross_encoder_folder_scores_each_pair_once_loaded(
    cross_encoder_dir: Path, settings: Settings
) -> None:
    reranker = get_reranker(f"ce:{cross_encoder_dir}", settings)
    scores = reranker.score(RETURN_Q, PASSAGES)
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)
    assert reranker.score(RETURN_Q, PASSAGES[1:2]) == pytest.approx(scores[1:2], abs=1e-5)
    assert reranker.score(RETURN_Q, []) == []


def test_a_passage_longer_than_the_model_reads_scores_as_its_best_window(
    cross_encoder_dir: Path, settings: Settings
) -> None:
    from playground.models.cross_encoder import load_cross_encoder
    from playground.models.passage_windows import window_tokens, windows

    model = load_cross_encoder(str(cross_encoder_dir))
    reads = model.max_seq_length
    model.max_seq_length = 64  # a short reader, so the sample's passages run past it
    try:
        long_passage = " ".join(PASSAGES * 8)
        size = window_tokens(model.tokenizer, 64, RETURN_Q)
        cut = windows(model.tokenizer, long_passage, size)
        assert len(cut) > 2 and cut[0] == long_passage[: len(cut[0])] and long_passage.endswith(cut[-1])
        by_window = model.predict([(RETURN_Q, w) for w in cut], show_progress_bar=False)
        reranker = get_reranker(f"ce:{cross_encoder_dir}", settings)
        fits, long_score = reranker.score(RETURN_Q, [PASSAGES[0][:80], long_passage])
        # every window read, the best kept
        assert long_score == pytest.approx(float(max(by_window)), abs=1e-5)
        assert fits == pytest.approx(float(model.predict([(RETURN_Q, PASSAGES[0][:80])])[0]), abs=1e-5)
    finally:
        model.max_seq_length = reads


@pytest.fixture
def corpus(small_corpus_dir: Path):
    return load_folder(small_corpus_dir)


def test_a_cross_encoder_reranks_a_real_index_and_scores_come_from_the_cache(
    cross_encoder_dir: Path, corpus, settings: Settings
) -> None:
    variant = VariantConfig(
        use_retrieval=True,
        top_k=2,
        reranker="cross-encoder",
        reranker_model=f"ce:{cross_encoder_dir}",
        rerank_candidates=5,
        rerank_fusion="replace",  # the cross-encoder's order alone (auto interpolates)
    )
    cached: list[CachedReranker] = []

    def wrap(reranker: Any) -> Any:
        cached.append(CachedReranker(reranker, ResponseCache(settings)))
        return cached[-1]

    first = build_pipeline(variant, corpus, settings, llm=FakeLLM(), wrap_reranker=wrap).run(RETURN_Q)
    step = first.steps["rerank"]
    assert step["method"] == "cross-encoder" and step["fusion"] == "replace" and len(step["before"]) == 5
    assert step["after"] == [h.chunk.chunk_id for h in first.retrieved] and len(first.retrieved) == 2
    best = max(step["scores"], key=step["scores"].get)
    assert step["after"][0] == best
    assert first.retrieved[0].score == pytest.approx(step["scores"][best], abs=1e-6)
    assert "rerank" in first.timings
    again = build_pipeline(variant, corpus, settings, llm=FakeLLM(), wrap_reranker=reranker_cache(settings))
    assert again.run(RETURN_Q).steps["rerank"] == step
    assert (cached[0].misses, cached[0].hits) == (5, 0)
    assert (again.reranker.hits, again.reranker.misses) == (5, 0)  # type: ignore[union-attr]


# --- sweeps: the cache, the bundle, a failing reranker --------------------------------------------------------


def _questions():
    return parse_questions("q.jsonl", "\n".join(json.dumps(q) for q in QUESTIONS).encode())


def test_a_sweep_caches_rerank_scores_logs_them_for_the_bundle_and_scores_nothing_twice(
    small_corpus_dir: Path, strict: Settings
) -> None:
    stub = RerankStub()
    with rerank_server(stub) as url:
        variant = VariantConfig(
            name="server",
            model="fake:extractive",
            use_retrieval=True,
            top_k=2,
            rerank_candidates=4,
            reranker="cross-encoder",
            reranker_model=f"rerank:m@{url}",
        )
        corpus = load_folder(small_corpus_dir)
        run = run_evaluation([variant], corpus, _questions(), strict)
        assert len(stub.requests) == 2 and not any(r.error for r in run.variants[0].rows)
        assert run.variants[0].cache_counts()["rerank"] == {"hits": 0, "misses": 8}
        again = run_evaluation([variant], corpus, _questions(), strict)
    assert len(stub.requests) == 2, "the second run scored nothing: every score came from the cache"
    assert again.variants[0].cache_counts()["rerank"] == {"hits": 8, "misses": 0}
    assert [r.steps["rerank"] for r in again.variants[0].rows] == [
        r.steps["rerank"] for r in run.variants[0].rows
    ]
    exported = [r for r in run_cache_export(run.to_dict(), strict) if r["table"] == "scores"]
    assert len(exported) == 8, "the replay bundle carries every rerank score"


def test_a_failing_reranker_fails_its_variants_rows_with_what_to_do(
    small_corpus_dir: Path, tmp_path: Path, strict: Settings
) -> None:
    plain = VariantConfig(name="rag", model="fake:extractive", use_retrieval=True, top_k=2)
    broken = plain.model_copy(
        update={
            "name": "ce",
            "reranker": "cross-encoder",
            "reranker_model": f"ce:{tmp_path}",
            "rerank_candidates": 4,
        }
    )
    run = run_evaluation([plain, broken], load_folder(small_corpus_dir), _questions(), strict)
    ok, failed = run.variants
    assert not any(r.error for r in ok.rows)
    assert all(
        r.error and "is not a cross-encoder" in r.error and "Fine-tune page" in r.error for r in failed.rows
    )


# --- fusion: a weak reranker cannot wreck a good order ----------------------------------------------------------


def _dcg(order: list[int], relevant: set[int]) -> float:
    import math

    return sum(1 / math.log2(rank + 1) for rank, i in enumerate(order, start=1) if i in relevant)


@pytest.mark.parametrize("fusion", FUSIONS)
def test_a_constant_score_keeps_the_retrievers_order(fusion: str) -> None:
    retriever = [9.0, 7.5, 7.0, 3.0, 1.0]
    assert fused_order(retriever, [0.3] * 5, fusion) == [0, 1, 2, 3, 4]  # type: ignore[arg-type]


def test_random_scores_move_a_good_order_little_when_fused_and_far_when_replacing() -> None:
    """Ten candidates, the relevant ones first (a good retrieval); a reranker that scores at random."""
    rng = random.Random(7)
    retriever = [10.0 - i for i in range(10)]
    relevant, best = {0, 1}, _dcg([0, 1], {0, 1})
    kept = {f: 0.0 for f in FUSIONS}
    for _ in range(500):
        noise = [rng.random() for _ in range(10)]
        for fusion in FUSIONS:
            kept[fusion] += _dcg(fused_order(retriever, noise, fusion)[:10], relevant) / best / 500
    assert kept["replace"] < 0.6, "a random reranker alone shuffles the evidence away"
    assert kept["rrf"] > 0.75 and kept["interpolate"] > 0.75
    assert kept["rrf"] > kept["replace"] + 0.2


def test_a_reranker_unsure_of_every_passage_cannot_move_the_order_when_interpolated() -> None:
    """The 0.5B model's P(yes) stays within 0.30-0.39 on SciFact: taken as a probability, it moves nothing."""
    rng = random.Random(3)
    retriever = [10.0 - i for i in range(10)]
    for _ in range(100):
        unsure = [0.30 + 0.09 * rng.random() for _ in range(10)]
        assert fused_order(retriever, unsure, "interpolate") == list(range(10))
    logits = [-3.0, 5.0, 1.0]  # scores outside 0..1 are min-max scaled first
    assert fused_order([3.0, 2.0, 1.0], logits, "interpolate", 0.7) == [1, 2, 0]


def test_an_agreeing_reranker_keeps_the_order_and_a_sure_one_can_still_lift_a_passage() -> None:
    retriever = [5.0, 4.0, 3.0, 2.0]
    assert all(fused_order(retriever, [0.9, 0.8, 0.2, 0.1], f) == [0, 1, 2, 3] for f in FUSIONS)  # type: ignore[arg-type]
    sure = [0.0, 0.0, 1.0, 0.0]  # a hosted model's plain "yes" to the third passage
    assert fused_order(retriever, sure, "replace")[0] == 2
    assert fused_order(retriever, sure, "interpolate", 0.7)[0] == 2
    assert fused_order(retriever, sure, "rrf")[:2] == [0, 2], "rrf lifts it, by one rank of ten here"


def _hits(*texts: str) -> list[ScoredChunk]:
    from playground.core.documents import Chunk

    return [
        ScoredChunk(
            Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", title="t", text=t, start=0, end=len(t)),
            1.0 - i / 10,
            i + 1,
        )
        for i, t in enumerate(texts)
    ]


def test_the_text_yes_no_path_fuses_like_the_logits_one() -> None:
    """A hosted model has no logits: its yes / no (1 / 0) replies meet the retriever's order the same way."""
    hits = _hits("first passage", "second passage", "third passage, the answer", "fourth passage")
    llm = FakeLLM(rules=[(r"Passage: third", "yes"), (r"Passage:", "no")])
    for fusion in FUSIONS:
        result = llm_rerank("q", hits, llm, top_k=4, fusion=fusion)
        order = fused_order([h.score for h in hits], [0.0, 0.0, 1.0, 0.0], fusion)
        assert result.method == "text" and result.fusion == fusion
        assert [h.chunk.chunk_id for h in result.hits] == [f"c{i}" for i in order]
        assert result.step()["scores"]["c2"] == 1.0 and result.hits[0].rank == 1


def test_cross_encoder_rerank_keeps_top_k_with_the_rerankers_own_scores() -> None:
    class Lengths:
        name = "lengths"

        def score(self, query: str, passages: list[str]) -> list[float]:
            return [float(len(p)) for p in passages]

    hits = _hits("a", "ccc", "bb")
    result = cross_encoder_rerank("q", hits, Lengths(), top_k=2)
    assert [h.chunk.text for h in result.hits] == ["ccc", "bb"] and [h.score for h in result.hits] == [
        3.0,
        2.0,
    ]
    assert result.step()["reranker"] == "lengths" and result.step()["fused"] == {
        "c0": 1.0,
        "c1": 3.0,
        "c2": 2.0,
    }


def test_a_bad_fusion_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fusion"):
        resolve_fusion("llm", "average")
    with pytest.raises(ValidationError, match="rerank_fusion"):
        VariantConfig(use_retrieval=True, reranker="llm", rerank_fusion="average")  # type: ignore[arg-type]


# --- listwise (RankGPT-style) -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "order", "named"),
    [
        ("[3] > [1] > [2]", [2, 0, 1], 3),
        ("3 > 3 > 7 > 1", [2, 0, 1], 2),  # a repeat and a number out of range are skipped, 2 follows
        ("I cannot rank these passages.", [0, 1, 2], 0),
    ],
)
def test_a_listwise_reply_is_read_as_an_order_of_every_passage(
    reply: str, order: list[int], named: int
) -> None:
    assert parse_ranking(reply, 3) == (order, named)


def test_listwise_reranking_orders_by_the_reply_and_keeps_the_search_order_when_none_is_given() -> None:
    hits = _hits("first passage", "second passage", "third passage, the answer")
    ranked = listwise_rerank("q", hits, FakeLLM(rules=[(r"Rank the 3", "3 > 1 > 2")]), top_k=2)
    assert [h.chunk.chunk_id for h in ranked.hits] == ["c2", "c0"]
    assert ranked.scores == {"c0": pytest.approx(2 / 3), "c1": pytest.approx(1 / 3), "c2": 1.0}
    assert (ranked.method, ranked.unparsed) == ("listwise", 0)
    shown = listwise_messages("q", [h.chunk.text for h in hits])[1]["content"]
    assert "[1] first passage" in shown and "[3] third passage, the answer" in shown
    silent = listwise_rerank("q", hits, FakeLLM(rules=[(r".", "No idea.")]), top_k=3, fusion="replace")
    assert [h.chunk.chunk_id for h in silent.hits] == ["c0", "c1", "c2"] and silent.unparsed == 1


@pytest.mark.slow
def test_the_local_model_ranks_passages_listwise(settings: Settings) -> None:
    """The real 0.5B model, through the cache, names an order of three passages with the evidence first."""
    from playground.models.registry import get_llm
    from playground.storage.cached_models import CachedLLM
    from playground.storage.keys import model_identity

    llm = CachedLLM(
        get_llm(FAST_LOCAL_MODEL, settings),
        ResponseCache(settings),
        model_identity(FAST_LOCAL_MODEL, settings),
    )
    hits = _hits(
        "Dogs bark at night.", "A return label costs 6.50 euros.", "Returns are accepted within 30 days."
    )
    result = listwise_rerank("How much does a return label cost?", hits, llm, top_k=3, fusion="replace")
    assert result.hits[0].chunk.chunk_id == "c1" and result.unparsed == 0
    assert sorted(result.scores.values()) == pytest.approx([1 / 3, 2 / 3, 1.0], abs=1e-6)
    again = listwise_rerank("How much does a return label cost?", hits, llm, top_k=3, fusion="replace")
    assert again.hits == result.hits and llm.hits == 1  # the second ask came from the cache
