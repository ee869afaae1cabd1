"""Replies end to end: real SMTP (aiosmtpd) out, real IMAP (Dovecot) in. A participant answers a
check-in request; `tick` records it once, acknowledges it once (threaded, auto-replied), and
moves the mail to Processed; commands get their answer; auto-replies and strangers get none;
WITHDRAW tells the organizers; under `run`, IDLE notices a reply within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import email.utils
import html as html_module
import json
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.config.load import load_deployment
from daemon.mail.message import domain_of, message_id
from daemon.runtime import tick as tick_module
from daemon.runtime.logs import quiet_protocol_libraries
from daemon.runtime.service import Service
from daemon.runtime.tick import TickReport, run_tick
from daemon.store.sqlite import Store
from daemon.transport.imap import ImapInbox
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT, authenticated, idling, point_imap_at, until
from tests.dovecot import Account
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
AT = dt.datetime(2021, 7, 28, 0, tzinfo=dt.UTC)  # the herons' first check-in request is out
OLIVIA = "olivia.brennan@example.org"
REQUEST = "pemento-2021/request/small-group-meeting-1/group:herons/0/" + OLIVIA
OBLIGATION = "pemento-2021/obligation/small-group-meeting-1/group:herons/0"


@pytest.fixture
def setup(
    rehearsal: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> tuple[Account, Path]:
    point_imap_at(imap_account, monkeypatch)
    return imap_account, rehearsal


def program_for(server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
    return load_deployment(CONFIG)


async def tick(deployment: Deployment, at: dt.datetime) -> TickReport:
    settings = deployment.settings
    async with ImapInbox(settings.imap) as inbox:
        return await run_tick(
            deployment, Clock.frozen(at), lambda: SmtpTransport(settings.smtp), inbox=inbox
        )


@contextlib.asynccontextmanager
async def serving(deployment: Deployment) -> AsyncIterator[Service]:
    """`run` as of AT, reading the test's mailbox, until the block ends."""
    settings = deployment.settings
    service = Service(
        deployment, lambda: SmtpTransport(settings.smtp),
        clock=Clock.frozen(AT), inbox_factory=lambda: ImapInbox(settings.imap),
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


def received(server: SmtpServer) -> list[EmailMessage]:
    return [
        email.message_from_bytes(r.content, policy=email.policy.default)  # type: ignore[misc]
        for r in server.received
    ]


def reply(to: str, body: str, *, sender: str = OLIVIA, subject: str = "Re: Check-in",
          in_reply_to: str = "", extra: str = "") -> bytes:  # fmt: skip
    headers = authenticated() + f"From: Olivia Brennan <{sender}>\r\nTo: {to}\r\n"
    headers += f"Subject: {subject}\r\n"
    headers += f"Message-ID: <{abs(hash((body, sender, subject)))}@mail.example.net>\r\n"
    headers += f"Date: Wed, 28 Jul 2021 09:00:00 -0400\r\n{extra}"
    if in_reply_to:
        headers += f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n"
    return (headers + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


def _row(text: str, first: str) -> list[str]:
    """The cells of the plain-text table row that starts with `first`."""
    line = next(line for line in text.splitlines() if line.startswith(first + " "))
    return re.split(r"\s{2,}", line.strip())


FINAL_CALL_UID = "a364041c52deb915d8d946e7f6902630@example.org"  # Olivia's final-call invite


def rsvp_accepting(uid: str) -> bytes:
    ics = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "METHOD:REPLY", "BEGIN:VEVENT", "DTSTART:20210823T190000Z", "DTEND:20210823T200000Z",
        "DTSTAMP:20210728T130000Z", f"UID:{uid}", "SEQUENCE:0",
        f"ATTENDEE;PARTSTAT=ACCEPTED;CN=Olivia Brennan:mailto:{OLIVIA}", "END:VEVENT",
        "END:VCALENDAR",
    ])  # fmt: skip
    return (
        authenticated("google.com") + "From: Google Calendar <calendar-notification@google.com>\r\n"
        f"Reply-To: {OLIVIA}\r\nTo: pemento@example.org\r\nSubject: Accepted: final call\r\n"
        "Message-ID: <rsvp-olivia@google.com>\r\nAuto-Submitted: auto-generated\r\n"
        "Content-Type: text/calendar; method=REPLY; charset=UTF-8\r\n\r\n" + ics + "\r\n"
    ).encode()


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_checkin_reply_is_recorded_acknowledged_and_moved_once(
    setup: tuple[Account, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_protocol_libraries()  # as the command line sets logging up
    account, state = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        await tick(deployment, AT)
        domain = domain_of(program.sender.address)
        [request] = [m for m in received(server) if m["Message-ID"] == message_id(REQUEST, domain)]
        reply_to = str(request["Reply-To"])
        answered = str(request["Message-ID"])
        quoted = "\r\n".join(
            "> " + line for line in str(request.get_body(("plain",)).get_content()).splitlines()
        )  # type: ignore[union-attr]
        secret = "Quetzalcoatl-marmalade-7731"  # what she wrote stays in the store
        body = f"Yes, our group met on Monday. {secret}\r\n\r\nOn Tuesday you wrote:\r\n"
        account.append(reply(reply_to, body + quoted + "\r\n", in_reply_to=answered))
        account.append(rsvp_accepting(FINAL_CALL_UID))  # her calendar accepts the final call
        before = len(server.received)
        report = await tick(deployment, AT + dt.timedelta(hours=1))
        assert report.inbox is not None and report.inbox.recorded == {"checkin": 1, "rsvp": 1}
        acks = received(server)[before:]
        assert len(acks) == 1 and acks[0]["To"].addresses[0].addr_spec == OLIVIA
        assert str(acks[0]["Subject"]) == "Re: Check-in"  # in her thread, with what it recorded
        assert "Recorded: " in acks[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert acks[0]["In-Reply-To"] and acks[0]["Auto-Submitted"] == "auto-replied"
        assert account.uids("INBOX") == [] and len(account.uids("Processed")) == 2
        store = Store.open(state / "state")
        try:
            [(_, checkin)] = store.checkins()
        finally:
            store.close()
        assert checkin.participant == OLIVIA and checkin.obligations == (OBLIGATION,)
        assert checkin.answer == "yes" and "our group met" in checkin.text
        assert "you wrote" not in checkin.text  # the quote is stripped
        again = await tick(deployment, AT + dt.timedelta(hours=2))
        assert again.inbox is not None and again.inbox.fetched == 0
        assert len(server.received) == before + 1  # acknowledged once
        # the herons met (one member's report counts for the group): no overdue notice and no
        # flag for them; the owls, asked later that day, did not report: flagged, once
        await tick(deployment, dt.datetime(2021, 7, 28, 23, tzinfo=dt.UTC))
        for day in (3, 5, 6, 7, 8):
            await tick(deployment, dt.datetime(2021, 8, day, 12, tzinfo=dt.UTC))
        ids = server.message_ids()
        flag = "pemento-2021/flag/small-group-meeting-1/group:{}/0"
        assert message_id(flag.format("owls"), domain) in ids
        assert ids.count(message_id(flag.format("owls"), domain)) == 1
        assert message_id(flag.format("herons"), domain) not in ids
        overdue = f"pemento-2021/overdue/small-group-meeting-1/group:herons/0/{OLIVIA}"
        assert message_id(overdue, domain) not in ids
        # the weekly digest: the herons met, the owls owe their report; never what was written
        [digest] = [m for m in received(server) if str(m["Subject"]).endswith("week 3 summary")]
        assert sorted(a.addr_spec for a in digest["To"].addresses) == sorted(
            o.email for o in program.organizers
        )
        text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert _row(text, "Group herons") == ["Group herons", "1", "1", "0", "0"]
        assert "Final Community Call (Week 7: Finalizing Plans): 1 accepted, 0 tentative," in text
        assert "**" not in text and "##" not in text  # plain text, not Markdown
        assert "10 not answered yet" in text
        # the digest and `status --json` for the same instant tell the same story
        capsys.readouterr()
        digest_at = str(digest["Date"])
        when = email.utils.parsedate_to_datetime(digest_at).strftime("%Y-%m-%dT%H:%MZ")
        assert main(["-c", str(CONFIG), "status", "--json", "--at", when]) == 0
        counted: dict[str, dict[str, int]] = {}
        for o in json.loads(capsys.readouterr().out)["obligations"]:
            unit = "Group " + o["key"].split("/")[-2].split(":", 1)[1]
            state = "met" if o["state"] == "met_late" else o["state"]
            counted.setdefault(unit, {"met": 0, "pending": 0, "overdue": 0, "excused": 0})
            counted[unit][state] += 1
        for unit, c in counted.items():
            row = [unit, *(str(c[k]) for k in ("met", "pending", "overdue", "excused"))]
            assert _row(text, unit) == row, row
        owls = "Group owls: Small Group Meeting 1 (id small-group-meeting-1), owed by Tomasz"
        assert owls + " Nowak, Aisha Bello, Marcus Lee: EXCUSE tomasz.nowak@example.org" in text
        html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert '<table border="1"' in html and "padding:6px" in html and secret not in html
        # the organizers' picture: states, who answered, never what was written
        capsys.readouterr()
        assert main(["-c", str(CONFIG), "status", "--json", "--at", "2021-08-08T12:00Z"]) == 0
        out = capsys.readouterr().out
        view = json.loads(out)
        states = {o["key"]: o["state"] for o in view["obligations"]}
        assert states[OBLIGATION] == "met"
        assert states[OBLIGATION.replace("herons", "owls")] == "overdue"
        assert view["checkins"] == [{"participant": OLIVIA, "at": view["checkins"][0]["at"],
                                     "obligations": [OBLIGATION], "answer": "yes"}]  # fmt: skip
        assert main(["-c", str(CONFIG), "status", "--at", "2021-08-08T12:00Z"]) == 0
        out += capsys.readouterr().out
        assert secret not in out and "met" in out
        assert secret not in caplog.text and "checkin" in caplog.text
        assert all(
            secret not in m.as_string() for m in received(server) if OLIVIA not in str(m["To"])
        )


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_commands_auto_replies_and_strangers(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _ = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        await tick(deployment, AT)
        base = program.sender.reply_to
        account.append(
            reply(base, "HELP", subject="help"),
            reply(base, "I am away until Monday.", subject="Out of office",
                  extra="Auto-Submitted: auto-replied\r\n"),
            reply(base, "Hello, who are you?", sender="stranger@elsewhere.example"),
            reply(base, "WITHDRAW\r\nI have to leave, sorry.", subject="withdraw"),
        )  # fmt: skip
        before = len(server.received)
        report = await tick(deployment, AT + dt.timedelta(hours=1))
        assert report.inbox is not None
        assert report.inbox.recorded == {"command": 2, "auto-reply": 1, "unmatched": 1}
        answers = received(server)[before:]
        by_subject = {str(m["Subject"]): [a.addr_spec for a in m["To"].addresses] for m in answers}
        organizers = sorted(o.email for o in program.organizers)
        assert by_subject.pop("Re: help") == [OLIVIA]  # answers stay in the sender's thread
        assert by_subject.pop("Re: withdraw") == [OLIVIA]
        assert sorted(by_subject.pop("Olivia Brennan left the program")) == organizers
        # the schedule says her group hears of it too
        herons = [
            "grace.okafor@example.org",
            "ruth.nakamura@example.org",
            "sam.delgado@example.org",
        ]
        told = [m for m in answers if str(m["Subject"]) == "Olivia Brennan has left the program"]
        assert sorted(m["To"].addresses[0].addr_spec for m in told) == herons
        assert not any(m["In-Reply-To"] or m["References"] for m in told)  # not her thread
        by_subject.pop("Olivia Brennan has left the program")
        cancelled = {k: v for k, v in by_subject.items() if k.startswith("Cancelled: ")}
        assert cancelled and all(v == [OLIVIA] for v in cancelled.values())  # she left
        assert by_subject.keys() == cancelled.keys()  # nothing to the auto-reply or the stranger
        assert len(account.uids("Unmatched")) == 1 and len(account.uids("Processed")) == 3


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_run_notices_a_reply_within_seconds(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _ = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        async with serving(deployment) as service:
            # the start-up passes are done and the watcher waits in IDLE: on a busy machine
            # they took over the 10 s this once waited without checking, the reply was then
            # read by a start-up pass (or queued behind one), and "a mail arrived" was any
            # of the start-up sends
            await until(lambda: service.ticks >= 2, 40)
            await idling(account)
            before = len(server.received)
            began = asyncio.get_running_loop().time()
            await asyncio.to_thread(
                account.append, reply(program.sender.reply_to, "HELP", subject="help")
            )
            # IDLE: within seconds (about half a second here when calm), not at the next
            # poll, 300 s away; the bound leaves room for a busy machine
            while not any(str(m["Subject"]) == "Re: help" for m in received(server)[before:]):
                assert asyncio.get_running_loop().time() - began < 10.0, "IDLE missed the reply"
                await asyncio.sleep(0.05)


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_run_survives_a_kick_and_a_uidvalidity_change(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, state = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        base = program.sender.reply_to

        async def answered(subject: str, count: int) -> None:
            loop = asyncio.get_running_loop()
            began = loop.time()
            while sum(str(m["Subject"]).startswith(subject) for m in received(server)) < count:
                assert loop.time() - began < 15.0, f"no answer {count} to {subject!r}"
                await asyncio.sleep(0.05)

        async with serving(deployment):
            help_subject = "Re: help "  # each answer in its own thread: "Re: help 1", …
            await asyncio.to_thread(account.append, reply(base, "HELP", subject="help 1"))
            await answered(help_subject, 1)
            await asyncio.to_thread(account.kick)  # the server drops the IDLE connection
            await asyncio.to_thread(account.append, reply(base, "HELP", subject="help 2"))
            await answered(help_subject, 2)
            # the mailbox is rebuilt: new UIDVALIDITY, and a copy of mail already recorded
            recorded = account.read("Processed")
            await asyncio.to_thread(account.set_uidvalidity, 777)
            # Dovecot may drop the session itself on seeing the new UIDVALIDITY (a regression:
            # the kick then found no connection and failed the test)
            await asyncio.to_thread(account.kick, required=False)
            await asyncio.to_thread(account.append, next(iter(recorded.values())))
            await asyncio.to_thread(account.append, reply(base, "HELP", subject="help 3"))
            await answered(help_subject, 3)
            await asyncio.sleep(0.5)
            assert sum(str(m["Subject"]).startswith(help_subject) for m in received(server)) == 3
        store = Store.open(state / "state")
        try:
            assert store.inbox_counts() == {"command": 3, "duplicate": 1}
        finally:
            store.close()


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_meeting_invites_the_group_moves_and_asks_afterwards(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _ = setup
    herons = ["grace.okafor@example.org", "sam.delgado@example.org", "ruth.nakamura@example.org",
              OLIVIA]  # fmt: skip
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        base = program.sender.reply_to
        await tick(deployment, AT)
        account.append(reply(base, "MEETING 2021-07-29 18:00 UTC", subject="our meeting"))
        before = len(server.received)
        await tick(deployment, AT + dt.timedelta(hours=1))
        sent = received(server)[before:]
        [answer] = [m for m in sent if str(m["Subject"]) == "Re: our meeting"]
        text = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Friday, July 30, 2021, 4:00 AM AEST" in text  # Olivia is in Sydney
        invites = [m for m in sent if str(m["Subject"]) == "Meeting: herons"]
        assert sorted(m["To"].addresses[0].addr_spec for m in invites) == sorted(herons)
        methods = [p.get_param("method") for m in invites for p in m.walk()
                   if p.get_content_type() == "text/calendar"]  # fmt: skip
        assert methods == ["REQUEST"] * 4
        # moved: the same invitations, updated
        account.append(reply(base, "MEETING 2021-07-30 18:00 UTC", subject="moved"))
        before = len(server.received)
        await tick(deployment, AT + dt.timedelta(hours=2))
        updates = [m for m in received(server)[before:] if "Meeting: herons" in str(m["Subject"])]
        assert len(updates) == 4 and all(str(m["Subject"]).startswith("Updated: ") for m in updates)
        # an hour after it ends, each member is asked whether it happened
        before = len(server.received)
        await tick(deployment, dt.datetime(2021, 7, 30, 20, 1, tzinfo=dt.UTC))
        asked = received(server)[before:]
        domain = domain_of(program.sender.address)
        base = f"pemento-2021/meeting/group:herons/{OBLIGATION}"
        wanted = {message_id(f"{base}/followup/{who}", domain): who for who in herons}
        followups = [m for m in asked if m["Message-ID"] in wanted]
        assert all(str(m["Subject"]).startswith("Did your PeMento small") for m in followups)
        assert sorted(m["To"].addresses[0].addr_spec for m in followups) == sorted(herons)


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_bounce_tells_the_organizers_once_and_stops_mail_to_that_address(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _ = setup
    dana = "dana.whitfield@example.org"
    report = (
        "--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {dana}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--r\r\nContent-Type: text/rfc822-headers\r\n\r\n{returned}\r\n--r--\r\n"
    )
    head = (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: pemento@example.org\r\n"
        "Subject: Undelivered Mail\r\nMessage-ID: <{n}@mx.example.org>\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;"
        ' boundary="r"\r\n\r\n'
    )
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        await tick(deployment, AT)
        # the mail system returns the headers of our message to Dana (its reply token with them)
        ours = next(r.content for r in server.received if dana in r.rcpt_tos)
        returned = ours.split(b"\r\n\r\n", 1)[0].decode()
        bounce = report.format(returned=returned)
        account.append((head.format(n=1) + bounce).encode(), (head.format(n=2) + bounce).encode())
        before = len(server.received)
        await tick(deployment, AT + dt.timedelta(hours=1))
        notes = [m for m in received(server)[before:] if "bounced" in str(m["Subject"])]
        assert len(notes) == 1  # two bounces, one note
        assert sorted(a.addr_spec for a in notes[0]["To"].addresses) == sorted(
            o.email for o in program.organizers
        )
        before = len(server.received)
        await tick(deployment, AT + dt.timedelta(days=7))  # a week of mail for everyone
        to = [a.addr_spec for m in received(server)[before:] for a in m["To"].addresses]
        assert to and dana not in to


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_excuse_and_extend_from_an_organizer_and_refused_from_a_participant(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    account, _ = setup
    morgan = "Morgan Reyes <morgan.reyes@example.org>"
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        base = program.sender.reply_to
        await tick(deployment, AT)
        account.append(
            reply(base, "EXCUSE tomasz.nowak@example.org small-group-meeting-1", sender=morgan,
                  subject="excuse"),
            reply(base, "EXTEND dana.whitfield@example.org small-group-meeting-1 2021-08-20",
                  sender=morgan, subject="extend"),
            reply(base, "EXCUSE olivia.brennan@example.org small-group-meeting-1", subject="me"),
        )  # fmt: skip
        before = len(server.received)
        await tick(deployment, AT + dt.timedelta(hours=1))
        answers = {str(m["Subject"]): m["To"].addresses[0].addr_spec
                   for m in received(server)[before:]}  # fmt: skip
        assert answers["Re: excuse"] == "morgan.reyes@example.org"
        assert answers["Re: extend"] == "morgan.reyes@example.org"
        assert answers["Re: me"] == OLIVIA  # participants cannot excuse themselves
        # the sparrows are asked later that day (a window nobody was asked about is never flagged)
        await tick(deployment, dt.datetime(2021, 7, 28, 23, tzinfo=dt.UTC))
        for day in (3, 5, 6, 7, 8):
            await tick(deployment, dt.datetime(2021, 8, day, 12, tzinfo=dt.UTC))
        domain = domain_of(program.sender.address)
        flag = "pemento-2021/flag/small-group-meeting-1/group:{}/0"
        ids = server.message_ids()
        assert message_id(flag.format("herons"), domain) in ids  # no one reported, no one excused
        assert message_id(flag.format("owls"), domain) not in ids  # excused
        assert message_id(flag.format("sparrows"), domain) not in ids  # not due yet
        capsys.readouterr()
        assert main(["-c", str(CONFIG), "status", "--json", "--at", "2021-08-08T12:00Z"]) == 0
        states = {o["key"].split("/")[3]: o["state"] for o in json.loads(capsys.readouterr().out)
                  ["obligations"] if "/small-group-meeting-1/" in o["key"]}  # fmt: skip
        assert states == {"group:herons": "overdue", "group:owls": "excused",
                          "group:sparrows": "pending"}  # fmt: skip
        await tick(deployment, dt.datetime(2021, 8, 22, 12, tzinfo=dt.UTC))  # the extension ran out
        assert server.message_ids().count(message_id(flag.format("sparrows"), domain)) == 1
        assert message_id(flag.format("owls"), domain) not in server.message_ids()


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_reply_with_only_the_quote_counts_for_nothing_and_says_so(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, state = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        await tick(deployment, AT)
        domain = domain_of(program.sender.address)
        [request] = [m for m in received(server) if m["Message-ID"] == message_id(REQUEST, domain)]
        quote = "On Tuesday you wrote:\r\n> Did your group meet?\r\n"
        account.append(
            reply(str(request["Reply-To"]), quote, in_reply_to=str(request["Message-ID"]))
        )
        before = len(server.received)
        await tick(deployment, AT + dt.timedelta(hours=1))
        [answer] = received(server)[before:]
        assert str(answer["Subject"]) == "Re: Check-in"
        text = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "no text of its own" in text and "Received" not in text
        store = Store.open(state / "state")
        try:
            [(_, checkin)] = store.checkins()
        finally:
            store.close()
        assert checkin.obligations == ()  # an accidental send counts for nothing


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_failing_reading_pass_does_not_stop_the_watcher(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _ = setup
    original = tick_module.read_mailbox
    failures = [1]

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures and failures.pop():
            raise RuntimeError("disk full (simulated)")
        return await original(*args, **kwargs)

    monkeypatch.setattr(tick_module, "read_mailbox", flaky)
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        program = deployment.program
        async with serving(deployment):
            await asyncio.to_thread(
                account.append, reply(program.sender.reply_to, "HELP", subject="help")
            )
            loop = asyncio.get_running_loop()
            began = loop.time()
            while not any(str(m["Subject"]) == "Re: help" for m in received(server)):
                assert loop.time() - began < 20, "the watcher died after a failed pass"
                await asyncio.sleep(0.1)
    assert not failures  # it did fail once


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_queued_reminder_whose_obligation_is_met_meanwhile_is_not_sent(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reminder was queued (the server said "try later"), then Olivia reported that her
    group met: the next pass reads that first and drops the reminder, never sends it."""
    account, state = setup
    reminder = "pemento-2021/reminder/small-group-meeting-1/group:herons/0/2d/" + OLIVIA
    due = dt.datetime(2021, 7, 29, 23, 0, 30, tzinfo=dt.UTC)
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        domain = domain_of(deployment.program.sender.address)
        await tick(deployment, AT)
        [request] = [m for m in received(server) if m["Message-ID"] == message_id(REQUEST, domain)]
        server.fault("MAIL", "451 4.3.0 Try again later", times=100)
        await tick(deployment, due)  # the reminders of 29 July are queued, not sent
        store = Store.open(state / "state")
        try:
            queued = {r.key: r for r in store.rows("pending")}
        finally:
            store.close()
        assert reminder in queued and queued[reminder].attempts == 1
        server.clear_faults()
        account.append(
            reply(str(request["Reply-To"]), "Yes, we met on Tuesday.\r\n",
                  in_reply_to=str(request["Message-ID"]))
        )  # fmt: skip
        report = await tick(deployment, due + dt.timedelta(minutes=10))  # the retry is due
        assert report.inbox is not None and report.inbox.recorded == {"checkin": 1}
        assert report.revoked >= 1
        store = Store.open(state / "state")
        try:
            row = next(r for r in store.rows() if r.key == reminder)
        finally:
            store.close()
        assert row.state == "skipped" and "already" in row.last_error
        assert message_id(reminder, domain) not in server.message_ids()


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_flags_ready_reply_excuses_the_window_it_names(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flag names the window's id and offers an EXCUSE link; the organizer sends it as
    their mail client writes it (subject only, to the link's address) and it takes effect."""
    account, _ = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        await tick(deployment, AT)
        await tick(deployment, dt.datetime(2021, 8, 5, 12, tzinfo=dt.UTC))  # herons' flag goes
        flags = [m for m in received(server) if str(m["Subject"]).startswith("Overdue: Small")]
        assert len(flags) == 1 and "Hello Ashley and Morgan," in flags[0].get_body(
            ("plain",)).get_content()  # fmt: skip
        html = flags[0].get_body(("html",)).get_content()
        text = flags[0].get_body(("plain",)).get_content()
        assert "(id small-group-meeting-1)" in text.replace("`", "")
        assert "To write to the organizers" not in text  # they are the organizers
        link = re.search(r'href="(mailto:[^"]*EXCUSE[^"]*)"', html)
        assert link is not None
        target = urllib.parse.urlsplit(html_module.unescape(link[1]))
        subject = urllib.parse.parse_qs(target.query)["subject"][0]
        assert subject == "EXCUSE grace.okafor@example.org small-group-meeting-1"
        account.append(reply(target.path, "", sender="morgan.reyes@example.org", subject=subject))
        before = len(server.received)
        await tick(deployment, dt.datetime(2021, 8, 5, 13, tzinfo=dt.UTC))
        [done] = [m for m in received(server)[before:]
                  if m["To"].addresses[0].addr_spec == "morgan.reyes@example.org"]  # fmt: skip
        assert str(done["Subject"]) == "Re: " + subject  # in the organizer's own thread
        assert "Excused: Small Group Meeting 1" in done.get_body(("plain",)).get_content()
        capsys.readouterr()
        assert main(["-c", str(CONFIG), "status", "--json", "--at", "2021-08-05T14:00Z"]) == 0
        states = {o["key"]: o["state"] for o in json.loads(capsys.readouterr().out)
                  ["obligations"]}  # fmt: skip
        assert states[OBLIGATION] == "excused"


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_question_reaches_the_organizers_and_a_checkin_stays_private(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The week-1 mail says "to opt in, just reply": that reply is passed on to the organizers
    (Reply-To: Olivia, her new text only, inert); her check-in answer is recorded, not passed
    on; she is told which happened."""
    account, _ = setup
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        await tick(deployment, AT)
        mine = [m for m in received(server) if m["To"].addresses[0].addr_spec == OLIVIA]
        weekly = next(m for m in mine if str(m["Message-ID"]) != message_id(REQUEST, "example.org"))
        request = next(
            m for m in mine if str(m["Message-ID"]) == message_id(REQUEST, "example.org")
        )
        question = "I'd like to opt in. Can I join a group? [click](https://evil.example/x)"
        quoted = "\r\n\r\nOn Monday PeMento wrote:\r\n> Week 1 is here\r\n"
        account.append(
            reply(weekly["Reply-To"].addresses[0].addr_spec, question + quoted,
                  subject="Re: " + str(weekly["Subject"]), in_reply_to=str(weekly["Message-ID"])),
            reply(request["Reply-To"].addresses[0].addr_spec, "Yes, we met. PRIVATE-WORDS",
                  subject="Re: check-in", in_reply_to=str(request["Message-ID"])),
        )  # fmt: skip
        before = len(server.received)
        report = await tick(deployment, AT + dt.timedelta(hours=1))
        assert report.inbox is not None
        assert report.inbox.recorded == {"relayed": 1, "checkin": 1}
        new = received(server)[before:]
        relays = [m for m in new if str(m["Subject"]).startswith("From Olivia Brennan")]
        assert len(relays) == 1
        relay = relays[0]
        organizers = sorted(o.email for o in deployment.program.organizers)
        assert sorted(a.addr_spec for a in relay["To"].addresses) == organizers
        assert [a.addr_spec for a in relay["Reply-To"].addresses] == [OLIVIA]
        text = relay.get_body(("plain",)).get_content()
        html = relay.get_body(("html",)).get_content()
        assert "I'd like to opt in. Can I join a group?" in text
        assert "Week 1 is here" not in text  # only what she wrote
        assert "evil.example" in text and 'href="https://evil.example' not in html  # inert
        assert "Hello Ashley and Morgan," in text
        assert "Olivia Brennan (olivia.brennan@example.org) wrote to" in text
        told = [m.get_body(("plain",)).get_content() for m in new
                if m["To"].addresses[0].addr_spec == OLIVIA]  # fmt: skip
        assert any("passed on to the organizers (Ashley Chase and Morgan Reyes)" in t
                   for t in told)  # fmt: skip
        assert any("Recorded: " in t for t in told)
        assert not any("PRIVATE-WORDS" in m.as_string() for m in new if m is not None
                       and m["To"].addresses[0].addr_spec != OLIVIA)  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_an_unclear_reply_is_not_asked_yes_or_no_once_the_group_reported(
    setup: tuple[Account, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Olivia's yes met the herons' meeting: Grace's unclear reply to the same question is not
    asked "yes or no?" (nothing is open for it); it is passed on to the organizers."""
    account, _ = setup
    grace = "grace.okafor@example.org"
    theirs = REQUEST.rsplit("/", 1)[0] + "/" + grace
    async with SmtpServer() as server:
        deployment = program_for(server, monkeypatch)
        later = dt.datetime(2021, 7, 28, 23, tzinfo=dt.UTC)  # everyone's request is out
        await tick(deployment, later)
        ids = {str(m["Message-ID"]): m for m in received(server)}
        olivia = ids[message_id(REQUEST, "example.org")]
        hers = ids[message_id(theirs, "example.org")]
        account.append(reply(olivia["Reply-To"].addresses[0].addr_spec, "Yes, we met.",
                             in_reply_to=str(olivia["Message-ID"])))  # fmt: skip
        await tick(deployment, later + dt.timedelta(hours=1))
        account.append(reply(hers["Reply-To"].addresses[0].addr_spec, "Hmm, not sure about that",
                             sender=grace, in_reply_to=str(hers["Message-ID"])))  # fmt: skip
        before = len(server.received)
        report = await tick(deployment, later + dt.timedelta(hours=2))
        assert report.inbox is not None and report.inbox.recorded == {"relayed": 1}
        new = received(server)[before:]
        subjects = {str(m["Subject"]) for m in new}
        assert not any("Yes or no?" in s for s in subjects)
        assert "From Grace Okafor: a message for the organizers" in subjects
