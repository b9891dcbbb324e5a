"""The door of a workshop room: an ASGI middleware that lets in only people who joined with the room's code.

Streamlit has no login of its own, and its pages, assets, uploads and websocket all answer anyone who can reach the
port. `AccessGate` wraps the whole app (http and websocket alike) and lets a request through only with a cookie
signed by the room (`access.issue_token`). Without one, a page address gets the join form, anything else (scripts,
`/_stcore/*`, media, uploads, components) a bare 403, and a websocket is closed before it is accepted, so its
handshake fails. Only `/_stcore/health` stays open: it says "ok" and nothing else, and start-up scripts poll it.
Wrong codes are throttled per address (`CodeThrottle`), so a code cannot be guessed by trying them all.

Plain ASGI, so it runs in front of any ASGI app (st.App in the room, a dummy app in tests).
"""

from __future__ import annotations

import html
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from playground.workshop.access import (
    COOKIE,
    MAX_NAME,
    Member,
    RoomCodes,
    clean_name,
    issue_token,
    read_token,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JOIN = "/join"
LEAVE = "/leave"
HEALTH = "/_stcore/health"
# Where Streamlit serves its machinery rather than pages: never answered with the join form (a script tag that
# gets HTML back only confuses the browser), always with an empty 403.
ASSET_ROOTS = ("_stcore", "static", "media", "component", "app", "auth", "oauth2callback")
MAX_FORM_BYTES = 8192  # a code, a name and a path: anything bigger is not our form
WRONG_CODE = "That code is not right: ask the facilitator for the access code."
# A room behind one router shares an address: the limit leaves a whole room its typos, not a guesser its millions.
MAX_WRONG_CODES, WRONG_CODE_WINDOW_S = 10, 60.0
TOO_MANY = (
    "Too many wrong codes from this computer in the last minute: wait a minute, then type the code the "
    "facilitator gave you."
)
NO_NAME = "Type a display name: it is how the room sees your runs."
# The join page needs nothing from anywhere: its style is inline and it posts only to this server.
PAGE_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
]


class CodeThrottle:
    """Counts wrong codes per client address over a sliding window; an address at the limit is refused."""

    def __init__(
        self,
        limit: int = MAX_WRONG_CODES,
        window_s: float = WRONG_CODE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._wrong: dict[str, deque[float]] = {}

    def blocked(self, address: str) -> bool:
        self._expire()
        return len(self._wrong.get(address, ())) >= self.limit

    def wrong(self, address: str) -> None:
        self._expire()
        self._wrong.setdefault(address, deque()).append(self.clock())

    def _expire(self) -> None:
        """Forget wrong codes older than the window, and addresses left with none (the table stays small)."""
        cutoff = self.clock() - self.window_s
        for address, times in list(self._wrong.items()):
            while times and times[0] <= cutoff:
                times.popleft()
            if not times:
                del self._wrong[address]


class AccessGate:
    """Lets through only members of the room (a valid signed cookie); serves `/join` and `/leave` itself."""

    def __init__(
        self, app: ASGIApp, codes: RoomCodes, secret: str, throttle: CodeThrottle | None = None
    ) -> None:
        if not secret:
            raise ValueError("AccessGate needs the room's secret to sign and check cookies.")
        self.app = app
        self.codes = codes
        self.secret = secret
        self.throttle = throttle or CodeThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):  # lifespan: the app's own start-up and shutdown
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if kind == "http" and path in (JOIN, LEAVE):
            await self._door(scope, receive, send)
        elif (kind == "http" and path == HEALTH) or self.member(scope) is not None:
            await self.app(scope, receive, send)
        elif kind == "websocket":
            # Closing before accepting makes the server refuse the handshake (403): no session ever starts.
            await send({"type": "websocket.close", "code": 1008})
        elif _is_page(scope):
            await _send_page(send, 200, join_page(next_path=_asked_for(scope)))
        else:
            await _send(send, 403)

    def member(self, scope: Scope) -> Member | None:
        """Who the request's cookie names, or None without a valid one."""
        return read_token(self.secret, cookies(scope).get(COOKIE))

    async def _door(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, leaving = scope.get("method", "GET"), scope["path"] == LEAVE
        if leaving and method in ("GET", "POST"):  # GET too: a plain link can leave (forgetting harms no one)
            await _send(send, 303, headers=[(b"location", JOIN.encode()), _cookie_header("", forget=True)])
        elif not leaving and method in ("GET", "HEAD"):
            asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("next", ["/"])[0]
            await _send_page(send, 200, join_page(next_path=safe_next(asked)))
        elif method == "POST":
            await self._join(_address(scope), receive, send)
        else:
            await _send(send, 405, headers=[(b"allow", b"GET, HEAD, POST")])

    async def _join(self, address: str, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is None:
            await _send(send, 413)
            return
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        name, next_path = clean_name(form.get("name", "")), safe_next(form.get("next", "/"))
        if self.throttle.blocked(address):  # not even checked: a guesser learns nothing while refused
            page = join_page(error=TOO_MANY, name=name, next_path=next_path)
            await _send(send, 429, page.encode(), [*PAGE_HEADERS, (b"retry-after", b"60")])
            return
        role = self.codes.role_for(form.get("code", ""))
        if role is None:
            self.throttle.wrong(address)
            await _send_page(send, 403, join_page(error=WRONG_CODE, name=name, next_path=next_path))
        elif not name:
            await _send_page(send, 400, join_page(error=NO_NAME, next_path=next_path))
        else:
            token = issue_token(self.secret, Member(name=name, role=role))
            await _send(send, 303, headers=[(b"location", next_path.encode()), _cookie_header(token)])


def cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, leniently parsed (a malformed cookie from another app must not hide ours)."""
    found: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        if key.lower() != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            name, sep, val = part.strip().partition("=")
            if sep and name:
                found.setdefault(name, val.strip().strip('"'))
    return found


def _address(scope: Scope) -> str:
    """The client's address as the server saw it (no proxy header is trusted: anyone could send one)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def safe_next(path: str) -> str:
    """Where to go after joining: a path on this server only (never `//host` or a full URL), never the door.

    Printable ASCII only: it goes back out in a Location header, where a line break would start a new header.
    """
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if not all(" " < ch <= "~" for ch in path):
        return "/"
    if path.split("?")[0] in (JOIN, LEAVE):
        return "/"
    return path


def _is_page(scope: Scope) -> bool:
    """A GET of what may be a page of the app (`/`, `/Corpus`), not of a file or of Streamlit's machinery."""
    if scope.get("method") not in ("GET", "HEAD"):
        return False
    segments = [s for s in scope.get("path", "/").split("/") if s]
    return not segments or (segments[0] not in ASSET_ROOTS and "." not in segments[-1])


def _asked_for(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return safe_next(scope.get("path", "/") + (f"?{query}" if query else ""))


def _cookie_header(token: str, *, forget: bool = False) -> tuple[bytes, bytes]:
    # HttpOnly: page scripts never see it (the server reads it); Lax: sent when following a link to the room.
    value = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax" + ("; Max-Age=0" if forget else "")
    return (b"set-cookie", value.encode("latin-1"))


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None when it is larger than any join form."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        body += message.get("body", b"")
        if len(body) > MAX_FORM_BYTES:
            return None
        if not message.get("more_body", False):
            return body


async def _send(
    send: Send, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [*(headers or []), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_page(send: Send, status: int, page: str) -> None:
    await _send(send, status, page.encode(), PAGE_HEADERS)


def join_page(*, error: str = "", name: str = "", next_path: str = "/") -> str:
    """The join form: access code and display name, self-contained (no script, no external asset)."""
    alert = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _PAGE.format(
        alert=alert,
        name=html.escape(name, quote=True),
        next=html.escape(next_path, quote=True),
        max_name=MAX_NAME,
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Join the room · LLM playground</title>
<style>
body {{ font-family: sans-serif; background: #f3f5f9; color: #1d2433; margin: 0; }}
main {{ max-width: 26rem; margin: 10vh auto; background: #fff; padding: 2rem; border-radius: 8px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, .1); }}
h1 {{ font-size: 1.5rem; margin-top: 0; }}
label {{ display: block; font-weight: bold; margin-top: 1rem; }}
input {{ width: 100%; box-sizing: border-box; font-size: 1.1rem; padding: .5rem; margin-top: .3rem; }}
button {{ margin-top: 1.5rem; font-size: 1.1rem; padding: .6rem 1.2rem; background: #2f6fdf; color: #fff;
  border: 0; border-radius: 6px; cursor: pointer; }}
.hint {{ color: #5a6478; font-size: .9rem; }}
.error {{ background: #fdecea; color: #8a1c14; padding: .7rem; border-radius: 6px; }}
</style></head>
<body><main>
<h1>Join the workshop room</h1>
<p>Type the access code the facilitator gave you, and the name the room will see next to your runs.</p>
{alert}
<form method="post" action="/join">
<label for="code">Access code</label>
<input id="code" name="code" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" required
  autofocus>
<label for="name">Display name</label>
<input id="name" name="name" type="text" value="{name}" maxlength="{max_name}" required>
<p class="hint">Your first name is enough. Anyone in the room may see it.</p>
<input type="hidden" name="next" value="{next}">
<button type="submit">Join</button>
</form>
</main></body></html>
"""
