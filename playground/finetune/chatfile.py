"""Chat fine-tuning files: export items as OpenAI chat JSONL or sentence-transformers pairs, and check an
uploaded JSONL line by line (broken lines are reported by number, good lines kept), count its tokens and
estimate what training on it costs.

Token counts: OpenAI counts with its own tokenizer (tiktoken), which is not available offline. Counts here
use the local Qwen2.5 tokenizer (a byte-level BPE of similar granularity, loaded vocabulary-only by
llama.cpp) when its file is set up, else an estimate of 1.3 tokens per word; each message adds 4 tokens of
chat formatting and each example 3 more, as OpenAI's cookbook counts them. Treat the cost as an estimate,
not a quote.
"""

from __future__ import annotations

import atexit
import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.core.config import VariantConfig
from playground.finetune.data import TrainingItem
from playground.models.local_models import model_path
from playground.rag.prompts import build_prompt

MIN_EXAMPLES = 10  # OpenAI refuses a training file with fewer examples
RECOMMENDED_EXAMPLES = 50
ROLES = ("system", "developer", "user", "assistant", "tool")
TOKENS_PER_MESSAGE, TOKENS_PER_EXAMPLE = 4, 3
# USD per 1M training tokens, from openai.com/api/pricing (2025). The page lets the user edit this table.
DEFAULT_PRICES: dict[str, float] = {
    "gpt-4.1-nano-2025-04-14": 1.50,
    "gpt-4.1-mini-2025-04-14": 5.00,
    "gpt-4.1-2025-04-14": 25.00,
    "gpt-4o-mini-2024-07-18": 3.00,
    "gpt-4o-2024-08-06": 25.00,
    "gpt-3.5-turbo-0125": 8.00,
}


# --- export -------------------------------------------------------------------------------------------------


def chat_example(item: TrainingItem, variant: VariantConfig | None = None) -> dict[str, Any]:
    """The messages a no-retrieval variant sends for this question, then the answer to learn."""
    prompt = build_prompt(variant or VariantConfig.model_validate({}), item.question, None)
    return {"messages": [*prompt.messages, {"role": "assistant", "content": item.answer}]}


def to_chat_jsonl(items: Sequence[TrainingItem], variant: VariantConfig | None = None) -> str:
    return "".join(json.dumps(chat_example(i, variant), ensure_ascii=False) + "\n" for i in items)


def to_pairs(items: Sequence[TrainingItem]) -> list[tuple[str, str]]:
    """(question, passage) pairs for embedding training; items without a passage are skipped."""
    return [(i.question, i.passage) for i in items if i.passage.strip()]


def to_pairs_jsonl(items: Sequence[TrainingItem]) -> str:
    return "".join(
        json.dumps({"anchor": q, "positive": p}, ensure_ascii=False) + "\n" for q, p in to_pairs(items)
    )


# --- token counting -----------------------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.split()) * 1.3)


_VOCAB_LOCK = threading.Lock()
_VOCAB: dict[str, Any] = {}


def local_token_counter() -> tuple[Callable[[str], int], str]:
    """(count function, how it counts): the local Qwen tokenizer when set up, else words x 1.3."""
    path = model_path("qwen2.5-0.5b")
    if not path.exists():
        return estimate_tokens, "estimate: 1.3 tokens per word (the local tokenizer is not set up)"
    try:
        with _VOCAB_LOCK:
            if "llm" not in _VOCAB:
                from llama_cpp import Llama

                _VOCAB["llm"] = Llama(model_path=str(path), vocab_only=True, verbose=False)
                # Closed before interpreter exit: left to Llama.__del__ it prints a traceback at shutdown.
                atexit.register(_VOCAB["llm"].close)
        llm = _VOCAB["llm"]
    except (ImportError, ValueError, RuntimeError, OSError):
        return estimate_tokens, "estimate: 1.3 tokens per word (the local tokenizer could not load)"

    def count(text: str) -> int:
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0

    return count, "local Qwen2.5 tokenizer (close to, not equal to, OpenAI's)"


def example_tokens(example: dict[str, Any], count: Callable[[str], int]) -> int:
    messages = example["messages"]
    return TOKENS_PER_EXAMPLE + sum(TOKENS_PER_MESSAGE + count(str(m.get("content") or "")) for m in messages)


# --- validation ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineIssue:
    line: int
    message: str


@dataclass
class ChatFileReport:
    """The usable examples of a chat JSONL file, what is wrong with the rest (by line) and token counts."""

    examples: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    issues: list[LineIssue] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    counting: str = ""

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)

    @property
    def enough(self) -> bool:
        return len(self.examples) >= MIN_EXAMPLES

    def verdict(self) -> str:
        n = len(self.examples)
        if n < MIN_EXAMPLES:
            return (
                f"Only {n} usable example(s): OpenAI needs at least {MIN_EXAMPLES}. Add examples or fix "
                "the broken lines listed below."
            )
        if n < RECOMMENDED_EXAMPLES:
            return (
                f"{n} usable examples: enough to start, but 50-100 good ones usually show a clear effect. "
                "Quality matters more than quantity."
            )
        return f"{n} usable examples."

    def good_jsonl(self) -> str:
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self.examples)


def _message_problem(message: Any, position: int) -> str | None:
    if not isinstance(message, dict):
        return f"message {position} is not an object"
    role, content = message.get("role"), message.get("content")
    if role not in ROLES:
        return f"message {position} has role {role!r}; use one of {', '.join(ROLES)}"
    calls_a_tool = role == "assistant" and "tool_calls" in message
    if not calls_a_tool and (not isinstance(content, str) or not content.strip()):
        return f"message {position} ({role}) has no text content"
    return None


def example_problem(value: Any) -> str | None:
    """Why one parsed line is not a chat fine-tuning example, or None when it is one."""
    if not isinstance(value, dict):
        return "not a JSON object"
    messages = value.get("messages")
    if not isinstance(messages, list) or not messages:
        return "no 'messages' list"
    for position, message in enumerate(messages, start=1):
        problem = _message_problem(message, position)
        if problem:
            return problem
    if not any(m.get("role") == "assistant" for m in messages):
        return "no assistant message to learn from"
    return None


def validate_chat_jsonl(
    data: bytes | str, count: Callable[[str], int] | None = None, counting: str = ""
) -> ChatFileReport:
    """Check every line; good lines are kept (with their token counts), bad ones are reported by number."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    if count is None:
        count, counting = local_token_counter()
    report = ChatFileReport(counting=counting or "custom counter")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            report.issues.append(LineIssue(number, f"not valid JSON ({err.msg} at column {err.colno})"))
            continue
        problem = example_problem(value)
        if problem:
            report.issues.append(LineIssue(number, problem))
            continue
        report.examples.append(value)
        report.lines.append(number)
        report.tokens.append(example_tokens(value, count))
    return report


# --- cost ---------------------------------------------------------------------------------------------------


def training_cost(total_tokens: int, epochs: int, price_per_million: float) -> float:
    """USD for `epochs` passes over a file of `total_tokens` tokens."""
    return total_tokens * max(1, epochs) * price_per_million / 1_000_000


def cost_table(total_tokens: int, epochs: int, prices: dict[str, float]) -> list[dict[str, Any]]:
    return [
        {
            "model": name,
            "USD per 1M training tokens": price,
            "epochs": epochs,
            "training tokens": total_tokens * max(1, epochs),
            "estimated cost (USD)": round(training_cost(total_tokens, epochs, price), 4),
        }
        for name, price in prices.items()
    ]
