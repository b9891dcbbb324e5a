"""What an answer costs with a paid model: tokens times the provider's list price.

Local models (llama.cpp) and the fake model cost nothing. OpenAI models use the list prices below (USD per million
input / output tokens, standard tier, as listed on https://openai.com/api/pricing in 2025; prices change, so check
them). Any other model, an OpenAI-compatible server's for instance, has no known price unless it is given in the
`PLAYGROUND_PRICES` environment variable as JSON: `{"llama3.2": [0.1, 0.3], "gpt-4o-mini": [0.15, 0.6]}`.
"""

from __future__ import annotations

import json
import os

from playground.core.errors import ConfigError
from playground.models.names import try_parse_model_name

PRICES_ENV = "PLAYGROUND_PRICES"
FREE_PROVIDERS = ("local", "fake")
# model -> (USD per 1M input tokens, USD per 1M output tokens)
OPENAI_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}
# Fine-tuned models (`ft:<base>:<org>::<id>`) are billed at their own, higher rates.
OPENAI_FINE_TUNED_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.30, 1.20),
    "gpt-4o": (3.75, 15.00),
    "gpt-4.1": (3.00, 12.00),
    "gpt-4.1-mini": (0.80, 3.20),
    "gpt-4.1-nano": (0.20, 0.80),
    "gpt-3.5-turbo": (3.00, 6.00),
}


def _configured() -> dict[str, tuple[float, float]]:
    raw = os.environ.get(PRICES_ENV, "").strip()
    if not raw:
        return {}
    problem = (
        f"{PRICES_ENV} must be JSON mapping a model name to [input, output] USD per million tokens, "
        'e.g. {"llama3.2": [0.1, 0.3]}.'
    )
    try:
        data = json.loads(raw)
        return {str(name): (float(pair[0]), float(pair[1])) for name, pair in dict(data).items()}
    except (ValueError, TypeError, IndexError, KeyError):
        raise ConfigError(problem) from None


def _base(name: str) -> str:
    """The priced name: a dated snapshot ('gpt-4o-mini-2024-07-18') is priced as its model."""
    for known in sorted(OPENAI_PRICES, key=len, reverse=True):
        if name == known or name.startswith(f"{known}-20"):
            return known
    return name


def price(model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for a model name as variants spell it; 0 for local models, None
    when unknown."""
    parsed = try_parse_model_name(model)
    if parsed is None:
        return None
    if parsed.provider in FREE_PROVIDERS:
        return (0.0, 0.0)
    name = parsed.model
    configured = _configured()
    if name in configured:
        return configured[name]
    if parsed.provider != "openai":
        return None
    if name.startswith("ft:"):
        return OPENAI_FINE_TUNED_PRICES.get(_base(name.split(":")[1]))
    return OPENAI_PRICES.get(_base(name))


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """What these tokens cost with this model, in US dollars; None when its price is not known."""
    found = price(model)
    if found is None:
        return None
    return (prompt_tokens * found[0] + completion_tokens * found[1]) / 1_000_000
