"""Trivial job targets for the background-job tests; they run in the worker process as real training does."""

from __future__ import annotations

import os
import time
from typing import Any

from playground.core.errors import InputError
from playground.core.settings import Settings
from playground.finetune.progress import Monitor, run_steps


def count(
    params: dict[str, Any], monitor: Monitor, settings: Settings, on_stage: Any = None
) -> dict[str, Any]:
    """`steps` steps of `sleep` s, loss 1/step (NaN at step `nan_at`); `fail` raises; `crash` exits hard."""
    if on_stage:
        on_stage("counting")
    if params.get("fail"):
        raise InputError("the input was bad")
    if params.get("unexpected"):
        raise RuntimeError("boom")
    if params.get("crash"):
        os._exit(3)

    def step(i: int) -> float:
        time.sleep(float(params.get("sleep", 0.0)))
        return float("nan") if i == params.get("nan_at") else 1.0 / i

    run_steps(step, int(params.get("steps", 3)), monitor)
    return {"model": "counted", "data_dir": str(settings.data_dir)}


def stubborn(
    params: dict[str, Any], monitor: Monitor, settings: Settings, on_stage: Any = None
) -> dict[str, Any]:
    """Never looks at the stop file: only terminate() ends it."""
    monitor.record(1, 1.0, 100)
    time.sleep(float(params.get("sleep", 60)))
    return {}


def environment(
    params: dict[str, Any], monitor: Monitor, settings: Settings, on_stage: Any = None
) -> dict[str, Any]:
    """Which of `params["names"]` the worker's environment holds."""
    monitor.record(1, 1.0, 1)
    return {"model": "seen", "present": [n for n in params["names"] if n in os.environ]}
