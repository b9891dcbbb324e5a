"""Model names resolved to ready models: one factory per provider, registered by name, for chat models,
embedders and rerankers.

    get_llm("local:qwen2.5-0.5b", settings)            # llama.cpp, loaded on its first call, once per process
    get_embedder("openai:text-embedding-3-small", settings)
    get_reranker("ce:/data/models/my-reranker", settings)  # loaded on its first score, once per process

A client can be passed in for hosted models (tests use a local OpenAI-compatible server).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playground.core.errors import UnknownModelError
from playground.core.settings import Settings
from playground.models.cross_encoder import CrossEncoderReranker
from playground.models.embedders import Embedder
from playground.models.fake import FakeLLM
from playground.models.lazy import LazyEmbedder, LazyLLM
from playground.models.llamacpp import load_local
from playground.models.llms import LLM
from playground.models.names import (
    PACKAGED_EMBEDDER,
    RERANKER_FORMS,
    ModelName,
    accepted_forms,
    as_model_name,
    known_models,
)
from playground.models.openai_chat import OpenAIChatLLM
from playground.models.openai_embedder import OpenAIEmbedder
from playground.models.rerank_server import RerankServer
from playground.models.rerankers import Reranker
from playground.models.st_embedder import load_st_embedder, packaged_minilm_path, st_identity

# A factory gets the parsed name, the user's settings and an optional client (hosted models only).
LLMFactory = Callable[[ModelName, Settings, Any], LLM]
EmbedderFactory = Callable[[ModelName, Settings, Any], Embedder]
RerankerFactory = Callable[[ModelName, Settings, Any], Reranker]
_LLMS: dict[str, LLMFactory] = {}
_EMBEDDERS: dict[str, EmbedderFactory] = {}
_RERANKERS: dict[str, RerankerFactory] = {}


def register_llm(provider: str, factory: LLMFactory) -> None:
    _LLMS[provider] = factory


def register_embedder(provider: str, factory: EmbedderFactory) -> None:
    _EMBEDDERS[provider] = factory


def register_reranker(provider: str, factory: RerankerFactory) -> None:
    _RERANKERS[provider] = factory


def get_llm(name: str | ModelName, settings: Settings | None = None, *, client: Any = None) -> LLM:
    """Resolve a model name to an LLM; a local model's weights load on its first call (a cached run never loads
    them). Raises a PlaygroundError whose message says what to do: a bad name here, a missing file at that call."""
    parsed = as_model_name(name)
    factory = _LLMS.get(parsed.provider)
    if factory is None:
        hint = " (a reranker: choose it as the cross-encoder)" if parsed.is_reranker else ""
        raise UnknownModelError(f"'{parsed}' is not a chat model{hint}. Use {accepted_forms()}.")
    return factory(parsed, settings or Settings.from_env(), client)


def get_embedder(name: str | ModelName, settings: Settings | None = None, *, client: Any = None) -> Embedder:
    """Resolve an embedder name; local models load on their first embedding, once per process."""
    parsed = as_model_name(name)
    factory = _EMBEDDERS.get(parsed.provider)
    if factory is None:
        raise UnknownModelError(
            f"'{parsed}' is not an embedder. Use 'local:{PACKAGED_EMBEDDER}', 'st:<model folder>', "
            "'openai:<model>' or 'openai-compatible:<model>@<base_url>'."
        )
    return factory(parsed, settings or Settings.from_env(), client)


def get_reranker(name: str | ModelName, settings: Settings | None = None, *, client: Any = None) -> Reranker:
    """Resolve a cross-encoder or rerank-server name. Nothing loads or connects until the first `score`."""
    parsed = as_model_name(name)
    factory = _RERANKERS.get(parsed.provider)
    if factory is None:
        raise UnknownModelError(
            f"'{parsed}' is not a cross-encoder. Use {RERANKER_FORMS}; to let a chat model judge relevance, "
            "choose the LLM reranker instead."
        )
    return factory(parsed, settings or Settings.from_env(), client)


# --- the built-in providers ---------------------------------------------------------------------------------


def _local_llm(name: ModelName, settings: Settings, client: Any) -> LLM:
    if not name.is_local_llm:
        raise UnknownModelError(
            f"'{name}' is an embedder, not a chat model. Use one of {', '.join(known_models())}, "
            "or local:<file.gguf>."
        )
    return LazyLLM(str(name), lambda: load_local(name))


def _fake_llm(name: ModelName, settings: Settings, client: Any) -> LLM:
    return FakeLLM(name=str(name))


def _openai_llm(name: ModelName, settings: Settings, client: Any) -> LLM:
    return OpenAIChatLLM(str(name), name.model, settings, base_url=name.base_url, client=client)


def _local_embedder(name: ModelName, settings: Settings, client: Any) -> Embedder:
    if name.model != PACKAGED_EMBEDDER:
        raise UnknownModelError(
            f"'{name}' is a chat model, not an embedder. Use 'local:{PACKAGED_EMBEDDER}' or 'st:<model folder>'."
        )
    path = str(packaged_minilm_path())
    return LazyEmbedder(str(name), st_identity(str(name), path), lambda: load_st_embedder(str(name), path))


def _st_embedder(name: ModelName, settings: Settings, client: Any) -> Embedder:
    return LazyEmbedder(
        str(name), st_identity(str(name), name.model), lambda: load_st_embedder(str(name), name.model)
    )


def _openai_embedder(name: ModelName, settings: Settings, client: Any) -> Embedder:
    return OpenAIEmbedder(str(name), name.model, settings, base_url=name.base_url, client=client)


register_llm("local", _local_llm)
register_llm("fake", _fake_llm)
register_llm("openai", _openai_llm)
register_llm("openai-compatible", _openai_llm)
register_embedder("local", _local_embedder)
register_embedder("st", _st_embedder)
register_embedder("openai", _openai_embedder)
register_embedder("openai-compatible", _openai_embedder)


def _cross_encoder(name: ModelName, settings: Settings, client: Any) -> Reranker:
    return CrossEncoderReranker(str(name), name.model)


def _rerank_server(name: ModelName, settings: Settings, client: Any) -> Reranker:
    return RerankServer(str(name), name.model, name.base_url or "", settings, client=client)


register_reranker("ce", _cross_encoder)
register_reranker("rerank", _rerank_server)
