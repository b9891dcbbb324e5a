"""Chat models behind one small protocol, addressed by strings such as `local:qwen2.5-0.5b` or `openai:gpt-4o-mini`.

Local GGUF models load once per process and are shared (llama.cpp contexts are not thread-safe, so calls to one
model are serialised by a lock). Hosted models go through the `openai` client, which any OpenAI-compatible server
(Ollama, vLLM, llama.cpp's server) also speaks.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from playground.core.errors import MissingApiKeyError, ModelError, UnknownModelError
from playground.core.settings import Settings
from playground.models.local_models import CATALOGUE, SETUP_COMMAND, model_path

Message = dict[str, str]


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    model: str


class LLM(Protocol):
    name: str

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> Completion: ...


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
        self._lock = threading.Lock()
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
    ) -> Completion:
        started = time.perf_counter()
        with self._lock:
            try:
                out: Any = self._llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    temperature=temperature,
                    max_tokens=max_tokens,
                    stop=stop,
                    seed=seed if seed is not None else 0,
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
        with self._lock:
            self._llm.close()

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
        with self._lock:
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


class OpenAIChatLLM:
    """Any model behind the OpenAI chat-completions API. A client can be passed in (tests use a local server)."""

    def __init__(
        self,
        name: str,
        model: str,
        *,
        client: Any = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._client = client or _openai_client(api_key, base_url, timeout_s, max_retries)

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> Completion:
        started = time.perf_counter()
        try:
            out = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=temperature,
                max_tokens=max_tokens,
                stop=stop or None,
                seed=seed,
            )
        except Exception as err:
            raise self._explain(err) from None
        choice = out.choices[0] if out.choices else None
        usage = out.usage
        return Completion(
            text=((choice.message.content if choice else "") or "").strip(),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            latency_s=time.perf_counter() - started,
            model=self.name,
        )

    def _explain(self, err: Exception) -> Exception:
        """The SDK's error as a ModelError that says what to do; anything unforeseen is passed on unchanged.

        The SDK has already retried (with backoff, honouring Retry-After) what is worth retrying: 408, 409,
        429, 5xx, timeouts and dropped connections. What reaches here is final.
        """
        import openai

        where = self.base_url or "the OpenAI API"
        tries = f"tried {self.max_retries + 1} times"
        if isinstance(err, openai.AuthenticationError):
            return ModelError(
                f"{self.name}: the API key was rejected. Check the key on the Settings page or in OPENAI_API_KEY."
            )
        if isinstance(err, openai.NotFoundError):
            return ModelError(
                f"{self.name}: the server does not know the model '{self.model}'. Check its name."
            )
        if isinstance(err, openai.RateLimitError):
            return ModelError(
                f"{self.name}: rate limit reached ({tries}). Wait a minute, or lower the concurrency "
                "(PLAYGROUND_CONCURRENCY or --concurrency)."
            )
        if isinstance(err, openai.APITimeoutError):
            return ModelError(
                f"{self.name}: {where} did not answer within {self.timeout_s:g} s ({tries}). The server may be "
                "overloaded: lower the concurrency, or raise PLAYGROUND_REQUEST_TIMEOUT_S."
            )
        if isinstance(err, openai.APIConnectionError) and not _refused(err):
            return ModelError(
                f"{self.name}: {where} closed the connection before the answer was complete ({tries}). "
                "Check the server's log: it may have crashed or run out of memory."
            )
        if isinstance(err, openai.APIConnectionError):
            return ModelError(
                f"{self.name}: cannot reach {where}. Check the address and that the server runs."
            )
        if isinstance(err, openai.APIResponseValidationError | ValueError):
            return ModelError(
                f"{self.name}: the answer from {where} is not valid OpenAI JSON. Check that the address is an "
                "OpenAI-compatible API (it usually ends in /v1)."
            )
        if isinstance(err, openai.APIError):
            return ModelError(f"{self.name}: the server returned an error ({type(err).__name__}: {err}).")
        return err


def _refused(err: Exception) -> bool:
    """Whether the connection never opened (versus one dropped mid-answer). The SDK vendors its HTTP library
    (httpx or httpx2, by version), so the cause is matched by class name."""
    return type(err.__cause__).__name__ in {"ConnectError", "ConnectTimeout"}


def _openai_client(api_key: str | None, base_url: str | None, timeout_s: float, max_retries: int) -> Any:
    try:
        import openai
    except ImportError:
        raise ModelError("The 'openai' package is not installed: pip install openai.") from None
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)


def split_compatible(rest: str) -> tuple[str, str]:
    """`<model>@<base_url>` -> (model, base_url), for `openai-compatible:` names."""
    model, sep, url = rest.partition("@")
    if not sep or not model or not url.startswith(("http://", "https://")):
        raise UnknownModelError(
            f"'openai-compatible:{rest}' should look like 'openai-compatible:<model>@http://host:port/v1'."
        )
    return model, url


_LOCAL_LOCK = threading.Lock()
_LOCAL_MODELS: dict[str, LlamaCppLLM] = {}


LORA_MARK = "+lora:"


def split_lora(name: str) -> tuple[str, Path | None]:
    """`local:qwen2.5-0.5b+lora:/x/adapter.gguf` -> ("local:qwen2.5-0.5b", Path("/x/adapter.gguf"))."""
    base, sep, adapter = name.partition(LORA_MARK)
    return base, (Path(adapter) if sep and adapter else None)


def _cache_key(name: str, adapter: Path | None) -> str:
    """The name, plus the adapter's mtime: retraining into the same file loads the new adapter."""
    return name if adapter is None else f"{name}@{adapter.stat().st_mtime_ns}"


def _local(name: str) -> LlamaCppLLM:
    """Load each local model (with its LoRA adapter, if any) once per process; later calls share it."""
    base, adapter = split_lora(name)
    if adapter is not None and not adapter.is_file():
        raise ModelError(
            f"The LoRA adapter {adapter} is missing. Train it again on the Fine-tune page, or "
            "choose another model."
        )
    key = _cache_key(name, adapter)
    with _LOCAL_LOCK:
        if key not in _LOCAL_MODELS:
            for stale in [k for k, m in _LOCAL_MODELS.items() if m.name == name]:
                del _LOCAL_MODELS[stale]  # an older version of the same adapter
            rest = base.removeprefix("local:")
            path = model_path(rest) if rest in CATALOGUE else Path(rest)
            _LOCAL_MODELS[key] = LlamaCppLLM(name, path, lora_path=adapter)
        return _LOCAL_MODELS[key]


def loaded_local_models() -> list[str]:
    return sorted({m.name for m in _LOCAL_MODELS.values()})


def unload_local_models() -> None:
    """Forget the loaded local models so their memory can be freed (the next call loads them again)."""
    with _LOCAL_LOCK:
        _LOCAL_MODELS.clear()


def known_models() -> list[str]:
    """The model names a user can pick without typing (local ones first)."""
    return [f"local:{n}" for n in CATALOGUE] + ["fake:extractive"]


def get_llm(name: str, settings: Settings | None = None, *, client: Any = None) -> LLM:
    """Resolve a model name to a ready LLM. Raises a PlaygroundError whose message says what to do."""
    settings = settings or Settings.from_env()
    provider, _, rest = name.partition(":")
    if provider == "local" and LORA_MARK in rest:
        base, adapter = split_lora(rest)
        if adapter is None or not (base in CATALOGUE or base.endswith(".gguf")):
            raise UnknownModelError(f"'{name}' should look like 'local:qwen2.5-0.5b+lora:<adapter.gguf>'.")
        return _local(name)
    if provider == "local" and (rest in CATALOGUE or rest.endswith(".gguf")):
        return _local(name)
    if provider == "fake":
        from playground.models.fake import FakeLLM

        return FakeLLM(name=name)
    if provider == "openai" and rest:
        if client is None and not settings.openai_api_key:
            raise MissingApiKeyError(
                f"'{name}' needs an OpenAI API key: set OPENAI_API_KEY before starting, or "
                "type the key on the Settings page. Local models need no key."
            )
        return OpenAIChatLLM(
            name,
            rest,
            client=client,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries,
        )
    if provider == "openai-compatible":
        model, url = split_compatible(rest)
        return OpenAIChatLLM(
            name,
            model,
            client=client,
            api_key=settings.openai_api_key or "not-needed",
            base_url=url,
            timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries,
        )
    raise UnknownModelError(
        f"Unknown model '{name}'. Use one of {', '.join(known_models())}, "
        "'openai:<model>' or 'openai-compatible:<model>@<base_url>'."
    )
