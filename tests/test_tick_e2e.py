"""End to end over real SMTP (aiosmtpd on 127.0.0.1): ticking through the whole PeMento program
delivers exactly the planned messages, to the planned recipients, at the planned instants."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import trustme

from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.config.load import load_deployment
from daemon.decide.sends import SENDABLE
from daemon.mail.message import domain_of, message_id
from daemon.program.timeline import Action, plan
from daemon.runtime.tick import run_tick
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
PASSWORD = "correct horse battery staple"


def _program(monkeypatch: pytest.MonkeyPatch, port: int) -> Deployment:
    monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(port))
    return load_deployment(CONFIG)


def _sendable(timeline: list[Action]) -> list[Action]:
    return [a for a in timeline if a.kind in SENDABLE]


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_whole_program_at_the_planned_instants(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SmtpServer() as server:
        deployment = _program(monkeypatch, server.port)
        timeline = _sendable(plan(deployment.program))
        domain = domain_of(deployment.program.sender.address)
        smtp = deployment.settings.smtp
        expected = {message_id(a.key, domain): a for a in timeline}
        instants = sorted({a.at for a in timeline})
        for at in instants:
            report = await run_tick(deployment, Clock.frozen(at), lambda: SmtpTransport(smtp))
            assert report.skipped == 0 and not report.outcomes.keys() - {"sent"}
        got = server.message_ids()
        assert len(got) == len(set(got)) == len(expected)  # every planned send, exactly once
        assert set(got) == set(expected)
        for received in server.received:
            action = expected[str(received.message_id)]
            assert received.rcpt_tos == action.recipients
            message = email.message_from_bytes(received.content, policy=email.policy.default)
            assert parsedate_to_datetime(str(message["Date"])) == action.at
            assert message["Auto-Submitted"] == "auto-generated"
            assert str(message["Reply-To"]).startswith("pemento+")
        # repeating a tick, or ticking later, sends nothing more
        before = len(server.received)
        for at in (instants[-1], instants[-1] + dt.timedelta(days=30)):
            report = await run_tick(deployment, Clock.frozen(at), lambda: SmtpTransport(smtp))
            assert report.enqueued == 0
        assert len(server.received) == before


@pytest.mark.asyncio
async def test_starttls_and_auth(rehearsal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    monkeypatch.setenv("MENTORMAIL_SMTP__SECURITY", "starttls")
    monkeypatch.setenv("MENTORMAIL_SMTP__USERNAME", "pemento")
    monkeypatch.setenv("MENTORMAIL_SMTP__PASSWORD", PASSWORD)
    async with SmtpServer(starttls=server_ctx, users={"pemento": PASSWORD}) as server:
        deployment = _program(monkeypatch, server.port)
        at = dt.datetime(2021, 7, 5, 20, tzinfo=dt.UTC)  # the welcome and invitations are due
        due = [a for a in _sendable(plan(deployment.program)) if a.at <= at]
        smtp = deployment.settings.smtp
        report = await run_tick(
            deployment, Clock.frozen(at), lambda: SmtpTransport(smtp, tls_context=client_ctx)
        )
        assert report.outcomes["sent"] == len(due) > 0
        assert all(r.tls and r.login == "pemento" for r in server.received)
