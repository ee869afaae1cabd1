"""IMAP AUTHENTICATE with an OAuth2 bearer token (SASL OAUTHBEARER or XOAUTH2).

aioimaplib sends AUTHENTICATE but does not answer a server's challenge, and its own XOAUTH2
logs the base64 response (which holds the token) at DEBUG. So the command is built here: the
initial response goes inline when the server offers SASL-IR (RFC 4959), else in answer to its
first "+"; an error challenge ("+ eyJzdGF0dXMiOiI0MDEi…") is answered with the mechanism's
abort (oauth/sasl.py) to get the tagged NO. A refused token is renewed once and tried again;
the session's `call` bounds every step. No token or response is ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

import aioimaplib  # type: ignore[import-untyped]

from daemon.config.settings import ImapSettings
from daemon.errors import GrantError, ImapError
from daemon.transport.oauth import sasl

T = TypeVar("T")

log = logging.getLogger(__name__)


class ImapSession(Protocol):
    """What logging in needs of daemon.transport.imap_session.ImapSession."""

    settings: ImapSettings
    where: str

    @property
    def protocol(self) -> Any: ...

    def error(self, what: str) -> ImapError: ...

    async def call(
        self, what: str, command: Awaitable[T], *, timeout: float | None = None
    ) -> T: ...


def text_of(response: Any) -> str:
    """The text of a tagged reply (its last line)."""
    last = response.lines[-1] if response.lines else b""
    return bytes(last).decode("utf-8", "replace").strip()


async def oauth_login(session: ImapSession, bearer: sasl.Bearer | None) -> None:
    """Log `session` in as its settings' username with a bearer token."""
    protocol, s = session.protocol, session.settings
    offered = [c[5:] for c in protocol.capabilities if c.upper().startswith("AUTH=")]
    mechanism = sasl.choose(offered)
    if bearer is None:
        raise session.error("[imap] auth is oauth2 but [oauth] has no provider: set it")
    if mechanism is None:
        raise session.error(
            f"the server offers no OAuth2 login (OAUTHBEARER or XOAUTH2; it offers "
            f"{' '.join(offered) or 'no AUTH= mechanism'})"
        )
    token = ""
    for _ in range(2):
        try:
            token = await bearer.bearer(s.username, refused=token)
        except GrantError as error:
            raise ImapError(f"{session.where}: {error}") from None
        response = sasl.initial_response(mechanism, s.username, token, s.host, s.port)
        reply = await _authenticate(session, mechanism, response)
        if reply.result == "OK":
            protocol.state = aioimaplib.AUTH  # as aioimaplib's own login does
            return
        log.info("IMAP server refused the token for %s: %s", s.username, text_of(reply))
    raise session.error(
        f"login as {s.username!r} with OAuth2 ({mechanism}) refused even with a renewed "
        f"token: {text_of(reply)}; if access was withdrawn, run `mentormail login`"
    )


async def _authenticate(session: ImapSession, mechanism: str, response: str) -> Any:
    protocol = session.protocol
    inline = "SASL-IR" in {c.upper() for c in protocol.capabilities}
    args = (mechanism, response) if inline else (mechanism,)
    command = aioimaplib.Command("AUTHENTICATE", protocol.new_tag(), *args, loop=protocol.loop)
    unsent = [] if inline else [response]
    original = protocol._continuation

    def answer(line: bytes) -> None:
        if unsent:
            reply = unsent.pop()
        else:
            log.info("IMAP server's challenge: %s", sasl.refusal(bytes(line)[1:].strip().decode()))
            reply = sasl.ABORT[mechanism]
        protocol.transport.write(reply.encode("ascii") + b"\r\n")

    protocol._continuation = answer  # only while this command runs
    try:
        return await session.call("AUTHENTICATE", protocol.execute(command, scrub=response))
    finally:
        protocol._continuation = original
