"""Hostile mail end to end (real Dovecot, real SMTP): what one person writes — a date at the
edge of the calendar in a command, a number too large in an RSVP — is recorded and answered
(or refused) like any other mail, and never stops the pass that reads it, nor any later one:
the rest of the batch is recorded and mail goes on being sent to everyone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from daemon.store.sqlite import Store
from tests.conftest import authenticated, point_imap_at
from tests.dovecot import Account
from tests.smtp_server import SmtpServer
from tests.test_replies_e2e import AT, FINAL_CALL_UID, OLIVIA, program_for, reply, tick


@pytest.fixture
def setup(
    rehearsal: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> tuple[Account, Path]:
    point_imap_at(imap_account, monkeypatch)
    return imap_account, rehearsal


def rsvp(sequence: str) -> bytes:
    ics = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example//Calendar//EN", "METHOD:REPLY",
        "BEGIN:VEVENT", "DTSTAMP:20210728T130000Z", f"UID:{FINAL_CALL_UID}",
        f"SEQUENCE:{sequence}", f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{OLIVIA}", "END:VEVENT",
        "END:VCALENDAR",
    ])  # fmt: skip
    return (
        authenticated() + f"From: Olivia Brennan <{OLIVIA}>\r\nTo: pemento@example.org\r\n"
        "Subject: Accepted: final call\r\nMessage-ID: <rsvp-sequence@example.org>\r\n"
        "Content-Type: text/calendar; method=REPLY; charset=UTF-8\r\n\r\n" + ics + "\r\n"
    ).encode()


@pytest.mark.asyncio
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "command",
    [
        "PAUSE until 0001-01-01",  # midnight of year 1, east of UTC: before the first instant
        "MEETING 9999-12-31 20:00 Pacific/Kiritimati",  # its invitation ends after the last
        "RSVP SEQUENCE:99999999999999999999999",  # too large for the store
    ],
)
async def test_an_out_of_range_value_in_a_mail_never_stops_a_pass(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Regression: each of these was recorded (or recorded nothing, and failed the whole
    batch), then made every later pass fail: nobody got any mail any more."""
    account, state = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        base = deployment.program.sender.reply_to
        await tick(deployment, AT)
        hostile = rsvp(command.split(":", 1)[1]) if command.startswith("RSVP") else reply(
            base, command, subject="away"
        )  # fmt: skip
        account.append(hostile, reply(base, "HELP", subject="help"))
        report = await tick(deployment, AT + dt.timedelta(hours=1))
        assert report.inbox is not None and report.inbox.fetched == 2
        assert account.uids("INBOX") == []  # both recorded and moved
        assert any(str(m.content).find("Subject: Re: help") >= 0 for m in server.received)
        before = len(server.received)
        later = await tick(deployment, dt.datetime(2021, 8, 2, 12, tzinfo=dt.UTC))
        assert later.inbox is not None and len(server.received) > before  # week 4 goes out
        store = Store.open(state / "state")
        try:
            assert sum(store.inbox_counts().values()) == 2
        finally:
            store.close()
