"""A big backlog is composed by a worker process while the tick delivers: the same rows as
composing in-process, every message delivered once, and a worker that dies mid-way costs
nothing (the rest is composed in-process)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from daemon.config.load import load_program
from daemon.decide.sends import SENDABLE, decide
from daemon.mail.compose import Composer
from daemon.program.timeline import plan
from daemon.runtime import backlog as backlog_module
from daemon.runtime.backlog import Backlog, Composed
from daemon.runtime.tick import run_tick
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
KICKOFF = dt.datetime(2021, 7, 12, 23, tzinfo=dt.UTC)  # PeMento's first Monday, all zones due


async def _compose(pool_min: int, *, kill_after: int | None = None) -> Composed:
    program = load_program(CONFIG)
    timeline = plan(program)
    composer = Composer(program, timeline, b"s" * 32)
    sends = decide(timeline, set(), {}, composer.invite_hash, KICKOFF).sends
    assert len(sends) >= 20
    backlog = Backlog(composer, timeline, b"s" * 32, sends, KICKOFF, pool_min=pool_min)
    out: Composed = []
    async for chunk in backlog:
        out += chunk
        if kill_after is not None and len(out) >= kill_after:
            for child in multiprocessing.active_children():
                os.kill(child.pid or 0, signal.SIGKILL)
            kill_after = None
    return out


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_the_worker_composes_exactly_what_this_process_would(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backlog_module, "POOL_CHUNK", 7)
    here = await _compose(pool_min=10**9)
    pooled = await _compose(pool_min=1)
    assert pooled == here


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_dead_worker_leaves_nothing_out(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backlog_module, "POOL_CHUNK", 3)
    monkeypatch.setattr(backlog_module, "AHEAD", 1)
    here = await _compose(pool_min=10**9)
    survived = await _compose(pool_min=1, kill_after=3)
    assert survived == here


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_pooled_tick_delivers_every_send_once(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backlog_module, "POOL_CHUNK", 5)
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        program = load_program(CONFIG)
        due = [
            a for a in plan(program)
            if a.at <= KICKOFF and a.kind in SENDABLE and not (a.stale_at and a.stale_at <= KICKOFF)
        ]  # fmt: skip
        assert len(due) >= 20

        def transport() -> SmtpTransport:
            return SmtpTransport(program.config.smtp)

        report = await run_tick(program, CONFIG, KICKOFF, transport, pool_min=1)
        assert report.outcomes == {"sent": len(due)} and report.enqueued == len(due)
        again = await run_tick(program, CONFIG, KICKOFF, transport, pool_min=1)
        assert again.enqueued == 0 and not again.outcomes
        ids = server.message_ids()
        assert len(ids) == len(set(ids)) == len(due)
