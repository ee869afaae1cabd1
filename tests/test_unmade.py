"""One message that cannot be composed does not stop the pass: it is recorded failed (never
sent), the organizers are told, and everyone else's mail goes. An exception used to fail the
whole pass, and every pass after it: nobody got any mail."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.decide.sends import Send
from daemon.ledger.records import Failure
from daemon.mail.compose import Composer
from daemon.program.timeline import plan
from daemon.runtime.tick import run_tick
from daemon.store.sqlite import Store
from daemon.transport.smtp import SmtpTransport
from tests.conftest import mini_program, write
from tests.smtp_server import SmtpServer

PEOPLE = [
    ("Ann Adler", "ann@example.org", "America/Chicago", "mentor"),
    ("Bo Brandt", "bo@example.org", "America/Chicago", "mentee"),
]
FIRST = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # week 1, Monday 09:00 in Chicago


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_message_that_cannot_be_made_fails_alone_and_is_reported(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = mini_program(rehearsal, PEOPLE, digest=False)
    write(  # a template that fails for one reader only (validate would have said so)
        rehearsal / "templates" / "note.md.j2",
        '{% if recipient.first_name == "Bo" %}{{ 1 / 0 }}{% endif %}Hi, week {{ week }}.\n',
    )
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(config)
        smtp = deployment.settings.smtp
        report = await run_tick(deployment, Clock.frozen(FIRST), lambda: SmtpTransport(smtp))
        assert report.outcomes == {"sent": 1}
        assert [r.rcpt_tos for r in server.received] == [("ann@example.org",)]
        store = Store.open(deployment.settings.state.path)
        try:
            (failed,) = store.rows("failed")
            assert failed.recipients == ("bo@example.org",) and failed.message == b""
            assert failed.last_error.startswith("cannot be composed: ")
            assert failed.last_error.endswith("/note.md.j2:1: cannot render: division by zero")
        finally:
            store.close()
        # the next pass tells the organizers, once; Bo's message is never sent
        later = FIRST + dt.timedelta(minutes=5)
        for at in (later, later + dt.timedelta(minutes=5)):
            await run_tick(deployment, Clock.frozen(at), lambda: SmtpTransport(smtp))
        alerts = [r for r in server.received if r.rcpt_tos == ("olive@example.org",)]
        assert len(alerts) == 1
        message = email.message_from_bytes(alerts[0].content, policy=email.policy.default)
        text = message.get_body(("plain",))
        assert text is not None and "division by zero" in text.get_content()
        assert all("bo@example.org" not in r.rcpt_tos for r in server.received)


def test_a_fault_of_ours_is_recorded_with_its_kind(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    deployment = load_deployment(mini_program(rehearsal, PEOPLE))
    program = deployment.program
    timeline = plan(program)
    composer = Composer(program, timeline, b"secret")
    action = next(a for a in timeline if a.kind == "email")

    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(composer.renderer, "render", broken)
    row, version = composer.row(Send(action.key, action), FIRST)
    assert (row.state, row.last_error, version) == (
        "failed",
        "cannot be composed: RuntimeError: a bug",
        None,
    )
    assert "a bug" in caplog.text and "Traceback" in caplog.text  # its traceback is logged


def test_a_cancellation_or_an_alert_that_cannot_be_made_fails_alone(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = load_deployment(Path(__file__).parent.parent / "config.example.toml").program
    timeline = plan(program)
    composer = Composer(program, timeline, b"secret")
    action = next(a for a in timeline if a.kind == "invite")
    _, version = composer.row(Send(action.key, action), FIRST)
    assert version is not None

    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(composer.renderer, "render", broken)
    row, cancelled = composer.cancel(version, FIRST)
    assert (row.state, row.kind, cancelled.status) == ("failed", "cancel", "cancelled")
    failure = Failure("k/x", "email", "Week 1", ("bo@example.org",), "failed", "550", "<x@y>", 1)
    alert = composer.alert(failure, FIRST)
    assert (alert.state, alert.kind, alert.message) == ("failed", "alert", b"")
    assert alert.last_error == "cannot be composed: RuntimeError: a bug"
