"""Any chat model behind the OpenAI chat-completions API: OpenAI itself, or a compatible server (Ollama, vLLM,
llama.cpp's server). The SDK's errors become messages that say what to do."""

from __future__ import annotations

import time
from typing import Any

from playground.core.errors import ModelError
from playground.core.settings import Settings
from playground.models.llms import Completion, Message
from playground.models.openai_client import openai_client


class OpenAIChatLLM:
    """Any model behind the OpenAI chat-completions API. A client can be passed in (tests use a local server)."""

    def __init__(
        self, name: str, model: str, settings: Settings, *, base_url: str | None = None, client: Any = None
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url or settings.openai_base_url
        self.timeout_s = settings.request_timeout_s
        self.max_retries = settings.max_retries
        self._client = client or openai_client(settings, base_url=base_url, needed_by=f"'{name}'")

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
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "stop": stop or None,
            "seed": seed,
        }
        try:
            out = self._create(request, json_schema)
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

    def _create(self, request: dict[str, Any], json_schema: dict[str, Any] | None) -> Any:
        """One completion; with a schema, as a structured output, or in JSON mode on a server that rejects
        structured outputs (many OpenAI-compatible servers know only `json_object`)."""
        if not json_schema:
            return self._client.chat.completions.create(**request)
        import openai

        structured = {"name": "reply", "schema": json_schema, "strict": True}
        try:
            return self._client.chat.completions.create(
                **request, response_format={"type": "json_schema", "json_schema": structured}
            )
        except openai.BadRequestError:
            return self._client.chat.completions.create(**request, response_format={"type": "json_object"})

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
