"""Where the playground keeps its data, and the connection details for hosted models and a chromadb server.

An API key lives only in this in-memory object: it is excluded from repr and never serialised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from playground.core.errors import ConfigError
from playground.core.paths import PROJECT_ROOT

# The workshop room's cookie-signing secret: set in the room server's own process and never handed to the
# processes it starts (training workers), which have no use for it.
ROOM_SECRET_ENV = "PLAYGROUND_ROOM_SECRET"


def default_data_dir() -> Path:
    return Path(os.environ.get("PLAYGROUND_DATA_DIR") or PROJECT_ROOT / ".data")


N = TypeVar("N", int, float)


def _number(name: str, default: N | None, kind: type[N], minimum: N) -> N | None:
    """A number from the environment, or `default` when unset; a bad value names the variable to fix."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ConfigError(
            f"{name}={raw!r} is not valid: set it to a {kind.__name__} of at least {minimum}, or unset it."
        )
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    # The key for `openai-compatible:` servers (vLLM with --api-key, a gateway). Kept apart from the OpenAI key so
    # that key is never sent to a third-party server.
    compatible_api_key: str | None = field(default=None, repr=False)
    request_timeout_s: float = 120.0
    max_retries: int = 2
    # Requests in flight at once against a hosted model during a sweep; None: 4 for hosted models, 1 for local
    # ones (a llama.cpp model answers one call at a time anyway).
    concurrency: int | None = None
    # A chromadb server (`chroma run`) to keep the indexes in, instead of the embedded store in the data folder.
    chroma_url: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=default_data_dir(),
            openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
            openai_base_url=os.environ.get("OPENAI_BASE_URL") or None,
            compatible_api_key=os.environ.get("OPENAI_COMPATIBLE_API_KEY") or None,
            request_timeout_s=_number("PLAYGROUND_REQUEST_TIMEOUT_S", 120.0, float, 0.1) or 120.0,
            max_retries=_number("PLAYGROUND_MAX_RETRIES", 2, int, 0) or 0,
            concurrency=_number("PLAYGROUND_CONCURRENCY", None, int, 1),
            chroma_url=os.environ.get("PLAYGROUND_CHROMA_URL") or None,
        )

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"
