"""Shared fixtures. Tests never touch the network: the Makefile sets HF_HUB_OFFLINE, and so does this file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_corpus"
FICTIONAL_DOCS = SAMPLE / "fictional" / "docs"
FICTIONAL_QUESTIONS = SAMPLE / "fictional" / "questions.jsonl"
FAST_LOCAL_MODEL = "local:qwen2.5-0.5b"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from playground.core.settings import Settings

    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def small_corpus_dir(tmp_path: Path) -> Path:
    """A handful of the fictional documents, copied so tests may add bad files beside them."""
    target = tmp_path / "corpus"
    for rel in (
        "policies/returns-and-refunds.md",
        "policies/travel.md",
        "handbook/leave-and-holidays.txt",
        "products/sproutvault-s3.md",
    ):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FICTIONAL_DOCS / rel, target / rel)
    return target
