"""Holds on all sending, deadlines and superseded invites — regressions from the review of the
sending path: a provider pause and an unusable server are remembered across ticks and
restarts, the daily limit is counted from the store, a retry past its deadline fails and is
reported, a send waiting for the rate limit is never claimed, an older invite version never
goes out after a newer one."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.ledger.records import OutboxRow
from daemon.runtime.deliver import deliver
from daemon.store.sqlite import Store
from daemon.transport.smtp import Outcome, SendResult
from tests.conftest import mini_program
from tests.smtp_server import SmtpServer
from tests.test_delivery_faults import PEOPLE, WEEK1, _alerts, _states, _tick

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def config(rehearsal: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MENTORMAIL_SMTP__TIMEOUT_SECONDS", "2")
    yield mini_program(rehearsal, PEOPLE, weeks=2)


@pytest.mark.asyncio
async def test_a_provider_pause_holds_the_next_ticks_too(config: Path, tmp_path: Path) -> None:
    async with SmtpServer() as server:
        server.fault("MAIL", "452 4.5.3 Daily sending quota exceeded", times=1)
        _, first = await _tick(config, server, WEEK1)
        assert first.paused_until == WEEK1 + dt.timedelta(hours=1)
        sent = len(server.received)  # the other connection may have sent its message
        _, second = await _tick(config, server, WEEK1 + 10 * MINUTE)  # the server is fine now
        assert len(server.received) == sent, "a later tick ignored the provider's pause"
        assert second.paused_until == first.paused_until and "quota" in second.halted
        assert second.next_due == first.paused_until  # the service sleeps until then
        await _tick(config, server, WEEK1 + 61 * MINUTE)
        assert set(_states(tmp_path).values()) == {"sent"}


@pytest.mark.asyncio
async def test_an_unusable_server_is_retried_with_a_growing_backoff(
    config: Path, tmp_path: Path
) -> None:
    async with SmtpServer() as server:
        server.fault("GREETING", "421 4.7.0 Try again later", times=100)
        _, first = await _tick(config, server, WEEK1)
        assert first.paused_until == WEEK1 + 5 * MINUTE and "421" in first.halted
        assert first.next_due == first.paused_until  # not a past instant: no busy re-arming
        connections = server.connections
        await _tick(config, server, WEEK1 + MINUTE)
        assert server.connections == connections, "a held tick still connected"
        _, third = await _tick(config, server, WEEK1 + 6 * MINUTE)
        assert third.paused_until == WEEK1 + 16 * MINUTE  # 5 min, then 10
        assert set(_states(tmp_path).values()) == {"pending"} and not server.received


@pytest.mark.asyncio
async def test_the_daily_limit_is_counted_across_ticks(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTORMAIL_SMTP__MAX_PER_DAY", "1")
    async with SmtpServer() as server:
        _, first = await _tick(config, server, WEEK1)
        assert len(server.received) == 1 and first.paused_until == WEEK1 + dt.timedelta(days=1)
        await _tick(config, server, WEEK1 + dt.timedelta(hours=2))
        assert len(server.received) == 1, "a new tick forgot the day's count"
        await _tick(config, server, WEEK1 + dt.timedelta(days=1, seconds=1))
        assert len(server.received) == 2 and set(_states(tmp_path).values()) == {"sent"}


@pytest.mark.asyncio
async def test_a_retry_past_its_deadline_fails_and_is_reported(
    config: Path, tmp_path: Path
) -> None:
    async with SmtpServer() as server:
        server.fault("RCPT", "451 4.3.0 Try later", address="ann@example.org", times=1000)
        await _tick(config, server, WEEK1)
        assert _states(tmp_path)["ann@example.org"] == "pending"
        _, late = await _tick(config, server, WEEK1 + dt.timedelta(days=20))
        assert _state(tmp_path, "weekly/0/ann@example.org") == "failed"
        assert late.outcomes["failed"] == 1
        [alert] = _alerts(server)
        assert "deadline" in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert all(r.rcpt_tos != ("ann@example.org",) for r in server.received)


def _state(tmp_path: Path, suffix: str) -> str:
    store = Store.open(tmp_path / "state")
    try:
        [state] = [
            r.state for r in store.rows() if r.key.endswith(suffix) and "/alert/" not in r.key
        ]
        return state
    finally:
        store.close()


def _row(key: str, *, uid: str | None = None, sequence: int | None = None) -> OutboxRow:
    return OutboxRow(
        key=key, action_key=key, kind="invite" if uid else "email", title=key,
        recipients=("ann@example.org",), message_id=f"<{key}@x>", token=key,
        planned_at=WEEK1, deadline_at=WEEK1 + dt.timedelta(days=5), message=b"Subject: x\r\n\r\nx",
        event_uid=uid, sequence=sequence,
    )  # fmt: skip


def test_a_newer_invite_version_supersedes_an_unsent_older_one(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state")
    try:
        store.enqueue(
            [_row("call", uid="u1", sequence=0), _row("other", uid="u2", sequence=0)], WEEK1
        )
        store.enqueue([_row("call/v1", uid="u1", sequence=1)], WEEK1)
        states = {r.key: (r.state, r.last_error) for r in store.rows()}
        assert states["call"] == ("skipped", "superseded by sequence 1")
        assert states["other"][0] == "pending" and states["call/v1"][0] == "pending"
        store.enqueue([_row("call/cancel/2", uid="u1", sequence=2)], WEEK1)
        assert [r.key for r in store.due(WEEK1)] == ["call/cancel/2", "other"]
    finally:
        store.close()


class _Stuck:
    """A transport whose rate limit never lets a send start."""

    def __init__(self) -> None:
        self.sent = 0
        self.waiting = asyncio.Event()

    async def wait_turn(self) -> None:
        self.waiting.set()
        await asyncio.Event().wait()

    async def send(self, message: bytes, sender: str, recipients: list[str]) -> SendResult:
        self.sent += 1
        return SendResult(Outcome.SENT, 250, "ok")


@pytest.mark.asyncio
async def test_a_send_waiting_for_the_rate_limit_is_not_claimed(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state")
    try:
        store.enqueue([_row("a"), _row("b")], WEEK1)
        transport = _Stuck()
        task = asyncio.create_task(deliver(store, transport, "mini@example.org", WEEK1))
        # cancelled while it waits for its turn (after a 0.2 s sleep, a busy machine could
        # cancel it before it got there, and the test passed without testing the wait)
        await asyncio.wait_for(transport.waiting.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert {r.state for r in store.rows()} == {"pending"}  # not 'sending': nothing is lost
        assert store.recover(WEEK1) == [] and transport.sent == 0
    finally:
        store.close()


@pytest.mark.asyncio
async def test_tick_exits_1_only_when_the_server_cannot_be_used(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider pause is normal life (exit 0); a server that refuses us needs a person."""
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        server.fault("MAIL", "452 4.5.3 Daily sending quota exceeded", times=10)
        code = await asyncio.to_thread(
            main, ["-c", str(config), "tick", "--at", "2026-03-03T00:00Z"]
        )
        assert code == 0
    async with SmtpServer() as server:  # the pause is over by 02:00; now the server refuses us
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        server.fault("GREETING", "421 4.7.0 Try again later", times=100)
        code = await asyncio.to_thread(
            main, ["-c", str(config), "tick", "--at", "2026-03-03T02:00Z"]
        )
        assert code == 1
