"""The real-replies corpus end to end: each message in tests/data/real (see make_corpus.py) is
filled with what mentormail actually sent that person — the check-in request's reply token,
Message-ID and text, or the invitation an RSVP answers — handed to the test SMTP server, which
delivers by address into Dovecot only what is addressed to the program's mailbox, read by a
pass, and the recorded outcome compared with expected.json: the event, the yes/no/unknown, the
person's own text, the form's fields, what it counted for and how it was answered. Every answer
stays in the sender's thread ("Re: <their subject>", In-Reply-To and References)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import re
import smtplib
import sqlite3
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.runtime.tick import run_tick
from daemon.transport.connect import Servers
from tests.conftest import AUTHSERV, point_imap_at
from tests.dovecot import HOST, Account
from tests.smtp_server import SmtpServer

CORPUS = Path(__file__).parent / "data" / "real"
CONFIG = CORPUS / "program" / "config.toml"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))
AT = dt.datetime(2021, 7, 29, 12, tzinfo=dt.UTC)  # every small group's first request is out
MAILBOX = "pemento@example.org"  # the sending address, the ORGANIZER, the mailbox read
REQUEST = "Did your PeMento small group meet? (weeks 2–3)"
_PLACEHOLDER = re.compile(rb"%%([A-Z]+):([a-z]+)%%")


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 40
    kinds = [e["kind"] for e in EXPECTED.values()]
    assert kinds.count("rsvp") >= 3 and kinds.count("checkin") >= 35
    answers = [e.get("answer") for e in EXPECTED.values() if e["kind"] == "checkin"]
    assert answers.count("yes") >= 10 and answers.count("no") >= 10 and answers.count(None) >= 5


def _message(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def _calendar(message: EmailMessage) -> icalendar.Event | None:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return next(iter(icalendar.Calendar.from_ical(payload).walk("VEVENT")))
    return None


class Sent:
    """What mentormail sent each person: the check-in request and the latest invitation."""

    def __init__(self, server: SmtpServer, people: dict[str, str]) -> None:
        self.requests: dict[str, EmailMessage] = {}
        self.invites: dict[str, icalendar.Event] = {}
        for received in server.received:
            message = _message(received.content)
            for who, address in people.items():
                if address not in received.rcpt_tos:
                    continue
                if str(message["Subject"]) == REQUEST:
                    self.requests[who] = message
                if (event := _calendar(message)) is not None:
                    self.invites[who] = event

    def fill(self, raw: bytes) -> bytes:
        def one(found: re.Match[bytes]) -> bytes:
            what, who = found[1].decode(), found[2].decode()
            if what in ("REPLY", "MSGID"):
                return str(self.requests[who]["Reply-To" if what == "REPLY" else "Message-ID"])
            if what in ("QUOTE", "COPY"):
                lines = _plain(self.requests[who]).splitlines()
                if what == "QUOTE":
                    lines = [f"> {line}".rstrip() for line in lines]
                return "\r\n".join(lines)
            event = self.invites[who]
            if what == "UID":
                return str(event["UID"])
            if what == "SEQ":
                return str(event["SEQUENCE"])
            if what == "SUMMARY":
                return str(event["SUMMARY"])
            return f"{event.decoded('DTSTART').astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"

        return _PLACEHOLDER.sub(lambda m: one(m).encode(), raw)


def _submit(port: int, raw: bytes, to: str) -> None:
    """The sender's provider hands the message to the program's receiving server."""
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.sendmail("bounces@mail.example.net", [to], raw)


async def _tick(at: dt.datetime) -> None:
    deployment = load_deployment(CONFIG)
    servers = Servers(deployment)
    async with servers.imap() as inbox:
        await run_tick(deployment, Clock.frozen(at), servers.smtp, inbox=inbox)


def _recorded(state: Path) -> dict[str, dict[str, Any]]:
    """What the store says of each corpus message, by its Message-ID."""
    db = sqlite3.connect(state / "mentormail.sqlite3")
    try:
        out: dict[str, dict[str, Any]] = {}
        rows = db.execute("SELECT id, message_id, kind FROM inbox").fetchall()
        ids = {inbox_id: message_id for inbox_id, message_id, _ in rows}
        for _, message_id, kind in rows:
            out[message_id] = {"kind": kind, "replies": []}
        for inbox_id, answer, obligations, fields, text in db.execute(
            "SELECT inbox_id, answer, obligations, fields, text FROM checkins"
        ):
            out[ids[inbox_id]] |= {"answer": answer, "counts": len(json.loads(obligations)),
                                   "fields": json.loads(fields), "text": text}  # fmt: skip
        for inbox_id, partstat in db.execute("SELECT inbox_id, partstat FROM rsvps"):
            out[ids[inbox_id]]["partstat"] = partstat
        for inbox_id, answer in db.execute("SELECT inbox_id, answer FROM intents"):
            said = json.loads(answer)
            kind = said["kind"]
            if kind == "noted" and str(said["subject"]).startswith("Yes or no?"):
                kind = "yes-or-no"
            out[ids[inbox_id]]["replies"].append(kind)
            if kind == "relay":  # what the organizers were given to read: their new text
                out[ids[inbox_id]]["relayed"] = "\n".join(said["lines"])
    finally:
        db.close()
    return out


def _differences(name: str, expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    wrong = []
    for key, value in expected.items():
        if key in ("who", "to"):
            continue
        if key == "reply":
            found = got["replies"]
            if found != (value if isinstance(value, list) else [value] if value else []):
                wrong.append(f"{name}: answered {found}, expected {value}")
        elif got.get(key) != value:
            wrong.append(f"{name}: {key} {got.get(key)!r}, expected {value!r}")
    return wrong


@pytest.mark.asyncio
@pytest.mark.timeout(180)
async def test_the_real_replies_corpus_end_to_end(
    rehearsal: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_imap_at(imap_account, monkeypatch)
    people = {p.email.split(".")[0]: p.email for p in load_deployment(CONFIG).program.participants}
    async with SmtpServer(mailboxes={MAILBOX: imap_account}, authserv=AUTHSERV) as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        await _tick(AT)
        sent = Sent(server, people)
        assert set(sent.requests) == set(people), "each member was asked"
        for name, expected in sorted(EXPECTED.items()):
            raw = sent.fill((CORPUS / name).read_bytes())
            to = MAILBOX if expected["to"] == "organizer" else str(_message(raw)["To"])
            await asyncio.to_thread(_submit, server.port, raw, to)
        assert len(imap_account.uids()) == len(EXPECTED)  # routed by address, all arrived
        before = len(server.received)
        await _tick(AT + dt.timedelta(hours=1))
        answers = [_message(r.content) for r in server.received[before:]]
    assert imap_account.uids() == []  # every message read and moved
    recorded = _recorded(rehearsal / "state")
    wrong = []
    for n, name in enumerate(sorted(EXPECTED), start=1):
        got = recorded.get(f"<real-{n:02d}@mail.example.net>")
        if got is None:
            wrong.append(f"{name}: not recorded")
            continue
        wrong += _differences(name, EXPECTED[name], got)
    assert not wrong, "\n".join(wrong)
    # every answer stays in the sender's thread
    theirs = {f"<real-{n:02d}@mail.example.net>": name for n, name in
              enumerate(sorted(EXPECTED), start=1)}  # fmt: skip
    threaded = [m for m in answers if str(m["In-Reply-To"] or "") in theirs]
    assert len(threaded) == sum(bool(e["reply"]) for e in EXPECTED.values())
    for message in threaded:
        answered = str(message["In-Reply-To"])
        original = _message(sent.fill((CORPUS / theirs[answered]).read_bytes()))
        assert str(message["Subject"]) == str(original["Subject"])  # already "Re: …"
        assert str(message["References"]).split()[-1] == answered
