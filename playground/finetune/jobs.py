"""Training as background jobs: a separate process per job, its state in files, so the page never blocks.

data_dir/jobs/<id>/ holds `job.json` (what to run, written once), `status.json` (status, stage, step, losses,
result; replaced atomically by the worker after every step), `stop` (present = stop requested) and `log.txt`
(the worker's output). Any page, in any browser session, finds a job by reading these files, so a reload shows
the same progress. Statuses: queued -> running -> succeeded | failed | stopped | diverged, with a reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.core.errors import InputError
from playground.core.paths import PROJECT_ROOT
from playground.core.settings import ROOM_SECRET_ENV, Settings

STATUSES = ("queued", "running", "succeeded", "failed", "stopped", "diverged")
FINAL = frozenset({"succeeded", "failed", "stopped", "diverged"})
TARGETS = {
    "embeddings": "playground.finetune.embeddings:run_job",
    "reranker": "playground.finetune.reranker_job:run_job",
    "lora": "playground.finetune.lora:run_job",
    "openai": "playground.finetune.openai_ft:run_job",
}
_CHILDREN: dict[str, subprocess.Popen[bytes]] = {}


@dataclass
class JobStatus:
    job_id: str
    kind: str
    title: str = ""
    status: str = "queued"
    reason: str = ""
    stage: str = ""
    step: int = 0
    total: int = 0
    losses: list[list[float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    pid: int | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    stop_requested: bool = False

    @property
    def finished(self) -> bool:
        return self.status in FINAL

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total else 0.0


def jobs_dir(settings: Settings) -> Path:
    return settings.data_dir / "jobs"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file and rename it over the old one: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def _status_from(data: dict[str, Any]) -> JobStatus:
    known = JobStatus.__dataclass_fields__
    return JobStatus(**{k: v for k, v in data.items() if k in known})


def _new_id(kind: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{secrets.token_hex(2)}"


def start_job(
    settings: Settings,
    kind: str,
    params: dict[str, Any],
    *,
    title: str = "",
    target: str | None = None,
    env: dict[str, str] | None = None,
) -> JobStatus:
    """Write the job's files and start its worker process; returns at once with the queued status.

    `env` adds variables for the worker only (an API key travels this way, never through a file).
    """
    target = target or TARGETS.get(kind)
    if target is None:
        raise InputError(f"Unknown job kind '{kind}'. Known: {', '.join(TARGETS)}.")
    job_id = _new_id(kind)
    folder = jobs_dir(settings) / job_id
    folder.mkdir(parents=True)
    status = JobStatus(job_id, kind, title=title or kind, stage="Starting the training process")
    spec = {
        "job_id": job_id,
        "kind": kind,
        "title": status.title,
        "created": status.created,
        "target": target,
        "params": params,
        "data_dir": str(settings.data_dir),
        "openai_base_url": settings.openai_base_url,
    }
    write_json(folder / "job.json", spec)
    write_json(folder / "status.json", asdict(status))
    status.pid = _spawn(job_id, folder, env)
    (folder / "pid").write_text(str(status.pid), encoding="utf-8")  # status.json belongs to the worker now
    return status


def _spawn(job_id: str, folder: Path, env: dict[str, str] | None) -> int:
    inherited = {k: v for k, v in os.environ.items() if k != ROOM_SECRET_ENV}
    environment = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
    with (folder / "log.txt").open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "playground.finetune.worker", str(folder)],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,
        )
    _CHILDREN[job_id] = child
    return child.pid


def _alive(job_id: str, pid: int | None) -> bool:
    """Whether the worker still runs (a child of this process is polled; others are looked up in /proc)."""
    child = _CHILDREN.get(job_id)
    if child is not None:
        return child.poll() is None
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return _signal_ok(pid)
    return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"} and b"playground.finetune.worker" in cmdline


def _signal_ok(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _settle_dead(folder: Path, status: JobStatus) -> JobStatus:
    """A worker that vanished without a final status: stopped if a stop was asked for, else failed."""
    if status.stop_requested or (folder / "stop").exists():
        status.status, status.reason = "stopped", "Stopped by request; the previous models are unchanged."
    else:
        status.status = "failed"
        status.reason = (
            f"The training process ended unexpectedly (out of memory, or the app was restarted). The "
            f"previous models are unchanged. Its output is in {folder / 'log.txt'}."
        )
    status.updated = time.time()
    write_json(folder / "status.json", asdict(status))
    return status


def _pid_file(folder: Path) -> int | None:
    try:
        return int((folder / "pid").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_job(settings: Settings, job_id: str) -> JobStatus:
    folder = jobs_dir(settings) / job_id
    try:
        status = _status_from(json.loads((folder / "status.json").read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError):
        raise InputError(f"No training job '{job_id}' in {jobs_dir(settings)}.") from None
    status.stop_requested = status.stop_requested or (folder / "stop").exists()
    status.pid = status.pid or _pid_file(folder)
    starting = status.pid is None and time.time() - status.created < 30  # spawned, pid not written yet
    if not status.finished and not starting and not _alive(job_id, status.pid):
        again = _status_from(json.loads((folder / "status.json").read_text(encoding="utf-8")))
        again.pid = again.pid or status.pid
        return again if again.finished else _settle_dead(folder, again)
    return status


def list_jobs(settings: Settings, kind: str | None = None) -> list[JobStatus]:
    """Every job, newest first."""
    root = jobs_dir(settings)
    ids = (
        sorted((d.name for d in root.iterdir() if (d / "status.json").exists()), reverse=True)
        if root.is_dir()
        else []
    )
    jobs = [read_job(settings, i) for i in ids]
    return [j for j in jobs if kind is None or j.kind == kind]


def active_job(settings: Settings, kind: str | None = None) -> JobStatus | None:
    return next((j for j in list_jobs(settings, kind) if not j.finished), None)


def request_stop(settings: Settings, job_id: str) -> None:
    """Ask the worker to stop before its next step (it leaves the previous models as they were)."""
    folder = jobs_dir(settings) / job_id
    if folder.is_dir():
        (folder / "stop").write_text(str(time.time()), encoding="utf-8")


def terminate(settings: Settings, job_id: str) -> JobStatus:
    """The fallback when a worker does not react to the stop file: end its process group."""
    request_stop(settings, job_id)
    status = read_job(settings, job_id)
    if not status.finished and status.pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(status.pid, signal.SIGTERM)
        child = _CHILDREN.get(job_id)
        if child is not None:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(status.pid, signal.SIGKILL)
                child.wait(timeout=10)
    return read_job(settings, job_id)


def wait(settings: Settings, job_id: str, timeout_s: float = 600, poll_s: float = 0.2) -> JobStatus:
    """Block until the job finishes (for the CLI and tests; pages poll instead)."""
    deadline = time.monotonic() + timeout_s
    status = read_job(settings, job_id)
    while not status.finished and time.monotonic() < deadline:
        time.sleep(poll_s)
        status = read_job(settings, job_id)
    return status
