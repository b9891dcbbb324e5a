"""Model names: the one place that reads and writes strings such as `local:qwen2.5-0.5b` or `openai:gpt-4o-mini`.

Forms (the same for chat models and embedders; the registry decides which kind a provider serves):

    local:<catalogue name or path to a .gguf file>      local:qwen2.5-0.5b, local:/models/mine.gguf
    local:<model>+lora:<adapter.gguf>                    a local model with a LoRA adapter (fine-tuned here)
    local:all-minilm-l6-v2                               the packaged embedder
    openai:<model>                                       openai:gpt-4o-mini, openai:ft:gpt-4o-mini:org::id
    openai-compatible:<model>@<base_url>                 openai-compatible:llama3.2@http://localhost:11434/v1
    st:<folder or hub name>                              a sentence-transformers embedder
    ce:<folder or hub name>                              a sentence-transformers cross-encoder (a reranker)
    rerank:<model>@<base_url>                            a rerank server: POST <base_url>/rerank (vLLM, TEI,
                                                         Infinity, llama-server --reranking)
    fake:<rules>                                         fake:extractive, the deterministic demo model

`str(parse_model_name(text))` gives back `text` for every canonical name (no surrounding spaces).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

from playground.core.errors import UnknownModelError
from playground.models.local_models import CATALOGUE

Provider = Literal["local", "openai", "openai-compatible", "st", "ce", "rerank", "fake"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)
HOSTED: frozenset[Provider] = frozenset({"openai", "openai-compatible", "rerank"})
WITH_URL: frozenset[Provider] = frozenset({"openai-compatible", "rerank"})  # `<model>@<base_url>`
RERANKERS: frozenset[Provider] = frozenset({"ce", "rerank"})
PACKAGED_EMBEDDER = "all-minilm-l6-v2"
LORA_MARK = "+lora:"
COMPATIBLE_FORM = "openai-compatible:<model>@http://host:port/v1"
LORA_FORM = "local:qwen2.5-0.5b+lora:<adapter.gguf>"
RERANK_SERVER_FORM = "rerank:<model>@http://host:port"


def local_forms() -> str:
    """The forms a local name may take, for error messages."""
    local = ", ".join(f"local:{n}" for n in CATALOGUE)
    return f"{local}, local:<file.gguf>, {LORA_FORM} or local:{PACKAGED_EMBEDDER} (the embedder)"


FORMS: dict[str, str] = {
    "openai": "openai:<model>, e.g. openai:gpt-4o-mini",
    "openai-compatible": f"{COMPATIBLE_FORM}, e.g. openai-compatible:llama3.2@http://localhost:11434/v1",
    "st": "st:<sentence-transformers folder>",
    "ce": "ce:<cross-encoder folder>, e.g. one trained on the Fine-tune page",
    "rerank": f"{RERANK_SERVER_FORM}, e.g. rerank:bge-reranker-v2-m3@http://localhost:8000",
    "fake": "fake:extractive",
}
RERANKER_FORMS = f"ce:<cross-encoder folder> or {RERANK_SERVER_FORM} (a server with a /rerank endpoint)"


def accepted_forms() -> str:
    """The forms a name may take, for error messages."""
    return (
        f"{local_forms()}; or openai:<model> (e.g. openai:gpt-4o-mini), {COMPATIBLE_FORM}, "
        f"st:<sentence-transformers folder> (an embedder), {RERANKER_FORMS} (rerankers) or fake:extractive "
        "(the demo)"
    )


@dataclass(frozen=True)
class ModelName:
    """A parsed model name. Build one with `parse_model_name` or the builders below; it checks itself."""

    provider: Provider
    model: str
    base_url: str | None = None  # openai-compatible and rerank only
    lora: Path | None = None  # local only: a LoRA adapter applied on top of `model`

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise UnknownModelError(problem)

    def __str__(self) -> str:
        text = f"{self.provider}:{self.model}"
        if self.base_url is not None:
            text += f"@{self.base_url}"
        return text + (f"{LORA_MARK}{self.lora}" if self.lora is not None else "")

    @property
    def is_hosted(self) -> bool:
        """Answered by a server over HTTP (it may take requests in parallel and may cost money)."""
        return self.provider in HOSTED

    @property
    def is_catalogued(self) -> bool:
        """A local model from the catalogue, set up by `make run`."""
        return self.provider == "local" and self.model in CATALOGUE

    @property
    def is_gguf_file(self) -> bool:
        """A local model given as a path to its GGUF file."""
        return self.provider == "local" and self.model.endswith(".gguf")

    @property
    def is_local_llm(self) -> bool:
        return self.is_catalogued or self.is_gguf_file

    @property
    def is_sentence_transformers(self) -> bool:
        """An `st:` embedder: a sentence-transformers folder, such as one fine-tuned on the Fine-tune page."""
        return self.provider == "st"

    @property
    def is_reranker(self) -> bool:
        """A cross-encoder (`ce:` folder) or a rerank server (`rerank:<model>@<url>`), not a chat model."""
        return self.provider in RERANKERS

    @property
    def base(self) -> ModelName:
        """The name without its LoRA adapter."""
        return dataclasses.replace(self, lora=None)


def _problem(name: ModelName) -> str | None:
    """What is wrong with a name, in words that show the right form; None when it is fine."""
    text = f"{name.provider}:{name.model}"
    if name.provider not in PROVIDERS:
        return f"Unknown model provider '{name.provider}'. Use {accepted_forms()}."
    if not name.model.strip():
        return f"'{text}' names no model. Write it as {FORMS.get(name.provider) or local_forms()}."
    if name.model != name.model.strip():
        return f"'{text}' has spaces around the model's name: remove them."
    if (name.provider in WITH_URL) != (name.base_url is not None):
        return _url_problem(name.provider, str(name) if name.base_url else text)
    if name.base_url is not None and not name.base_url.startswith(("http://", "https://")):
        return _url_problem(name.provider, str(name))
    if name.lora is not None and (not name.is_local_llm or not str(name.lora).strip()):
        return f"'{text}{LORA_MARK}{name.lora}' should look like '{LORA_FORM}'."
    if name.provider == "local" and not (name.is_local_llm or name.model == PACKAGED_EMBEDDER):
        return f"Unknown local model '{text}'. Use {local_forms()}."
    return None


def _url_problem(provider: str, given: str) -> str:
    form = FORMS["rerank" if provider == "rerank" else "openai-compatible"]
    return f"'{given}' should look like {form}."


def parse_model_name(text: str) -> ModelName:
    """`openai-compatible:llama3.2@http://box:11434/v1` -> ModelName("openai-compatible", "llama3.2", base_url=...).

    Raises UnknownModelError, whose message lists the accepted forms, for anything else.
    """
    text = text.strip()
    provider, sep, rest = text.partition(":")
    if not sep or provider not in PROVIDERS:
        raise UnknownModelError(f"Unknown model '{text}'. Use {accepted_forms()}.")
    if provider in WITH_URL:
        model, at, url = rest.partition("@")
        if not at:
            raise UnknownModelError(_url_problem(provider, text))
        return ModelName(cast(Provider, provider), model, base_url=url)
    if provider == "local" and LORA_MARK in rest:
        model, _, adapter = rest.partition(LORA_MARK)
        if not adapter.strip():
            raise UnknownModelError(f"'{text}' should look like '{LORA_FORM}'.")
        return ModelName("local", model, lora=Path(adapter))
    return ModelName(cast(Provider, provider), rest)


def try_parse_model_name(text: str) -> ModelName | None:
    """The parsed name, or None for text that is not a model name (for labels and stored runs, never to run)."""
    try:
        return parse_model_name(text)
    except UnknownModelError:
        return None


def as_model_name(name: str | ModelName) -> ModelName:
    return name if isinstance(name, ModelName) else parse_model_name(name)


def known_models() -> list[str]:
    """The chat-model names a user can pick without typing (local ones first)."""
    return [f"local:{n}" for n in CATALOGUE] + ["fake:extractive"]


# --- builders -----------------------------------------------------------------------------------------------


def local_model_name(model: str) -> ModelName:
    """`qwen2.5-0.5b` (a catalogue name) or a path to a GGUF file -> `local:<model>`."""
    return ModelName("local", model)


def lora_model_name(base: str | ModelName, adapter: Path) -> ModelName:
    """`local:qwen2.5-0.5b` + adapter file -> `local:qwen2.5-0.5b+lora:<adapter path>`."""
    return dataclasses.replace(as_model_name(base), lora=adapter)


def openai_model_name(model: str) -> ModelName:
    return ModelName("openai", model)


def compatible_model_name(model: str, base_url: str) -> ModelName:
    """A model on an OpenAI-compatible server: `openai-compatible:<model>@<base_url>`."""
    return ModelName("openai-compatible", model, base_url=base_url)


def st_model_name(folder: Path | str) -> ModelName:
    """A sentence-transformers model folder (or hub name) -> `st:<folder>`."""
    return ModelName("st", str(folder))


def cross_encoder_name(folder: Path | str) -> ModelName:
    """A sentence-transformers cross-encoder folder (or hub name) -> `ce:<folder>`."""
    return ModelName("ce", str(folder))


def rerank_server_name(model: str, base_url: str) -> ModelName:
    """A model on a rerank server (POST <base_url>/rerank) -> `rerank:<model>@<base_url>`."""
    return ModelName("rerank", model, base_url=base_url)
