"""RAG techniques that call the LLM around retrieval: HyDE, expansion, reranking, classification, fact-check.

Each returns a small record of what it did (for the pipeline's `steps`) and degrades to a stated fallback when
the model's output cannot be used.
"""

from playground.rag.strategies.classify import Classification, classify_question
from playground.rag.strategies.expansion import Expansion, expand_query
from playground.rag.strategies.fact_check import FactCheck, fact_check
from playground.rag.strategies.hyde import HydeResult, hyde_query
from playground.rag.strategies.rerank import RerankResult, cross_encoder_rerank, listwise_rerank, llm_rerank

__all__ = [
    "Classification",
    "Expansion",
    "FactCheck",
    "HydeResult",
    "RerankResult",
    "classify_question",
    "cross_encoder_rerank",
    "expand_query",
    "fact_check",
    "hyde_query",
    "listwise_rerank",
    "llm_rerank",
]
