"""Start `streamlit run` as a subprocess and drive it with Playwright in Debian's headless Chromium.

Used by the browser tests and the app benchmark. Chromium is never downloaded by Playwright: it is Debian's
`/usr/bin/chromium`, started with flags that keep it off the (closed) network.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout_s: float = 60.0) -> float:
    """Poll /_stcore/health; returns the seconds it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"streamlit did not become healthy at {url}")


def _stop(proc: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def _served(
    cmd: list[str], port: int, env: dict[str, str] | None, log: Path | None, cwd: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """Start `cmd` (a server on `port`), wait until healthy; yields (url, process, seconds to healthy)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield url, proc, time.perf_counter() - started
    finally:
        _stop(proc)
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def streamlit_app(
    script: str = "app.py", env: dict[str, str] | None = None, log: Path | None = None, cwd: Path = ROOT
) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """Yields (url, process, seconds from launch to healthy)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    with _served(cmd, port, env, log, cwd) as served:
        yield served


@contextmanager
def room_server(codes: Any, data_dir: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The workshop room (`python -m ui.workshop_app`) on a free loopback port, with the given access codes
    (`.participant`, `.facilitator`) and data folder, its output in `log`; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "ui.workshop_app", "--address", "127.0.0.1", "--port", str(port)]
    room_env = {
        "ROOM_CODE": codes.participant,
        "FACILITATOR_CODE": codes.facilitator,
        "PLAYGROUND_DATA_DIR": str(data_dir),
    } | (env or {})
    with _served(cmd, port, room_env, log, ROOT) as (url, _, _):
        yield url


def join_room(page: Any, url: str, name: str, code: str, timeout_ms: float = 120_000) -> Any:
    """Join the room at `url` in `page` with the access code and a display name; returns the page."""
    page.goto(url)
    page.get_by_label("Access code").fill(code)
    page.get_by_label("Display name").fill(name)
    page.get_by_role("button", name="Join").click()
    wait_for_run(page, timeout_ms)
    return page


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_run(page: Any, timeout_ms: float = 120_000) -> None:
    """Wait until the app is connected and its script has finished running (as Streamlit's own e2e tests do).

    A click starts a rerun a moment later, so first give the script a short chance to start running.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms
    )
    with suppress(PlaywrightTimeout):
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=1500)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)


def go_to(page: Any, label: str, timeout_ms: float = 120_000) -> None:
    """Move to another page through the sidebar's links (the app draws them: the automatic list is hidden), which
    keeps the session (a new URL would start a new one)."""
    page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']", has_text=label).first.click()
    wait_for_run(page, timeout_ms)
