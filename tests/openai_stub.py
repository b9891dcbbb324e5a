"""A tiny OpenAI-compatible server on loopback for tests: chat completions and embeddings, with faults on cue."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubState:
    def __init__(self) -> None:
        self.reply = "stub answer"
        self.faults: list[str] = []  # consumed one per request: "401", "404", "429", "500", "malformed"
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []


def _chat_body(state: StubState, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "m"),
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": state.reply}}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


def _embedding_body(request: dict[str, Any]) -> dict[str, Any]:
    texts = request["input"] if isinstance(request["input"], list) else [request["input"]]
    data = [
        {"object": "embedding", "index": i, "embedding": [float(len(t) % 7) + 1.0, float(i) + 1.0, 1.0]}
        for i, t in enumerate(texts)
    ]
    return {
        "object": "list",
        "data": data,
        "model": request.get("model"),
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append(request)
            state.headers.append(dict(self.headers))
            fault = state.faults.pop(0) if state.faults else None
            error = json.dumps({"error": {"message": f"fault {fault}", "type": "x"}}).encode()
            if fault in {"401", "404", "500"}:
                return self._send(int(fault), error)
            if fault == "429":
                return self._send(429, error, {"Retry-After": "0"})
            if fault == "malformed":
                return self._send(200, b"{not json")
            body = (
                _embedding_body(request) if self.path.endswith("/embeddings") else _chat_body(state, request)
            )
            self._send(200, json.dumps(body).encode())

    return Handler


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serves `handler` on a free loopback port; yields the OpenAI-style base_url; stops when the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def openai_stub() -> Iterator[tuple[str, StubState]]:
    """Yields (base_url, state); the server stops when the block ends."""
    state = StubState()
    with serve(_handler(state)) as base_url:
        yield base_url, state
