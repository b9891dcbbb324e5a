"""Small JSON objects from an LLM: decoded freely first, and again under the schema's grammar when that reply
does not parse, so a local model can never hand back unparseable JSON.

Why not always decode under the grammar: llama-cpp-python checks every token of the vocabulary against the
grammar at each step, and Qwen's vocabulary has 151k tokens. A 70-token reply of the 0.5B model took 12 s
freely and 37 s under the grammar (2 shared cores), while most free replies already parse.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from playground.models.llms import LLM, Message

Schema = dict[str, Any]
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


@dataclass(frozen=True)
class JsonReply:
    """What the model replied: the object (None when no reply fitted the schema), its text and what it took."""

    data: dict[str, Any] | None
    text: str
    calls: int
    constrained: bool


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a reply, also inside a ```json fence or after a sentence; None if there is none."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(body[start : end + 1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def conforms(value: Any, schema: Schema) -> bool:
    """Whether `value` fits the part of JSON Schema used here: objects, arrays, strings (and enums), integers,
    booleans."""
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return (
            isinstance(value, dict)
            and all(k in value for k in schema.get("required", []))
            and all(conforms(value[k], s) for k, s in props.items() if k in value)
        )
    if kind == "array":
        return (
            isinstance(value, list)
            and schema.get("minItems", 0) <= len(value)
            and all(conforms(v, schema.get("items", {})) for v in value)
        )
    if kind == "string":  # and in its enum: a free reply may name a value the grammar would not allow
        return isinstance(value, str) and value in schema.get("enum", [value])
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def ask_json(llm: LLM, messages: list[Message], schema: Schema, *, max_tokens: int = 256) -> JsonReply:
    """Ask for one JSON object at temperature 0; a reply that does not fit is asked again under the grammar."""
    first = llm.chat(messages, temperature=0.0, max_tokens=max_tokens)
    data = parse_json_object(first.text)
    if data is not None and conforms(data, schema):
        return JsonReply(data, first.text, 1, False)
    second = llm.chat(messages, temperature=0.0, max_tokens=max_tokens, json_schema=schema)
    data = parse_json_object(second.text)
    return JsonReply(data if data is not None and conforms(data, schema) else None, second.text, 2, True)
