"""The demo's embedded mail servers, on 127.0.0.1 only: an SMTP sink (aiosmtpd, in this event
loop) that keeps every message it accepts and writes it out as an `.eml` file, and an IMAP
server (pymap's in-memory backend, in a child process) holding the program's one mailbox, the
config's `[imap] username`. What the simulated participants send is routed by address, as a
real mail server would: only mail addressed to that mailbox (a `+tag` aside) lands in it; the
rest is kept aside as lost, so a config whose replies or RSVPs go elsewhere shows it.
Nothing needs root, a system service or the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.policy
import email.utils
import imaplib
import re
import secrets
import socket
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from daemon.errors import SandboxError

HOST = "127.0.0.1"
IMAP_USER = "program"
AUTHSERV = "sandbox.mentormail.invalid"  # the sandbox as the program's receiving server
START_SECONDS = 20.0


@dataclass(frozen=True)
class Delivered:
    """One message the SMTP sink accepted, at the demo's virtual time."""

    at: dt.datetime
    recipients: tuple[str, ...]
    message: EmailMessage
    path: Path


class _Sink:
    """aiosmtpd's handler: keep each message, write it to `mail/NNNN-to-subject.eml`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.now = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.delivered: list[Delivered] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        recipients = tuple(str(r) for r in envelope.rcpt_tos)
        subject = _slug(str(message["Subject"] or ""))
        name = f"{len(self.delivered) + 1:04d}-{_slug(recipients[0])}-{subject}"
        path = self.folder / f"{name[:90]}.eml"
        path.write_bytes(raw)
        self.delivered.append(Delivered(self.now, recipients, message, path))
        return "250 2.0.0 kept in the demo's mail folder"


class Sandbox:
    """`async with Sandbox(out) as box:` — `box.smtp_port`, `box.imap_port`, `box.password`,
    `box.delivered`, `await box.append(raw, at)`."""

    def __init__(self, out: Path, mailbox: str = IMAP_USER) -> None:
        self.mailbox = mailbox  # the program mailbox's address, and its IMAP login
        self.lost: list[tuple[dt.datetime, str]] = []  # (when, to whom) mail that went astray
        self.log = out / "imap-server.log"
        self.mail = out / "mail"
        self.mail.mkdir(parents=True, exist_ok=True)
        self.sink = _Sink(self.mail)
        self.password = secrets.token_hex(12)  # (urlsafe ones may start with "-": an option)
        self.smtp_port = self.imap_port = 0
        self._smtp: asyncio.AbstractServer | None = None
        self._imap: asyncio.subprocess.Process | None = None
        self._client: imaplib.IMAP4 | None = None

    @property
    def delivered(self) -> list[Delivered]:
        return self.sink.delivered

    def clock(self, at: dt.datetime) -> None:
        """The virtual time stamped on what the sink receives from now on."""
        self.sink.now = at

    async def __aenter__(self) -> Sandbox:
        loop = asyncio.get_running_loop()
        self._smtp = await loop.create_server(
            lambda: SMTP(self.sink, hostname="sandbox.invalid", ident="mentormail demo sink"),
            host=HOST, port=0,
        )  # fmt: skip
        self.smtp_port = self._smtp.sockets[0].getsockname()[1]
        try:
            await self._start_imap()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start_imap(self) -> None:
        self.imap_port = _free_port()
        code = "import sys; from pymap.main import main; sys.argv[0] = 'pymap'; main()"
        with self.log.open("wb") as log:  # the child keeps its own copy of the descriptor
            self._imap = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, "--host", HOST, "--port", str(self.imap_port),
                "--no-tls", "dict", "--demo-user", self.mailbox, f"--demo-password={self.password}",
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        while True:
            try:
                self._client = await asyncio.to_thread(self._login)
                return
            except OSError:
                if (
                    self._imap.returncode is not None
                    or asyncio.get_running_loop().time() > deadline
                ):
                    why = self.log.read_text(errors="replace")[-300:]
                    raise SandboxError(
                        f"the sandbox IMAP server (pymap) did not start: {why}"
                    ) from None
                await asyncio.sleep(0.05)

    def _login(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(HOST, self.imap_port, timeout=10)
        client.login(self.mailbox, self.password)
        return client

    async def deliver(self, raw: bytes, at: dt.datetime) -> bool:
        """Deliver `raw` if it is addressed to the program's mailbox; else keep it as lost."""
        head = BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
        to = [
            a for _, a in email.utils.getaddresses(head.get_all("To", []) + head.get_all("Cc", []))
        ]
        if any(_mailbox_of(a) == self.mailbox.lower() for a in to):
            await self.append(raw, at)
            return True
        self.lost.append((at, ", ".join(to) or "(no recipient)"))
        return False

    async def append(self, raw: bytes, at: dt.datetime, mailbox: str = "INBOX") -> None:
        """Deliver a message as the mail server would, dated `at`: like a real receiving
        server, the sandbox says on top that the sender's domain passed its checks (the
        simulated participants send from their own addresses)."""
        assert self._client is not None
        sender = BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
        domain = str(sender.get("From", "")).rsplit("@", 1)[-1].strip(" >").lower()
        vouched = f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from={domain}\r\n"
        raw = vouched.encode() + raw
        stamp = imaplib.Time2Internaldate(at.timestamp())
        status, data = await asyncio.to_thread(self._client.append, mailbox, "", stamp, raw)
        if status != "OK":
            raise SandboxError(f"the sandbox IMAP server refused a message: {data!r}")

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                await asyncio.to_thread(self._client.logout)
            self._client = None
        if self._imap is not None and self._imap.returncode is None:
            self._imap.terminate()
            try:
                await asyncio.wait_for(self._imap.wait(), 5)
            except TimeoutError:
                self._imap.kill()
                await self._imap.wait()
        if self._smtp is not None:
            self._smtp.close()
            await self._smtp.wait_closed()

    def settings(self) -> dict[str, Any]:
        """The [smtp] and [imap] values that point a program at this sandbox."""
        return {
            "smtp": {"host": HOST, "port": self.smtp_port, "security": "none", "username": "",
                     "auth": "password", "max_per_minute": 0, "max_per_day": 0},
            "imap": {"host": HOST, "port": self.imap_port, "security": "none",
                     "auth": "password", "username": self.mailbox, "password": self.password,
                     "poll_seconds": 10, "authserv_ids": AUTHSERV},
        }  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _mailbox_of(address: str) -> str:
    """`pemento+tok@example.org` is delivered to `pemento@example.org`."""
    local, _, domain = address.lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "mail"
