"""Local GGUF chat models run in-process by llama.cpp, each loaded once per process and shared.

llama.cpp contexts are not thread-safe, so calls to one model go through it one at a time. In a workshop many
browser sessions share one loaded model, so the calls take turns fairly between the sessions (`fair_queue`): one
participant's long evaluation does not hold up the others' questions.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from playground.core.errors import ModelError
from playground.models.fair_queue import FairGate
from playground.models.llms import Completion, Message
from playground.models.local_models import SETUP_COMMAND, model_path
from playground.models.names import ModelName

log = logging.getLogger(__name__)

_OPEN_MODELS: weakref.WeakSet[LlamaCppLLM] = weakref.WeakSet()


@atexit.register
def _close_open_models() -> None:
    # Left to Llama.__del__, closing happens after llama.cpp's bindings are torn down and prints a traceback.
    for model in list(_OPEN_MODELS):
        model.close()


class LlamaCppLLM:
    """A GGUF model run in-process by llama.cpp."""

    def __init__(self, name: str, path: Path, *, n_ctx: int = 4096, lora_path: Path | None = None) -> None:
        if not path.exists():
            raise ModelError(
                f"The model file for '{name}' is missing ({path}). Run the set-up: {SETUP_COMMAND}."
            )
        self.name = name
        self.path = path
        self.gate = FairGate()  # public: a page may ask a party's place in the queue
        self._closed = False
        self._formatter: Any = None
        try:
            from llama_cpp import Llama
        except ImportError as err:
            raise ModelError(
                f"llama-cpp-python is not installed ({err}). Run the set-up: {SETUP_COMMAND}."
            ) from None
        kwargs: dict[str, Any] = {
            "model_path": str(path),
            "n_ctx": n_ctx,
            "verbose": False,
            "n_threads": max(1, os.cpu_count() or 1),
            "seed": 0,
        }
        if lora_path is not None:
            kwargs["lora_path"] = str(lora_path)
        try:
            self._llm = Llama(**kwargs)
            _OPEN_MODELS.add(self)
        except (ValueError, RuntimeError, OSError) as err:
            raise ModelError(
                f"Could not load '{name}' from {path} ({err}). The file may be corrupt: delete it "
                f"and run the set-up again: {SETUP_COMMAND}."
            ) from None

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
        started = time.perf_counter()
        with self.gate.turn():
            self._check_open()
            try:
                out: Any = self._llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    temperature=temperature,
                    max_tokens=max_tokens,
                    stop=stop,
                    seed=seed if seed is not None else 0,
                    response_format={"type": "json_object", "schema": json_schema} if json_schema else None,
                )
            except ValueError as err:
                raise ModelError(
                    f"{self.name} could not answer: {err}. If the prompt is too long, lower top-k or "
                    "the chunk size."
                ) from None
        usage = out.get("usage") or {}
        return Completion(
            text=(out["choices"][0]["message"].get("content") or "").strip(),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_s=time.perf_counter() - started,
            model=self.name,
        )

    def close(self) -> None:
        """Free the model; a call still queued for it then fails with a message instead of crashing llama.cpp."""
        with self.gate.turn():
            if not self._closed:
                self._closed = True
                self._llm.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ModelError(
                f"{self.name} was closed while this call waited for it (the app is shutting down). Start the app "
                "again and rerun the question."
            )

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))

    def yes_probability(self, messages: list[Message]) -> float | None:
        """P(yes) / (P(yes) + P(no)) for the first token of the reply, read from the last token's logits.

        Returns None when the model has no chat template to build the prompt from (callers then parse text).
        """
        prompt = self._chat_prompt(messages)
        if prompt is None:
            return None
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        with self.gate.turn():
            self._check_open()
            logits = self._last_logits(tokens)
        yes = self._first_tokens(("yes", "Yes", " yes", " Yes"))
        no = self._first_tokens(("no", "No", " no", " No"))
        weights = np.exp(logits - logits.max())
        p_yes, p_no = float(weights[yes].sum()), float(weights[no].sum())
        return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.5

    def _chat_prompt(self, messages: list[Message]) -> str | None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if self._formatter is None:
            template = self._llm.metadata.get("tokenizer.chat_template")
            if not template:
                return None
            eos = self._llm._model.token_get_text(self._llm.token_eos())
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token="")
        return str(self._formatter(messages=messages).prompt)

    def _first_tokens(self, words: tuple[str, ...]) -> list[int]:
        return sorted({self._llm.tokenize(w.encode("utf-8"), add_bos=False)[0] for w in words})

    def _last_logits(self, tokens: list[int]) -> np.ndarray:
        """Evaluate the prompt, reusing the cached prefix as llama.cpp's own generate does."""
        llm = self._llm
        cached = llm._input_ids[: llm.n_tokens].tolist()
        shared = 0
        for old, new in zip(cached, tokens, strict=False):
            if old != new:
                break
            shared += 1
        llm.n_tokens = min(shared, len(tokens) - 1)
        try:
            llm.eval(tokens[llm.n_tokens :])
        except (ValueError, RuntimeError) as err:
            raise ModelError(
                f"{self.name} could not score the passage ({err}). Lower the number of rerank "
                "candidates or the chunk size."
            ) from None
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)


_LOCAL_LOCK = threading.Lock()
_LOCAL_MODELS: dict[str, LlamaCppLLM] = {}


def _cache_key(name: ModelName) -> str:
    """The name, plus the adapter's mtime: retraining into the same file loads the new adapter."""
    return str(name) if name.lora is None else f"{name}@{name.lora.stat().st_mtime_ns}"


def load_local(name: ModelName) -> LlamaCppLLM:
    """Load each local model (with its LoRA adapter, if any) once per process; later calls share it."""
    if name.lora is not None and not name.lora.is_file():
        raise ModelError(
            f"The LoRA adapter {name.lora} is missing. Train it again on the Fine-tune page, or "
            "choose another model."
        )
    key, text = _cache_key(name), str(name)
    with _LOCAL_LOCK:
        if key not in _LOCAL_MODELS:
            for stale in [k for k, m in _LOCAL_MODELS.items() if m.name == text]:
                del _LOCAL_MODELS[stale]  # an older version of the same adapter
            path = model_path(name.model) if name.is_catalogued else Path(name.model)
            _LOCAL_MODELS[key] = LlamaCppLLM(text, path, lora_path=name.lora)
            log.info("loaded %s: one copy for the whole process", text)
        return _LOCAL_MODELS[key]


def loaded_local_models() -> list[str]:
    return sorted({m.name for m in _LOCAL_MODELS.values()})


def unload_local_models() -> None:
    """Forget the loaded local models so their memory can be freed (the next call loads them again)."""
    with _LOCAL_LOCK:
        _LOCAL_MODELS.clear()
