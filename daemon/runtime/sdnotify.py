"""Talking to systemd's service manager (sd_notify(3)): READY, WATCHDOG, STOPPING, RELOADING.

The protocol is one datagram of `KEY=value` lines to the socket named in `$NOTIFY_SOCKET` (a
leading `@` means Linux's abstract namespace). That is a dozen lines, so no dependency: the
`sdnotify` package does the same send but not the watchdog arithmetic, and `python-systemd`
needs libsystemd headers to build. Outside systemd (`NOTIFY_SOCKET` unset) every call is a
no-op; a failing send is logged, never raised — the service must not die because systemd
restarted or the socket is full.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

from daemon import clock

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_seconds = _watchdog_seconds(env)
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *lines: str) -> None:
        if not self.address:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto("\n".join(lines).encode(), self.address)
        except OSError as error:
            log.warning("cannot notify systemd (%s): %s", lines[0], error)

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets systemd (Type=notify-reload) match this to its own reload request
        self.send("RELOADING=1", f"MONOTONIC_USEC={clock.monotonic_usec()}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """How often systemd wants WATCHDOG=1 (WatchdogSec=), if it wants it from this process:
    WATCHDOG_PID, when set, names the process that must ping."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000
