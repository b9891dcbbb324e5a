"""Whole-cache operations: export and import rows (replay bundles, and the sample replays the repository ships
in sample_corpus/replay), entry counts, clearing."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from playground.core.errors import InputError
from playground.core.paths import PROJECT_ROOT
from playground.core.settings import Settings
from playground.storage.embedding_cache import EmbeddingCache
from playground.storage.keys import sha256_hex
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


# --- cache files: exported rows on disk, and the sample replays shipped in the repository ------------------

SHIPPED_REPLAYS = PROJECT_ROOT / "sample_corpus" / "replay"
MANIFEST = "manifest.json"
REBUILD_REPLAYS = ".venv/bin/python scripts/build_replays.py"


def write_cache_file(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write exported rows as gzip'd JSON lines; returns the bytes written.

    The gzip header carries no time stamp and the rows keep their export order, so the same rows always give
    the same bytes: a rebuilt file whose rows did not change shows no diff in git.
    """
    lines = "".join(json.dumps(dict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    data = gzip.compress(lines.encode("utf-8"), compresslevel=9, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def read_cache_file(path: Path) -> list[dict[str, Any]]:
    """The rows of a file `write_cache_file` wrote; InputError when it is missing or damaged."""
    try:
        lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as err:
        raise InputError(
            f"The cache file {path} cannot be read ({err}). Restore it (git checkout -- {path}) or rebuild "
            f"the replays: {REBUILD_REPLAYS}"
        ) from None
    if not all(isinstance(r, dict) for r in rows):
        raise InputError(
            f"The cache file {path} is damaged. Restore it (git checkout -- {path}) or rebuild the replays: "
            f"{REBUILD_REPLAYS}"
        )
    return rows


def _import_mark(mark: str) -> str:
    # The mark is a row of the cache itself (a score under a key no real call can have), so clearing or deleting
    # the cache forgets it together with the rows it stands for, and the next import brings them back.
    return sha256_hex(f"playground-cache-import:{mark}")


def import_cache_files(settings: Settings, paths: Sequence[Path], mark: str) -> dict[str, int] | None:
    """Import the rows of cache files unless this cache already holds them under `mark` (a hash of what the
    files hold); returns the count per kind, or None when there was nothing to do."""
    responses = ResponseCache(settings)
    try:
        if responses.get_score(_import_mark(mark)) is not None:
            return None
        rows = [row for path in paths for row in read_cache_file(path)]
        counts = import_cache(settings, rows)
        responses.put_score(_import_mark(mark), 1.0)
        return counts
    finally:
        responses.close()


def read_replay_manifest(folder: Path = SHIPPED_REPLAYS) -> dict[str, Any]:
    """The folder's manifest: {"bundles": [one entry per bundle file]}; empty when there is none yet."""
    path = folder / MANIFEST
    if not path.exists():
        return {"bundles": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(
            f"{path} is damaged. Restore it with git, or rebuild it: {REBUILD_REPLAYS}"
        ) from None
    return manifest if isinstance(manifest, dict) else {"bundles": []}


def import_shipped_replays(settings: Settings, folder: Path = SHIPPED_REPLAYS) -> dict[str, int] | None:
    """Load the shipped sample replays into the data folder's cache, so an unchanged sample variant answers from
    them; None when this cache already holds this manifest's bundles (the set-up runs it every time)."""
    manifest = folder / MANIFEST
    paths = [folder / str(b["file"]) for b in read_replay_manifest(folder).get("bundles") or []]
    if not paths:
        return None
    mark = sha256_hex(manifest.read_text(encoding="utf-8"))  # the manifest names every bundle's SHA-256
    return import_cache_files(settings, paths, mark)
