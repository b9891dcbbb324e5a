"""A sentence-transformers CrossEncoder on the CPU as a reranker (`ce:<folder or hub name>`): it reads the query
and a passage together and gives one relevance score, which a pair of embeddings cannot.

The model loads on the first `score` and once per process (per folder and its weights' fingerprint, so a
retrained folder loads again), like the embedders in `st_embedder`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playground.core.errors import ModelError
from playground.models.passage_windows import best_window_scores, window_tokens, windows
from playground.models.st_embedder import folder_fingerprint

BATCH_SIZE = 32
WHAT_A_FOLDER_HOLDS = (
    "a cross-encoder folder holds config.json naming a ...ForSequenceClassification architecture and the "
    "weights (model.safetensors), as the Fine-tune page or sentence-transformers' CrossEncoder.save() write them"
)


def not_a_cross_encoder(folder: Path, why: str) -> ModelError:
    return ModelError(
        f"{folder} is not a cross-encoder ({why}): {WHAT_A_FOLDER_HOLDS}. Train one on the Fine-tune page or "
        "with `playground finetune-reranker`, or choose another reranker."
    )


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def check_folder(folder: Path) -> None:
    """Raise a ModelError saying what a cross-encoder folder holds when `folder` is not one: sentence-transformers
    marks its cross-encoders (config_sentence_transformers.json), and a Hugging Face one has a classification head.
    An embedder folder would load too, with an untrained head that scores at random: refused here."""
    if not folder.is_dir():
        raise not_a_cross_encoder(folder, "no such folder")
    try:
        config = _json(folder / "config.json")
    except FileNotFoundError:
        raise not_a_cross_encoder(folder, "it has no config.json") from None
    except (OSError, ValueError):
        raise not_a_cross_encoder(folder, "its config.json cannot be read") from None
    try:
        marked = _json(folder / "config_sentence_transformers.json").get("model_type") == "CrossEncoder"
    except (OSError, ValueError):
        marked = False
    architectures = config.get("architectures") or []
    if not marked and not any(str(a).endswith("ForSequenceClassification") for a in architectures):
        found = ", ".join(map(str, architectures)) or "none"
        raise not_a_cross_encoder(folder, f"its model is {found}, an embedder or a language model")


def _load(path_or_id: str) -> Any:
    folder = Path(path_or_id)
    if folder.is_dir() or folder.is_absolute() or path_or_id.startswith("."):
        check_folder(folder)
    try:
        from sentence_transformers import CrossEncoder
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ModelError("sentence-transformers is not installed: run the set-up (make run).") from None
    hf_logging.disable_progress_bar()
    try:
        return CrossEncoder(path_or_id, device="cpu")
    except (OSError, ValueError) as err:
        raise ModelError(
            f"Could not load the cross-encoder '{path_or_id}' ({err}). Give a cross-encoder folder, or a hub "
            "name when this machine is online."
        ) from None


_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def load_cross_encoder(path_or_id: str) -> Any:
    """The CrossEncoder for a folder or hub name, loaded once per process (again when the weights change)."""
    folder = Path(path_or_id)
    key = f"{path_or_id}@{folder_fingerprint(folder)}" if folder.is_dir() else path_or_id
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load(path_or_id)
        return _LOADED[key]


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a CrossEncoder; the model loads on the first call. A passage longer
    than the model reads beside the query scores as its best window (`passage_windows`), not its start."""

    def __init__(self, name: str, path_or_id: str, batch_size: int = BATCH_SIZE) -> None:
        self.name = name
        self.path_or_id = path_or_id
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        model = load_cross_encoder(self.path_or_id)
        with self._lock:
            cut = _read_in_windows(model, query, passages)
            scores = model.predict(
                [(query, w) for ws in cut for w in ws],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return best_window_scores([float(s) for s in scores], [len(ws) for ws in cut])


def _read_in_windows(model: Any, query: str, passages: Sequence[str]) -> list[list[str]]:
    """Each passage's windows beside `query`; a model that names no max length reads every passage whole."""
    reads = model.max_seq_length
    if not reads:
        return [[p] for p in passages]
    size = window_tokens(model.tokenizer, int(reads), query)
    return [windows(model.tokenizer, p, size) for p in passages]
