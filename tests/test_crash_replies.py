"""Crash test for reading: SIGKILL `mentormail tick` while it works through a batch of 500
replies in a real Dovecot, round after round (each round brings 500 more), then let one pass
finish. Every reply is recorded exactly once, none is left in the inbox, none is deleted, and
no answer is sent twice. Kills are timed from a calm first round, all through a pass."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, rehearsal_env
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
            f"From: {sender}\r\nTo: pemento-replies@example.org\r\nSubject: help {n}\r\n"
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
            "MENTORMAIL_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "daemon", "-c", str(CONFIG), "tick", "--at", AT]
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(imap_account.append, *replies(0))
        began = loop.time()
        calm = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, **QUIET)
        assert await asyncio.wait_for(calm.wait(), timeout=120) == 0
        burst = loop.time() - began
        killed = 0
        for round_ in range(1, ROUNDS + 1):
            await asyncio.to_thread(imap_account.append, *replies(round_))
            proc = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, **QUIET)
            try:
                await asyncio.wait_for(proc.wait(), timeout=rng.uniform(0.3, 1.0) * burst)
            except TimeoutError:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                killed += 1
        final = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, **QUIET)
        assert await asyncio.wait_for(final.wait(), timeout=120) == 0
        await asyncio.sleep(0.2)

    assert killed >= 3, "the kills must land while the replies are being read"
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
