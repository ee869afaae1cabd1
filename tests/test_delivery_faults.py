"""What a tick does with each SMTP fault, end to end over aiosmtpd: the outbox state, the
alerts to organizers, and what the next tick does (never a blind re-send of an unknown)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import trustme

from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.config.load import load_deployment
from daemon.runtime.tick import TickReport, run_tick
from daemon.store.sqlite import Store
from daemon.transport.smtp import SmtpTransport
from tests.conftest import mini_program
from tests.smtp_server import DROP, Late, SmtpServer

PEOPLE = [
    ("Ann Mentor", "ann@example.org", "America/New_York", "mentor"),
    ("Bo Mentee", "bo@example.org", "Australia/Sydney", "mentee"),
]
WEEK1 = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)  # both Monday-09:00 sends are due


@pytest.fixture
def config(rehearsal: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MENTORMAIL_SMTP__TIMEOUT_SECONDS", "2")
    yield mini_program(rehearsal, PEOPLE, weeks=2)


async def _tick(
    config: Path, server: SmtpServer, at: dt.datetime, tls: ssl.SSLContext | None = None
) -> tuple[Deployment, TickReport]:
    with mock.patch.dict(os.environ, {"MENTORMAIL_SMTP__PORT": str(server.port)}):
        deployment = load_deployment(config)
    settings = deployment.settings.smtp
    report = await run_tick(
        deployment,
        Clock.frozen(at),
        lambda: SmtpTransport(settings, tls_context=tls, data_timeout=1.0),
    )
    return deployment, report


def _states(tmp_path: Path) -> dict[str, str]:
    store = Store.open(tmp_path / "state")
    try:
        return {r.key.split("/")[-1]: r.state for r in store.rows() if "/alert/" not in r.key}
    finally:
        store.close()


def _alerts(server: SmtpServer) -> list[email.message.EmailMessage]:
    out = []
    for r in server.received:
        m = email.message_from_bytes(r.content, policy=email.policy.default)
        if str(m["Subject"]).startswith("Delivery "):
            out.append(m)  # type: ignore[arg-type]
    return out


@pytest.mark.asyncio
async def test_rejected_recipient_fails_and_organizers_are_told(
    config: Path, tmp_path: Path
) -> None:
    async with SmtpServer() as server:
        server.fault("RCPT", "550 5.1.1 No such user", address="bo@example.org")
        await _tick(config, server, WEEK1)
        assert _states(tmp_path) == {"ann@example.org": "sent", "bo@example.org": "failed"}
        [alert] = _alerts(server)
        assert "failed" in str(alert["Subject"]) and "olive@example.org" in str(alert["To"])
        assert "550" in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        before = len(server.received)
        await _tick(config, server, WEEK1 + dt.timedelta(hours=1))
        assert len(server.received) == before  # neither re-sent nor alerted twice


@pytest.mark.asyncio
async def test_lost_after_the_final_dot_is_unknown_and_never_resent(
    config: Path, tmp_path: Path
) -> None:
    async with SmtpServer() as server:
        server.fault("DATA", DROP)
        await _tick(config, server, WEEK1)
        states = _states(tmp_path)
        assert sorted(states.values()) == ["sent", "unknown"]
        [alert] = _alerts(server)
        assert "unknown" in str(alert["Subject"])
        delivered = [r.message_id for r in server.received]
        await _tick(config, server, WEEK1 + dt.timedelta(days=1))
        assert [r.message_id for r in server.received] == delivered


@pytest.mark.asyncio
async def test_reply_later_than_the_timeout_is_unknown(config: Path, tmp_path: Path) -> None:
    async with SmtpServer() as server:
        server.fault("DATA", Late(2.0))
        await _tick(config, server, WEEK1)
        assert sorted(_states(tmp_path).values()) == ["sent", "unknown"]


@pytest.mark.asyncio
async def test_temporary_failure_retries_later_with_the_same_message(
    config: Path, tmp_path: Path
) -> None:
    async with SmtpServer() as server:
        server.fault("RCPT", "451 4.7.1 Greylisted, try again", address="ann@example.org")
        await _tick(config, server, WEEK1)
        assert _states(tmp_path)["ann@example.org"] == "pending"
        first = {r.message_id for r in server.received}
        await _tick(config, server, WEEK1 + dt.timedelta(minutes=1))  # too early to retry
        assert _states(tmp_path)["ann@example.org"] == "pending"
        await _tick(config, server, WEEK1 + dt.timedelta(minutes=10))
        assert _states(tmp_path)["ann@example.org"] == "sent"
        assert len({r.message_id for r in server.received} - first) == 1  # the same Message-ID once


@pytest.mark.asyncio
async def test_provider_quota_pauses_all_sending(config: Path, tmp_path: Path) -> None:
    async with SmtpServer() as server:
        server.fault("MAIL", "452 4.5.3 Too many messages, daily sending quota exceeded", times=5)
        _, report = await _tick(config, server, WEEK1)
        assert report.paused_until is not None
        assert set(_states(tmp_path).values()) == {"pending"} and not server.received


@pytest.mark.asyncio
async def test_greeting_421_and_refused_login_stop_the_pass_and_lose_nothing(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    monkeypatch.setenv("MENTORMAIL_SMTP__SECURITY", "starttls")
    monkeypatch.setenv("MENTORMAIL_SMTP__USERNAME", "olive")
    monkeypatch.setenv("MENTORMAIL_SMTP__PASSWORD", "wrong")
    async with SmtpServer(starttls=server_tls, users={"olive": "right"}) as server:
        _, report = await _tick(config, server, WEEK1, client_tls)
        assert "535" in report.halted
        assert set(_states(tmp_path).values()) == {"pending"}
        monkeypatch.setenv("MENTORMAIL_SMTP__PASSWORD", "right")
        await _tick(config, server, WEEK1 + dt.timedelta(minutes=10), client_tls)
        assert set(_states(tmp_path).values()) == {"sent"}
    monkeypatch.setenv("MENTORMAIL_SMTP__SECURITY", "none")
    monkeypatch.delenv("MENTORMAIL_SMTP__USERNAME")
    async with SmtpServer() as server:
        server.fault("GREETING", "421 4.7.0 Try again later", times=10)
        await _tick(config, server, WEEK1 + dt.timedelta(days=1))
        assert not server.received
