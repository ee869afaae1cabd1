"""Commands that change something need proof of the mailbox: from a sender the receiving
server does not vouch for — or with no authserv-id configured, from anyone — they wait for the
owner of the address to confirm, at that address. Real SMTP and Dovecot."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import pytest

from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.config.load import load_deployment
from daemon.runtime.tick import run_tick
from daemon.transport.imap import ImapInbox
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT, point_imap_at
from tests.dovecot import Account
from tests.smtp_server import SmtpServer

AT = dt.datetime(2021, 7, 28, 0, tzinfo=dt.UTC)
OLIVIA = "olivia.brennan@example.org"


def _mail(to: str, subject: str, body: str = "\r\n", n: int = 0, in_reply_to: str = "") -> bytes:
    head = f"From: Olivia Brennan <{OLIVIA}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
    head += f"Message-ID: <confirm-test-{n}@mail.example.net>\r\n"
    head += f"In-Reply-To: {in_reply_to}\r\n" if in_reply_to else ""
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


def _messages(server: SmtpServer, since: int) -> list[EmailMessage]:
    out = []
    for received in server.received[since:]:
        message = email.message_from_bytes(received.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        out.append(message)
    return out


def _said(message: EmailMessage) -> str:
    """The subject and the plain text of an answer."""
    body = message.get_body(("plain",))
    return str(message["Subject"]) + "\n" + (str(body.get_content()) if body else "")


def _withdrawn(state: Path) -> bool:
    with sqlite3.connect(state / "mentormail.sqlite3") as db:
        found = db.execute(
            "SELECT count(*) FROM commands WHERE participant = ? AND name = 'WITHDRAW'", (OLIVIA,)
        ).fetchone()
    return bool(found[0])


async def _tick(deployment: Deployment, server: SmtpServer, at: dt.datetime) -> int:
    """One pass as of `at` that reads the mailbox; how many messages the sink had before it."""
    settings = deployment.settings
    before = len(server.received)
    async with ImapInbox(settings.imap) as inbox:
        await run_tick(
            deployment, Clock.frozen(at), lambda: SmtpTransport(settings.smtp), inbox=inbox
        )
    return before


@pytest.mark.asyncio
@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("configured", "answer", "later", "withdrawn"),
    [
        (False, "Yes, that was me.", dt.timedelta(hours=2), True),  # no authserv-id: confirm
        (True, "yes", dt.timedelta(hours=2), True),  # not vouched for, but her token
        (True, "No! I did not ask for this.", dt.timedelta(hours=2), False),
        # regression: anything but a "no" carried the forged command out
        (True, "That wasn't me. Who sent this?", dt.timedelta(hours=2), False),
        (True, "yes", dt.timedelta(days=8), False),  # too late: expired
    ],
)
async def test_a_withdraw_waits_for_its_owner_to_confirm(
    *,
    rehearsal: Path,
    imap_account: Account,
    monkeypatch: pytest.MonkeyPatch,
    configured: bool,
    answer: str,
    later: dt.timedelta,
    withdrawn: bool,
) -> None:
    point_imap_at(imap_account, monkeypatch)
    if not configured:
        monkeypatch.setenv("MENTORMAIL_IMAP__AUTHSERV_IDS", "")
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(ROOT / "config.example.toml")

        async def tick(at: dt.datetime) -> int:
            return await _tick(deployment, server, at)

        await tick(AT)
        [ours] = [m for m in _messages(server, 0) if OLIVIA in str(m["To"])][-1:]
        to = str(ours["Reply-To"]) if configured else deployment.program.sender.reply_base
        imap_account.append(_mail(to, "WITHDRAW", n=1))
        since = await tick(AT + dt.timedelta(hours=1))
        [request] = _messages(server, since)
        assert request["To"].addresses[0].addr_spec == OLIVIA  # asked at her own address
        assert str(request["Subject"]).startswith("Please confirm: leave the program")
        assert not _withdrawn(rehearsal / "state")  # nothing changed yet
        imap_account.append(
            _mail(str(request["Reply-To"]), "Re: " + str(request["Subject"]), answer + "\r\n", 2,
                  str(request["Message-ID"]))
        )  # fmt: skip
        since = await tick(AT + later)
        replies = _messages(server, since)
        imap_account.append(  # the same answer again: the token was single-use
            _mail(str(request["Reply-To"]), "Re: " + str(request["Subject"]), answer + "\r\n", 3,
                  str(request["Message-ID"]))
        )  # fmt: skip
        again = _messages(server, await tick(AT + later + dt.timedelta(minutes=5)))
    assert _withdrawn(rehearsal / "state") is withdrawn
    # answers stay in her thread ("Re: Please confirm: …"): what they say is in the text
    texts = [_said(m) for m in replies if OLIVIA in str(m["To"])]
    if withdrawn:
        assert any("You have left PeMento" in t for t in texts)
    else:
        said = ("so nothing changed", "request has expired", "could not tell whether you meant yes")
        assert any(s in t for t in texts for s in said), texts
        assert not any(t.startswith("Cancelled") for t in texts)
    if later > dt.timedelta(days=7):
        assert any("That request has expired" in t for t in texts)
    # the second answer to a used request is told so and changes nothing more (an unclear
    # answer used nothing: the request is still open)
    [used] = again
    assert str(used["Subject"]) == "Re: Please confirm: leave the program"
    open_still = "could not tell whether you meant yes" in " ".join(texts)  # not settled
    assert used["In-Reply-To"] and ("could not tell" if open_still else "That request is ") in (
        _said(used)
    )
    assert _withdrawn(rehearsal / "state") is withdrawn


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_an_address_is_asked_to_confirm_at_most_three_times_a_day(
    rehearsal: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each forged command mailed its victim a request to confirm, however many were forged
    point_imap_at(imap_account, monkeypatch)
    monkeypatch.setenv("MENTORMAIL_IMAP__AUTHSERV_IDS", "")  # nobody vouched for: all asked
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(ROOT / "config.example.toml")
        base = deployment.program.sender.reply_base

        async def requests_after(at: dt.datetime, *mails: bytes) -> int:
            imap_account.append(*mails)
            before = await _tick(deployment, server, at)
            asked = [m for m in _messages(server, before) if OLIVIA in str(m["To"])]
            return sum(str(m["Subject"]).startswith("Please confirm") for m in asked)

        forged = [_mail(base, f"PAUSE until 2021-08-{n:02d}", n=n) for n in range(10, 15)]
        assert await requests_after(AT, *forged[:2]) == 2
        assert await requests_after(AT + dt.timedelta(hours=1), *forged[2:]) == 1  # 3 a day
        later = [_mail(base, "PAUSE until 2021-08-20", n=20)]
        assert await requests_after(AT + dt.timedelta(hours=25), *later) == 1  # the next day
    with sqlite3.connect(rehearsal / "state" / "mentormail.sqlite3") as db:
        refused = db.execute("SELECT count(*) FROM inbox WHERE kind = 'refused'").fetchone()[0]
    assert refused == 2
