"""The one place that builds an `openai.OpenAI` client, from the user's settings (key, address, timeout, retries).

Chat models, embedders and OpenAI fine-tuning all take their client from here, so a timeout or retry setting
reaches every request. The key and address come only from `Settings` (never read again from the environment by
the SDK behind our back): a Settings object built in a test or a browser session is exactly what is used.
"""

from __future__ import annotations

from typing import Any

from playground.core.errors import MissingApiKeyError, ModelError
from playground.core.settings import Settings

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "not-needed"  # what a keyless OpenAI-compatible server (Ollama, llama.cpp) is sent; the SDK needs a string


def openai_client(settings: Settings, *, base_url: str | None = None, needed_by: str = "This model") -> Any:
    """A client for `base_url` (a compatible server), else for the settings' base URL, else for OpenAI.

    Raises MissingApiKeyError when OpenAI itself is addressed and no key is set; `needed_by` names what
    wanted the client in that message.
    """
    url = base_url or settings.openai_base_url
    if url is None and not settings.openai_api_key:
        raise MissingApiKeyError(
            f"{needed_by} needs an OpenAI API key: set OPENAI_API_KEY before starting, or type the key on the "
            "Settings page. Local models need no key."
        )
    try:
        import openai
    except ImportError:
        raise ModelError("The 'openai' package is not installed: run the set-up (make run).") from None
    # A named compatible server gets its own key (or none), never the OpenAI key: it may be anyone's server.
    key = (settings.compatible_api_key if base_url else settings.openai_api_key) or NO_KEY
    return openai.OpenAI(
        api_key=key,
        base_url=url or OPENAI_URL,
        timeout=settings.request_timeout_s,
        max_retries=settings.max_retries,
    )
