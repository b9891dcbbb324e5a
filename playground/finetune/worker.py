"""`python -m playground.finetune.worker <job folder>`: run one training job and keep its status file current.

The job's target is a `module:function(params, monitor, settings, on_stage) -> result dict`. A stop file makes
the monitor raise StoppedError before the next step; SIGTERM does the same from a signal handler. Whatever
happens, the last thing written is a final status with a reason; tracebacks go to the log only.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from playground.core.errors import PlaygroundError, StoppedError
from playground.core.settings import Settings
from playground.finetune.jobs import JobStatus, write_json
from playground.finetune.progress import DivergedError, Monitor


class JobReporter:
    """Holds the job's status in memory and writes all of it after every change."""

    def __init__(self, folder: Path, spec: dict[str, Any]) -> None:
        self.folder = folder
        self.status = JobStatus(
            spec["job_id"],
            spec["kind"],
            title=spec.get("title", spec["kind"]),
            status="running",
            pid=os.getpid(),
        )
        self.status.created = float(spec.get("created", time.time()))

    def write(self) -> None:
        self.status.updated = time.time()
        write_json(self.folder / "status.json", asdict(self.status))

    def stage(self, text: str) -> None:
        self.status.stage = text
        self.write()
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def loss(self, step: int, loss: float, total: int) -> None:
        self.status.step, self.status.total = step, total
        self.status.losses.append([step, loss])
        self.write()

    def metric(self, name: str, step: int, value: float) -> None:
        self.status.extra.setdefault(name, []).append([step, value])
        self.write()

    def stop_requested(self) -> bool:
        return (self.folder / "stop").exists()

    def monitor(self) -> Monitor:
        return Monitor(on_loss=self.loss, should_stop=self.stop_requested, on_metric=self.metric)

    def finish(self, status: str, reason: str = "", result: dict[str, Any] | None = None) -> None:
        self.status.status, self.status.reason = status, reason
        self.status.result = result or {}
        self.status.stop_requested = self.stop_requested()
        self.write()
        print(f"[{time.strftime('%H:%M:%S')}] {status}: {reason or json.dumps(result)}", flush=True)


def _target(spec: dict[str, Any]) -> Any:
    module, _, function = str(spec["target"]).partition(":")
    return getattr(importlib.import_module(module), function)


def _settings(spec: dict[str, Any]) -> Settings:
    return Settings(
        data_dir=Path(spec["data_dir"]),
        openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
        openai_base_url=spec.get("openai_base_url") or os.environ.get("OPENAI_BASE_URL") or None,
    )


def _on_sigterm(signum: int, frame: Any) -> None:
    raise StoppedError(
        "Stopped: the training process was ended. Nothing was saved; the previous models are unchanged."
    )


def run(folder: Path) -> int:
    spec = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    reporter = JobReporter(folder, spec)
    reporter.stage("Starting")
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = _target(spec)(spec["params"], reporter.monitor(), _settings(spec), reporter.stage)
    except DivergedError as err:
        reporter.finish("diverged", str(err))
    except StoppedError as err:
        reporter.finish("stopped", str(err))
    except PlaygroundError as err:
        reporter.finish("failed", f"{err} The previous models are unchanged.")
    except Exception as err:
        traceback.print_exc()
        reporter.finish(
            "failed",
            f"Unexpected error ({type(err).__name__}: {err}). The previous models are "
            f"unchanged; details are in {folder / 'log.txt'}.",
        )
    else:
        reporter.finish("succeeded", result=result)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(Path(sys.argv[1])))
