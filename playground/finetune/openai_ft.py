"""OpenAI fine-tuning (or any server that speaks its files and fine-tuning endpoints).

Upload the chat JSONL, create a supervised job with the chosen hyperparameters, poll it, and read the training
and validation loss from its events: `event.data` when the server sends metrics there, else the message text
("Step 10/100: training loss=0.84, validation loss=0.91"). The finished model is used as `openai:<model id>`.
"""

from __future__ import annotations

import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.errors import InputError, MissingApiKeyError, ModelError, StoppedError
from playground.core.settings import Settings
from playground.finetune import registry
from playground.finetune.progress import Monitor
from playground.models.names import openai_model_name
from playground.models.openai_client import openai_client

DEFAULT_BASE = "gpt-4o-mini-2024-07-18"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_STEP = re.compile(r"step\s+(\d+)(?:\s*/\s*(\d+))?", re.I)
_TRAIN = re.compile(r"train(?:ing)?[ _]loss\s*[=:]\s*([-+0-9.eE]+|nan|inf)", re.I)
_VALID = re.compile(r"valid(?:ation)?[ _]loss\s*[=:]\s*([-+0-9.eE]+|nan|inf)", re.I)


@dataclass(frozen=True)
class OpenAIHyper:
    """None means "auto" (OpenAI chooses from the data size)."""

    n_epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_epochs": self.n_epochs or "auto",
            "batch_size": self.batch_size or "auto",
            "learning_rate_multiplier": self.learning_rate_multiplier or "auto",
        }


@dataclass(frozen=True)
class LossPoint:
    step: int
    train_loss: float | None
    valid_loss: float | None
    total_steps: int | None = None


def client_for(settings: Settings) -> Any:
    if not settings.openai_api_key and not settings.openai_base_url:
        raise MissingApiKeyError(
            "OpenAI fine-tuning needs an API key (OPENAI_API_KEY, or type it on the Settings "
            "page) or an OpenAI-compatible base URL. Local fine-tuning needs neither."
        )
    return openai_client(settings, needed_by="OpenAI fine-tuning")


def _call(what: str, fn: Callable[[], Any]) -> Any:
    import openai

    try:
        return fn()
    except openai.AuthenticationError:
        raise ModelError(f"{what}: the API key was rejected. Check it on the Settings page.") from None
    except openai.APIConnectionError:
        raise ModelError(
            f"{what}: cannot reach the server. Check the base URL and your connection."
        ) from None
    except openai.APIError as err:
        raise ModelError(f"{what} failed ({type(err).__name__}: {err}).") from None


def upload(client: Any, data: bytes, filename: str = "train.jsonl") -> str:
    """Upload a training (or validation) file; returns its file id."""
    file = (filename, io.BytesIO(data), "application/jsonl")
    return str(
        _call("Uploading the training file", lambda: client.files.create(file=file, purpose="fine-tune")).id
    )


def create_job(
    client: Any,
    model: str,
    training_file: str,
    hyper: OpenAIHyper = OpenAIHyper(),
    *,
    validation_file: str | None = None,
    suffix: str | None = None,
) -> str:
    method = {"type": "supervised", "supervised": {"hyperparameters": hyper.as_dict()}}
    extra: dict[str, Any] = {"validation_file": validation_file} if validation_file else {}
    if suffix:
        extra["suffix"] = suffix
    job = _call(
        "Creating the fine-tuning job",
        lambda: client.fine_tuning.jobs.create(
            model=model, training_file=training_file, method=method, **extra
        ),
    )
    return str(job.id)


def job_state(client: Any, job_id: str) -> Any:
    return _call("Reading the fine-tuning job", lambda: client.fine_tuning.jobs.retrieve(job_id))


def list_events(client: Any, job_id: str, limit: int = 100) -> list[Any]:
    """The job's events, oldest first."""
    page = _call("Reading the job's events", lambda: client.fine_tuning.jobs.list_events(job_id, limit=limit))
    return sorted(page.data, key=lambda e: (e.created_at, e.id))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _from_data(data: Any) -> LossPoint | None:
    if not isinstance(data, dict) or "step" not in data:
        return None
    train, valid = data.get("train_loss"), data.get("valid_loss", data.get("full_valid_loss"))
    if train is None and valid is None:
        return None
    return LossPoint(
        int(data["step"]),
        _number(str(train)) if train is not None else None,
        _number(str(valid)) if valid is not None else None,
        data.get("total_steps"),
    )


def parse_loss(event: Any) -> LossPoint | None:
    """The losses an event reports: from `event.data` when present, else from its message text."""
    point = _from_data(getattr(event, "data", None))
    if point is not None:
        return point
    message = str(getattr(event, "message", "") or "")
    step, train, valid = _STEP.search(message), _TRAIN.search(message), _VALID.search(message)
    if not step or not (train or valid):
        return None
    return LossPoint(
        int(step.group(1)),
        _number(train.group(1)) if train else None,
        _number(valid.group(1)) if valid else None,
        int(step.group(2)) if step.group(2) else None,
    )


def _record(points: list[LossPoint], seen: set[int], monitor: Monitor) -> None:
    for point in points:
        if point.step in seen:
            continue
        seen.add(point.step)
        total = point.total_steps or point.step
        if point.valid_loss is not None and math.isfinite(point.valid_loss):
            monitor.metric("valid_loss", point.step, point.valid_loss)
        if point.train_loss is not None:
            monitor.record(point.step, point.train_loss, total)


def follow(
    client: Any,
    job_id: str,
    monitor: Monitor,
    *,
    poll_s: float = 10.0,
    timeout_s: float = 6 * 3600,
    on_stage: Callable[[str], None] | None = None,
) -> Any:
    """Poll until the job ends, feeding its losses to `monitor`; a stop request cancels the remote job."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while True:
        job = job_state(client, job_id)
        _record([p for e in list_events(client, job_id) if (p := parse_loss(e))], seen, monitor)
        if on_stage:
            on_stage(f"OpenAI job {job_id}: {job.status}")
        if job.status in TERMINAL:
            return job
        if monitor.should_stop and monitor.should_stop():
            _call("Cancelling the job", lambda: client.fine_tuning.jobs.cancel(job_id))
            raise StoppedError(f"Stopped: the OpenAI job {job_id} was cancelled.")
        if time.monotonic() > deadline:
            raise ModelError(
                f"The OpenAI job {job_id} is still {job.status} after {timeout_s:.0f} s; check it later."
            )
        time.sleep(poll_s)


def finish(job: Any) -> dict[str, Any]:
    """The result of a finished job: the model name to use, or a ModelError saying why it failed."""
    if job.status != "succeeded" or not job.fine_tuned_model:
        error = getattr(job, "error", None)
        detail = getattr(error, "message", None) or str(error or job.status)
        raise ModelError(f"The OpenAI fine-tuning job {job.id} ended as '{job.status}': {detail}")
    return {
        "model": str(openai_model_name(job.fine_tuned_model)),
        "job_id": job.id,
        "trained_tokens": getattr(job, "trained_tokens", None),
    }


def run_finetune(
    client: Any,
    data: bytes,
    model: str,
    hyper: OpenAIHyper,
    monitor: Monitor,
    *,
    validation: bytes | None = None,
    suffix: str | None = None,
    poll_s: float = 10.0,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    if not data.strip():
        raise InputError("The training file is empty.")
    training_file = upload(client, data)
    validation_file = upload(client, validation, "valid.jsonl") if validation else None
    job_id = create_job(client, model, training_file, hyper, validation_file=validation_file, suffix=suffix)
    if on_stage:
        on_stage(f"OpenAI job {job_id} created")
    return finish(follow(client, job_id, monitor, poll_s=poll_s, on_stage=on_stage))


def run_job(
    params: dict[str, Any],
    monitor: Monitor,
    settings: Settings,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Worker entry: params hold `file` (optional `validation_file`), `model`, `hyper`, `suffix`, `poll_s`."""
    validation = params.get("validation_file")
    result = run_finetune(
        client_for(settings),
        Path(params["file"]).read_bytes(),
        params.get("model", DEFAULT_BASE),
        OpenAIHyper(**params.get("hyper", {})),
        monitor,
        validation=Path(validation).read_bytes() if validation else None,
        suffix=params.get("suffix"),
        poll_s=float(params.get("poll_s", 10.0)),
        on_stage=on_stage,
    )
    if params.get("name"):  # remembered under data_dir/models, so pages offer it as a model choice
        folder = registry.models_dir(settings) / registry.check_name(params["name"])
        meta = {"kind": "openai", "base_model": params.get("model", DEFAULT_BASE)} | params.get("meta", {})
        registry.install(registry.staging_dir(folder), folder, meta | result)
    return result
