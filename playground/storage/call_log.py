"""What one answer took from the caches: hits and misses per kind, the response keys it used, its tokens.

A result can then say which answers came from the cache, and a replay bundle can carry every call behind a run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from playground.models.llms import Completion

KINDS = ("llm", "embedding", "retrieval", "rerank")


@dataclass
class CallLog:
    """The cache traffic behind one answer: hits and misses per kind, and the keys of the responses it used."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    misses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    keys: list[str] = field(default_factory=list)
    # Tokens of every model call behind the answer, from the cache or not: what answering it costs.
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0})

    def note(self, kind: str, hits: int, misses: int, key: str | None = None) -> None:
        self.hits[kind] += hits
        self.misses[kind] += misses
        if key is not None and key not in self.keys:
            self.keys.append(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "hits": dict(self.hits),
            "misses": dict(self.misses),
            "keys": list(self.keys),
            "tokens": dict(self.tokens),
        }


_LOG = threading.local()  # one answer runs on one thread, so the log of the answer in flight is per thread


@contextmanager
def call_log() -> Iterator[CallLog]:
    """Collect the cache traffic of the calls made on this thread inside the block."""
    previous, log = getattr(_LOG, "current", None), CallLog()
    _LOG.current = log
    try:
        yield log
    finally:
        _LOG.current = previous


def note_call(kind: str, hits: int, misses: int, key: str | None = None) -> None:
    """Count cache traffic in the log of the answer running on this thread, if any."""
    log: CallLog | None = getattr(_LOG, "current", None)
    if log is not None:
        log.note(kind, hits, misses, key)


def note_tokens(completion: Completion) -> None:
    """Add a completion's tokens to the log of the answer running on this thread, if any."""
    log: CallLog | None = getattr(_LOG, "current", None)
    if log is not None:
        log.tokens["prompt"] += completion.prompt_tokens
        log.tokens["completion"] += completion.completion_tokens
