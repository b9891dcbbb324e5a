"""Prompt templates with `{variables}`, checked before anything is sent, and the chat messages built from them."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from playground.core.answers import NOT_FOUND
from playground.core.config import VariantConfig
from playground.core.errors import ConfigError
from playground.models.llms import Message

BUILTIN_VARIABLES = ("question", "context")

DEFAULT_SYSTEM = (
    "You answer questions accurately and concisely. Reply with the answer only, in a few words. "
    f"If you do not know the answer, reply exactly: {NOT_FOUND}."
)
DEFAULT_RAG_SYSTEM = (
    "You answer questions using only the context provided. Reply with the answer only, in a few words. "
    f"If the context does not contain the answer, reply exactly: {NOT_FOUND}."
)
DEFAULT_TEMPLATE = "Question: {question}"
DEFAULT_RAG_TEMPLATE = "Context:\n{context}\n\nQuestion: {question}"
STEP_BY_STEP = (
    "Think step by step: first write your reasoning in a few short sentences, then finish with a "
    "last line of the form 'Answer: <the answer>'."
)


def template_fields(template: str) -> list[str]:
    """The `{names}` a template uses; raises ConfigError on unbalanced braces or non-simple fields."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise ConfigError(
            f"The prompt template has unbalanced braces ({err}). Write {{{{ and }}}} for a literal brace."
        ) from None
    names = []
    for _, field, _, _ in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise ConfigError(
                f"The prompt template uses '{{{field}}}'; only simple names such as {{question}} are "
                "allowed. Write {{ and }} for a literal brace."
            )
        names.append(field)
    return names


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill a template; an unknown `{name}` raises ConfigError naming it and the names that are available."""
    for name in template_fields(template):
        if name not in values:
            known = ", ".join("{" + k + "}" for k in values)
            raise ConfigError(
                f"The prompt template uses {{{name}}}, which is not defined. Available: {known}. "
                "Add it under 'variables' or remove it from the template."
            )
    return template.format_map(values)


def format_context(chunks: Sequence[tuple[str, str]]) -> str:
    """Number the (title, text) pairs so the model and the reader can refer to them."""
    return "\n\n".join(f"[{i}] ({title})\n{text.strip()}" for i, (title, text) in enumerate(chunks, start=1))


@dataclass(frozen=True)
class BuiltPrompt:
    messages: list[Message]

    @property
    def text(self) -> str:
        """Every message as the model receives it, for the "exact prompt sent" view."""
        return "\n\n".join(f"### {m['role']}\n{m['content']}" for m in self.messages)


def system_prompt(variant: VariantConfig) -> str:
    base = variant.system_prompt or (DEFAULT_RAG_SYSTEM if variant.use_retrieval else DEFAULT_SYSTEM)
    return f"{base}\n\n{STEP_BY_STEP}" if variant.think_step_by_step else base


def build_prompt(variant: VariantConfig, question: str, context: str | None) -> BuiltPrompt:
    template = variant.template or (DEFAULT_RAG_TEMPLATE if variant.use_retrieval else DEFAULT_TEMPLATE)
    values = {**variant.variables, "question": question, "context": context or ""}
    messages: list[Message] = [{"role": "system", "content": render_template(system_prompt(variant), values)}]
    for example in variant.few_shot:
        messages.append({"role": "user", "content": f"Question: {example.question}"})
        messages.append({"role": "assistant", "content": example.answer})
    messages.append({"role": "user", "content": render_template(template, values)})
    return BuiltPrompt(messages)


_ANSWER_LINE = re.compile(r"(?im)^\s*(?:\*\*)?(?:final\s+)?answer(?:\*\*)?\s*[:：]\s*(.+)$")


def extract_answer(raw: str, step_by_step: bool) -> str:
    """The part of a reply to score: after the last 'Answer:' line when the model reasoned first."""
    if step_by_step:
        found = _ANSWER_LINE.findall(raw)
        if found:
            return found[-1].strip().strip("*").strip()
    return raw.strip()
