"""The SMTP adapter: sends pre-built messages and says exactly what happened to each one.

aiosmtplib is driven command by command, so the phase of every failure is known. UNKNOWN is
never retried here: the message and its final dot went out and no reply came (timeout, EOF), so
it may have been delivered (RFC 1047). That reply gets its own timeout, `data_timeout` (10 min,
RFC 5321 §4.5.3.2.6); other commands use `settings.timeout_seconds`. Outcomes, first match wins:

    2xx to the final dot -> SENT;  no reply to the final dot -> UNKNOWN
    421, 454 (too many logins, throttling), 450 4.2.1, 550 5.4.5, 452 except on RCPT -> PAUSE
    4xx/5xx naming a quota, a rate/sending/daily/relay limit, throttling or "too many
      messages/connections/logins" (550 5.7.1 daily relay limit) -> PAUSE, except x.1.x, x.2.2
      or a mailbox ("mailbox over quota" is the recipient's), and on RCPT only with x.y.z
    552 on RCPT (too many recipients, §4.5.3.1.10), other 4xx -> RETRY;  other 5xx -> FAILED
    connection refused, lost or timed out before the final dot -> RETRY
    TLS refused (no STARTTLS, untrusted certificate, handshake), no usable AUTH -> FAILED

Some recipients refused, at least one accepted: SENT with `refused`. All refused: PAUSE if any
says so, else RETRY if any is temporary, else FAILED. Up to `settings.connections` connections
are reused; one idle over 30 s gets a NOOP first, and one found closed at MAIL (EOF, 421) is
replaced once. `wait_turn` applies the per-minute limit (the caller's daily limit comes from
the store). A PAUSE is reported, not acted on: the caller decides how long to hold sending.
AUTH or TLS refusals come back from `send` as FAILED and from `check()` as a TransportError.
With `auth = "oauth2"` the login is SASL OAUTHBEARER or XOAUTH2 with a token from `bearer`; a
refused token is renewed once and tried again on the same connection (smtp_oauth.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import aiosmtplib
from aiosmtplib import SMTPException, SMTPResponseException

from daemon.config.settings import SmtpSettings
from daemon.errors import TransportError
from daemon.transport.oauth.sasl import Bearer
from daemon.transport.ratelimit import RateLimiter
from daemon.transport.smtp_oauth import oauth_login
from daemon.transport.smtp_outcomes import Outcome, Phase, SendResult, classify, clean_reply

__all__ = ["Outcome", "SendResult", "SmtpTransport", "TransportError", "classify"]

log = logging.getLogger(__name__)

DATA_TIMEOUT_SECONDS = 600.0  # RFC 5321 §4.5.3.2.6: the reply to the final dot
IDLE_CHECK_SECONDS = 30.0  # a pooled connection idle longer than this gets a NOOP first
_After = Literal["keep", "drop", "redo"]  # what to do with the connection after a transaction

_BAD_ADDRESS = re.compile(r"[^\x21-\x7e]|[<>,;()\[\]\\\"]|^[^@]*$")  # bare ASCII addr-specs only
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class SmtpTransport:
    """One per run: a pool of up to `settings.connections` connections, a rate limiter, and
    `send`, which returns a SendResult for whatever the server does (it never raises for it)."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        tls_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        data_timeout: float = DATA_TIMEOUT_SECONDS,
        bearer: Bearer | None = None,
    ) -> None:
        self._settings, self._tls_context, self._data_timeout = settings, tls_context, data_timeout
        self._bearer = bearer
        self._clock, self._sleep = clock, sleep
        self._timeout = settings.timeout_seconds
        # the daily limit is counted from the store (it must outlive the process): runtime/deliver
        self.limiter = RateLimiter(settings.max_per_minute)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # (connection, last used)
        self._slots = asyncio.Semaphore(settings.connections)
        self._rate_lock = asyncio.Lock()
        self._local_hostname: str | None = None
        self._closed = False

    async def __aenter__(self) -> SmtpTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def wait_turn(self) -> None:
        """Wait until the per-minute limit lets one more message start, and count it. The
        caller claims its message only after this: a wait must never hold a claimed send."""
        async with self._rate_lock:
            while (wait := self.limiter.delay(self._clock())) > 0:
                await self._sleep(wait)
            self.limiter.record(self._clock())

    async def send(self, message: bytes, sender: str, recipients: Sequence[str]) -> SendResult:
        """Send one message (CRLF line ends) once the pool allows; the rate limit is
        `wait_turn`'s job."""
        if self._closed:
            raise TransportError("the SMTP transport is already closed")
        # aiosmtplib would quietly send to the first address it can parse out of a bad one
        bad = [a for a in (sender, *recipients) if _BAD_ADDRESS.search(a)]
        if bad or not recipients:
            detail = f"not a bare ASCII address: {bad[0]!r}" if bad else "no recipients"
            return SendResult(Outcome.FAILED, None, detail)
        async with self._slots:
            for attempt in (1, 2):
                try:
                    smtp, reused = await self._checkout()
                except TransportError as error:
                    assert isinstance(error.result, SendResult)
                    result = dataclasses.replace(error.result, session=True)
                    break
                try:
                    result, after = await self._transaction(smtp, message, sender, recipients)
                except BaseException:
                    smtp.close()
                    raise
                if after == "keep" and smtp.is_connected and not self._closed:
                    self._idle.append((smtp, self._clock()))
                else:
                    smtp.close()
                if after != "redo" or not reused or attempt == 2:
                    break
        level = logging.DEBUG if result.outcome is Outcome.SENT else logging.WARNING
        log.log(level, "SMTP %s: %s", result.outcome.value, result.described)
        return result

    async def check(self) -> None:
        """Connect, secure, log in and quit; raise TransportError saying what went wrong."""
        try:
            smtp = await self._open()
        except TransportError as error:
            where = f"SMTP server {self._settings.host}:{self._settings.port}"
            raise TransportError(f"{where}: {error}", error.result) from None
        await self._quit(smtp)

    async def aclose(self) -> None:
        """QUIT every pooled connection; later sends raise TransportError."""
        self._closed = True
        idle, self._idle = self._idle, []
        for smtp, _ in idle:
            await self._quit(smtp)

    async def _quit(self, smtp: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(SMTPException, OSError):
            await smtp.quit(timeout=min(self._timeout, 5.0))
        smtp.close()

    async def _checkout(self) -> tuple[aiosmtplib.SMTP, bool]:
        """A live connection: a pooled one (NOOP first after a long idle) or a new one."""
        while self._idle:
            smtp, last_used = self._idle.pop()
            with contextlib.suppress(SMTPException, OSError):
                if smtp.is_connected and self._clock() - last_used > IDLE_CHECK_SECONDS:
                    await smtp.noop(timeout=self._timeout)
            if smtp.is_connected:
                return smtp, True
            smtp.close()
        return await self._open(), False

    async def _open(self) -> aiosmtplib.SMTP:
        s = self._settings
        phase: Phase = "connect"
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        smtp = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=self._timeout)
        try:
            tls, ctx, name = s.security == "tls", self._tls_context, self._local_hostname
            await smtp.connect(use_tls=tls, start_tls=False, tls_context=ctx, local_hostname=name)
            phase = "EHLO"
            await smtp.ehlo()
            if s.security == "starttls":
                phase = "STARTTLS"
                if not smtp.supports_extension("starttls"):
                    detail = "server does not offer STARTTLS; refusing to send in plaintext"
                    raise TransportError(detail, SendResult(Outcome.FAILED, None, detail))
                await smtp.starttls()
                phase = "EHLO"
                await smtp.ehlo()
            if s.username:
                phase = "AUTH"
                await self._login(smtp)
        except BaseException as exc:
            smtp.close()
            if isinstance(exc, TransportError) or not isinstance(exc, Exception):
                raise
            result = self._failure(phase, exc)
            raise TransportError(result.detail, result) from None
        return smtp

    async def _login(self, smtp: aiosmtplib.SMTP) -> None:
        """One AUTH attempt with the best mechanism both sides know (repeated attempts with
        a wrong password get accounts locked: "too many login attempts")."""
        if self._settings.auth == "oauth2":
            await oauth_login(smtp, self._settings, self._bearer)
            return
        secret, offered = self._settings.password, smtp.server_auth_methods
        password = secret.get_secret_value() if secret is not None else ""
        for name in ("plain", "login", "cram-md5"):
            if name in offered and smtp.supports_extension("auth"):
                method = getattr(smtp, "auth_" + name.replace("-", ""))
                await method(self._settings.username, password)
                return
        plain = " without TLS" if self._settings.security == "none" else ""
        detail = f"server offers no usable AUTH{plain} ({' '.join(offered) or 'none'})"
        raise TransportError(detail, SendResult(Outcome.FAILED, None, detail))

    def _failure(self, phase: Phase, exc: Exception) -> SendResult:
        """Classify an exception raised before the final dot was sent."""
        if isinstance(exc, SMTPResponseException):
            outcome, text = classify(phase, exc.code, exc.message), clean_reply(exc.message)
            what = f"login as {self._settings.username!r} refused" if phase == "AUTH" else phase
            return SendResult(outcome, exc.code, f"{what}: {exc.code} {text}")
        tls = exc if isinstance(exc, ssl.SSLError) else exc.__cause__
        if isinstance(tls, ssl.SSLError):
            trust = isinstance(tls, ssl.SSLCertVerificationError)
            what = "TLS certificate not trusted" if trust else "TLS handshake failed"
            return SendResult(Outcome.FAILED, None, f"{what}: {clean_reply(str(tls))}")
        if isinstance(exc, TimeoutError):  # aiosmtplib's SMTPTimeoutError included
            return SendResult(Outcome.RETRY, None, f"timed out at {phase}")
        # OSError: refused, reset, lost. SMTPException (not offered), ValueError (bad address)
        outcome = Outcome.RETRY if isinstance(exc, OSError) else Outcome.FAILED
        return SendResult(outcome, None, f"{phase}: {clean_reply(str(exc))}")

    async def _reset(self, smtp: aiosmtplib.SMTP) -> _After:
        """RSET after a refused transaction, so the connection can be reused."""
        with contextlib.suppress(SMTPException, OSError):
            await smtp.rset(timeout=self._timeout)
            return "keep"
        return "drop"

    async def _transaction(
        self, smtp: aiosmtplib.SMTP, message: bytes, sender: str, recipients: Sequence[str]
    ) -> tuple[SendResult, _After]:
        options = ["BODY=8BITMIME"] if smtp.supports_extension("8bitmime") else []
        try:
            await smtp.mail(sender, options=options, timeout=self._timeout)
        except SMTPResponseException as exc:  # 421: maybe only this connection is closing
            after = "redo" if exc.code == 421 else await self._reset(smtp)
            return self._failure("MAIL FROM", exc), after
        except (SMTPException, OSError, ValueError) as exc:
            after = "redo" if isinstance(exc, ConnectionError) else "drop"
            return self._failure("MAIL FROM", exc), after

        refused: list[tuple[str, int, str]] = []
        for rcpt in recipients:
            try:
                await smtp.rcpt(rcpt, timeout=self._timeout)
            except SMTPResponseException as exc:
                refused.append((rcpt, exc.code, exc.message))
                if not smtp.is_connected:  # 421: the server closed the connection
                    return self._failure("RCPT TO", exc), "drop"
            except (SMTPException, OSError, ValueError) as exc:
                return self._failure("RCPT TO", exc), "drop"
        listing = "; ".join(f"{r} {code} {clean_reply(text)}" for r, code, text in refused)
        if len(refused) == len(recipients):
            outcomes = [classify("RCPT TO", code, text) for _, code, text in refused]
            worst = next(o for o in (Outcome.PAUSE, Outcome.RETRY, Outcome.FAILED) if o in outcomes)
            result = SendResult(worst, refused[outcomes.index(worst)][1], f"refused: {listing}")
            return result, await self._reset(smtp)
        try:
            reply = await smtp.execute_command(b"DATA", timeout=self._timeout)
            if reply.code != 354:
                raise SMTPResponseException(reply.code, reply.message)
            if smtp.protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            protocol = smtp.protocol
            protocol.write(_wire(message))
        except SMTPResponseException as exc:
            return self._failure("DATA", exc), await self._reset(smtp)
        except (SMTPException, OSError) as exc:  # nothing of the message went out
            return self._failure("DATA", exc), "drop"
        # The final dot is on its way: from here a missing reply means "maybe delivered".
        try:
            reply = await protocol.read_response(timeout=self._data_timeout)
        except (SMTPException, OSError) as exc:
            smtp.close()  # a late reply must never be read as the next command's
            kind = "timed out" if isinstance(exc, TimeoutError) else clean_reply(str(exc))
            detail = f"no reply to the end of data ({kind}); the message may have been delivered"
            return SendResult(Outcome.UNKNOWN, None, detail), "drop"
        outcome, text = classify("end", reply.code, reply.message), clean_reply(reply.message)
        if outcome is Outcome.SENT:
            text += f"; refused: {listing}" if refused else ""
            return SendResult(outcome, reply.code, text, tuple(r for r, _, _ in refused)), "keep"
        result = SendResult(outcome, reply.code, f"end of data: {reply.code} {text}")
        return result, "drop" if outcome is Outcome.PAUSE else "keep"


def _wire(message: bytes) -> bytes:
    """The message as DATA sends it: CRLF line ends, dot-stuffed, ending CRLF.CRLF. Messages
    mentormail builds already have CRLF ends and rarely a leading dot: checked with two fast
    scans before the slower rewrites."""
    body = message
    pairs = body.count(b"\r\n")
    if body.count(b"\n") != pairs or body.count(b"\r") != pairs:  # a bare LF or CR
        body = _LINE_ENDS.sub(b"\r\n", body)
    body = body.removesuffix(b"\r\n") + b"\r\n"
    if body.startswith(b".") or b"\n." in body:
        body = _LEADING_DOT.sub(b"..", body)
    return body + b".\r\n"
