"""`playground replays import`: load the sample replays shipped in the repository into the answer cache, so an
unchanged sample variant answers at once, exactly as the model did (the set-up runs it every time)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    # Nothing is imported here: building the parser is part of every `playground` command's start.
    p = sub.add_parser(
        "replays", help="The sample's shipped replays: the recorded answers of its variants files."
    )
    actions = p.add_subparsers(dest="replays_command", required=True)
    i = actions.add_parser(
        "import",
        help="Put the shipped replays into this data folder's answer cache (skipped when they already are there).",
        description="Rebuild the replays (after a prompt or model change) with scripts/build_replays.py.",
    )
    i.add_argument(
        "--folder",
        type=Path,
        help="Folder with manifest.json and the bundles (default: sample_corpus/replay).",
    )
    i.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from playground.core.settings import Settings
    from playground.storage.cache_admin import SHIPPED_REPLAYS, import_shipped_replays

    settings = Settings.from_env()
    counts = import_shipped_replays(settings, args.folder or SHIPPED_REPLAYS)
    if counts is None:
        print(f"   sample replays: already in {settings.data_dir}")
    else:
        print(
            f"   sample replays: {counts['responses']:,} answers and scores, {counts['embeddings']:,} embeddings"
        )
    return 0
