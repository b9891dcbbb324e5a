"""Whole-cache operations: export and import rows (replay bundles), entry counts, clearing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from playground.core.settings import Settings
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.response_cache import ResponseCache


def export_cache(
    settings: Settings,
    keys: Iterable[str] | None = None,
    identities: Iterable[str] | None = None,
    text_hashes: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Cached responses (by key) and embeddings (by identity and text hash) as JSON-able rows."""
    responses, embeddings = ResponseCache(settings), EmbeddingCache(settings)
    try:
        return responses.export_entries(keys) + embeddings.export_entries(identities, text_hashes)
    finally:
        responses.close()
        embeddings.close()


def import_cache(settings: Settings, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Put exported rows into this data folder's cache; returns the count per kind."""
    responses, embeddings = ResponseCache(settings), EmbeddingCache(settings)
    try:
        answers = responses.import_entries(rows)
        return {"responses": answers, "embeddings": embeddings.import_entries(rows)}
    finally:
        responses.close()
        embeddings.close()


def cache_stats(settings: Settings) -> dict[str, int]:
    """Entries per kind and bytes on disk, for a Settings page or `playground cache`."""
    cache = ResponseCache(settings)
    try:
        return cache.stats()
    finally:
        cache.close()


def clear_cache(settings: Settings) -> dict[str, int]:
    """Delete every cached response, score, embedding and search; returns the (empty) counts."""
    cache = ResponseCache(settings)
    try:
        cache.clear()
        return cache.stats()
    finally:
        cache.close()
