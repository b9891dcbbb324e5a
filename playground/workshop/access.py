"""Who is in the room: access codes checked once, then a signed token in a cookie that names the member.

The gate in front of the app (`playground.workshop.gate`) checks a code typed on its join form and answers with a
cookie holding `issue_token(...)`; the pages read the same cookie and `read_token` it to know who is asking. The
secret that signs tokens lives in the server process's memory only (an environment variable the room server sets
for itself and does not hand to the training workers it starts), so a token cannot be forged and a restarted room
asks everyone to join again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Literal

from playground.core.settings import ROOM_SECRET_ENV

Role = Literal["participant", "facilitator"]
COOKIE = "playground_room"
SECRET_ENV = ROOM_SECRET_ENV
MAX_NAME = 40


@dataclass(frozen=True)
class RoomCodes:
    """The two codes of a room: one for participants, one (also) for the facilitator."""

    participant: str
    facilitator: str

    def role_for(self, code: str) -> Role | None:
        """The role a typed code grants, compared in constant time; None for a wrong or empty code."""
        typed = code.strip().encode()
        if typed and hmac.compare_digest(typed, self.facilitator.encode()):
            return "facilitator"
        if typed and hmac.compare_digest(typed, self.participant.encode()):
            return "participant"
        return None


@dataclass(frozen=True)
class Member:
    """One person in the room: the display name their runs are kept under, and what they may do."""

    name: str
    role: Role

    @property
    def is_facilitator(self) -> bool:
        return self.role == "facilitator"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_code() -> str:
    """A short code people can read off a slide and type: three groups of four lowercase letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud without confusion
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def clean_name(name: str) -> str:
    """A display name as kept: spaces collapsed, control characters dropped, at most MAX_NAME characters."""
    printable = "".join(ch for ch in name if ch.isprintable())
    return " ".join(printable.split())[:MAX_NAME]


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def issue_token(secret: str, member: Member) -> str:
    """A cookie value naming `member`, signed with the room's secret."""
    body = base64.urlsafe_b64encode(json.dumps({"n": member.name, "r": member.role}).encode())
    return f"{body.decode()}.{_sign(secret, body)}"


def read_token(secret: str, token: str | None) -> Member | None:
    """The member a cookie value names, or None when it is missing, malformed or not signed with `secret`."""
    if not token or "." not in token or not secret:
        return None
    body, _, signature = token.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, body.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        name, role = clean_name(str(data["n"])), data["r"]
    except (ValueError, KeyError, TypeError):
        return None
    if not name or role not in ("participant", "facilitator"):
        return None
    return Member(name=name, role=role)
