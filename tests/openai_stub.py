"""A tiny OpenAI-compatible server on loopback for tests: chat completions and embeddings, with faults on cue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("400", "401", "404", "429", "500", "malformed", "timeout", "drop")


class StubState:
    def __init__(self) -> None:
        self.reply = "stub answer"
        self.echo = False  # reply with the end of the last message instead, so answers differ per question
        self.faults: list[str] = []  # consumed one per request, any of FAULTS
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[tuple[float, str | None]] = []  # (arrival, fault served) per request
        self.delay_s = 0.0  # every answer waits this long, so concurrent requests overlap
        self.timeout_delay_s = 2.0  # a "timeout" fault answers this late: set it above the client's timeout
        self.retry_after = "0"  # the Retry-After header of a "429" fault
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def enter(self, request: dict[str, Any], headers: dict[str, str]) -> str | None:
        """Record one request and take the next fault, under the lock (requests arrive on several threads)."""
        with self.lock:
            self.requests.append(request)
            self.headers.append(headers)
            fault = self.faults.pop(0) if self.faults else None
            self.times.append((time.monotonic(), fault))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return fault

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


def _chat_body(state: StubState, request: dict[str, Any]) -> dict[str, Any]:
    reply = f"echo: {request['messages'][-1]['content'][-60:]}" if state.echo else state.reply
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "m"),
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
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

        def _drop(self, body: bytes) -> None:
            """Headers promising the whole body, half of it, then the socket closed: a server that died."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            fault = state.enter(request, dict(self.headers))
            try:
                self._answer(request, fault)
            except OSError:
                pass  # the client gave up (a "timeout" fault): nobody is left to answer
            finally:
                state.leave()

        def _answer(self, request: dict[str, Any], fault: str | None) -> None:
            time.sleep(state.timeout_delay_s if fault == "timeout" else state.delay_s)
            error = json.dumps({"error": {"message": f"fault {fault}", "type": "x"}}).encode()
            if fault in {"400", "401", "404", "500"}:
                return self._send(int(fault), error)
            if fault == "429":
                return self._send(429, error, {"Retry-After": state.retry_after})
            if fault == "malformed":
                return self._send(200, b"{not json")
            body = (
                _embedding_body(request) if self.path.endswith("/embeddings") else _chat_body(state, request)
            )
            if fault == "drop":
                return self._drop(json.dumps(body).encode())
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
