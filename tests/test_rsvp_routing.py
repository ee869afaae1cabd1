"""RSVPs reach the mailbox that is read. Calendars send their iMIP REPLY to the invitation's
ORGANIZER, so with the example config as shipped the ORGANIZER must be an address delivered
to the mailbox mentormail reads. Mail is routed by address here, as in real life: the SMTP
server delivers into Dovecot only what is addressed to the program's mailbox (the receiving
server's Authentication-Results on top), so an RSVP sent to any other address is never seen.
Google Calendar, Outlook and Apple Calendar each answer in their own shape."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import smtplib
import sqlite3
import uuid
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.runtime.tick import run_tick
from daemon.transport.connect import Servers
from tests.conftest import AUTHSERV, ROOT, point_imap_at
from tests.dovecot import HOST, Account
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
AT = dt.datetime(2021, 7, 28, 0, tzinfo=dt.UTC)
PROGRAM_MAILBOX = "pemento@example.org"  # the example's sending address, which it reads


def _calendar(raw: bytes) -> icalendar.Event | None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
            return next(iter(calendar.walk("VEVENT")))
    return None


def _reply_ics(event: icalendar.Event, partstat: str, prodid: str, *, organizer: bool) -> str:
    """What a calendar answers: METHOD:REPLY, the attendee with their PARTSTAT (Exchange
    leaves ORGANIZER out)."""
    attendee = str(event["ATTENDEE"]).removeprefix("mailto:").removeprefix("MAILTO:")
    lines = [
        "BEGIN:VCALENDAR", f"PRODID:{prodid}", "VERSION:2.0", "METHOD:REPLY", "BEGIN:VEVENT",
        f"UID:{event['UID']}", f"SEQUENCE:{event['SEQUENCE']}",
        f"DTSTART:{event.decoded('DTSTART').astimezone(dt.UTC):%Y%m%dT%H%M%SZ}",
        "DTSTAMP:20210728T130000Z",
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}",
        *([f"ORGANIZER:{event['ORGANIZER']}"] if organizer else []),
        "END:VEVENT", "END:VCALENDAR",
    ]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


def google(event: icalendar.Event, to: str, attendee: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Google Calendar <calendar-notification@google.com>"
    message["Reply-To"], message["To"] = attendee, to
    message["Subject"] = f"Accepted: {event['SUMMARY']}"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{attendee} has accepted this invitation.")
    ics = _reply_ics(
        event, "ACCEPTED", "-//Google Inc//Google Calendar 70.9054//EN", organizer=True
    )
    message.add_alternative(ics, subtype="calendar", params={"method": "REPLY"})
    return message


def outlook(event: icalendar.Event, to: str, attendee: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = f"Olivia <{attendee}>", to
    message["Subject"] = f"Declined: {event['SUMMARY']}"
    message.set_content("Sorry, I have a class that evening.")
    ics = _reply_ics(event, "DECLINED", "Microsoft Exchange Server 2010", organizer=False)
    message.add_alternative(ics, subtype="calendar", params={"method": "REPLY"})
    return message


def apple(event: icalendar.Event, to: str, attendee: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = attendee, to
    message["Subject"] = f"Invitation: {event['SUMMARY']} (Tentative)"
    message.set_content(f"{attendee} has tentatively accepted your invitation.")
    ics = _reply_ics(event, "TENTATIVE", "-//Apple Inc.//Mac OS X 10.15.7//EN", organizer=True)
    message.add_attachment(
        ics.encode(), maintype="text", subtype="calendar",
        filename="iCal-20210728-090000.ics", params={"method": "REPLY"},
    )  # fmt: skip
    return message


async def _tick(at: dt.datetime) -> None:
    deployment = load_deployment(CONFIG)
    servers = Servers(deployment)
    async with servers.imap() as inbox:
        await run_tick(deployment, Clock.frozen(at), servers.smtp, inbox=inbox)


def _submit(port: int, message: EmailMessage, to: str) -> None:
    """An attendee's provider hands the RSVP to the program's receiving server."""
    message["Message-ID"] = f"<{uuid.uuid4()}@calendar.example.net>"
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.send_message(message, to_addrs=[to])


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_rsvps_sent_to_the_organizer_reach_the_mailbox_and_count(
    rehearsal: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_imap_at(imap_account, monkeypatch)
    routes = {PROGRAM_MAILBOX: imap_account}
    async with SmtpServer(mailboxes=routes, authserv=AUTHSERV) as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        await _tick(AT)
        invites = [(r, e) for r in server.received if (e := _calendar(r.content)) is not None]
        assert invites, "the first pass sends invitations"
        assert imap_account.uids() == []  # nothing of ours came back to our own mailbox
        chosen: dict[str, tuple[icalendar.Event, str]] = {}
        for received, event in invites:
            attendee = received.rcpt_tos[0]
            if attendee not in chosen and len(chosen) < 3:
                organizer = str(event["ORGANIZER"]).removeprefix("mailto:")
                chosen[attendee] = (event, organizer)
        clients = [google, outlook, apple]
        for (attendee, (event, organizer)), client in zip(chosen.items(), clients, strict=True):
            assert organizer == PROGRAM_MAILBOX  # the ORGANIZER is the sending address ...
            message = client(event, organizer, attendee)
            await asyncio.to_thread(_submit, server.port, message, organizer)
        # ... and an RSVP to an address that is not the program's mailbox is never seen
        stray = outlook(next(iter(chosen.values()))[0], "someone-else@example.org", "x@y.org")
        await asyncio.to_thread(_submit, server.port, stray, "someone-else@example.org")
        assert len(imap_account.uids()) == 3  # routed by address: only the three arrived
        await _tick(AT + dt.timedelta(hours=1))
    assert imap_account.uids() == []  # read and moved
    with sqlite3.connect(rehearsal / "state" / "mentormail.sqlite3") as db:
        found = dict(db.execute("SELECT attendee, partstat FROM rsvps").fetchall())
    expected = dict(zip(chosen, ["ACCEPTED", "DECLINED", "TENTATIVE"], strict=True))
    assert found == expected
