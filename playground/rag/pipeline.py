"""question -> (classify) -> (HyDE / expand) -> retrieve -> (rerank) -> prompt -> answer -> (fact-check).

Every step records what it did in `PipelineResult.steps` and how long it took in `timings`, so a page can show
the HyDE passage, the rerank order change, the class chosen and the fact-check verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playground.core.config import VariantConfig
from playground.core.documents import Corpus
from playground.core.errors import InputError, ModelLoadError, PlaygroundError
from playground.core.settings import Settings
from playground.models.embedders import Embedder
from playground.models.llms import LLM
from playground.models.registry import get_embedder, get_llm, get_reranker
from playground.models.rerankers import Reranker
from playground.rag.prompts import BuiltPrompt, build_prompt, extract_answer, format_context
from playground.rag.strategies import (
    RerankResult,
    classify_question,
    cross_encoder_rerank,
    expand_query,
    fact_check,
    hyde_query,
    llm_rerank,
)
from playground.rag.strategies.classify import corpus_categories
from playground.rag.strategies.rerank_fusion import resolve_fusion
from playground.retrieval.index import Progress, ScoredChunk, VectorIndex, get_or_build_index
from playground.retrieval.retrievers import Query, Retriever, make_retriever, search_all

T = TypeVar("T")


@dataclass(frozen=True)
class PipelineResult:
    """One answered question: the answer, what was retrieved, the exact prompt, tokens, per-step latency and
    what each technique did (`steps`)."""

    question: str
    answer: str
    raw_output: str
    retrieved: tuple[ScoredChunk, ...]
    prompt: BuiltPrompt
    prompt_tokens: int
    completion_tokens: int
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    steps: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_s(self) -> float:
        return sum(self.timings.values())


@dataclass
class Trace:
    """What the steps of one run did, and how long each took."""

    steps: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def timed(self, name: str, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return fn()
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started


@dataclass
class Pipeline:
    """A variant bound to its model and, when it retrieves, to its index, embedder and retriever; when it
    reranks, to its cross-encoder (`reranker`) or to the chat model that judges relevance (`rerank_llm`, None:
    the variant's own model)."""

    variant: VariantConfig
    llm: LLM
    index: VectorIndex | None = None
    embedder: Embedder | None = None
    retriever: Retriever | None = None
    reranker: Reranker | None = None
    rerank_llm: LLM | None = None

    def __post_init__(self) -> None:
        if self.retriever is None and self.index is not None:
            self.retriever = make_retriever(self.variant.retriever, self.index, self.embedder)

    @property
    def retrieves(self) -> bool:
        return self.variant.use_retrieval and self.index is not None and self.retriever is not None

    def retrieve(self, question: str) -> tuple[list[ScoredChunk], float]:
        """The chunks this variant would put in the prompt, and the seconds all retrieval steps took."""
        trace = Trace()
        hits, _ = self._retrieve(question, trace)
        return hits, sum(trace.timings.values())

    def _retrieve(self, question: str, trace: Trace) -> tuple[list[ScoredChunk], bool]:
        """(hits, whether the prompt should carry a context)."""
        if not self.retrieves:
            return [], False
        categories = self._classify(question, trace)
        if categories is None:
            return [], False
        queries = [self._main_query(question, trace), *self._expansions(question, trace)]
        depth = self.variant.rerank_candidates if self.variant.reranker != "none" else self.variant.top_k
        assert self.retriever is not None
        retriever = self.retriever
        hits = trace.timed("retrieve", lambda: search_all(retriever, queries, depth, categories or None))
        trace.steps["retrieval"] = {
            "retriever": retriever.name,
            "queries": len(queries),
            "candidates": len(hits),
            "categories": list(categories) or None,
        }
        return self._rerank(question, hits, trace), True

    def _classify(self, question: str, trace: Trace) -> tuple[str, ...] | None:
        """Categories to filter on (empty: everything), or None when the question needs no documents."""
        if not self.variant.classify:
            return ()
        assert self.index is not None
        available = corpus_categories(c.category for c in self.index.chunks)
        result = trace.timed("classify", lambda: classify_question(question, available, self.llm))
        trace.steps["classification"] = result.step()
        return result.categories if result.needs_documents else None

    def _main_query(self, question: str, trace: Trace) -> Query:
        if not self.variant.hyde:
            return Query(question)
        embedder = self.embedder if self.variant.retriever != "bm25" else None
        result = trace.timed(
            "hyde",
            lambda: hyde_query(question, self.llm, embedder, with_question=self.variant.hyde_with_question),
        )
        trace.steps["hyde_passage"] = result.passage
        trace.steps["hyde"] = result.step()
        return result.query

    def _expansions(self, question: str, trace: Trace) -> list[Query]:
        if not self.variant.query_expansion:
            return []
        result = trace.timed("expand", lambda: expand_query(question, self.llm, self.variant.query_expansion))
        trace.steps["expansions"] = result.step()
        trace.steps["expansion"] = result.detail()
        return [Query(text) for text in result.rewrites]

    def _rerank(self, question: str, hits: list[ScoredChunk], trace: Trace) -> list[ScoredChunk]:
        if self.variant.reranker == "none":
            return hits[: self.variant.top_k]
        result = trace.timed("rerank", lambda: self._reranked(question, hits))
        trace.steps["rerank"] = result.step()
        return result.hits

    def _reranked(self, question: str, hits: list[ScoredChunk]) -> RerankResult:
        v = self.variant
        fusion = resolve_fusion(v.reranker, v.rerank_fusion)
        if v.reranker == "cross-encoder":
            if self.reranker is None:
                raise InputError(
                    f"Variant '{v.name}' reranks with a cross-encoder but none is loaded. Choose one "
                    "(reranker_model) and run it again."
                )
            return cross_encoder_rerank(question, hits, self.reranker, v.top_k, fusion, v.rerank_weight)
        return llm_rerank(question, hits, self.rerank_llm or self.llm, v.top_k, fusion, v.rerank_weight)

    def _check(self, question: str, answer: str, hits: list[ScoredChunk], trace: Trace) -> str:
        if not self.variant.fact_check:
            return answer
        result = trace.timed("fact_check", lambda: fact_check(question, answer, hits, self.llm))
        trace.steps["fact_check"] = result.step()
        return result.answer

    def run(self, question: str) -> PipelineResult:
        if not question.strip():
            raise InputError("The question is empty. Type a question first.")
        trace = Trace()
        hits, with_context = self._retrieve(question, trace)
        context = format_context([(h.chunk.title, h.chunk.text) for h in hits]) if with_context else None
        routed = (
            self.variant
            if with_context or not self.variant.use_retrieval
            else self.variant.model_copy(update={"use_retrieval": False})
        )
        prompt = build_prompt(routed, question, context)
        completion = self.llm.chat(
            prompt.messages, temperature=self.variant.temperature, max_tokens=self.variant.max_tokens
        )
        trace.timings["generate"] = completion.latency_s
        answer = extract_answer(completion.text, self.variant.think_step_by_step)
        answer = self._check(question, answer, hits, trace)
        return PipelineResult(
            question=question,
            answer=answer,
            raw_output=completion.text,
            retrieved=tuple(hits),
            prompt=prompt,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            timings=trace.timings,
            steps=trace.steps,
        )

    def run_safely(self, question: str) -> PipelineResult:
        """Like `run`, but a failure becomes a result with `error` set, so a sweep can go on; a model that cannot
        load (`ModelLoadError`) stops it, as every other answer would fail the same way."""
        try:
            return self.run(question)
        except ModelLoadError:
            raise
        except PlaygroundError as err:
            prompt = BuiltPrompt([])
            return PipelineResult(question, "", "", (), prompt, 0, 0, {}, error=str(err))


def build_pipeline(
    variant: VariantConfig,
    corpus: Corpus | None,
    settings: Settings,
    *,
    llm: LLM | None = None,
    on_progress: Progress | None = None,
    wrap_embedder: Callable[[Embedder], Embedder] | None = None,
    wrap_reranker: Callable[[Reranker], Reranker] | None = None,
    rerank_llm: LLM | None = None,
) -> Pipeline:
    """Resolve the model, and for retrieval variants the embedder and index (building it if needed) and the
    reranker.

    `wrap_embedder` (e.g. a cache) wraps the embedder before the index and the retriever see it;
    `wrap_reranker` wraps the cross-encoder. `rerank_llm` answers as the LLM reranker's `reranker_model`
    instead of loading it. A cross-encoder loads on its first score, so a broken one fails that variant's
    answers (each with the message), not the whole sweep.
    """
    model = llm or get_llm(variant.model, settings)
    if not variant.use_retrieval:
        return Pipeline(variant, model)
    if corpus is None:
        raise InputError(
            f"Variant '{variant.name}' uses retrieval but no corpus is loaded. Pick or upload a corpus."
        )
    embedder = get_embedder(variant.index.embedder, settings)
    if wrap_embedder is not None:
        embedder = wrap_embedder(embedder)
    index = get_or_build_index(corpus, variant.index, embedder, settings, on_progress)
    reranker = None
    if variant.reranker == "cross-encoder" and variant.reranker_model:
        reranker = get_reranker(variant.reranker_model, settings)
        reranker = wrap_reranker(reranker) if wrap_reranker is not None else reranker
    judge = None
    if variant.reranker == "llm" and variant.reranker_model:
        judge = rerank_llm or get_llm(variant.reranker_model, settings)
    return Pipeline(variant, model, index, embedder, reranker=reranker, rerank_llm=judge)
