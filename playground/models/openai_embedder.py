"""Embeddings from the OpenAI API or a compatible server."""

from __future__ import annotations

from typing import Any

import numpy as np

from playground.core.errors import ModelError
from playground.core.settings import Settings
from playground.models.openai_client import openai_client


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class OpenAIEmbedder:
    """Embeddings from the OpenAI API or a compatible server. A client can be passed in."""

    def __init__(
        self, name: str, model: str, settings: Settings, *, base_url: str | None = None, client: Any = None
    ) -> None:
        self.name = name
        self.model = model
        self._client = client or openai_client(settings, base_url=base_url, needed_by=f"'{name}'")

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
