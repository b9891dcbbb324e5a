"""The chat-model protocol and its data types; implementations live in their own modules and are found by name
through `playground.models.registry.get_llm`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, str]


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    model: str


class LLM(Protocol):
    """A chat model. `json_schema`, when given, asks for a reply that fits that JSON schema: llama.cpp decodes
    under the schema's grammar, OpenAI-compatible servers get it as a structured-output response format, and a
    model that cannot constrain its output ignores it (callers parse and check the reply either way)."""

    name: str

    def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        seed: int | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion: ...
