"""The workshop room's server (`make workshop`): the whole app behind an access code, for a room of people.

`python -m ui.workshop_app [--address 127.0.0.1] [--port 8501]` reads the codes from ROOM_CODE (participants) and
FACILITATOR_CODE, or makes up new ones and prints them. A fresh signing secret is put in this process's own
environment (memory only: a restarted room asks everyone to join again), where the pages (`ui.room`) find it.
The app is Streamlit's `st.App` on app.py with the gate (`playground.workshop.gate`) in front of every request,
websocket included.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware

from playground.workshop.access import SECRET_ENV, RoomCodes, new_code, new_secret
from playground.workshop.gate import JOIN, AccessGate

APP_SCRIPT = Path(__file__).resolve().parent.parent / "app.py"
CODE_ENV = "ROOM_CODE"
FACILITATOR_ENV = "FACILITATOR_CODE"
MIN_CODE = 6  # a short code typed on the join form can be guessed; the made-up ones have 12 characters
WILDCARDS = ("0.0.0.0", "::", "")


class RoomSetupError(ValueError):
    """A room that cannot start as asked; the message says what to change."""


def room_codes(env: Mapping[str, str]) -> tuple[RoomCodes, list[str]]:
    """The room's codes from the environment (a new one for each missing), and which of them were made up."""
    made_up: list[str] = []
    codes = {}
    for var in (CODE_ENV, FACILITATOR_ENV):
        codes[var] = env.get(var, "").strip()
        if not codes[var]:
            codes[var] = new_code()
            made_up.append(var)
        elif len(codes[var]) < MIN_CODE:
            raise RoomSetupError(
                f"{var} is too short to keep strangers out: use at least {MIN_CODE} characters, "
                f"or unset it to get a generated code."
            )
    if codes[CODE_ENV] == codes[FACILITATOR_ENV]:
        raise RoomSetupError(
            f"{FACILITATOR_ENV} is the same as {CODE_ENV}, so every participant would be a facilitator: "
            f"choose a different {FACILITATOR_ENV}, or unset it to get a generated one."
        )
    return RoomCodes(participant=codes[CODE_ENV], facilitator=codes[FACILITATOR_ENV]), made_up


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name: it may well be reachable from elsewhere
        return False


def room_url(address: str, port: int) -> str:
    """The address people type: for an open room (0.0.0.0) this computer's address on the network."""
    host = address
    if address in WILDCARDS:
        from streamlit import net_util  # a UDP "connect" that sends nothing: finds the network-facing address

        host = net_util.get_internal_ip() or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def banner(codes: RoomCodes, made_up: list[str], address: str, port: int) -> str:
    """What the facilitator reads in the terminal once the room is open: where, the codes, and the warning."""
    url = room_url(address, port)
    lines = ["", "  The workshop room is open.", f"  Address:          {url}  (join at {url}{JOIN})"]
    for var, label, code in (
        (CODE_ENV, "Participant code:", codes.participant),
        (FACILITATOR_ENV, "Facilitator code:", codes.facilitator),
    ):
        lines.append(f"  {label} {code}" if var in made_up else f"  {label} as set in {var}")
    lines.append("  Keep the facilitator code to yourself: it can change the room's settings.")
    if not is_loopback(address):
        lines += ["", *network_warning(address)]
    else:
        lines.append(
            "  Only this computer can reach it. To open it to the room: make workshop ADDRESS=0.0.0.0"
        )
    return "\n".join([*lines, ""])


def network_warning(address: str) -> list[str]:
    return [
        f"  WARNING: the room listens on {address}, so anyone on this network can reach it.",
        "  The access code is the only lock, and the traffic is not encrypted (plain HTTP): use it only on a",
        "  network you trust (a classroom or office network, not a cafe or conference Wi-Fi).",
    ]


def build_app(codes: RoomCodes, secret: str, on_open: Callable[[], None] | None = None) -> st.App:
    """st.App on app.py, every request (websocket included) through the access gate; calls `on_open` once the
    server is listening (its port is known then, even when asked for port 0)."""

    @asynccontextmanager
    async def announce(_app: st.App) -> AsyncIterator[None]:
        if on_open:
            on_open()
        yield

    return st.App(
        str(APP_SCRIPT),
        middleware=[Middleware(AccessGate, codes=codes, secret=secret)],
        lifespan=announce,
    )


def server_config(address: str, port: int) -> dict[str, Any]:
    # Streamlit's own welcome lines are hidden: they name no code, and for 0.0.0.0 they look up the external
    # address on the internet.
    return {
        "server.address": address,
        "server.port": port,
        "server.headless": True,
        "browser.gatherUsageStats": False,
        "logger.hideWelcomeMessage": True,
    }


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ui.workshop_app", description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1", help="0.0.0.0 opens the room to the network")
    parser.add_argument("--port", type=int, default=8501)
    return parser.parse_args(argv)


def _log_the_room() -> None:
    """The room's log (the terminal) says when a model loads and whose call the shared model serves: what a
    facilitator looks at when the room feels slow. Names only: no prompt, answer or key is logged."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    for name in (
        "playground.models.fair_queue",
        "playground.models.llamacpp",
        "playground.models.st_embedder",
    ):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        codes, made_up = room_codes(os.environ)
    except RoomSetupError as err:
        print(f"The room did not start: {err}", file=sys.stderr)
        return 2
    _log_the_room()
    secret = new_secret()
    os.environ[SECRET_ENV] = secret  # this process only: the pages run here and verify cookies with it

    def on_open() -> None:
        print(banner(codes, made_up, args.address, int(st.get_option("server.port"))), flush=True)

    app = build_app(codes, secret, on_open)
    # App.run() takes sys.argv[0] as the app's script, as `streamlit run` would: point it at app.py, so the
    # project's .streamlit/config.toml applies and ui/ is not put at the front of sys.path.
    sys.argv = [str(APP_SCRIPT)]
    app.run(config=server_config(args.address, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
