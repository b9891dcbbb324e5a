"""Where the project lives on disk: model files, caches and data default to folders inside it, never in `~`."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
