"""SASL initial responses for a bearer token (pure): OAUTHBEARER (RFC 7628) and XOAUTH2
(Google's and Microsoft's older form), and which one to use with a server.

OAUTHBEARER is the standard; it is used when the server offers it (Gmail, Dovecot). Microsoft
365 offers only XOAUTH2. When the server refuses a token it sends an error challenge (base64
JSON with "status": "401"); the client must answer it — an empty line for XOAUTH2, a single
^A for OAUTHBEARER — to get the final refusal (`ABORT`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Protocol

MECHANISMS = ("OAUTHBEARER", "XOAUTH2")  # in order of preference
ABORT = {"OAUTHBEARER": base64.b64encode(b"\x01").decode(), "XOAUTH2": ""}


class Bearer(Protocol):
    """Where a transport gets access tokens (daemon.transport.oauth.tokens.TokenSource)."""

    async def bearer(self, username: str, *, refused: str = "", renew: bool = False) -> str: ...


def choose(offered: Iterable[str]) -> str | None:
    """The mechanism to use of those the server offers (any case), or None."""
    names = {name.upper() for name in offered}
    return next((m for m in MECHANISMS if m in names), None)


def initial_response(mechanism: str, user: str, token: str, host: str, port: int) -> str:
    """The base64 initial client response for `mechanism`."""
    for value in (user, token, host):
        if any(c in value for c in "\x00\x01\r\n"):
            raise ValueError("a user, token or host with control characters cannot be sent")
    if mechanism == "XOAUTH2":
        raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    elif mechanism == "OAUTHBEARER":
        saslname = user.replace("=", "=3D").replace(",", "=2C")  # RFC 5801 §4
        raw = f"n,a={saslname},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    else:
        raise ValueError(f"unknown mechanism {mechanism}")
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def refusal(challenge: str) -> str:
    """What a server's error challenge says, for a log line (it holds no secret)."""
    try:
        text = base64.b64decode(challenge, validate=True).decode("utf-8", "replace")
    except ValueError:
        return challenge[:200]
    return " ".join(text.split())[:200]
