"""Stand-ins for local models that load the weights on the first call that reaches them, not when they are named.

A cached re-run resolves every model of every variant, yet answers every call from the cache: with these, it never
imports torch or llama.cpp nor reads a weight file. A stand-in knows, without loading, what the cache keys need
(its name and, for an embedder, its identity). The load happens once, whichever thread gets there first; the others
wait for it. A failed load (a missing file, say) reaches the call as a `ModelLoadError`, which stops a sweep; it is
not kept, so the next call tries again and running the set-up fixes it without a restart.

    llm = LazyLLM("local:qwen2.5-0.5b", lambda: load_local(name))   # instant
    llm.chat(messages)                                               # loads here, once
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from playground.core.errors import ModelError, ModelLoadError
from playground.models.embedders import Embedder
from playground.models.llms import LLM, Completion, Message

T = TypeVar("T")

_LOADS = 0  # how many stand-ins have loaded their model in this process (tests check a cached run adds none)
_LOADS_LOCK = threading.Lock()


def load_count() -> int:
    """How many stand-ins in this process have loaded their model so far."""
    return _LOADS


class Lazy(Generic[T]):
    """A model that loads on first use, once. Attributes it does not define are the loaded model's."""

    def __init__(self, name: str, load: Callable[[], T]) -> None:
        self.name = name
        self._loader = load
        self._model: T | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> T:
        """The loaded model, loading it now if no call has yet."""
        found = self._model
        if found is not None:
            return found
        with self._lock:  # one thread loads; the others wait here and then share it
            if self._model is None:
                try:
                    self._model = self._loader()
                except ModelLoadError:
                    raise
                except ModelError as err:  # the loader's message says what to do; it now also stops a sweep
                    raise ModelLoadError(str(err)) from None
                global _LOADS
                with _LOADS_LOCK:
                    _LOADS += 1
            return self._model

    def __getattr__(self, attr: str) -> Any:
        # Only called for what the stand-in lacks. Dunders (copy, pickle) and a half-built object are not loads.
        if attr.startswith("__") or "_loader" not in self.__dict__:
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, loaded={self.loaded})"


class LazyLLM(Lazy[LLM]):
    """A chat model that loads on its first call."""

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        # A schema is passed only when asked for, as the cached model does.
        schema = {"json_schema": json_schema} if json_schema is not None else {}
        return self.load().chat(
            messages, temperature=temperature, max_tokens=max_tokens, stop=stop, seed=seed, **schema
        )


class LazyEmbedder(Lazy[Embedder]):
    """An embedder that loads on its first embedding; its identity (the cache's and the index's key) is known
    without loading."""

    def __init__(self, name: str, identity: str, load: Callable[[], Embedder]) -> None:
        super().__init__(name, load)
        self._identity = identity

    @property
    def identity(self) -> str:
        return self._identity

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.load().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.load().embed_query(text)


def needs_loading(model: object) -> bool:
    """Whether calling `model` now would first load it (a stand-in not loaded yet)."""
    return isinstance(model, Lazy) and not model.loaded


def load_now(model: object) -> None:
    """Load a stand-in's model now (a page does so under a spinner before a call it knows will reach it)."""
    if isinstance(model, Lazy):
        model.load()
