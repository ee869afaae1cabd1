"""Is the service making progress? The evidence behind each systemd watchdog ping.

The event loop being alive is not enough: a loop can wait forever on a server that stopped
answering, or on a lock, while the rest of the process looks healthy. Each of the service's
loops says when it is working on something (`busy`) and beats whenever it gets somewhere; a
loop that has been busy longer than its `limit` without a beat is stuck, and the watchdog
stops pinging so systemd restarts the service. A loop that is waiting for its next due time
is idle and never stuck. Limits are the protocol timeouts plus a margin, so a slow but
working server is never mistaken for a wedged one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon import clock
from daemon.transport.smtp import SendResult

if TYPE_CHECKING:
    from daemon.runtime.deliver import Transport


@dataclass
class _Loop:
    limit: float
    last: float
    busy: int = 0  # nesting depth of `working`


class Progress:
    def __init__(self, now: Callable[[], float] = clock.monotonic) -> None:
        self._now = now
        self._loops: dict[str, _Loop] = {}

    def watch(self, name: str, limit: float) -> None:
        """Track a loop that may go `limit` seconds between beats while busy (a loop already
        tracked keeps its state and takes the new limit)."""
        loop = self._loops.get(name)
        if loop is None:
            self._loops[name] = _Loop(limit, self._now())
        else:
            loop.limit = limit

    def forget(self, name: str) -> None:
        self._loops.pop(name, None)

    def beat(self, name: str) -> None:
        loop = self._loops.get(name)
        if loop is not None:
            loop.last = self._now()

    @contextmanager
    def working(self, name: str) -> Iterator[None]:
        """Mark `name` busy for the block (beating on the way in and out)."""
        loop = self._loops.get(name)
        if loop is None:
            yield
            return
        loop.busy += 1
        loop.last = self._now()
        try:
            yield
        finally:
            loop.busy -= 1
            loop.last = self._now()

    @contextmanager
    def waiting(self, name: str) -> Iterator[None]:
        """Mark `name` idle for the block: it waits on another loop that is watched itself."""
        loop = self._loops.get(name)
        if loop is None:
            yield
            return
        busy, loop.busy = loop.busy, 0
        try:
            yield
        finally:
            loop.busy = busy
            loop.last = self._now()

    def stuck(self) -> list[tuple[str, float]]:
        """The busy loops without a beat for longer than their limit, with the seconds since."""
        now = self._now()
        return [
            (name, now - loop.last)
            for name, loop in sorted(self._loops.items())
            if loop.busy and now - loop.last > loop.limit
        ]


class BeatingTransport:
    """A transport that beats `loop` whenever it gets a turn or finishes a send, so a long
    pass that keeps sending is seen as working, and one hung on a server is not."""

    def __init__(self, inner: Transport, progress: Progress, loop: str) -> None:
        self.inner, self.progress, self.loop = inner, progress, loop

    async def wait_turn(self) -> None:
        await self.inner.wait_turn()
        self.progress.beat(self.loop)

    async def send(self, message: bytes, sender: str, recipients: list[str]) -> SendResult:
        try:
            return await self.inner.send(message, sender, recipients)
        finally:
            self.progress.beat(self.loop)

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
