"""`mentormail run`: catches up at start, wakes at the next due instant, stops cleanly, and
refuses a second instance on the same state directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from daemon import clock
from daemon.config.load import load_deployment
from daemon.runtime.service import Service
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT, write
from tests.smtp_server import SmtpServer

SCHEDULE = """
[program]
id = "svc"
title = "Service test"
structure = "individuals"
roles = ["peer"]
weeks = 2

[[messages]]
id = "overdue-catch-up"
title = "Due yesterday"
subject = "Yesterday"
template = "note"
send = {{ offset_days = -1, time = {time} }}

[[messages]]
id = "soon"
title = "Due in a few seconds"
subject = "Soon"
template = "note"
send = {{ offset_days = 0, time = {time} }}
"""


def _config(tmp_path: Path, port: int, target: dt.datetime) -> Path:
    write(tmp_path / "schedule.toml", SCHEDULE.format(time=target.strftime("%H:%M:%S")))
    write(tmp_path / "templates" / "note.md.j2", "Hi {{ recipient.first_name }}.\n")
    return write(
        tmp_path / "config.toml",
        f"""
        [program]
        schedule = "schedule.toml"
        start = {target.date().isoformat()}
        timezone = "UTC"
        templates = "templates"
        [sender]
        name = "Service"
        address = "svc@example.org"
        [[organizers]]
        name = "Olive Organizer"
        email = "olive@example.org"
        timezone = "UTC"
        [smtp]
        host = "127.0.0.1"
        port = {port}
        security = "none"
        max_per_minute = 0
        [state]
        path = "{tmp_path / "state"}"
        [[roster.participants]]
        name = "Pat Peer"
        email = "pat@example.org"
        timezone = "UTC"
        role = "peer"
        """,
    )


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_catches_up_then_wakes_at_the_next_instant(tmp_path: Path) -> None:
    target = (clock.now() + dt.timedelta(seconds=3)).replace(microsecond=0)
    async with SmtpServer() as server:
        config = _config(tmp_path, server.port, target)
        deployment = load_deployment(config)
        service = Service(deployment, lambda: SmtpTransport(deployment.settings.smtp))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        for _ in range(150):  # bounded: 15 s
            if len(server.received) == 2:
                break
            await asyncio.sleep(0.1)
        arrived = clock.now()
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert len(server.received) == 2
    assert arrived >= target  # not before it was due
    assert service.ticks >= 2


@pytest.mark.parametrize("command", ["tick", "run"])
def test_second_instance_is_refused(tmp_path: Path, command: str) -> None:
    from daemon.store.lock import StateLock

    target = clock.now() + dt.timedelta(hours=1)
    config = _config(tmp_path, 2525, target)
    with StateLock(tmp_path / "state"):
        result = subprocess.run(
            [sys.executable, "-m", "daemon", "-c", str(config), command],
            capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert "another mentormail" in result.stderr and "Traceback" not in result.stderr
