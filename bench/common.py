"""Shared helpers for the benchmarks: timing, a scratch data folder, and printing/recording a table."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass
class Figure:
    name: str
    value: float
    baseline: float
    unit: str
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_time(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeats))


def scratch_data_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="playground-bench-"))


def machine() -> str:
    return f"{os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}"


def report(title: str, figures: list[Figure]) -> None:
    print(f"\n## {title}  ({machine()})")
    print(f"{'figure':48} {'value':>12} {'baseline':>12} {'ratio':>8}  note")
    for f in figures:
        print(
            f"{f.name:48} {f.value:>10.3f} {f.unit:1} {f.baseline:>10.3f} {f.unit:1} {f.ratio:>8.2f}  {f.note}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{title.lower().replace(' ', '_')}.json"
    out.write_text(
        json.dumps(
            {
                "title": title,
                "machine": machine(),
                "date": time.strftime("%Y-%m-%d"),
                "figures": [asdict(f) | {"ratio": f.ratio} for f in figures],
            },
            indent=1,
        )
    )
