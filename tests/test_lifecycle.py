"""`mentormail run` as systemd runs it: a subprocess with a fake NOTIFY_SOCKET (a datagram
socket this test reads) and WATCHDOG_USEC. READY comes after start-up, WATCHDOG pings keep
coming, SIGHUP with a broken config keeps the old one, SIGTERM during a burst of sends exits
0 within the bound with every message sent or still pending, and the next start sends the
rest: none lost, none doubled. Log lines carry journald priority prefixes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon import clock
from daemon.clock import Clock
from daemon.store.sqlite import Store
from tests.conftest import ROOT, idling, point_imap_at, until, write
from tests.dovecot import Account
from tests.smtp_server import Late, SmtpServer

PEOPLE = 400
DRAIN = 10.0

SCHEDULE = """
[program]
id = "burst"
title = "Burst"
structure = "individuals"
roles = ["peer"]
weeks = 1

[[messages]]
id = "welcome"
title = "Welcome"
subject = "Welcome"
template = "note"
send = { offset_days = -1, time = 08:00:00 }
"""


def _config(tmp_path: Path, port: int, *, broken: bool = False, people: int = PEOPLE) -> Path:
    write(tmp_path / "schedule.toml", SCHEDULE)
    write(tmp_path / "templates" / "note.md.j2", "Hi {{ recipient.first_name }}.\n")
    rows = "\n".join(f"Person {i},p{i}@example.org,UTC,peer" for i in range(people))
    write(tmp_path / "roster.csv", "name,email,timezone,role\n" + rows + "\n")
    start = clock.now().date().isoformat()
    return write(
        tmp_path / "config.toml",
        f"""
        [program]
        schedule = "schedule.toml"
        start = {start}
        timezone = "UTC"
        templates = "templates"
        [sender]
        name = "Burst"
        address = "burst@example.org"
        [[organizers]]
        name = "Olive Organizer"
        email = "olive@example.org"
        timezone = "UTC"
        [smtp]
        host = "127.0.0.1"
        port = {'"not a port"' if broken else port}
        security = "none"
        connections = 2
        max_per_minute = 0
        [state]
        path = "state"
        [roster]
        file = "roster.csv"
        """,
    )


class Notifications:
    """The fake systemd end of NOTIFY_SOCKET: every datagram, in order."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.seen: list[str] = []

    def drain(self) -> list[str]:
        while self.sock.fileno() != -1:  # once closed, what was seen
            try:
                self.seen.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                break
        return self.seen

    def count(self, line: str) -> int:
        return sum(line in message.splitlines() for message in self.drain())

    async def wait_for(self, line: str, *, times: int = 1, seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while self.count(line) < times:
            assert time.monotonic() < deadline, f"no {line!r} x{times}: {self.seen}"
            await asyncio.sleep(0.02)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_run_under_a_fake_systemd(tmp_path: Path) -> None:
    async with SmtpServer() as server:
        server.fault("DATA", Late(0.04), times=10 * PEOPLE)  # a slow server: a long burst
        config = _config(tmp_path, server.port)
        notify = Notifications(tmp_path / "notify.sock")
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
            "WATCHDOG_USEC": "400000",  # ping every 0.2 s
            "JOURNAL_STREAM": "8:1234",  # as systemd sets it: log with priority prefixes
        }
        service = subprocess.Popen(
            [sys.executable, "-m", "daemon", "-c", str(config), "run",
             "--drain-seconds", str(DRAIN)],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            await notify.wait_for("READY=1")
            assert len(server.received) < PEOPLE  # READY came at start-up, not after the burst
            await notify.wait_for("WATCHDOG=1", times=3)

            _config(tmp_path, server.port, broken=True)
            service.send_signal(signal.SIGHUP)
            await notify.wait_for("RELOADING=1")
            await notify.wait_for("READY=1", times=2)
            _config(tmp_path, server.port)  # repaired: this one is taken
            service.send_signal(signal.SIGHUP)
            await notify.wait_for("RELOADING=1", times=2)
            await notify.wait_for("READY=1", times=3)
            pings = notify.count("WATCHDOG=1")
            await notify.wait_for("WATCHDOG=1", times=pings + 2)
            assert service.poll() is None, "a broken config on reload must not stop the service"

            await until(lambda: len(server.received) >= 40, 30)
            assert len(server.received) < PEOPLE, "the burst ended before the stop: retune"
            stopped_at = time.monotonic()
            service.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(service.wait, DRAIN + 10)
            took = time.monotonic() - stopped_at
        finally:
            if service.poll() is None:
                service.kill()
            stderr = service.communicate()[1]
            notify.drain()
            notify.sock.close()
        assert code == 0, stderr
        assert took < DRAIN + 5
        assert notify.count("STOPPING=1") == 1
        assert "not reloaded" in stderr and "smtp.port" in stderr
        assert "config reloaded: Burst" in stderr
        lines = [line for line in stderr.splitlines() if line]
        assert lines and all(re.match(r"<[0-7]>", line) for line in lines), lines[:5]
        assert any(line.startswith("<3>") for line in lines)  # the failed reload, as an error

        store = Store.open(tmp_path / "state")
        try:
            counts = {k: v for k, v in store.counts().items() if v}
        finally:
            store.close()
        assert set(counts) <= {"sent", "pending"}, counts  # nothing half-done or unknown
        assert counts["sent"] == len(server.received)
        assert counts.get("pending", 0) == PEOPLE - len(server.received) > 0

        tick = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "daemon", "-c", str(config), "tick"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert tick.returncode == 0, tick.stderr
    ids = server.message_ids()
    assert len(ids) == PEOPLE and len(set(ids)) == PEOPLE  # none lost, none doubled


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_sigterm_while_idling_on_the_mailbox_exits_promptly(
    tmp_path: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_imap_at(imap_account, monkeypatch)
    async with SmtpServer() as server:
        config = _config(tmp_path, server.port, people=1)
        notify = Notifications(tmp_path / "notify.sock")
        env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
        service = subprocess.Popen(
            [sys.executable, "-m", "daemon", "-c", str(config), "run"],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            await notify.wait_for("READY=1")
            await until(lambda: len(server.received) == 1, 20)
            # the watcher is in IDLE (a sleep of 1.5 s, which a busy machine can outlast:
            # the stop then came while it connected, and the test no longer tested IDLE)
            await idling(imap_account)
            assert service.poll() is None
            stopped_at = time.monotonic()
            service.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(service.wait, 10)
            took = time.monotonic() - stopped_at
        finally:
            if service.poll() is None:
                service.kill()
            stderr = service.communicate()[1]
            notify.sock.close()
    assert code == 0, stderr
    assert took < 5, stderr
    assert "Traceback" not in stderr


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_send_hung_past_the_drain_bound_is_cut_and_becomes_unknown(
    tmp_path: Path,
) -> None:
    """The bound holds even when the server never answers the final dot: the stop takes about
    `drain_seconds`, the send is left claimed, and the next start records it as unknown (the
    organizers are told) instead of sending it a second time."""
    from daemon.config.load import load_deployment
    from daemon.runtime.service import Service
    from daemon.runtime.tick import run_tick
    from daemon.transport.smtp import SmtpTransport

    async with SmtpServer() as server:
        server.fault("DATA", Late(30))  # the first message hangs after its final dot
        config = _config(tmp_path, server.port, people=3)
        deployment = load_deployment(config)
        smtp = deployment.settings.smtp
        service = Service(deployment, lambda: SmtpTransport(smtp), drain_seconds=0.5)
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        await until(lambda: len(server.received) >= 1, 20)
        stopped_at = time.monotonic()
        stop.set()
        await asyncio.wait_for(running, 10)
        assert time.monotonic() - stopped_at < 3
        store = Store.open(tmp_path / "state")
        try:
            assert store.counts()["sending"] >= 1  # cut mid-transaction: not marked anything
        finally:
            store.close()
        report = await run_tick(deployment, Clock.system(), lambda: SmtpTransport(smtp))
        assert report.recovered and report.alerts == 1
    ids = [
        i for r in server.received if "olive@" not in ",".join(r.rcpt_tos) for i in [r.message_id]
    ]
    assert len(ids) == len(set(ids)) == 3  # the hung one was not sent again


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_credential_password_stays_out_of_environ_and_logs(tmp_path: Path) -> None:
    """systemd's LoadCredential= hands the password over as a file: it must not reach the
    process environment, nor any log line even at DEBUG and after the server refuses it."""
    import ssl

    import trustme

    secret = "Cr3dential-Pa55-never-logged"
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "MENTORMAIL_SMTP__PASSWORD").write_text(secret + "\n")
    async with SmtpServer(starttls=server_tls, users={"ana": "the-right-one"}) as server:
        config = _config(tmp_path, server.port, people=1)
        text = config.read_text().replace(
            'security = "none"', 'security = "starttls"\nusername = "ana"'
        )
        config.write_text(text)
        env = {
            **os.environ, "CREDENTIALS_DIRECTORY": str(credentials),
            "SSL_CERT_FILE": str(tmp_path / "ca.pem"), "MENTORMAIL_LOG_LEVEL": "DEBUG",
        }  # fmt: skip
        log = tmp_path / "stderr.log"
        with log.open("wb") as output:
            service = subprocess.Popen(
                [sys.executable, "-m", "daemon", "-c", str(config), "run"],
                cwd=ROOT, env=env, stderr=output,
            )  # fmt: skip
        try:
            # the refusal is handled and logged before the stop (a sleep of 0.5 s after the
            # AUTH was not always enough on a busy machine: the stop came first)
            await until(lambda: b"login as 'ana' refused" in log.read_bytes(), 30)
            environ = Path(f"/proc/{service.pid}/environ").read_bytes()
            service.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(service.wait, 10)
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
            stderr = log.read_text(errors="replace")
    assert code == 0, stderr
    assert "login as 'ana' refused" in stderr  # the failure is there, named ...
    assert secret not in stderr and secret.encode() not in environ  # ... the password is not


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_reload_that_configures_the_mailbox_starts_reading_it(
    tmp_path: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGHUP applies the whole new config: a service started without [imap] begins to read
    the mailbox once a reloaded config names one (and the old program is not kept around)."""
    from daemon.config.load import load_deployment
    from daemon.runtime.service import Service
    from daemon.transport.imap import ImapInbox
    from daemon.transport.smtp import SmtpTransport

    async with SmtpServer() as server:
        config = _config(tmp_path, server.port, people=1)
        monkeypatch.setenv("MENTORMAIL_IMAP__HOST", "")
        before = load_deployment(config)
        point_imap_at(imap_account, monkeypatch)
        after = load_deployment(config)
        service = Service(
            before, lambda: SmtpTransport(service.deployment.settings.smtp),
            inbox_factory=lambda: ImapInbox(service.deployment.settings.imap),
        )  # fmt: skip
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        try:
            await until(lambda: service.ticks >= 1, 20)
            imap_account.deliver(b"From: stranger@example.net\r\nSubject: hello\r\n\r\nhi\r\n")
            await asyncio.sleep(0.5)
            assert imap_account.uids("INBOX"), "not read before the reload"
            service.replace(after)
            await until(lambda: not imap_account.uids("INBOX"), 20)
            assert imap_account.uids("Unmatched")  # read, recorded, moved
            assert service.deployment is after
        finally:
            stop.set()
            await asyncio.wait_for(running, 10)
