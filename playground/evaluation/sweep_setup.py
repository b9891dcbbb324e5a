"""What a sweep runs with: one pipeline per variant, its models behind the answer cache, the judge, and the
embedder that scores answers by meaning. A local model behind the cache loads only when a call misses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from playground.core.config import VariantConfig
from playground.core.documents import Corpus
from playground.core.errors import PlaygroundError
from playground.core.settings import Settings
from playground.evaluation.answer_judge import make_judge
from playground.evaluation.judge import LLMJudge
from playground.evaluation.scoring import Embed
from playground.models.embedders import Embedder
from playground.models.llms import LLM
from playground.models.registry import get_embedder, get_llm
from playground.rag.pipeline import Pipeline, build_pipeline
from playground.storage.cached_models import CachedEmbedder, CachedLLM, CachedRetriever, OnLoad
from playground.storage.cached_reranker import CachedReranker
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.keys import model_identity
from playground.storage.response_cache import ResponseCache

StageCallback = Callable[[str, int, int], None]
LLMSource = LLM | Callable[[str], LLM] | None
Caches = tuple[ResponseCache, EmbeddingCache]
SEMANTIC_EMBEDDER = "local:all-minilm-l6-v2"


def resolve_llm(source: LLMSource, name: str, settings: Settings) -> LLM:
    if source is None:
        return get_llm(name, settings)
    return source(name) if callable(source) and not hasattr(source, "chat") else source  # type: ignore[return-value]


def prepare_pipelines(
    variants: Sequence[VariantConfig],
    corpus: Corpus | None,
    settings: Settings,
    llm: LLMSource = None,
    on_stage: StageCallback | None = None,
    caches: Caches | None = None,
) -> list[Pipeline]:
    """One pipeline per variant; with `caches`, its LLM and embedder answer from the cache when they can (and a
    local model loads only when a call misses: `on_stage` then says so, with 0 of 0 as its count)."""
    pipelines = []
    on_load = load_notice(on_stage)
    for variant in variants:

        def progress(done: int, total: int, name: str = variant.name) -> None:
            if on_stage:
                on_stage(f"Indexing the corpus for '{name}'", done, total)

        model = cached_llm(
            resolve_llm(llm, variant.model, settings), variant.model, settings, caches, on_load
        )
        wrap = wrap_reranker = None
        if caches is not None:
            wrap = lambda e, c=caches[1]: CachedEmbedder(e, c, on_load)  # noqa: E731
            wrap_reranker = lambda r, c=caches[0]: CachedReranker(r, c)  # noqa: E731
        pipeline = build_pipeline(
            variant,
            corpus,
            settings,
            llm=model,
            on_progress=progress,
            wrap_embedder=wrap,
            wrap_reranker=wrap_reranker,
            rerank_llm=rerank_llm(variant, settings, llm, caches, on_load),
        )
        if caches is not None and pipeline.retriever is not None and pipeline.index is not None:
            index = pipeline.index
            pipeline.retriever = CachedRetriever(pipeline.retriever, caches[0], index.key, index.chunks)
        pipelines.append(pipeline)
    return pipelines


def load_notice(on_stage: StageCallback | None) -> OnLoad | None:
    """Tells `on_stage` that a model is loading because a call missed the cache (count 0 of 0: no progress to
    show), so the pause before a first answer has a reason on screen."""
    if on_stage is None:
        return None
    return lambda name: on_stage(f"Loading {name} (only the first time)", 0, 0)


def cached_llm(
    model: LLM,
    name: str,
    settings: Settings,
    caches: Caches | None,
    on_load: OnLoad | None = None,
) -> LLM:
    if caches is None:
        return model
    return CachedLLM(model, caches[0], model_identity(name, settings), on_load=on_load)


def rerank_llm(
    variant: VariantConfig,
    settings: Settings,
    llm: LLMSource,
    caches: Caches | None,
    on_load: OnLoad | None = None,
) -> LLM | None:
    """The chat model that judges relevance when it is not the variant's own (`reranker_model`)."""
    if variant.reranker != "llm" or not variant.reranker_model:
        return None
    judge = resolve_llm(llm, variant.reranker_model, settings)
    return cached_llm(judge, variant.reranker_model, settings, caches, on_load)


def semantic_embed(
    settings: Settings, cache: EmbeddingCache | None, on_load: OnLoad | None = None
) -> Embed | None:
    try:
        embedder: Embedder = get_embedder(SEMANTIC_EMBEDDER, settings)
    except PlaygroundError:
        return None
    return (CachedEmbedder(embedder, cache, on_load) if cache is not None else embedder).embed_documents


def run_judge(
    judge: str | None,
    judge_llm: LLM | None,
    settings: Settings,
    caches: Caches | None,
    on_load: OnLoad | None = None,
) -> LLMJudge | None:
    """The judge of every answer, or None when the run has none (`judge_llm`: a model already loaded)."""
    if not judge:
        return None
    return make_judge(judge, settings, caches[0] if caches else None, judge_llm, on_load=on_load)


def open_caches(settings: Settings, use_cache: bool) -> Caches | None:
    if not use_cache:
        return None
    try:
        return ResponseCache(settings), EmbeddingCache(settings)
    except PlaygroundError:
        return None  # an unwritable data folder: run without a cache rather than not at all
