"""A big backlog is composed by a child process while the pass delivers: the same rows as
composing here, every message delivered once; a child that dies costs nothing (the rest is
composed here); and a child never outlives the process that started it, however that ends."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.decide.decision import decide, replan
from daemon.ledger.snapshot import Snapshot
from daemon.mail.compose import Composer
from daemon.program.timeline import plan
from daemon.runtime import composer as composer_module
from daemon.runtime import enqueue as enqueue_module
from daemon.runtime.tick import run_tick
from daemon.store.sqlite import Store
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
KICKOFF = dt.datetime(2021, 7, 12, 23, tzinfo=dt.UTC)  # PeMento's first Monday, all zones due


def _decided() -> tuple[Composer, list[object]]:
    program = load_deployment(CONFIG).program
    replanned = replan(program, plan(program), Snapshot())
    decision = decide(replanned, Snapshot(), KICKOFF)
    return Composer(replanned.program, replanned.timeline, b"s" * 32), list(decision.sends)


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_the_child_composes_exactly_what_this_process_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    composer, sends = _decided()
    assert len(sends) >= 20
    monkeypatch.setattr(enqueue_module, "CHUNK", 7)  # several chunks, one in flight
    clock = Clock.frozen(KICKOFF)
    apart = [c async for c in enqueue_module._apart(composer, sends, clock)]  # type: ignore[arg-type]
    here = [c async for c in enqueue_module._here(composer, sends, clock)]  # type: ignore[arg-type]
    assert len(apart) == len(here) >= 3
    assert apart == here  # rows and invite versions, byte for byte


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_child_that_dies_costs_nothing(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(composer_module, "COMPOSE_APART", 1)
    monkeypatch.setattr(enqueue_module, "COMPOSE_APART", 1)
    monkeypatch.setattr(enqueue_module, "CHUNK", 5)
    original = composer_module.ChildComposer.result
    answered = [0]

    async def dying(self: composer_module.ChildComposer) -> object:
        answered[0] += 1
        if answered[0] == 2:  # the second chunk: the child is killed before it answers
            process = self._process
            assert process is not None
            process.kill()
        return await original(self)

    monkeypatch.setattr(composer_module.ChildComposer, "result", dying)
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(CONFIG)
        smtp = deployment.settings.smtp
        report = await run_tick(deployment, Clock.frozen(KICKOFF), lambda: SmtpTransport(smtp))
        again = await run_tick(deployment, Clock.frozen(KICKOFF), lambda: SmtpTransport(smtp))
    assert answered[0] >= 2
    assert report.outcomes["sent"] == report.enqueued >= 20 and again.enqueued == 0
    ids = server.message_ids()
    assert len(ids) == len(set(ids)) == report.enqueued  # every message once
    store = Store.open(rehearsal / "state")
    try:
        assert set(store.counts()) <= {"sent", "skipped"}  # (stale ones skipped, by policy)
    finally:
        store.close()


CHILD_OF_A_KILLED_PARENT = """
import asyncio, sys
from tests.test_composer import _decided
from daemon.runtime.composer import ChildComposer

async def main() -> None:
    composer, _ = _decided()
    async with ChildComposer(composer.program, composer.timeline, composer.secret) as child:
        print(child._process.pid, flush=True)
        await asyncio.sleep(600)  # killed long before

asyncio.run(main())
"""


@pytest.mark.timeout(60)
def test_the_child_ends_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD_OF_A_KILLED_PARENT],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the composing child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
        if child and _alive(child):  # a failure leaves no child behind for its 600 s
            os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for init to reap it does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_alive_tells_a_running_process() -> None:
    """(Else the test above could not fail.)"""
    assert _alive(os.getpid())
