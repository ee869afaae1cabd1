"""The SMTP adapter against a real aiosmtpd server on 127.0.0.1: plain, STARTTLS, implicit TLS,
AUTH, a fault script for every reply class, connection reuse, and the rate limiter."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import trustme

from daemon.config.settings import SmtpSettings
from daemon.errors import MentormailError
from daemon.transport.ratelimit import RateLimiter
from daemon.transport.smtp import (
    Outcome,
    Phase,
    SmtpTransport,
    TransportError,
    classify,
)
from tests.smtp_server import DROP, HOST, Late, SmtpServer

SENDER = "bounces@mini.example.org"
ANA = "ana@example.org"
BOB = "bob@example.org"
PASSWORD = "s3cret-Pa55word"


def message(n: int, to: str = ANA) -> bytes:
    return (
        f"From: Mini Program <mini@example.org>\r\nTo: {to}\r\nSubject: Week {n}\r\n"
        f"Message-ID: {mid(n)}\r\n\r\nHello, week {n}.\r\n"
    ).encode()


def mid(n: int) -> str:
    return f"<{n}.week@mini.example.org>"


def settings(server: SmtpServer | int, **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": HOST,
        "port": server if isinstance(server, int) else server.port,
        "security": "none",
        "timeout_seconds": 2.0,
        "max_per_minute": 0,
    }
    values.update(overrides)
    return SmtpSettings(**values)


async def assert_sends(transport: SmtpTransport, server: SmtpServer, n: int) -> None:
    """The transport still works: message n is delivered, exactly once."""
    result = await transport.send(message(n), SENDER, [ANA])
    assert result.outcome is Outcome.SENT, result
    assert server.message_ids().count(mid(n)) == 1


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest_asyncio.fixture
async def server() -> AsyncIterator[SmtpServer]:
    async with SmtpServer() as running:
        yield running


@pytest_asyncio.fixture
async def transport(server: SmtpServer) -> AsyncIterator[SmtpTransport]:
    async with SmtpTransport(settings(server), data_timeout=0.5) as running:
        yield running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


# --- the rate limiter (pure) -------------------------------------------------------------

LIMITS = [
    # per_minute, sends recorded at, now, expected delay
    (0, [0.0] * 500, 0.0, 0.0),
    (2, [], 0.0, 0.0),
    (2, [0.0], 0.0, 0.0),
    (2, [0.0, 1.0], 1.0, 59.0),
    (2, [0.0, 30.0], 59.0, 1.0),
    (2, [0.0, 30.0], 60.0, 0.0),  # a send exactly 60 s old has left the window
    (2, [0.0, 30.0, 60.0], 61.0, 29.0),
    (3, [0.0, 10.0, 20.0], 30.0, 30.0),
    (1, [0.0], 30.0, 30.0),
]


@pytest.mark.parametrize(("per_minute", "sends", "now", "expected"), LIMITS)
def test_rate_limiter_windows(
    per_minute: int, sends: list[float], now: float, expected: float
) -> None:
    limiter = RateLimiter(per_minute)
    for t in sends:
        limiter.record(t)
    assert limiter.delay(now) == pytest.approx(expected)


def test_rate_limiter_refuses_a_negative_limit() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        RateLimiter(-1)


# --- the outcome table (pure) ------------------------------------------------------------

TABLE = [
    ("end", 250, "2.0.0 OK queued as 1234", Outcome.SENT),
    ("connect", 421, "4.7.0 Try again later, closing connection", Outcome.PAUSE),
    ("connect", 554, "No SMTP service here", Outcome.FAILED),
    ("AUTH", 454, "4.7.0 Too many login attempts, please try again later", Outcome.PAUSE),
    ("AUTH", 535, "5.7.8 Username and Password not accepted", Outcome.FAILED),
    ("MAIL FROM", 450, "4.2.1 Peak SMTP relay limit exceeded", Outcome.PAUSE),
    ("MAIL FROM", 450, "4.2.0 Temporary failure", Outcome.RETRY),
    ("MAIL FROM", 451, "4.7.1 Greylisted, please try again", Outcome.RETRY),
    ("MAIL FROM", 452, "4.3.1 Insufficient system storage", Outcome.PAUSE),
    ("MAIL FROM", 454, "Throttling failure: Maximum sending rate exceeded.", Outcome.PAUSE),
    ("MAIL FROM", 550, "5.4.5 Daily user sending quota exceeded.", Outcome.PAUSE),
    ("MAIL FROM", 550, "5.7.0 Sender address rejected", Outcome.FAILED),
    (
        "MAIL FROM",
        554,
        "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceeded",
        Outcome.PAUSE,
    ),
    ("RCPT TO", 421, "4.7.0 Try again later", Outcome.PAUSE),
    ("RCPT TO", 450, "4.2.1 Peak SMTP relay limit exceeded", Outcome.PAUSE),
    ("RCPT TO", 451, "4.7.1 Greylisted", Outcome.RETRY),
    ("RCPT TO", 452, "4.5.3 Too many recipients", Outcome.RETRY),
    ("RCPT TO", 452, "4.2.2 Mailbox over quota", Outcome.RETRY),
    ("RCPT TO", 550, "5.1.1 No such user", Outcome.FAILED),
    ("RCPT TO", 550, "5.7.1 Daily SMTP relay limit exceeded for customer", Outcome.PAUSE),
    ("RCPT TO", 550, "5.7.1 Relaying denied", Outcome.FAILED),
    ("RCPT TO", 552, "5.2.2 Mailbox full", Outcome.RETRY),
    ("RCPT TO", 552, "Too many recipients", Outcome.RETRY),
    ("RCPT TO", 550, "User over quota", Outcome.FAILED),  # the recipient's quota, not ours
    ("DATA", 451, "4.3.0 Temporary error", Outcome.RETRY),
    ("DATA", 554, "5.5.1 No valid recipients", Outcome.FAILED),
    ("end", 421, "4.3.0 Too many concurrent connections", Outcome.PAUSE),
    ("end", 451, "4.3.0 Error: queue file write error", Outcome.RETRY),
    ("end", 552, "5.3.4 Message size exceeds fixed limit", Outcome.FAILED),
    ("end", 554, "5.7.1 Message rejected as spam", Outcome.FAILED),
    ("STARTTLS", 454, "4.7.0 TLS not available due to temporary reason", Outcome.PAUSE),
    ("DATA", 250, "unexpected", Outcome.RETRY),
]


@pytest.mark.parametrize(("phase", "code", "text", "expected"), TABLE)
def test_classify(phase: Phase, code: int, text: str, expected: Outcome) -> None:
    assert classify(phase, code, text) is expected


# --- faults on a plain server -------------------------------------------------------------

FAULTS = [
    # command, reply, expected outcome
    ("MAIL", "550 5.7.0 Sender address rejected", Outcome.FAILED),
    ("MAIL", "452 4.3.1 Insufficient system storage", Outcome.PAUSE),
    ("MAIL", "454 Throttling failure: Maximum sending rate exceeded.", Outcome.PAUSE),
    ("MAIL", "550 5.4.5 Daily user sending quota exceeded.", Outcome.PAUSE),
    ("MAIL", "450 4.2.1 Peak SMTP relay limit exceeded", Outcome.PAUSE),
    ("RCPT", "451 4.7.1 Greylisted, please try again later", Outcome.RETRY),
    ("RCPT", "550 5.1.1 No such user", Outcome.FAILED),
    ("RCPT", "552 5.5.3 Too many recipients", Outcome.RETRY),
    ("RCPT", "452 4.5.3 Too many recipients", Outcome.RETRY),
    ("RCPT", "421 4.7.0 Try again later, closing connection", Outcome.PAUSE),
    ("RCPT", "550 5.7.1 Daily SMTP relay limit exceeded for customer", Outcome.PAUSE),
    ("DATA", "451 4.3.0 Error: queue file write error", Outcome.RETRY),
    ("DATA", "554 5.7.1 Message rejected", Outcome.FAILED),
    ("DATA", "421 4.3.0 Too many concurrent connections", Outcome.PAUSE),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("command", "reply", "expected"), FAULTS)
async def test_fault_reply(
    server: SmtpServer, transport: SmtpTransport, command: str, reply: str, expected: Outcome
) -> None:
    await assert_sends(transport, server, 0)  # a pooled connection exists before the fault
    server.fault(command, reply)
    result = await transport.send(message(1), SENDER, [ANA])
    assert result.outcome is expected
    assert result.code == int(reply[:3])
    assert reply[4:] in result.detail
    assert mid(1) not in server.message_ids()
    await assert_sends(transport, server, 2)
    assert server.message_ids() == [mid(0), mid(2)]


@pytest.mark.asyncio
async def test_greeting_421_on_the_first_connection(
    server: SmtpServer, transport: SmtpTransport
) -> None:
    server.fault("GREETING", "421 4.7.0 Try again later, closing connection")
    result = await transport.send(message(0), SENDER, [ANA])
    assert (result.outcome, result.code) == (Outcome.PAUSE, 421)
    await assert_sends(transport, server, 1)


@pytest.mark.asyncio
async def test_partial_recipient_refusal(server: SmtpServer, transport: SmtpTransport) -> None:
    server.fault("RCPT", "550 5.1.1 No such user", address=BOB)
    result = await transport.send(message(0), SENDER, [ANA, BOB])
    assert result.outcome is Outcome.SENT
    assert result.refused == (BOB,)
    assert "550 5.1.1 No such user" in result.detail
    assert [r.rcpt_tos for r in server.received] == [(ANA,)]
    await assert_sends(transport, server, 1)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("replies", "expected", "code"),
    [
        (("550 5.1.1 No such user", "550 5.1.1 No such user"), Outcome.FAILED, 550),
        (("550 5.1.1 No such user", "451 4.7.1 Greylisted"), Outcome.RETRY, 451),
        (
            ("451 4.7.1 Greylisted", "550 5.4.5 Daily user sending quota exceeded"),
            Outcome.PAUSE,
            550,
        ),
    ],
)
async def test_every_recipient_refused(
    server: SmtpServer,
    transport: SmtpTransport,
    replies: tuple[str, str],
    expected: Outcome,
    code: int,
) -> None:
    server.fault("RCPT", replies[0], address=ANA)
    server.fault("RCPT", replies[1], address=BOB)
    result = await transport.send(message(0), SENDER, [ANA, BOB])
    assert (result.outcome, result.code, result.refused) == (expected, code, ())
    assert server.received == []
    assert server.commands["RSET"] == 1  # the connection is reset and reused
    await assert_sends(transport, server, 1)
    assert server.connections == 1


@pytest.mark.asyncio
async def test_connection_dropped_after_final_dot_is_unknown(
    server: SmtpServer, transport: SmtpTransport
) -> None:
    server.fault("DATA", DROP)
    result = await transport.send(message(0), SENDER, [ANA])
    assert (result.outcome, result.code) == (Outcome.UNKNOWN, None)
    assert "may have been delivered" in result.detail
    await assert_sends(transport, server, 1)
    assert server.message_ids() == [mid(0), mid(1)]  # exactly once each, no resend
    assert server.connections == 2  # the connection with no reply was not reused


@pytest.mark.asyncio
async def test_reply_later_than_the_data_timeout_is_unknown(
    server: SmtpServer, transport: SmtpTransport
) -> None:
    server.fault("DATA", Late(2.0))  # the transport waits 0.5 s for the reply to the dot
    result = await transport.send(message(0), SENDER, [ANA])
    assert result.outcome is Outcome.UNKNOWN
    assert "timed out" in result.detail
    await assert_sends(transport, server, 1)
    assert server.message_ids() == [mid(0), mid(1)]
    assert server.commands["DATA"] == 2


@pytest.mark.asyncio
async def test_slow_command_times_out_before_data_and_is_retried(server: SmtpServer) -> None:
    async with SmtpTransport(settings(server, timeout_seconds=0.2)) as transport:
        server.fault("RCPT", Late(1.0))
        result = await transport.send(message(0), SENDER, [ANA])
        assert result.outcome is Outcome.RETRY
        assert "timed out at RCPT TO" in result.detail
        await assert_sends(transport, server, 1)


@pytest.mark.asyncio
async def test_connection_refused_is_retry() -> None:
    async with SmtpTransport(settings(free_port())) as transport:
        result = await transport.send(message(0), SENDER, [ANA])
        assert (result.outcome, result.code) == (Outcome.RETRY, None)
        with pytest.raises(TransportError, match="connect") as raised:
            await transport.check()
        assert isinstance(raised.value, MentormailError)
        assert raised.value.result is not None
        assert raised.value.result.outcome is Outcome.RETRY


@pytest.mark.asyncio
async def test_server_closed_idle_connection(server: SmtpServer, transport: SmtpTransport) -> None:
    await assert_sends(transport, server, 0)
    await server.drop_connections()
    await asyncio.sleep(0.05)
    await assert_sends(transport, server, 1)
    assert server.connections == 2


@pytest.mark.asyncio
async def test_pooled_connection_dead_at_mail_is_replaced_once(
    server: SmtpServer, transport: SmtpTransport
) -> None:
    await assert_sends(transport, server, 0)
    server.fault("MAIL", DROP)
    await assert_sends(transport, server, 1)
    assert server.connections == 2
    server.fault("MAIL", DROP, times=2)  # the replacement dies too: give up, retry later
    result = await transport.send(message(2), SENDER, [ANA])
    assert result.outcome is Outcome.RETRY
    await assert_sends(transport, server, 3)
    assert server.message_ids() == [mid(0), mid(1), mid(3)]


@pytest.mark.asyncio
async def test_421_at_mail_on_a_pooled_connection_tries_a_new_one(
    server: SmtpServer, transport: SmtpTransport
) -> None:
    await assert_sends(transport, server, 0)
    server.fault("MAIL", "421 4.4.2 Too many messages on this connection")
    await assert_sends(transport, server, 1)
    server.fault("MAIL", "421 4.7.0 Try again later, closing connection", times=2)
    result = await transport.send(message(2), SENDER, [ANA])
    assert (result.outcome, result.code) == (Outcome.PAUSE, 421)
    assert server.connections == 3
    await assert_sends(transport, server, 3)


@pytest.mark.asyncio
async def test_noop_before_reusing_an_idle_connection(server: SmtpServer) -> None:
    fake = FakeTime()
    async with SmtpTransport(settings(server), clock=fake.clock, sleep=fake.sleep) as transport:
        await assert_sends(transport, server, 0)
        fake.now += 10
        await assert_sends(transport, server, 1)
        assert server.commands["NOOP"] == 0
        fake.now += 31
        await assert_sends(transport, server, 2)
        assert (server.commands["NOOP"], server.connections) == (1, 1)
        fake.now += 31
        server.fault("NOOP", "421 4.4.2 Timeout - closing connection")
        await assert_sends(transport, server, 3)
        assert (server.commands["NOOP"], server.connections) == (2, 2)


@pytest.mark.asyncio
async def test_fifty_sends_over_one_connection(server: SmtpServer) -> None:
    async with SmtpTransport(settings(server, connections=4)) as transport:
        for n in range(50):
            result = await transport.send(message(n), SENDER, [ANA])
            assert result.outcome is Outcome.SENT
    assert server.connections == 1
    assert server.message_ids() == [mid(n) for n in range(50)]
    assert server.commands["QUIT"] == 1


@pytest.mark.asyncio
async def test_concurrent_sends_share_a_bounded_pool(server: SmtpServer) -> None:
    async with SmtpTransport(settings(server, connections=3)) as transport:
        results = await asyncio.gather(
            *(transport.send(message(n), SENDER, [ANA]) for n in range(30))
        )
    assert {r.outcome for r in results} == {Outcome.SENT}
    assert server.connections <= 3
    assert sorted(server.message_ids(), key=str) == sorted(mid(n) for n in range(30))


@pytest.mark.asyncio
async def test_wait_turn_applies_the_minute_limit(server: SmtpServer) -> None:
    fake = FakeTime()
    config = settings(server, max_per_minute=2, max_per_day=3)
    async with SmtpTransport(config, clock=fake.clock, sleep=fake.sleep) as transport:
        for n in range(4):
            await transport.wait_turn()
            await assert_sends(transport, server, n)
        # the third waits for the first to leave the window; no day wait here: the store
        # counts days
        assert fake.sleeps == [pytest.approx(60.0)]
        await assert_sends(transport, server, 4)  # send itself never waits
        assert len(fake.sleeps) == 1


@pytest.mark.asyncio
async def test_message_goes_out_dot_stuffed_with_crlf(
    server: SmtpServer, transport: SmtpTransport
) -> None:
    raw = message(0) + b".leading dot\r\n..two dots\nbare LF\r\n.\r\nlast line"
    result = await transport.send(raw, SENDER, [ANA])
    assert result.outcome is Outcome.SENT
    expected = message(0) + b".leading dot\r\n..two dots\r\nbare LF\r\n.\r\nlast line\r\n"
    assert server.received[0].content == expected


@pytest.mark.asyncio
async def test_bad_input_is_failed_not_raised(server: SmtpServer, transport: SmtpTransport) -> None:
    assert (await transport.send(message(0), SENDER, [])).outcome is Outcome.FAILED
    bad_addresses = [
        "ana@example.org\r\nRCPT TO:<x@y>",  # aiosmtplib would send to ana@example.org
        "ana@example.org, bob@example.org",
        "Ana <ana@example.org>",
        "ana",
        "zoë@example.org",  # SMTPUTF8 is not supported
    ]
    for bad in bad_addresses:
        result = await transport.send(message(0), SENDER, [bad])
        assert (result.outcome, result.detail) == (
            Outcome.FAILED,
            f"not a bare ASCII address: {bad!r}",
        )
    assert server.received == []
    await assert_sends(transport, server, 1)


@pytest.mark.asyncio
async def test_closed_transport_refuses_to_send(server: SmtpServer) -> None:
    transport = SmtpTransport(settings(server))
    await assert_sends(transport, server, 0)
    await transport.aclose()
    assert server.commands["QUIT"] == 1
    with pytest.raises(TransportError, match="closed"):
        await transport.send(message(1), SENDER, [ANA])


# --- TLS and AUTH --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_starttls_with_auth_plain(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    async with SmtpServer(starttls=server_tls, users={"ana": PASSWORD}) as server:
        config = settings(server, security="starttls", username="ana", password=PASSWORD)
        async with SmtpTransport(config, tls_context=client_tls) as transport:
            await transport.check()
            await assert_sends(transport, server, 0)
            await assert_sends(transport, server, 1)
        assert [(r.tls, r.login) for r in server.received] == [(True, "ana")] * 2
        assert server.commands["AUTH"] == 2  # one for check(), one for the pooled connection


@pytest.mark.asyncio
async def test_starttls_with_auth_login_only(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    async with SmtpServer(
        starttls=server_tls, users={"ana": PASSWORD}, auth_exclude=["PLAIN"]
    ) as server:
        config = settings(server, security="starttls", username="ana", password=PASSWORD)
        async with SmtpTransport(config, tls_context=client_tls) as transport:
            await assert_sends(transport, server, 0)
        assert server.received[0].login == "ana"


@pytest.mark.asyncio
async def test_wrong_password_fails_clearly_without_leaking_it(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="daemon")
    async with SmtpServer(starttls=server_tls, users={"ana": "another"}) as server:
        config = settings(server, security="starttls", username="ana", password=PASSWORD)
        async with SmtpTransport(config, tls_context=client_tls) as transport:
            result = await transport.send(message(0), SENDER, [ANA])
            assert (result.outcome, result.code) == (Outcome.FAILED, 535)
            assert result.detail == (
                "login as 'ana' refused: 535 5.7.8 Authentication credentials invalid"
            )
            with pytest.raises(TransportError, match="refused: 535 ") as raised:
                await transport.check()
        assert server.commands["AUTH"] == 2  # exactly one attempt per connection
        assert server.received == []
        texts = [result.detail, str(raised.value), repr(config), caplog.text]
        assert not [text for text in texts if PASSWORD in text]


@pytest.mark.asyncio
async def test_auth_back_pressure_is_pause(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    async with SmtpServer(starttls=server_tls, users={"ana": PASSWORD}) as server:
        config = settings(server, security="starttls", username="ana", password=PASSWORD)
        async with SmtpTransport(config, tls_context=client_tls) as transport:
            server.fault("AUTH", "454 4.7.0 Too many login attempts, please try again later")
            result = await transport.send(message(0), SENDER, [ANA])
            assert (result.outcome, result.code) == (Outcome.PAUSE, 454)
            await assert_sends(transport, server, 1)


@pytest.mark.asyncio
async def test_starttls_not_offered_refuses_plaintext(server: SmtpServer) -> None:
    async with SmtpTransport(settings(server, security="starttls")) as transport:
        result = await transport.send(message(0), SENDER, [ANA])
        assert result.outcome is Outcome.FAILED
        assert "does not offer STARTTLS" in result.detail
        with pytest.raises(TransportError, match="STARTTLS"):
            await transport.check()
    assert server.commands["MAIL"] == 0


@pytest.mark.asyncio
async def test_untrusted_certificate_is_refused(server_tls: ssl.SSLContext) -> None:
    stranger = ssl.create_default_context()
    trustme.CA().configure_trust(stranger)
    async with SmtpServer(starttls=server_tls) as server:
        config = settings(server, security="starttls")
        async with SmtpTransport(config, tls_context=stranger) as transport:
            result = await transport.send(message(0), SENDER, [ANA])
        assert result.outcome is Outcome.FAILED
        assert "certificate not trusted" in result.detail
        assert server.commands["MAIL"] == 0


@pytest.mark.asyncio
async def test_implicit_tls(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    async with SmtpServer(implicit_tls=server_tls) as server:
        async with SmtpTransport(
            settings(server, security="tls"), tls_context=client_tls
        ) as transport:
            await transport.check()
            await assert_sends(transport, server, 0)
        assert server.received[0].tls


@pytest.mark.asyncio
async def test_implicit_tls_against_a_plaintext_port_fails(
    server: SmtpServer, client_tls: ssl.SSLContext
) -> None:
    async with SmtpTransport(settings(server, security="tls"), tls_context=client_tls) as transport:
        result = await transport.send(message(0), SENDER, [ANA])
    assert result.outcome in {Outcome.FAILED, Outcome.RETRY}
    assert "TLS" in result.detail or "greeting" in result.detail
    assert server.received == []
