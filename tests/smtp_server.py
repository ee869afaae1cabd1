"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 in the test's own event loop.

It records every message it accepts (envelope, content, Message-ID) so tests can assert
exactly-once delivery, counts connections and commands, and follows a per-test fault script:

    server.fault("GREETING", "421 4.7.0 Try again later")    # next connection only
    server.fault("RCPT", "550 5.1.1 No such user", address="bob@example.org")
    server.fault("DATA", DROP)            # read the message, then close without a reply
    server.fault("DATA", Late(2.0))       # read the message, reply 250 after 2 s

Each fault applies once (to the next matching command) unless `times` says otherwise. A DATA
fault applies to the reply to the final dot; DROP and Late count the message as received,
because a real server in that state may well deliver it.

    async with SmtpServer() as server:          # plain; or starttls=..., implicit_tls=...
        ... server.port, server.received, server.connections ...

With `oauth=` (a running tests.oauth_server.OAuthServer) it also offers AUTH XOAUTH2 and AUTH
OAUTHBEARER (RFC 7628), beside any `users=` passwords, and asks the server's introspection
endpoint about each bearer token: it must be active and name the SASL user. A rejected token
gets what Gmail and Outlook answer: a 334 challenge carrying base64 JSON
{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}, then, after the
client's (empty) reply, 535 5.7.8. `oauth_logins` lists (mechanism, user) per success and
`oauth_failures` counts rejections. Like every AUTH here, it needs TLS first (STARTTLS or
implicit TLS). A malformed initial response gets 501 at once, a failed introspection 454.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import ssl
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

if TYPE_CHECKING:
    from tests.dovecot import Account
    from tests.oauth_server import OAuthServer

HOST = "127.0.0.1"
OAUTH_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
OAUTH_FAILURE = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
OAUTH_REJECTED = "535 5.7.8 Authentication unsuccessful"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    message_id: str | None
    tls: bool
    login: str | None


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


@dataclass(frozen=True)
class Late:
    """Reply `reply` only after `seconds`."""

    seconds: float
    reply: str = "250 2.0.0 OK (late)"


Fault = str | _Drop | Late


class _Protocol(SMTP):
    """aiosmtpd's SMTP, plus a greeting that the script can replace."""

    async def _handle_client(self) -> None:
        reply = self.event_handler.take("GREETING")
        if isinstance(reply, str):
            await self.push(reply)
            assert self.transport is not None
            self.transport.close()
            return
        await super()._handle_client()


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 and a free port, with a recording, scriptable handler."""

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
        auth_exclude: Iterable[str] = (),
        oauth: OAuthServer | None = None,
        mailboxes: Mapping[str, Account] | None = None,
        authserv: str = "",
    ) -> None:
        self.mailboxes = {a.lower(): account for a, account in (mailboxes or {}).items()}
        self.authserv = authserv
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.users = users
        self.auth_exclude = list(auth_exclude)
        self.oauth = oauth
        self.oauth_logins: list[tuple[str, str]] = []
        self.oauth_failures = 0
        self.port = 0
        self.received: list[Received] = []
        self.connections = 0
        self.commands: Counter[str] = Counter()
        self._faults: dict[tuple[str, str | None], deque[Fault]] = {}
        self._protocols: list[_Protocol] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SmtpServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, HOST, 0, ssl=self.implicit_tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self.drop_connections()
        await self._server.wait_closed()

    async def drop_connections(self) -> None:
        """Close every open connection from the server side (idle timeout, restart)."""
        for protocol in self._protocols:
            # after STARTTLS, `transport` is the TLS layer over `_original_transport`
            for transport in (protocol.transport, protocol._original_transport):
                if transport is not None:
                    transport.close()
        tasks = [p._handler_coroutine for p in self._protocols if p._handler_coroutine]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=0.2)
            for task in pending:  # e.g. stuck in a TLS handshake the client gave up on
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1)
        self._protocols.clear()

    def fault(
        self, command: str, reply: Fault, *, address: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` COMMANDs (to `address`, for RCPT) with `reply`."""
        self._faults.setdefault((command, address), deque()).extend([reply] * times)

    def clear_faults(self) -> None:
        """Answer every command normally from now on."""
        self._faults.clear()

    def take(self, command: str, address: str | None = None) -> Fault | None:
        self.commands[command] += 1
        for key in ((command, address), (command, None)):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None

    def message_ids(self) -> list[str | None]:
        return [r.message_id for r in self.received]

    def _protocol(self) -> _Protocol:
        self.connections += 1
        protocol = _Protocol(
            self,
            hostname="localhost",
            tls_context=self.starttls,
            authenticator=self._authenticate,
            auth_exclude_mechanism=self._excluded_mechanisms(),
            loop=asyncio.get_running_loop(),
        )
        self._protocols.append(protocol)
        return protocol

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if self.users is not None and isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def _excluded_mechanisms(self) -> list[str]:
        """aiosmtpd offers a mechanism for every `auth_*` member of the handler, attributes
        included: `auth_exclude` itself must not become a mechanism "exclude"."""
        excluded = [*self.auth_exclude, "exclude"]
        if self.oauth is None:
            excluded += OAUTH_MECHANISMS
        return excluded

    # AUTH mechanisms of the handler (aiosmtpd offers every `auth_<NAME>` it finds here)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """AUTH XOAUTH2: "user=USER\\x01auth=Bearer TOKEN\\x01\\x01" (Google's and Microsoft's)."""
        return await self._oauth_login(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        """AUTH OAUTHBEARER (RFC 7628): "n,a=USER,\\x01host=...\\x01port=...\\x01auth=Bearer
        TOKEN\\x01\\x01"."""
        return await self._oauth_login(server, args, "OAUTHBEARER")

    async def _oauth_login(self, server: SMTP, args: list[str], mechanism: str) -> AuthResult:
        if len(args) == 1:  # no initial response: ask for it with an empty challenge
            answer = await server.challenge_auth("")
            if answer is MISSING:  # "*" or bad base64: aiosmtpd has replied 501
                return AuthResult(success=False)
            assert isinstance(answer, bytes)
            initial = answer
        elif args[1] == "=":  # RFC 4954: an empty initial response
            initial = b""
        else:
            try:
                initial = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False)
        parsed = _parse_oauth(mechanism, initial)
        if parsed is None:
            self.oauth_failures += 1
            await server.push("501 5.5.2 Malformed " + mechanism + " initial response")
            return AuthResult(success=False)
        user, token = parsed
        try:
            about = await asyncio.to_thread(self._introspect, token)
        except (OSError, ValueError):
            await server.push("454 4.7.0 Temporary authentication failure")
            return AuthResult(success=False)
        who = about.get("username") if about.get("active") is True else None
        if who is not None and (user is None or user == who):
            self.oauth_logins.append((mechanism, str(who)))
            return AuthResult(success=True, auth_data=str(who))
        self.oauth_failures += 1
        reply = await server.challenge_auth(json.dumps(OAUTH_FAILURE, separators=(",", ":")))
        if reply is MISSING:  # "*": aiosmtpd has replied 501 5.7.0 Auth aborted
            return AuthResult(success=False)
        return AuthResult(success=False, handled=False, message=OAUTH_REJECTED)

    def _introspect(self, token: str) -> dict[str, Any]:
        """POST the token to the OAuth server's introspection endpoint (blocking)."""
        assert self.oauth is not None
        body = urllib.parse.urlencode({"token": token}).encode()
        request = urllib.request.Request(self.oauth.introspect_url, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read())
        if not isinstance(answer, dict):
            raise ValueError("introspection answered with no JSON object")
        return answer

    # aiosmtpd handler hooks

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> Any:
        return await self._reply(server, self.take("MAIL"))

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> Any:
        return await self._reply(server, self.take("RCPT", address))

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> Any:
        return await self._reply(server, self.take("NOOP"))

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> Any:
        return await self._reply(server, self.take("RSET"))

    async def handle_AUTH(
        self, server: SMTP, session: Session, envelope: Envelope, args: Any
    ) -> Any:
        return await self._reply(server, self.take("AUTH"))

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> Any:
        self.commands["QUIT"] += 1
        return MISSING

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> Any:
        fault = self.take("DATA")
        if isinstance(fault, str):
            return fault
        content = envelope.original_content or b""
        message_id = BytesHeaderParser(policy=default_policy).parsebytes(content)["Message-ID"]
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                content=content,
                message_id=str(message_id) if message_id else None,
                tls=server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None,
                login=session.auth_data if session.authenticated else None,
            )
        )
        await self._route(content, envelope.rcpt_tos)
        return await self._reply(server, fault, "250 2.0.0 OK queued")

    async def _route(self, content: bytes, recipients: Iterable[str]) -> None:
        """Deliver a copy into the Dovecot mailbox of each recipient that has one (a
        `+tag` is ignored, as real servers do), as the receiving server would: with its
        Authentication-Results on top when `authserv` says which server it is."""
        for rcpt in recipients:
            local, _, domain = rcpt.lower().partition("@")
            account = self.mailboxes.get(f"{local.split('+', 1)[0]}@{domain}")
            if account is None:
                continue
            raw = content
            if self.authserv:
                sender = BytesHeaderParser(policy=default_policy).parsebytes(content)["From"]
                found = str(sender or "").rsplit("@", 1)[-1].strip(" >").lower()
                raw = (f"Authentication-Results: {self.authserv}; dmarc=pass (p=none) "
                       f"header.from={found}\r\n").encode() + content  # fmt: skip
            await asyncio.to_thread(account.deliver, raw)

    async def _reply(self, server: SMTP, fault: Fault | None, normal: Any = MISSING) -> Any:
        if fault is None:
            return normal
        if isinstance(fault, Late):
            await asyncio.sleep(fault.seconds)
            return fault.reply
        if isinstance(fault, _Drop):
            assert server.transport is not None
            server.transport.close()
            await asyncio.Event().wait()  # cancelled when the connection is lost
        return fault


def _parse_oauth(mechanism: str, initial: bytes) -> tuple[str | None, str] | None:
    """(user, token) from an XOAUTH2 or OAUTHBEARER initial response; None if malformed.
    OAUTHBEARER may leave the user out (the token names it); XOAUTH2 may not."""
    try:
        text = initial.decode("utf-8")
    except UnicodeDecodeError:
        return None
    user: str | None
    if mechanism == "OAUTHBEARER":
        gs2, sep, rest = text.partition("\x01")
        fields = gs2.split(",")
        if not sep or len(fields) != 3 or fields[0] not in ("n", "y") or fields[2]:
            return None  # "p=..." asks for channel binding, which this server has none of
        if fields[1] and not fields[1].startswith("a="):
            return None
        user = fields[1][2:].replace("=2C", ",").replace("=3D", "=") or None
    else:
        rest, user = text, None
    pairs = dict(item.partition("=")[::2] for item in rest.split("\x01") if item)
    if not rest.endswith("\x01\x01"):
        return None
    if mechanism == "XOAUTH2":
        user = pairs.get("user")
        if not user:
            return None
    scheme, _, token = pairs.get("auth", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return user, token
