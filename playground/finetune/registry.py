"""Fine-tuned models on disk: data_dir/models/<name>/ with a `finetune.json` that says what the folder holds.

A model is written to a temporary sibling folder and moved into place only when training succeeded, so a
failed or stopped run never damages the model of the same name that was there before.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.errors import InputError, UnknownModelError
from playground.core.settings import Settings
from playground.models.names import cross_encoder_name, lora_model_name, st_model_name

META_FILE = "finetune.json"
ADAPTER_FILE = "adapter.gguf"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def models_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def check_name(name: str) -> str:
    """A model name is also a folder name: letters, digits, '.', '_' and '-' only."""
    name = name.strip()
    if not _NAME.match(name):
        raise InputError(
            f"'{name}' cannot name a model: use 1-64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit."
        )
    return name


def staging_dir(final: Path) -> Path:
    """A fresh temporary folder beside `final` (removed first if an earlier run left one)."""
    staging = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def install(staging: Path, final: Path, meta: dict[str, Any]) -> Path:
    """Write the metadata, then swap `staging` in for `final` (the old folder is removed only afterwards)."""
    (staging / META_FILE).write_text(json.dumps(meta | {"created": time.time()}, indent=1), encoding="utf-8")
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        final.replace(old)
    staging.replace(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


@dataclass(frozen=True)
class FineTunedModel:
    """One trained model: `choice` is the name a variant uses (`st:<folder>` or a `+lora:` model name)."""

    name: str
    kind: str
    path: Path
    choice: str
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        trained_on = self.meta.get("trained_on") or "your data"
        what = {
            "embeddings": "embedder",
            "reranker": "cross-encoder reranker",
            "openai": f"OpenAI {self.meta.get('base_model', 'model')}",
        }.get(self.kind, f"{self.meta.get('base_model', 'model')} + LoRA")
        return f"{self.name}: {what} fine-tuned on {trained_on}"


def _read(folder: Path) -> FineTunedModel | None:
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    kind = str(meta.get("kind", ""))
    if kind == "embeddings":
        return FineTunedModel(folder.name, kind, folder, str(st_model_name(folder)), meta)
    if kind == "reranker":
        return FineTunedModel(folder.name, kind, folder, str(cross_encoder_name(folder)), meta)
    if kind == "openai" and meta.get("model"):
        return FineTunedModel(folder.name, kind, folder, str(meta["model"]), meta)
    if kind == "lora" and (folder / ADAPTER_FILE).exists():
        try:
            choice = lora_model_name(str(meta.get("base_model", "local:qwen2.5-0.5b")), folder / ADAPTER_FILE)
        except UnknownModelError:  # metadata naming no local model: not something a variant can use
            return None
        return FineTunedModel(folder.name, kind, folder, str(choice), meta)
    return None


def list_models(settings: Settings, kind: str | None = None) -> list[FineTunedModel]:
    """Finished fine-tuned models, newest first (half-written folders start with '.' and are skipped)."""
    root = models_dir(settings)
    if not root.is_dir():
        return []
    found = [m for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") if (m := _read(d))]
    found = [m for m in found if kind is None or m.kind == kind]
    return sorted(found, key=lambda m: float(m.meta.get("created", 0)), reverse=True)


def trained_rerankers(settings: Settings) -> list[str]:
    """The `ce:<folder>` names of the rerankers trained here, newest first (choices for a variant's reranker)."""
    return [m.choice for m in list_models(settings, "reranker")]
