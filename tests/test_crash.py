"""Crash test: SIGKILL `mentormail tick` at random points of a burst of 300 sends, restart,
12 rounds. Every planned send ends sent or unknown (never pending or lost), nothing is
delivered twice, and every unknown send is reported to the organizers."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from daemon.config.load import load_program
from daemon.program.timeline import plan
from daemon.store.sqlite import Store
from tests.conftest import ROOT, mini_program, rehearsal_env
from tests.smtp_server import SmtpServer
from tests.test_crash_replies import _killed_after

QUIET = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
BURST = 300
ROUNDS = 12
START = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAILY = """
[[messages]]
id = "daily"
title = "Daily"
subject = "Day {{ occurrence }}"
template = "note"
send = { offset_days = 0, time = 10:00:00 }
repeat = { every = "day", count = 25 }
stale_after_days = 60  # the backlog that repeated kills pile up stays useful: all must go

"""


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.timeout(400)
async def test_sigkill_during_a_burst_loses_and_doubles_nothing(tmp_path: Path) -> None:
    people = [(f"Person {i}", f"p{i}@example.org", "UTC", "mentor") for i in range(BURST)]
    # a fresh burst of 500 every day; round r ticks on day r, so every round has work
    config = mini_program(
        tmp_path,
        people,
        weeks=4,
        structure="individuals",
        extra_schedule=DAILY,
        stale_days=60,
        digest=False,
    )
    rng = random.Random(20261122)
    async with SmtpServer() as server:
        env = {
            **os.environ,
            **rehearsal_env(tmp_path / "state"),
            "MENTORMAIL_SMTP__PORT": str(server.port),
            "MENTORMAIL_SMTP__CONNECTIONS": "4",
            "MENTORMAIL_LOG_LEVEL": "WARNING",
        }

        def tick(day: int) -> list[str]:
            at = (START + dt.timedelta(days=day)).isoformat()
            return [sys.executable, "-m", "daemon", "-c", str(config), "tick", "--at", at]

        for day in (0, 1):  # undisturbed rounds first
            calm = await asyncio.create_subprocess_exec(*tick(day), env=env, cwd=ROOT, **QUIET)
            assert await asyncio.wait_for(calm.wait(), timeout=120) == 0
        killed = 0
        for day in range(2, ROUNDS + 2):
            # killed once the server has a random share of this round's burst (none yet:
            # starting, planning, composing; all: recording the last outcomes), however fast
            # or busy the machine is
            before, at = len(server.received), rng.randint(0, BURST)
            proc = await asyncio.create_subprocess_exec(*tick(day), env=env, cwd=ROOT, **QUIET)
            if await _killed_after(proc, lambda b=before, a=at: len(server.received) - b >= a):
                killed += 1
        final = await asyncio.create_subprocess_exec(*tick(ROUNDS + 2), env=env, cwd=ROOT, **QUIET)
        assert await asyncio.wait_for(final.wait(), timeout=120) == 0
        await asyncio.sleep(0.2)  # let the server finish recording the last messages

    assert killed >= ROUNDS - 1, "the kills must land while the burst is under way"
    store = Store.open(tmp_path / "state")
    rows = store.rows()
    store.close()
    sends = [r for r in rows if r.kind != "alert"]
    alerts = [r for r in rows if r.kind == "alert"]
    last = START + dt.timedelta(days=ROUNDS + 2)
    planned = {a.key for a in plan(load_program(config)) if a.kind == "email" and a.at <= last}
    assert len(planned) >= BURST * (ROUNDS + 3)
    assert {r.key for r in sends} == planned  # every planned message has its row
    states = Counter(r.state for r in sends)
    assert set(states) <= {"sent", "unknown"}, states
    delivered = Counter(m.message_id for m in server.received)
    for row in sends:
        if row.state == "sent":
            assert delivered[row.message_id] == 1, row.key
        else:
            assert delivered[row.message_id] <= 1, row.key  # maybe delivered, never twice
    # every unknown send is reported to the organizers (an alert row each, not resent)
    assert {a.key.split("/alert/unknown/", 1)[1] for a in alerts if "/alert/unknown/" in a.key} == {
        r.key for r in sends if r.state == "unknown"
    }
    print(f"\n{killed} kills; {dict(states)}; {len(alerts)} alerts")
