"""The embedder protocol. Vectors are L2-normalised float32 rows, so a dot product is the cosine similarity.

Implementations: `st_embedder` (sentence-transformers on the CPU: the packaged all-MiniLM-L6-v2 and any `st:`
folder) and `openai_embedder` (OpenAI or a compatible server), found by name through
`playground.models.registry.get_embedder`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


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
