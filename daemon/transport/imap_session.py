"""One IMAP connection on aioimaplib: connect, secure, log in, and run commands that can't hang.

aioimaplib (2.0.x) leaves three traps, so every command goes through `ImapSession.call`:
- a lost connection does not fail the pending command (a `* BYE` during IDLE waits forever), so
  each command races a "connection lost" event set by `conn_lost_cb`;
- several commands (UID MOVE/COPY/STORE/EXPUNGE, IDLE) have no timeout, and one large FETCH can
  raise RecursionError inside the protocol and never complete, so each gets its own timeout;
- after any failure the protocol's state is unknown: the session is marked broken, every later
  call raises at once, and the owner drops it and connects anew (never reuses it).

STARTTLS is not in aioimaplib: the command is sent, then the transport is upgraded with
`loop.start_tls` and CAPABILITY asked again (RFC 3501 §6.2.1). `security = "starttls"` refuses a
server that doesn't offer it, and any mode refuses LOGIN the server marks LOGINDISABLED.
Arguments are quoted here (aioimaplib joins them raw); mailbox names are modified UTF-7.
Every failure is an `ImapError` naming the server and what failed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import Awaitable, Collection
from typing import Any, TypeVar

import aioimaplib  # type: ignore[import-untyped]

from daemon.config.settings import ImapSettings
from daemon.errors import ImapError
from daemon.transport.imap_oauth import oauth_login, text_of
from daemon.transport.oauth.sasl import Bearer

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0
LOGOUT_TIMEOUT = 5.0


def quote(text: str) -> str:
    """An IMAP quoted string (RFC 3501 §9); CR, LF and NUL can't be sent in one."""
    if any(c in text for c in "\r\n\0"):
        raise ValueError(f"line breaks are not allowed in an IMAP argument: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailbox_name(name: str) -> str:
    """A mailbox name on the wire: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    out: list[str] = []
    pending = ""  # a run of non-ASCII characters, encoded as one base64 chunk

    def flush() -> None:
        nonlocal pending
        if pending:
            chunk = base64.b64encode(pending.encode("utf-16-be")).rstrip(b"=")
            out.append("&" + chunk.decode().replace("/", ",") + "-")
            pending = ""

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending += char
    flush()
    return quote("".join(out))


class ImapSession:
    """One connection: `open` it, `call` commands, `close` it. Owned by ImapInbox."""

    def __init__(
        self,
        settings: ImapSettings,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ignore_capabilities: Collection[str] = (),
        bearer: Bearer | None = None,
    ) -> None:
        self.settings, self.timeout, self.bearer = settings, timeout, bearer
        self._tls_context, self._ignored = tls_context, {c.upper() for c in ignore_capabilities}
        self.where = f"IMAP server {settings.host}:{settings.port}"
        self._lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None
        self._refusal = ""  # a greeting other than OK or PREAUTH
        self.broken = False

    @property
    def protocol(self) -> aioimaplib.IMAP4ClientProtocol:
        if self._client is None or self.broken:
            raise ImapError(f"{self.where}: the connection is closed")
        return self._client.protocol

    def has(self, capability: str) -> bool:
        name = capability.upper()
        return name not in self._ignored and name in self.protocol.capabilities

    def error(self, what: str) -> ImapError:
        return ImapError(f"{self.where}: {what}")

    async def open(self) -> None:
        """Connect, secure and log in; raise ImapError saying which step failed."""
        s = self.settings
        tls = s.security == "tls"
        context = (self._tls_context or ssl.create_default_context()) if tls else None
        try:
            self._client = aioimaplib.IMAP4(
                s.host, s.port, timeout=self.timeout, conn_lost_cb=self._on_lost,
                ssl_context=context,
            )  # fmt: skip
            self._catch_refusal(self._client.protocol)
            await self.call("connect", self._client.wait_hello_from_server())
            if s.security == "starttls":
                await self._starttls()
            await self._login()
        except ValueError as exc:  # a username with a line break
            self.abort()
            raise self.error(str(exc)) from None
        except BaseException:
            self.abort()
            raise

    async def call(self, what: str, command: Awaitable[T], *, timeout: float | None = None) -> T:
        """Run one aioimaplib command with a timeout, failing at once if the connection is
        lost; any failure marks the session broken."""
        if self.broken or self._lost.is_set():
            if asyncio.iscoroutine(command):
                command.close()  # never awaited: no "coroutine was never awaited" warning
            self.broken = True
            raise self.error(f"{what}: the connection is closed")
        task = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self._lost.wait())
        limit = timeout or self.timeout
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not task.done():  # timed out, or we are cancelled: the protocol is mid-command
                self.broken = True
            stale = [pending for pending in (task, lost) if not pending.done()]
            for pending in stale:
                pending.cancel()
            if stale:  # a cancellation of ours arriving now still propagates (gather raises it)
                await asyncio.gather(*stale, return_exceptions=True)
        if task not in done or task.cancelled():
            self.broken = True
            why = "the connection was lost" if lost in done else f"timed out after {limit:g} s"
            why = f"the server said {self._refusal}" if self._refusal else why
            raise self.error(f"{what}: {why}")
        if (exc := task.exception()) is not None:
            self.broken = True
            raise self.error(self._describe(exc, what)) from None
        return task.result()

    async def ok(self, what: str, command: Awaitable[Any], **kw: Any) -> aioimaplib.Response:
        """`call`, and raise ImapError unless the server answers OK."""
        response = await self.call(what, command, **kw)
        if response.result != "OK":
            raise self.error(f"{what}: {response.result} {text_of(response)}")
        return response

    async def close(self) -> None:
        """LOGOUT (bounded: aioimaplib can wait forever for the BYE), then close the socket."""
        if self._client is not None and not self.broken and not self._lost.is_set():
            with contextlib.suppress(ImapError):
                await self.call("LOGOUT", self.protocol.logout(), timeout=LOGOUT_TIMEOUT)
        self.abort()
        await asyncio.sleep(0)  # the socket closes on the loop's next turn

    def abort(self) -> None:
        """Close the socket without a word (nor a TLS close_notify, which would keep it open
        until the server answers) and forget the connection."""
        self.broken = True
        client, self._client = self._client, None
        if client is None:
            return
        if not client._client_task.done():
            client._client_task.cancel()
        if client.protocol.transport is not None:
            client.protocol.transport.abort()
        for task in list(client.protocol.tasks):
            task.cancel()

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`, raising ImapError at once if the connection is lost meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._lost.wait()
        if self._lost.is_set():
            self.broken = True
            raise self.error("the connection was lost")

    def _on_lost(self, exc: Exception | None) -> None:
        self._lost.set()

    def _catch_refusal(self, protocol: Any) -> None:
        """A server that greets with BYE ("too many connections") closes at once: aioimaplib
        raises in a task nobody awaits, so `connect` would only see a lost connection. Keep the
        greeting and say it instead."""
        welcome = protocol.welcome

        async def checked(line: bytes) -> None:
            try:
                await welcome(line)
            except aioimaplib.Error:
                self._refusal = line.decode("utf-8", "replace").removeprefix("* ")

        protocol.welcome = checked

    async def _starttls(self) -> None:
        protocol = self.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise self.error("the server does not offer STARTTLS; refusing to log in in plaintext")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        await self.ok("STARTTLS", protocol.execute(command))
        context = self._tls_context or ssl.create_default_context()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                transport = await loop.start_tls(
                    protocol.transport, protocol, context, server_hostname=self.settings.host
                )
        except (OSError, TimeoutError) as exc:
            raise self.error(self._describe(exc, "STARTTLS")) from None
        assert transport is not None
        protocol.transport = transport
        await self.call("CAPABILITY", protocol.capability())  # those from before TLS are void

    async def _login(self) -> None:
        protocol, s = self.protocol, self.settings
        if protocol.state == aioimaplib.AUTH:  # PREAUTH greeting
            return
        if not s.username:
            raise self.error("the server wants a login and imap.username is empty")
        if s.auth == "oauth2":
            await oauth_login(self, self.bearer)
            await self.call("CAPABILITY", protocol.capability())
            return
        if "LOGINDISABLED" in protocol.capabilities:
            hint = "; set imap.security to starttls or tls" if s.security == "none" else ""
            raise self.error(f"the server refuses to log in without TLS (LOGINDISABLED){hint}")
        secret = s.password.get_secret_value() if s.password is not None else ""
        response = await self.call("LOGIN", protocol.login(quote(s.username), secret))
        if response.result != "OK":
            raise self.error(f"login as {s.username!r} refused: {text_of(response)}")
        # the capabilities in LOGIN's reply are not parsed cleanly by aioimaplib: ask again
        await self.call("CAPABILITY", protocol.capability())

    def _describe(self, exc: BaseException, what: str) -> str:
        tls = exc if isinstance(exc, ssl.SSLError) else exc.__cause__
        if isinstance(tls, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {tls.verify_message or tls}"
        if isinstance(tls, ssl.SSLError):
            return f"TLS handshake failed: {tls.reason or tls}"
        if isinstance(exc, TimeoutError | aioimaplib.CommandTimeout):  # TimeoutError is an OSError
            return f"{what}: timed out after {self.timeout:g} s"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        return f"{what}: {(exc.strerror if isinstance(exc, OSError) else None) or exc}"
