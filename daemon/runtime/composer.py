"""Composing a big backlog on the machine's second core: a child process that composes the
sends it is handed while this process delivers what is already queued.

Composing is pure CPU (Jinja, Markdown, MIME, iCalendar: about a millisecond a message) and
one core is busy enough delivering, so a pass with COMPOSE_APART sends or more (a 10,000
person program's Monday) starts `python -m daemon.runtime.composer` and talks to it over its
standard input and output: first the program, its timeline and the reply-token secret, then
chunks of sends, each answered with the rows composed — the same rows this process would
compose, since composing depends on nothing else. The child reads until its input ends, so
it ends with the pass, and with this process however that ends (a SIGKILL closes the pipe
too). If the child fails, the rest is composed here: nothing is skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import pickle
import struct
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO

from daemon.decide.sends import Send
from daemon.ledger.records import EventVersion, OutboxRow
from daemon.program.instance import Program
from daemon.program.timeline import Action

log = logging.getLogger(__name__)

COMPOSE_APART = 2000  # sends worth a child process (it takes ~0.5 s to start)
_SIZE = struct.Struct("!I")

Composed = list[tuple[OutboxRow, EventVersion | None]]


class ComposerFailed(Exception):
    """The child is gone or answered nonsense: compose here instead."""


class ChildComposer:
    """The parent's end: `async with ChildComposer(program, timeline, secret) as child:`, then
    `await child.submit(sends, now)` for each chunk and `await child.result()` for the rows
    of each, in the order submitted (a chunk may be submitted before the last is read)."""

    def __init__(self, program: Program, timeline: list[Action], secret: bytes) -> None:
        self._setup = (program, timeline, secret)
        self._process: asyncio.subprocess.Process | None = None
        self._sizes: list[int] = []  # of the chunks submitted and not yet read

    async def __aenter__(self) -> ChildComposer:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "daemon.runtime.composer",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await self._send(self._setup)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child ends when its input does
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def submit(self, sends: Sequence[Send], now: dt.datetime) -> None:
        await self._send((list(sends), now))
        self._sizes.append(len(sends))

    async def result(self) -> Composed:
        composed: Composed = await self._receive()
        wanted = self._sizes.pop(0)
        if len(composed) != wanted:
            raise ComposerFailed(f"{len(composed)} rows for {wanted} sends")
        return composed

    async def _send(self, value: object) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise ComposerFailed("not started")
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            process.stdin.write(_SIZE.pack(len(data)) + data)
            await process.stdin.drain()
        except (ConnectionError, OSError) as error:
            raise ComposerFailed(f"the composing process is gone: {error}") from error

    async def _receive(self) -> Any:
        process = self._process
        if process is None or process.stdout is None:
            raise ComposerFailed("not started")
        try:
            head = await process.stdout.readexactly(_SIZE.size)
            body = await process.stdout.readexactly(_SIZE.unpack(head)[0])
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            raise ComposerFailed(f"the composing process is gone: {error}") from error
        return pickle.loads(body)


def _read(stream: BinaryIO) -> Any:
    head = stream.read(_SIZE.size)
    if len(head) < _SIZE.size:
        return None
    return pickle.loads(stream.read(_SIZE.unpack(head)[0]))


def _write(stream: BinaryIO, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_SIZE.pack(len(data)) + data)
    stream.flush()


def main() -> None:
    """The child's end: compose every chunk that comes, until the input ends."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    setup = _read(source)
    if setup is None:
        return
    from daemon.mail.compose import Composer

    program, timeline, secret = setup
    composer = Composer(program, timeline, secret)
    while (request := _read(source)) is not None:
        sends, now = request
        _write(sink, [composer.row(send, now) for send in sends])


if __name__ == "__main__":
    main()
