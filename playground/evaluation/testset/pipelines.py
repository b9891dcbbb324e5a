"""The answering pipelines behind the document checks: the model with no documents, and the model with
retrieval over the corpus, both through the project's own RAG pipeline (and so its prompts)."""

from __future__ import annotations

from collections.abc import Callable

from playground.core.config import IndexConfig, VariantConfig
from playground.core.documents import Corpus
from playground.core.settings import Settings
from playground.evaluation.testset.writer import DocumentChecks
from playground.models.embedders import Embedder
from playground.models.llms import LLM
from playground.rag.pipeline import Pipeline, build_pipeline
from playground.storage.cached_models import CachedEmbedder, CachedLLM
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.keys import model_identity
from playground.storage.response_cache import ResponseCache

CHECK_TOP_K = 4


def with_cache(llm: LLM, settings: Settings) -> CachedLLM:
    """The model answering from the response cache when it can (a rerun of the same generation is instant)."""
    return CachedLLM(llm, ResponseCache(settings), model_identity(llm.name, settings))


def embedding_cache(settings: Settings) -> Callable[[Embedder], Embedder]:
    cache = EmbeddingCache(settings)
    return lambda embedder: CachedEmbedder(embedder, cache)


def closed_book_variant(model: str) -> VariantConfig:
    return VariantConfig(name="closed-book check", model=model)


def retrieval_variant(model: str, index: IndexConfig) -> VariantConfig:
    return VariantConfig(
        name="retrieval check", model=model, use_retrieval=True, index=index, top_k=CHECK_TOP_K
    )


def checks_from(closed_book: Pipeline | None, with_documents: Pipeline | None) -> DocumentChecks:
    """Checks that answer with these pipelines (None: that check is skipped)."""
    return DocumentChecks(
        closed_book=(lambda q: closed_book.run(q).answer) if closed_book else None,
        with_documents=(lambda q: with_documents.run(q).answer) if with_documents else None,
    )


def build_checks(
    llm: LLM,
    corpus: Corpus,
    settings: Settings,
    index: IndexConfig | None = None,
    *,
    closed_book: bool = True,
    retrieval: bool = True,
    wrap_embedder: Callable[[Embedder], Embedder] | None = None,
) -> DocumentChecks:
    """Both checks for `llm` over `corpus`; the retrieval one opens (or builds) the corpus's index."""
    closed = Pipeline(closed_book_variant(llm.name), llm) if closed_book else None
    rag = (
        build_pipeline(
            retrieval_variant(llm.name, index or IndexConfig()),
            corpus,
            settings,
            llm=llm,
            wrap_embedder=wrap_embedder,
        )
        if retrieval
        else None
    )
    return checks_from(closed, rag)
