"""Where the playground keeps its data, and the connection details for hosted models.

An API key lives only in this in-memory object: it is excluded from repr and never serialised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from playground.local_models import PROJECT_ROOT


def default_data_dir() -> Path:
    return Path(os.environ.get("PLAYGROUND_DATA_DIR") or PROJECT_ROOT / ".data")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    request_timeout_s: float = 120.0

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=default_data_dir(),
            openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
            openai_base_url=os.environ.get("OPENAI_BASE_URL") or None,
        )

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"
