"""Invitations over real SMTP: iMIP layout, METHOD in both places, both parsers; an edited
event keeps its UID and raises SEQUENCE; a removed event or participant gets a CANCEL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
import vobject

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.runtime.tick import run_tick
from daemon.transport.smtp import SmtpTransport
from tests.conftest import mini_program
from tests.smtp_server import SmtpServer

EVENT = """
[[events]]
id = "kickoff"
title = "Kick-off call"
start = 2026-03-04T12:00:00
end = 2026-03-04T13:00:00
timezone = "America/Los_Angeles"
url = "https://example.org/call"
invite = { offset_days = 0, time = 08:00:00 }
"""
PEOPLE = [
    ("Ann Mentor", "ann@example.org", "America/New_York", "mentor"),
    ("Bo Mentee", "bo@example.org", "Australia/Sydney", "mentee"),
]
DAY1 = dt.datetime(2026, 3, 2, 18, tzinfo=dt.UTC)


def _calendar_parts(raw: bytes) -> tuple[EmailMessage, list[EmailMessage]]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message, [p for p in message.walk() if p.get_content_type() == "text/calendar"]


async def _tick(config: Path, server: SmtpServer, at: dt.datetime) -> None:
    deployment = load_deployment(config)
    await run_tick(deployment, Clock.frozen(at), lambda: SmtpTransport(deployment.settings.smtp))


def _text(server: SmtpServer, index: int) -> str:
    """The plain text of the index-th invitation received."""
    invitations = [
        m for m, parts in map(_calendar_parts, (r.content for r in server.received)) if parts
    ]
    body = invitations[index].get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _invites(server: SmtpServer) -> list[tuple[str, icalendar.Calendar]]:
    out = []
    for received in server.received:
        _, parts = _calendar_parts(received.content)
        if parts:
            [part] = parts
            method = part.get_param("method")
            ics = part.get_content()
            cal = icalendar.Calendar.from_ical(ics)
            assert cal["METHOD"] == method  # METHOD in the body equals the Content-Type's
            vobject.readOne(ics)  # a second parser accepts it too
            out.append((received.rcpt_tos[0], cal))
    return out


@pytest.mark.asyncio
async def test_request_update_cancel(rehearsal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = rehearsal
    config = mini_program(tmp_path, PEOPLE, weeks=2, extra_schedule=EVENT, structure="individuals")
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        await _tick(config, server, DAY1)
        first = _invites(server)
        assert sorted(to for to, _ in first) == ["ann@example.org", "bo@example.org"]
        message = next(
            m for m, parts in map(_calendar_parts, (r.content for r in server.received)) if parts
        )
        layout = [p.get_content_type() for p in message.walk()]
        assert layout[:5] == [
            "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar",
        ]  # fmt: skip
        assert layout[5] == "application/ics"
        uids = {to: str(c.walk("VEVENT")[0]["UID"]) for to, c in first}
        assert "You're invited" in _text(server, 0)
        for _, cal in first:
            event = cal.walk("VEVENT")[0]
            assert cal["METHOD"] == "REQUEST" and int(event["SEQUENCE"]) == 0
            assert event["DTSTART"].dt == dt.datetime(2026, 3, 4, 20, tzinfo=dt.UTC)

        # the organizer moves the call by an hour: same UIDs, SEQUENCE 1, to both
        schedule = tmp_path / "schedule.toml"
        schedule.write_text(
            schedule.read_text()
            .replace("T12:00:00", "T13:00:00")
            .replace("T13:00:00\ntimezone", "T14:00:00\ntimezone")
        )
        count = len(server.received)
        await _tick(config, server, DAY1 + dt.timedelta(hours=1))
        updates = _invites(server)[2:]
        assert len(server.received) == count + 2 and len(updates) == 2
        assert "has changed" in _text(server, -1)
        for to, cal in updates:
            event = cal.walk("VEVENT")[0]
            assert str(event["UID"]) == uids[to] and int(event["SEQUENCE"]) == 1
            assert event["DTSTART"].dt == dt.datetime(2026, 3, 4, 21, tzinfo=dt.UTC)

        # Bo leaves the program: Bo's invitation is cancelled, Ann's stands
        roster = tmp_path / "roster.csv"
        roster.write_text(
            "\n".join(line for line in roster.read_text().splitlines() if "bo@" not in line) + "\n"
        )
        await _tick(config, server, DAY1 + dt.timedelta(hours=2))
        [(to, cancel)] = _invites(server)[4:]
        event = cancel.walk("VEVENT")[0]
        assert to == "bo@example.org" and cancel["METHOD"] == "CANCEL"
        assert str(event["UID"]) == uids[to] and int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED"

        # nothing more on a repeated tick
        count = len(server.received)
        await _tick(config, server, DAY1 + dt.timedelta(hours=3))
        assert len(server.received) == count
