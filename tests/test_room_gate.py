"""The workshop room's door (issue 13): nothing of the app answers without the room's code.

Unit tests drive `AccessGate` around a dummy ASGI app with Starlette's TestClient (http and websocket scopes);
end-to-end tests start the real room server (`python -m ui.workshop_app`) on a free port and knock on it with
plain HTTP, a websocket client and, once, a real headless Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from playground.workshop.access import COOKIE, SECRET_ENV, Member, RoomCodes, issue_token, read_token
from playground.workshop.gate import (
    NO_NAME,
    TOO_MANY,
    WRONG_CODE,
    AccessGate,
    CodeThrottle,
    cookies,
    safe_next,
)
from ui import room
from ui.workshop_app import RoomSetupError, banner, room_codes

from .streamlit_server import CHROMIUM, chromium, room_server, wait_for_run

SECRET = "test-secret"
CODES = RoomCodes(participant="room-code-1", facilitator="boss-code-2")
APP_CONTENT = "the app's own content"
ARTIFACTS = Path(__file__).parent / "artifacts"


class DummyApp:
    """Answers every http request with APP_CONTENT and accepts every websocket; records what reached it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen.append((scope["type"], scope["path"]))
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": APP_CONTENT})
            await send({"type": "websocket.close", "code": 1000})
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": APP_CONTENT.encode()})


@pytest.fixture
def app() -> DummyApp:
    return DummyApp()


@pytest.fixture
def client(app: DummyApp) -> TestClient:
    return TestClient(AccessGate(app, codes=CODES, secret=SECRET), follow_redirects=False)


def _member_client(client: TestClient, role: str = "participant") -> TestClient:
    client.cookies.set(COOKIE, issue_token(SECRET, Member(name="Ada", role=role)))  # type: ignore[arg-type]
    return client


# --- without a cookie --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/Corpus", "/RAG_lab?tab=2"])
def test_a_page_without_cookie_gets_the_join_form_and_nothing_of_the_app(client, app, path):
    r = client.get(path)
    assert r.status_code == 200
    assert "Join the workshop room" in r.text and 'action="/join"' in r.text
    assert APP_CONTENT not in r.text and app.seen == []
    assert f'name="next" value="{path.split("?")[0]}' in r.text, "after joining, back to the page asked for"
    assert "<script" not in r.text and "http" not in r.text.split("</style>")[1], "self-contained: no asset"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_stcore/host-config"),
        ("GET", "/_stcore/stream"),
        ("GET", "/_stcore/script-health-check"),
        ("POST", "/_stcore/agent/interact"),
        ("PUT", "/_stcore/upload_file/session/file"),
        ("GET", "/static/js/index.js"),
        ("GET", "/media/0123.png"),
        ("GET", "/component/my.component/index.html"),
        ("GET", "/app/static/file.txt"),
        ("GET", "/favicon.png"),
        ("POST", "/"),
    ],
)
def test_machinery_without_cookie_is_refused_with_no_content(client, app, method, path):
    r = client.request(method, path)
    assert r.status_code == 403 and r.content == b""
    assert app.seen == []


def test_health_stays_open(client, app):
    assert client.get("/_stcore/health").text == APP_CONTENT
    assert app.seen == [("http", "/_stcore/health")]


def test_a_websocket_without_cookie_is_refused_before_it_is_accepted(client, app):
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/_stcore/stream"):
        pass
    assert app.seen == []


@pytest.mark.parametrize(
    "cookie",
    [
        issue_token("another-room", Member(name="Eve", role="facilitator")),  # signed by another room
        issue_token(SECRET, Member(name="Eve", role="participant"))[:-1] + "0",  # signature tampered with
        "not-a-token",
        "",
    ],
)
def test_a_cookie_not_signed_by_the_room_opens_nothing(client, app, cookie):
    client.cookies.set(COOKIE, cookie)
    assert APP_CONTENT not in client.get("/").text
    assert client.get("/_stcore/host-config").status_code == 403
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/_stcore/stream"):
        pass
    assert app.seen == []


# --- joining and leaving -----------------------------------------------------------------------------------------


def test_a_wrong_code_shows_the_form_again_with_what_to_do_and_sets_no_cookie(client):
    r = client.post("/join", data={"code": "guess", "name": "Eve <b>", "next": "/"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert "That code is not right: ask the facilitator" in r.text and WRONG_CODE in r.text
    assert 'value="Eve &lt;b&gt;"' in r.text, "the name typed is kept, escaped"
    assert "guess" not in r.text, "a typed code is never echoed"


def test_after_too_many_wrong_codes_even_the_right_one_waits_a_minute(app):
    now = [0.0]
    throttle = CodeThrottle(limit=3, window_s=60, clock=lambda: now[0])
    gate = AccessGate(app, codes=CODES, secret=SECRET, throttle=throttle)
    guesser = TestClient(gate, follow_redirects=False, client=("10.0.0.9", 5000))
    neighbour = TestClient(gate, follow_redirects=False, client=("10.0.0.7", 5000))
    for guess in ("a", "b", "c"):
        assert guesser.post("/join", data={"code": guess, "name": "Eve"}).status_code == 403
    r = guesser.post("/join", data={"code": CODES.participant, "name": "Eve"})
    assert r.status_code == 429 and r.headers["retry-after"] == "60" and "set-cookie" not in r.headers
    assert TOO_MANY in r.text and 'value="Eve"' in r.text
    assert neighbour.post("/join", data={"code": CODES.participant, "name": "Ada"}).status_code == 303
    now[0] = 61.0  # a minute later
    assert guesser.post("/join", data={"code": CODES.participant, "name": "Eve"}).status_code == 303
    assert app.seen == []


def test_an_empty_name_asks_for_one(client):
    r = client.post("/join", data={"code": CODES.participant, "name": "   "})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    assert NO_NAME in r.text


@pytest.mark.parametrize(
    ("code", "role"), [(CODES.participant, "participant"), (CODES.facilitator, "facilitator")]
)
def test_the_right_code_sets_a_signed_cookie_and_goes_back_to_the_page(client, app, code, role):
    r = client.post("/join", data={"code": f" {code} ", "name": "  Ada   Lovelace ", "next": "/Evaluate"})
    assert r.status_code == 303 and r.headers["location"] == "/Evaluate"
    header = r.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=") and "HttpOnly" in header and "SameSite=Lax" in header
    assert "Path=/" in header
    assert read_token(SECRET, client.cookies[COOKIE]) == Member(name="Ada Lovelace", role=role)  # type: ignore[arg-type]
    assert client.get("/Evaluate").text == APP_CONTENT


def test_with_the_cookie_pages_machinery_and_the_websocket_pass(client, app):
    member = _member_client(client)
    assert member.get("/").text == APP_CONTENT
    assert member.get("/_stcore/host-config").text == APP_CONTENT
    with member.websocket_connect("/_stcore/stream") as ws:
        assert ws.receive_text() == APP_CONTENT
    assert ("websocket", "/_stcore/stream") in app.seen


def test_leave_forgets_the_cookie(client):
    client.post("/join", data={"code": CODES.participant, "name": "Ada"})
    assert client.get("/").text == APP_CONTENT
    r = client.get("/leave")
    assert r.status_code == 303 and r.headers["location"] == "/join"
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert APP_CONTENT not in client.get("/").text


def test_a_huge_form_is_refused(client):
    r = client.post("/join", content=b"code=" + b"x" * 20_000, headers={"content-type": "text/plain"})
    assert r.status_code == 413 and "set-cookie" not in r.headers


def test_join_answers_only_get_and_post(client):
    assert client.put("/join").status_code == 405


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/Corpus?x=1", "/Corpus?x=1"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/join", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("/Café", "/"),
        ("", "/"),
    ],
)
def test_after_joining_only_a_path_on_this_server(asked, kept):
    assert safe_next(asked) == kept


def test_cookies_are_read_past_a_malformed_one():
    token = issue_token(SECRET, Member(name="Ada", role="participant"))
    scope = {"headers": [(b"cookie", f'broken; other="a b"; {COOKIE}={token}'.encode())]}
    assert cookies(scope)[COOKIE] == token


# --- the room server's codes and banner --------------------------------------------------------------------------


def test_missing_codes_are_made_up_and_printed():
    codes, made_up = room_codes({})
    assert made_up == ["ROOM_CODE", "FACILITATOR_CODE"] and codes.participant != codes.facilitator
    text = banner(codes, made_up, "127.0.0.1", 8501)
    assert codes.participant in text and codes.facilitator in text and "http://127.0.0.1:8501" in text
    assert "WARNING" not in text


def test_codes_from_the_environment_are_not_printed():
    codes, made_up = room_codes({"ROOM_CODE": " room-code-1 ", "FACILITATOR_CODE": "boss-code-2"})
    assert codes == CODES and made_up == []
    text = banner(codes, made_up, "0.0.0.0", 8501)
    assert "room-code-1" not in text and "boss-code-2" not in text
    assert "WARNING: the room listens on 0.0.0.0" in text and "network you trust" in text


@pytest.mark.parametrize(
    "env",
    [{"ROOM_CODE": "same-code-1", "FACILITATOR_CODE": "same-code-1"}, {"ROOM_CODE": "abc"}],
)
def test_a_code_that_would_not_keep_the_room_closed_is_refused(env):
    with pytest.raises(RoomSetupError, match=r"FACILITATOR_CODE|at least"):
        room_codes(env)


# --- the pages' side (ui.room) ----------------------------------------------------------------------------------


def test_outside_a_room_there_is_no_member(monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert not room.room_mode()
    assert room.current_member() is None and room.require_member() is None


@pytest.mark.parametrize(
    ("secret", "member"), [(SECRET, Member(name="Ada", role="facilitator")), ("another-room", None)]
)
def test_in_a_room_the_cookie_names_the_member(monkeypatch, secret, member):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    token = issue_token(secret, Member(name="Ada", role="facilitator"))
    # AppTest cannot seed cookies (they come from the websocket's handshake), so st.context stands in here.
    monkeypatch.setattr(room.st, "context", SimpleNamespace(cookies={COOKIE: token}))
    assert room.room_mode()
    assert room.current_member() == member


# --- the real room server ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The room server (`python -m ui.workshop_app`) on a free port, with the test's codes; yields its URL."""
    tmp = tmp_path_factory.mktemp("room")
    with room_server(CODES, tmp / "data", tmp / "room.log") as url:
        yield url
    assert "The workshop room is open" in (tmp / "room.log").read_text()


def _joined_cookie(url: str) -> str:
    r = httpx.post(f"{url}/join", data={"code": CODES.participant, "name": "Ada"}, follow_redirects=False)
    assert r.status_code == 303
    return r.cookies[COOKIE]


def _ws(url: str, cookie: str | None = None) -> Any:
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else None
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    return connect(ws_url, additional_headers=headers, subprotocols=["streamlit"], open_timeout=10)  # type: ignore[list-item]


def test_the_real_room_shows_nothing_without_the_code(server):
    r = httpx.get(server)
    assert r.status_code == 200 and "Join the workshop room" in r.text
    assert 'id="root"' not in r.text and "static/js" not in r.text, "none of Streamlit's page"
    assert httpx.get(f"{server}/_stcore/host-config").status_code == 403
    assert httpx.get(f"{server}/static/js/index.js").status_code == 403
    with pytest.raises(InvalidStatus) as refused:
        _ws(server)
    assert refused.value.response.status_code == 403


def test_the_real_room_lets_in_only_the_right_code(server):
    wrong = httpx.post(f"{server}/join", data={"code": "guess-code", "name": "Eve"}, follow_redirects=False)
    assert wrong.status_code == 403 and COOKIE not in wrong.cookies
    cookie = _joined_cookie(server)
    page = httpx.get(server, cookies={COOKIE: cookie})
    assert page.status_code == 200 and 'id="root"' in page.text, "Streamlit's own page"
    assert httpx.get(f"{server}/_stcore/host-config", cookies={COOKIE: cookie}).status_code == 200
    with _ws(server, cookie) as ws:
        assert ws.subprotocol == "streamlit"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test`")
def test_joining_the_room_in_a_real_browser(server):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(server)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "room_join.png"))
        page.get_by_label("Access code").fill(CODES.participant)
        page.get_by_label("Display name").fill("Grace")
        page.get_by_role("button", name="Join").click()
        wait_for_run(page)
        assert page.get_by_text("The optimisation map").is_visible()
        sidebar = page.locator("[data-testid='stSidebar']")
        assert sidebar.get_by_text("In the room as").is_visible()
        assert sidebar.get_by_text("Grace").is_visible()
        page.screenshot(path=str(ARTIFACTS / "room_joined.png"))
