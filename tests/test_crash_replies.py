"""Crash test for reading: SIGKILL `mentormail tick` while it works through a batch of 500
replies in a real Dovecot, round after round (each round brings 500 more), then let one pass
finish. Every reply is recorded exactly once, none is left in the inbox, none is deleted, and
no answer is sent twice. Kills are timed from a calm first round, all through a pass."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import AUTHSERV, ROOT, authenticated, rehearsal_env
from tests.dovecot import Account
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
BATCH = 500
ROUNDS = 5  # killed rounds, after one calm round
TOTAL = BATCH * (ROUNDS + 1)
AT = "2021-07-28T00:00Z"
QUIET = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
PEOPLE = ["olivia.brennan@example.org", "dana.whitfield@example.org", "tomasz.nowak@example.org"]


def replies(round_: int) -> list[bytes]:
    out = []
    for n in range(round_ * BATCH, (round_ + 1) * BATCH):
        sender = PEOPLE[n % len(PEOPLE)]
        out.append(
            f"{authenticated()}From: {sender}\r\nTo: pemento-replies@example.org\r\n"
            f"Subject: help {n}\r\n"
            f"Message-ID: <crash-{n}@mail.example.net>\r\n\r\nHELP\r\n".encode()
        )
    return out


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.timeout(300)
async def test_sigkill_while_reading_records_each_reply_once(
    imap_account: Account, tmp_path: Path
) -> None:
    settings = imap_account.settings()
    rng = random.Random(20261122)
    async with SmtpServer() as server:
        env = {
            **os.environ,
            **rehearsal_env(tmp_path / "state"),
            "MENTORMAIL_SMTP__PORT": str(server.port),
            "MENTORMAIL_IMAP__HOST": settings.host,
            "MENTORMAIL_IMAP__PORT": str(settings.port),
            "MENTORMAIL_IMAP__SECURITY": "none",
            "MENTORMAIL_IMAP__USERNAME": settings.username,
            "MENTORMAIL_IMAP__PASSWORD": imap_account.password,
            "MENTORMAIL_IMAP__AUTHSERV_IDS": AUTHSERV,
            "MENTORMAIL_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "daemon", "-c", str(CONFIG), "tick", "--at", AT]
        await asyncio.to_thread(imap_account.append, *replies(0))
        calm = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, **QUIET)
        assert await asyncio.wait_for(calm.wait(), timeout=120) == 0
        database = tmp_path / "state" / "mentormail.sqlite3"
        killed = 0
        for round_ in range(1, ROUNDS + 1):
            await asyncio.to_thread(imap_account.append, *replies(round_))
            # killed once it has recorded a random share of this round's replies (none yet:
            # logging in or fetching; all: moving them, composing and sending the answers),
            # however fast or busy the machine is
            before, at = _count(database, "inbox"), rng.randint(0, BATCH)
            proc = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, **QUIET)
            if await _killed_after(proc, lambda b=before, a=at: _count(database, "inbox") - b >= a):
                killed += 1
        final = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, **QUIET)
        assert await asyncio.wait_for(final.wait(), timeout=120) == 0
        await asyncio.sleep(0.2)

    assert killed >= ROUNDS - 1, "the kills must land while the replies are being read"
    assert imap_account.uids("INBOX") == []  # none left unprocessed
    assert len(imap_account.uids("Processed")) == TOTAL  # none deleted, none copied twice
    with sqlite3.connect(tmp_path / "state" / "mentormail.sqlite3") as db:
        kinds = Counter(k for (k,) in db.execute("SELECT kind FROM inbox"))
        recorded = Counter(m for (m,) in db.execute("SELECT message_id FROM inbox"))
        answers = Counter(
            s for (s,) in db.execute("SELECT state FROM outbox WHERE kind = 'answer'")
        )
    assert kinds == {"command": TOTAL}, kinds  # each once, no duplicate rows
    assert len(recorded) == TOTAL and set(recorded.values()) == {1}
    assert sum(answers.values()) == TOTAL and set(answers) <= {"sent", "unknown"}, answers
    delivered = Counter(m.message_id for m in server.received)
    assert max(delivered.values()) == 1  # no answer sent twice
    print(f"\n{killed} kills; answers {dict(answers)}")


def _count(database: Path, table: str) -> int:
    """Rows in `table`, read beside the writer (WAL)."""
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def _killed_after(proc: asyncio.subprocess.Process, ready: Callable[[], bool]) -> bool:
    """SIGKILL `proc` as soon as `ready()`; False if it ended first (polls for 120 s)."""
    for _ in range(2400):
        if proc.returncode is not None:
            return False
        if ready():
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            return True
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # a failure leaves no pass running behind the test
    await proc.wait()
    raise AssertionError("the pass neither progressed nor ended")
