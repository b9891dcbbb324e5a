"""The checks that need a model and the corpus: the model answering with no documents (a question it already
answers right gets a warning), and retrieval over the corpus (an unanswerable question must find no support).

Support is read from the check model's P(yes) to "does this passage state the answer?" for each retrieved
passage. Asking the RAG pipeline instead does not work with local models: on the fictional sample the 1.5B model
answered all four human-written unanswerable questions ("11", "Fennel", ...), so every unanswerable question
would be rejected. Its P(yes) separated them (at most 0.47 on three, 0.71 on one; 0.69-0.96 on answerable ones);
the 0.5B model's did not (0.29-0.42 on everything), so the checks take their own, larger model by default.
"""

from __future__ import annotations

from collections.abc import Callable

from playground.core.answers import NOT_FOUND
from playground.core.config import DEFAULT_LOCAL_MODEL, IndexConfig, VariantConfig
from playground.core.documents import Corpus
from playground.core.settings import Settings
from playground.evaluation.metrics import contains_gold
from playground.evaluation.testset.writer import DocumentChecks
from playground.models.embedders import Embedder
from playground.models.llms import LLM, Message
from playground.rag.pipeline import Pipeline, build_pipeline
from playground.storage.cached_models import CachedEmbedder, CachedLLM
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.keys import model_identity
from playground.storage.response_cache import ResponseCache

CHECK_MODEL = DEFAULT_LOCAL_MODEL
CHECK_TOP_K = 4
SUPPORT_THRESHOLD = 0.6
SUPPORT_SYSTEM = "You check whether a passage answers a question. Reply yes or no."
SUPPORT_PROMPT = (
    "Passage:\n{passage}\n\nQuestion: {question}\n\nDoes the passage state the answer to this question? "
    "Reply yes or no."
)


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


def support_messages(passage: str, question: str) -> list[Message]:
    return [
        {"role": "system", "content": SUPPORT_SYSTEM},
        {"role": "user", "content": SUPPORT_PROMPT.format(passage=passage.strip(), question=question)},
    ]


def retrieval_support(rag: Pipeline) -> Callable[[str], bool]:
    """Whether a retrieved passage supports an answer: the model's P(yes) for some passage reaches the
    threshold; a model that cannot score says so by answering something other than "not in the documents"."""

    def supported(question: str) -> bool:
        scorer = getattr(rag.llm, "yes_probability", None)
        hits, _ = rag.retrieve(question)
        scores = [scorer(support_messages(h.chunk.text, question)) for h in hits] if scorer else [None]
        if any(s is None for s in scores):
            return not contains_gold(rag.run(question).answer, [NOT_FOUND])
        return max((float(s) for s in scores if s is not None), default=0.0) >= SUPPORT_THRESHOLD

    return supported


def checks_from(closed_book: Pipeline | None, rag: Pipeline | None) -> DocumentChecks:
    """Checks that answer with these pipelines (None: that check is skipped)."""
    return DocumentChecks(
        closed_book=(lambda q: closed_book.run(q).answer) if closed_book else None,
        supported=retrieval_support(rag) if rag else None,
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
    """Both checks with the check model `llm` over `corpus`; the retrieval one opens (or builds) the index."""
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
