"""`status` shows the outbox — queued, held (why, until when), retrying, failed, unknown, the
next send — in its table and in `status --json`, read from the store against a real aiosmtpd
that refuses and then accepts; and it creates nothing in an empty state folder."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.views.outbox import hold_kind
from tests.conftest import ROOT
from tests.smtp_server import DROP, SmtpServer

CONFIG = str(ROOT / "config.example.toml")
FIRST = "2021-07-05T15:00Z"  # the first sends of PeMento fall due by then


async def _cli(*args: str) -> int:
    return await asyncio.to_thread(main, ["-c", CONFIG, *args])


async def _status(capsys: pytest.CaptureFixture[str], at: str) -> dict[str, Any]:
    capsys.readouterr()
    assert await _cli("status", "--json", "--at", at) == 0
    view: dict[str, Any] = json.loads(capsys.readouterr().out)
    return view


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_outbox_through_a_refusal_and_then_delivery(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        server.fault("GREETING", "421 4.7.0 Try again later", times=100)
        assert await _cli("tick", "--at", FIRST) == 1  # a server that cannot be used: exit 1
        outbox = (await _status(capsys, "2021-07-05T15:01Z"))["outbox"]
        assert outbox["queued"] > 0 and outbox["sent"] == 0
        assert outbox["due_now"] == outbox["queued"] - 2  # two kick-off invitations wait
        held = outbox["held"]
        assert held["kind"] == "server-unusable" and held["until"] == "2021-07-05T15:05:00Z"
        assert held["because"] == "cannot use the SMTP server: connect: 421 4.7.0 Try again later"
        assert outbox["next_send_at"] == "2021-07-05T15:05:00Z"  # not before the hold ends
        assert outbox["next_planned_at"] == "2021-07-05T16:00:00Z"
        assert {r["error"] for r in outbox["retrying"]} == {"connect: 421 4.7.0 Try again later"}
        capsys.readouterr()
        assert await _cli("status", "--at", "2021-07-05T15:01Z") == 0
        table = capsys.readouterr().out
        assert f"Outbox: {outbox['queued']} queued" in table
        assert "held (server-unusable) until Mon 05 Jul 08:05" in table  # the organizer's zone

        # the server accepts again; one address is refused for good, one message is lost
        # after its final dot, one address must wait
        server.clear_faults()
        server.fault("RCPT", "550 5.1.1 No such user", address="priya.raman@example.org", times=9)
        server.fault("RCPT", "451 4.3.0 Mailbox busy", address="olivia.brennan@example.org",
                     times=9)  # fmt: skip
        server.fault("DATA", DROP)
        assert await _cli("tick", "--at", "2021-07-05T15:10Z") == 0
        outbox = (await _status(capsys, "2021-07-05T15:11Z"))["outbox"]
        assert outbox["held"] is None and outbox["sent"] > 0
        assert outbox["failed"] >= 1 and outbox["unknown"] == 1
        failed = {r["key"]: r for r in outbox["failed_sends"]}
        assert all("priya.raman@example.org" in r["recipients"] for r in failed.values())
        assert all(r["error"].endswith("550 5.1.1 No such user") for r in failed.values())
        (unknown,) = outbox["unknown_sends"]
        assert unknown["next_attempt_at"] is None and unknown["at"] == "2021-07-05T15:10:00Z"
        retrying = {tuple(r["recipients"]) for r in outbox["retrying"]}
        assert retrying == {("olivia.brennan@example.org",)}
        assert all(r["error"].endswith("451 4.3.0 Mailbox busy") for r in outbox["retrying"])
        assert outbox["next_send_at"] == min(r["next_attempt_at"] for r in outbox["retrying"])
        assert outbox["queued"] == len(outbox["retrying"])  # all tried, all for her

        # the provider asks to slow down: everything waits an hour
        server.clear_faults()
        server.fault("MAIL", "421 4.7.0 Too many messages, slow down", times=9)
        assert await _cli("tick", "--at", "2021-07-05T16:00Z") == 0  # the normal course
        held = (await _status(capsys, "2021-07-05T16:01Z"))["outbox"]["held"]
        assert held["kind"] == "provider-pause" and held["until"] == "2021-07-05T17:00:00Z"
        assert held["because"] == (
            "the provider asked to slow down: MAIL FROM: 421 4.7.0 Too many messages, slow down"
        )


def test_status_in_an_empty_state_folder_creates_nothing(
    rehearsal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = rehearsal / "state"
    state.mkdir()
    assert main(["-c", CONFIG, "status", "--json", "--at", FIRST]) == 0
    outbox = json.loads(capsys.readouterr().out)["outbox"]
    assert outbox["queued"] == outbox["sent"] == 0 and outbox["held"] is None
    assert outbox["next_planned_at"] == "2021-07-05T16:00:00Z"  # the next after those due
    assert main(["-c", CONFIG, "status", "--at", FIRST]) == 0
    assert "Outbox: 0 queued (0 due now)" in capsys.readouterr().out
    assert list(state.iterdir()) == []


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("the provider asked to slow down: 451 4.7.0 rate", "provider-pause"),
        ("the daily limit of 500 messages (smtp.max_per_day) is reached", "daily-limit"),
        ("cannot use the SMTP server: 535 5.7.8 bad password", "server-unusable"),
        ("cannot use the SMTP server: the sign-in was withdrawn; run mentormail login", "sign-in"),
        ("something new", "other"),
    ],
)
def test_each_hold_has_its_kind(reason: str, kind: str) -> None:
    assert hold_kind(reason) == kind


def test_a_date_in_another_year_shows_its_year_and_a_persons_unit_their_name(
    rehearsal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # seen by a new organizer: "next planned send: Sun 24 Jan 17:00" in December meant the
    # next year; and each person's own obligations were headed by a bare address
    assert main(["-c", CONFIG, "status", "--at", "2020-12-20T00:00Z"]) == 0
    assert "  next planned send: Sun 04 Jul 2021 16:00" in capsys.readouterr().out
    assert main(["-c", CONFIG, "status", "--at", "2021-07-20T00:00Z"]) == 0
    assert "  next planned send: Sun 25 Jul 16:00" in capsys.readouterr().out  # same year

    from daemon.config.load import load_deployment
    from daemon.views.status import overview_table

    assert main(["-c", CONFIG, "status", "--json", "--at", "2021-08-01T00:00Z"]) == 0
    view = json.loads(capsys.readouterr().out)
    first = view["obligations"][0]
    first["key"] = first["key"].replace("group:herons", "grace.okafor@example.org")
    table = overview_table(load_deployment(Path(CONFIG)).program, view)
    assert "\nGrace Okafor <grace.okafor@example.org>\n  untracked Small Group Meeting 1" in table
