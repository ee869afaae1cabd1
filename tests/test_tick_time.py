"""Ticks and time: sends go out at local 09:00 on DST-change weeks in both hemispheres, not a
second early; after downtime across two due instants the catch-up policy sends the one still
useful and skips the stale one."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.program.timeline import plan
from daemon.runtime.tick import run_tick
from daemon.store.sqlite import Store
from daemon.transport.smtp import SmtpTransport
from tests.conftest import mini_program
from tests.smtp_server import SmtpServer

PEOPLE = [
    ("Nora York", "nora@example.org", "America/New_York", "mentor"),
    ("Sid Harbour", "sid@example.org", "Australia/Sydney", "mentee"),
]
ZONES = {p[1]: ZoneInfo(p[2]) for p in PEOPLE}


@pytest.mark.asyncio
async def test_local_nine_on_dst_weeks_and_not_a_second_early(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 March 2026 + 6 weeks spans New York's change (8 March) and Sydney's (5 April)
    config = mini_program(rehearsal, PEOPLE, start="2026-03-02", weeks=6, digest=False)
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(config)
        instants = sorted({a.at for a in plan(deployment.program) if a.kind == "email"})
        for at in instants:
            before = len(server.received)
            await run_tick(
                deployment,
                Clock.frozen(at - dt.timedelta(seconds=1)),
                lambda: SmtpTransport(deployment.settings.smtp),
            )
            assert len(server.received) == before  # nothing early
            await run_tick(
                deployment, Clock.frozen(at), lambda: SmtpTransport(deployment.settings.smtp)
            )
            assert len(server.received) == before + 1
    assert len(server.received) == 12
    for received in server.received:
        message = email.message_from_bytes(received.content, policy=email.policy.default)
        local = parsedate_to_datetime(str(message["Date"])).astimezone(ZONES[received.rcpt_tos[0]])
        assert (local.strftime("%A"), local.hour, local.minute) == ("Monday", 9, 0)


@pytest.mark.asyncio
async def test_downtime_across_two_due_instants(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = mini_program(
        rehearsal, PEOPLE[:1], start="2026-03-02", weeks=6, structure="individuals", digest=False
    )
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(config)
        factory = lambda: SmtpTransport(deployment.settings.smtp)  # noqa: E731
        at = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
        await run_tick(deployment, Clock.frozen(at), factory)
        # down from 2 March until 17 March 16:00 UTC: week 2's email (9 March, useful for 7
        # days) is stale; week 3's (16 March) is still useful and goes out late
        at = dt.datetime(2026, 3, 17, 16, tzinfo=dt.UTC)
        report = await run_tick(deployment, Clock.frozen(at), factory)
    assert report.skipped == 1 and report.outcomes["sent"] == 1
    store = Store.open(rehearsal / "state")
    states = {r.key.split("/")[3]: r.state for r in store.rows()}
    store.close()
    assert states == {"0": "sent", "1": "skipped", "2": "sent"}
