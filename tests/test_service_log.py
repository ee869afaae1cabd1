"""At INFO the service says what it does — start-up (program, participants, mailbox), a line
per pass, the next wake-up, stopping and stopped — with no stray `None`; a catch-up that skips
many stale sends says so in one line (the keys at DEBUG)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from pathlib import Path

import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.decide.decision import Decision, Expiry
from daemon.runtime.enqueue import log_decision
from daemon.runtime.service import Service
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT, until
from tests.smtp_server import SmtpServer

LATE = dt.datetime(2021, 7, 21, 16, tzinfo=dt.UTC)  # weeks of PeMento have gone by unsent


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_the_service_says_what_it_does(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="daemon")
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        server.fault("RCPT", "451 4.3.0 Try later", times=1)  # a retry is logged too
        deployment = load_deployment(ROOT / "config.example.toml")
        smtp = deployment.settings.smtp
        service = Service(deployment, lambda: SmtpTransport(smtp), clock=Clock.frozen(LATE))
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        await until(lambda: service.ticks >= 1, 30)
        stop.set()
        await asyncio.wait_for(running, 20)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    said = "\n".join(info)
    assert "None" not in said
    assert info[0].startswith("serving PeMento Cohort #2: Summer 2021: 11 participants, no ")
    assert info[0].endswith("the first pass runs now")
    assert any(m.startswith("tick at 2021-07-21 16:00Z: 34 new, 49 stale skipped") for m in info)
    assert "next pass at " in said
    assert "stopping: no new sends" in said
    assert re.fullmatch(r"stopped, after (1 pass|\d+ passes)", info[-1])
    stale = [m for m in info if "skipped: no longer useful" in m]
    (line,) = stale  # one line for the whole catch-up
    count = int(line.split(" ", 1)[0])
    assert count > 10
    keys = [r for r in caplog.records if r.levelno == logging.DEBUG and ": stale: due " in
            r.getMessage()]  # fmt: skip
    assert len(keys) == count
    assert "SMTP retry: refused: olivia.brennan@example.org 451 4.3.0 Try later" in info
    assert any(m.endswith("retrying at 2021-07-21 16:05Z") for m in info)


def test_a_catch_up_of_queued_sends_is_one_line_a_kind(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="daemon")
    expiries = [
        Expiry(f"k/{i}", "skipped", "stale: not delivered by its deadline") for i in range(276)
    ]
    expiries += [Expiry("k/tried", "failed", "not delivered by its deadline; last error: 451")]
    revokes = tuple((f"r/{i}", "met") for i in range(3))
    log_decision(Decision(expiries=tuple(expiries), revokes=revokes))
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert said == [
        "3 sends queued no longer sent (met, or people left)",
        "276 sends queued skipped: stale before they could go",
        "1 send queued failed: not delivered by their deadline",
    ]
    keys = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(keys) == 280 and "k/tried: not delivered by its deadline; last error: 451" in keys
