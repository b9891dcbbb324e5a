"""A tiny stand-in for OpenAI's files and fine-tuning endpoints, on loopback, for tests.

POST /v1/files (multipart upload), POST /v1/fine_tuning/jobs, GET /v1/fine_tuning/jobs/{id} (each call moves
the job one step: queued -> running (adds loss events) -> succeeded or failed), GET .../events (newest first,
metrics in `data` for even steps and only in the message text for odd ones), POST .../cancel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.openai_stub import serve


class FTState:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.steps = 4
        self.fail_with: str | None = None  # set: the job ends as failed with this message
        self.losses = [2.0, 1.5, 1.0, 0.5]


def _job(state: FTState, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": job_id,
        "object": "fine_tuning.job",
        "created_at": 0,
        "model": body.get("model"),
        "status": "queued",
        "training_file": body.get("training_file"),
        "validation_file": body.get("validation_file"),
        "fine_tuned_model": None,
        "finished_at": None,
        "error": None,
        "hyperparameters": body.get("method", {}).get("supervised", {}).get("hyperparameters"),
        "method": body.get("method"),
        "organization_id": "org-stub",
        "result_files": [],
        "seed": 0,
        "trained_tokens": None,
    }


def _event(job_id: str, n: int, step: int, state: FTState) -> dict[str, Any]:
    train, valid = (
        state.losses[(step - 1) % len(state.losses)],
        state.losses[(step - 1) % len(state.losses)] + 0.1,
    )
    message = f"Step {step}/{state.steps}: training loss={train:.2f}, validation loss={valid:.2f}"
    data = {"step": step, "train_loss": train, "valid_loss": valid, "total_steps": state.steps}
    return {
        "id": f"ftevent-{job_id}-{n}",
        "object": "fine_tuning.job.event",
        "created_at": n,
        "level": "info",
        "message": message,
        "data": data if step % 2 == 0 else None,
        "type": "metrics",
    }


def _advance(state: FTState, job: dict[str, Any]) -> None:
    events = state.events.setdefault(job["id"], [])
    if job["status"] == "queued":
        job["status"] = "running"
    elif job["status"] == "running" and len(events) < state.steps:
        for step in range(len(events) + 1, state.steps + 1):
            events.append(_event(job["id"], len(events) + 1, step, state))
    elif job["status"] == "running" and state.fail_with:
        job["status"], job["error"] = (
            "failed",
            {"code": "invalid_training_file", "message": state.fail_with, "param": None},
        )
    elif job["status"] == "running":
        job["status"], job["trained_tokens"] = "succeeded", 1234
        job["fine_tuned_model"] = f"ft:{job['model']}:stub::abc123"


def _multipart_file(headers: Any, body: bytes) -> tuple[str, bytes]:
    boundary = re.search(r"boundary=([^;]+)", headers.get("Content-Type", "")).group(1).strip('"').encode()
    name, content = "", b""
    for part in body.split(b"--" + boundary):
        head, _, payload = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            found = re.search(rb'filename="([^"]*)"', head)
            name, content = (found.group(1).decode() if found else "upload"), payload.rsplit(b"\r\n", 1)[0]
    return name, content


def _handler(state: FTState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(("POST", self.path, raw))
            if self.path == "/v1/files":
                name, content = _multipart_file(self.headers, raw)
                file_id = f"file-{len(state.files) + 1}"
                state.files[file_id] = content
                return self._send(
                    200,
                    {
                        "id": file_id,
                        "object": "file",
                        "bytes": len(content),
                        "created_at": 0,
                        "filename": name,
                        "purpose": "fine-tune",
                        "status": "processed",
                    },
                )
            if self.path == "/v1/fine_tuning/jobs":
                job_id = f"ftjob-{len(state.jobs) + 1}"
                state.jobs[job_id] = _job(state, job_id, json.loads(raw or b"{}"))
                return self._send(200, state.jobs[job_id])
            match = re.fullmatch(r"/v1/fine_tuning/jobs/([^/]+)/cancel", self.path)
            if match and match.group(1) in state.jobs:
                state.jobs[match.group(1)]["status"] = "cancelled"
                return self._send(200, state.jobs[match.group(1)])
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            state.requests.append(("GET", path, None))
            match = re.fullmatch(r"/v1/fine_tuning/jobs/([^/]+)(/events)?", path)
            if not match or match.group(1) not in state.jobs:
                return self._send(
                    404, {"error": {"message": f"no job at {path}", "type": "invalid_request_error"}}
                )
            job = state.jobs[match.group(1)]
            if match.group(2):
                events = list(reversed(state.events.get(job["id"], [])))
                return self._send(200, {"object": "list", "data": events, "has_more": False})
            _advance(state, job)
            self._send(200, job)

    return Handler


@contextmanager
def openai_ft_stub() -> Iterator[tuple[str, FTState]]:
    """Yields (base_url, state); the server stops when the block ends."""
    state = FTState()
    with serve(_handler(state)) as base_url:
        yield base_url, state
