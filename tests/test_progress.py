"""The watchdog's evidence (`daemon.runtime.progress`), its pings
(`daemon.runtime.lifecycle._watchdog`), the sd_notify datagrams and the journald log format:
pure logic, one real datagram socket."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from daemon.runtime import logs
from daemon.runtime.lifecycle import _watchdog
from daemon.runtime.progress import Progress
from daemon.runtime.sdnotify import Notifier


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("busy", "silent_for", "stuck"),
    [
        (False, 10_000, False),  # waiting for the next due time is never stuck
        (True, 59, False),
        (True, 61, True),
    ],
)
def test_a_busy_loop_without_beats_is_stuck(busy: bool, silent_for: float, stuck: bool) -> None:
    clock = Clock()
    progress = Progress(clock)
    progress.watch("sending", 60)
    if busy:
        with progress.working("sending"):
            clock.t += silent_for
            assert bool(progress.stuck()) is stuck
    else:
        clock.t += silent_for
        assert progress.stuck() == []


def test_beats_keep_a_long_busy_loop_alive_and_waiting_pauses_it() -> None:
    clock = Clock()
    progress = Progress(clock)
    progress.watch("mailbox", 60)
    with progress.working("mailbox"):
        for _ in range(10):
            clock.t += 50
            progress.beat("mailbox")
            assert progress.stuck() == []
        with progress.waiting("mailbox"):  # on another loop, which is watched itself
            clock.t += 500
            assert progress.stuck() == []
        clock.t += 61
        assert progress.stuck() == [("mailbox", 61)]
    progress.forget("mailbox")
    assert progress.stuck() == []


def test_a_new_limit_keeps_a_busy_loop_watched() -> None:
    """Regression: a reload re-registered the sending loop while a pass was running; the pass
    was then no longer watched (and its end drove the busy count below zero)."""
    clock = Clock()
    progress = Progress(clock)
    progress.watch("sending", 60)
    with progress.working("sending"):
        progress.watch("sending", 30)  # the reloaded config's timeouts
        clock.t += 31
        assert progress.stuck() == [("sending", 31)]
    clock.t += 1000
    assert progress.stuck() == []


def _notify_pair(tmp_path: Path) -> tuple[socket.socket, dict[str, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "n.sock"))
    sock.settimeout(2)
    return sock, {"NOTIFY_SOCKET": str(tmp_path / "n.sock"), "WATCHDOG_USEC": "200000"}


def _pending(sock: socket.socket) -> list[bytes]:
    """The datagrams waiting on a non-blocking socket."""
    found = []
    while True:
        try:
            found.append(sock.recv(100))
        except BlockingIOError:
            return found


@pytest.mark.asyncio
async def test_the_watchdog_pings_only_while_no_loop_is_stuck(tmp_path: Path) -> None:
    sock, env = _notify_pair(tmp_path)
    sock.setblocking(False)
    clock = Clock()
    progress = Progress(clock)
    progress.watch("sending", 60)
    service = SimpleNamespace(notifier=Notifier(env), progress=progress)
    task = asyncio.create_task(_watchdog(service))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.35)  # interval 0.2 s: pings every 0.1 s
        assert set(_pending(sock)) == {b"WATCHDOG=1"}
        with progress.working("sending"):
            clock.t += 61  # wedged: the pings stop
            await asyncio.sleep(0.15)
            _pending(sock)  # sent before the wedge was seen
            await asyncio.sleep(0.35)
            assert _pending(sock) == []
            progress.beat("sending")  # it moves again: so do the pings
            await asyncio.sleep(0.25)
            assert b"WATCHDOG=1" in _pending(sock)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
        service.notifier.close()


def test_notifier_messages_and_its_silence_outside_systemd(tmp_path: Path) -> None:
    sock, env = _notify_pair(tmp_path)
    notifier = Notifier(env)
    assert notifier.watchdog_seconds == 0.2
    notifier.ready("serving X")
    notifier.reloading()
    notifier.stopping()
    assert sock.recv(100) == b"READY=1\nSTATUS=serving X"
    reloading = sock.recv(100).decode().splitlines()
    assert reloading[0] == "RELOADING=1" and reloading[1].startswith("MONOTONIC_USEC=")
    assert sock.recv(100) == b"STOPPING=1"
    notifier.close()
    sock.close()
    quiet = Notifier({})
    quiet.ready()  # no socket: nothing happens, nothing raises
    assert not quiet.enabled and quiet.watchdog_seconds is None
    other = {**env, "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(other).watchdog_seconds is None  # the pings are another process's job
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    gone.watchdog()  # logged, not raised
    gone.close()


def test_abstract_namespace_socket() -> None:
    name = f"mentormail-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
    notifier.watchdog()
    assert sock.recv(100) == b"WATCHDOG=1"
    notifier.close()
    sock.close()


def test_journal_lines_each_carry_the_priority(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", journal=True)
    log = logging.getLogger("daemon.test")
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        log.exception("it failed")
    log.warning("careful")
    log.info("fine")
    log.debug("hidden")
    lines = capsys.readouterr().err.splitlines()
    logs.configure("INFO", journal=False)
    assert lines[0] == "<3>daemon.test: it failed"
    assert len(lines) > 4 and all(line.startswith("<3>") for line in lines[:-2])
    assert "<3>ValueError: first" in lines and "<3>second" in lines
    assert lines[-2:] == ["<4>daemon.test: careful", "<6>daemon.test: fine"]


def test_plain_lines_outside_journald(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("WARNING", journal=False)
    logging.getLogger("daemon.test").warning("careful")
    logging.getLogger("daemon.test").info("hidden")
    assert capsys.readouterr().err == "WARNING daemon.test: careful\n"
    logs.configure("INFO")
    assert sys.excepthook is not sys.__excepthook__


@pytest.mark.parametrize(("asked", "libraries"), [("DEBUG", "INFO"), ("WARNING", "WARNING")])
def test_protocol_libraries_never_go_below_info_nor_below_the_level_asked(
    asked: str, libraries: str
) -> None:
    """Regression: they were pinned at INFO, so `--log-level WARNING` still showed every
    SMTP command the demo's sink served."""
    logs.configure(asked)
    for name in ("aioimaplib", "aiosmtplib", "mail.log"):
        assert logging.getLevelName(logging.getLogger(name).level) == libraries
