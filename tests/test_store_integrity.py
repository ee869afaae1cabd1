"""The store never starts over by accident, says clearly what is wrong with it, and comes
back from a backup without sending anything twice: a state file truncated, deleted or
damaged is refused with the fix; a state folder that cannot be written is one line; a pass
takes a daily backup, and `restore` brings one back — what fell due after it is recorded as
unknown and told to the organizers once, never sent again."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from daemon.store.sqlite import DB_NAME, MARKER_NAME
from tests.conftest import ROOT, mini_program, rehearsal_env
from tests.smtp_server import SmtpServer

PEOPLE = [
    ("Ann Lee", "ann@example.org", "UTC", "mentor"),
    ("Bo Chen", "bo@example.org", "UTC", "mentee"),
]
DAILY = """
[[messages]]
id = "daily"
title = "Daily"
subject = "Day {{ occurrence }}"
template = "note"
send = { offset_days = 0, time = 10:00:00 }
repeat = { every = "day", count = 20 }
"""


def _run(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", "-c", str(config), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def _arun(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`_run` off the event loop (the test's SMTP server runs on it)."""
    return await asyncio.to_thread(_run, config, env, *args)


def _at(day: int) -> str:
    return f"2026-03-{2 + day:02d}T12:00Z"


def _tick(config: Path, env: dict[str, str], day: int) -> subprocess.CompletedProcess[str]:
    return _run(config, env, "tick", "--at", _at(day))


async def _atick(config: Path, env: dict[str, str], day: int) -> subprocess.CompletedProcess[str]:
    return await _arun(config, env, "tick", "--at", _at(day))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = mini_program(
        tmp_path, PEOPLE, weeks=4, structure="individuals", extra_schedule=DAILY, digest=False
    )
    return config, tmp_path / "state"


def _env(state: Path, port: int) -> dict[str, str]:
    return {**os.environ, **rehearsal_env(state), "MENTORMAIL_SMTP__PORT": str(port)}


@pytest.mark.asyncio
@pytest.mark.parametrize("damage", ["truncate", "delete"])
async def test_a_used_folder_with_no_state_file_is_refused(
    setup: tuple[Path, Path], damage: str
) -> None:
    config, state = setup
    async with SmtpServer() as server:
        env = _env(state, server.port)
        assert (await _atick(config, env, 0)).returncode == 0
        sent = len(server.received)
        assert sent > 0
        db = state / DB_NAME
        if damage == "truncate":
            db.write_bytes(b"")
        else:
            for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
                (state / name).unlink(missing_ok=True)
        again = await _atick(config, env, 1)
        assert len(server.received) == sent  # nothing sent again, nothing sent at all
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "starting over would send every message again" in again.stderr
    assert "mentormail restore" in again.stderr and MARKER_NAME in again.stderr


@pytest.mark.asyncio
async def test_a_damaged_state_file_is_one_line_with_the_fix(setup: tuple[Path, Path]) -> None:
    config, state = setup
    async with SmtpServer() as server:
        env = _env(state, server.port)
        assert (await _atick(config, env, 0)).returncode == 0
        db = state / DB_NAME
        with sqlite3.connect(db) as connection:  # fold the WAL in, so the file is the store
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = bytearray(db.read_bytes())
        page = 4096
        data[page : page + 12] = b"\x42" * 12  # page 2's b-tree header: not a page any more
        db.write_bytes(bytes(data))
        done = await _atick(config, env, 1)
        doctor = await _arun(config, env, "doctor")
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert "cannot be used" in done.stderr and "mentormail restore" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert re.search(r"^state +FAILED", doctor.stdout, re.MULTILINE), doctor.stdout


def _unwritable_folder(tmp_path: Path) -> Path:
    """A state folder this process may not write, even as root (then /sys's)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return folder
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no read-only folder to try as root")
    return Path("/sys/kernel")


def test_an_unwritable_state_folder_is_one_line(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = setup
    env = _env(_unwritable_folder(tmp_path), 2525)
    done = _tick(config, env, 0)
    status = _run(config, env, "status")
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert "cannot use the state folder" in done.stderr and "[state] path" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert status.returncode == 0, status.stderr  # reading creates nothing, so it can


def test_status_creates_nothing(setup: tuple[Path, Path]) -> None:
    config, state = setup
    done = _run(config, _env(state, 2525), "status", "--json")
    assert done.returncode == 0, done.stderr
    assert not state.exists()


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_restore_brings_a_backup_back_and_sends_nothing_twice(
    setup: tuple[Path, Path],
) -> None:
    config, state = setup
    async with SmtpServer() as server:
        env = _env(state, server.port)
        for day in range(3):  # a backup a day, each taken at the end of the day's pass
            if day == 2:  # one of day 2's is still queued when its backup is taken
                server.fault("RCPT", "450 4.2.0 try again later", address="bo@example.org")
            assert (await _atick(config, env, day)).returncode == 0
        for day in (3, 4):  # sent after that backup ...
            assert (await _atick(config, env, day)).returncode == 0
        listed = await _arun(config, env, "restore")
        assert listed.returncode == 0 and listed.stdout.count("mentormail-") == 5
        backups = sorted((state / "backups").glob("*.sqlite3"))
        assert all(stat.S_IMODE(b.stat().st_mode) == 0o600 for b in backups)
        (state / DB_NAME).write_bytes(b"")  # ... and then the store is lost
        assert (await _atick(config, env, 5)).returncode == 2
        [day2] = [b for b in backups if "20260304T" in b.name]  # the backup of day 2's pass
        restored = await _arun(config, env, "restore", str(day2), "--at", "2026-03-07T09:00Z")
        assert restored.returncode == 0, restored.stderr
        assert "not sent again" in restored.stdout
        assert any((state / "replaced").rglob(DB_NAME))  # the lost one is kept, not deleted
        for day in (5, 6):
            done = await _atick(config, env, day)
            assert done.returncode == 0, done.stderr
    ids = Counter(m.message_id for m in server.received)
    assert max(ids.values()) == 1  # nothing delivered twice
    notes = [m for m in server.received if b"After the restore" in m.content]
    assert len(notes) == 1  # the organizers are told once which ones may have gone
    days = Counter(m.content.split(b"Subject: Day ", 1)[1][:1] for m in server.received
                   if b"Subject: Day " in m.content)  # fmt: skip
    # each day's mail went once: those of days 3 and 4 (after the backup restored) were not
    # sent again, day 5's (due after the restore) went as planned
    assert days == {bytes([48 + day]): 2 for day in range(7)}
