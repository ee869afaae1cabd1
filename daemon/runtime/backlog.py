"""Composing the sends a tick decided on, in chunks, in a helper process when there are many.

Composing is pure CPU (Jinja, Markdown, MIME, iCalendar) and delivery waits on the network and
the disk, so for a big backlog (a 10,000-participant program's Monday: POOL_MIN sends or more)
one spawned worker process composes chunks while this process enqueues and delivers them: the
second core does the composing. A small backlog is composed here (a process costs a few hundred
milliseconds to start). If the worker dies, the rest is composed here: nothing is skipped.

The worker gets the program, its timeline and the reply-token secret, not a path: it composes
from exactly the program this tick decided with, whatever happens to the files meanwhile.
Composing is deterministic (keys, Message-IDs, tokens and bytes depend on the inputs only), so
where a chunk is composed changes nothing in what is sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from daemon.config.load import Program
from daemon.decide.sends import Send
from daemon.ledger.records import EventVersion, OutboxRow
from daemon.mail.compose import Composer
from daemon.program.timeline import Action

log = logging.getLogger(__name__)

POOL_MIN = 2000  # sends worth a worker process
CHUNK = 100  # rows per committed transaction when composed here
POOL_CHUNK = 400  # rows per round trip to the worker
AHEAD = 4  # chunks the worker may run ahead of the enqueueing (bounds memory)

Composed = list[tuple[OutboxRow, EventVersion | None]]

_worker_composer: Composer | None = None  # the worker process's own


def _start_worker(program: Program, timeline: list[Action], secret: bytes) -> None:
    global _worker_composer  # noqa: PLW0603 - one composer per worker process
    _worker_composer = Composer(program, timeline, secret)


def _compose_in_worker(sends: Sequence[Send], at: dt.datetime) -> Composed:
    assert _worker_composer is not None, "worker not started"
    return [_worker_composer.row(send, at) for send in sends]


class Backlog:
    """The decided sends of one tick; iterate it (async) for composed chunks, in order."""

    def __init__(
        self,
        composer: Composer,
        timeline: list[Action],
        secret: bytes,
        sends: Sequence[Send],
        at: dt.datetime,
        *,
        pool_min: int = POOL_MIN,
    ) -> None:
        self.composer, self.timeline, self.secret = composer, timeline, secret
        self.sends, self.at = list(sends), at
        self.pooled = bool(self.sends) and len(self.sends) >= pool_min

    def __aiter__(self) -> AsyncIterator[Composed]:
        return self._pooled() if self.pooled else self._here(0)

    async def _here(self, start: int) -> AsyncIterator[Composed]:
        for i in range(start, len(self.sends), CHUNK):
            yield [self.composer.row(s, self.at) for s in self.sends[i : i + CHUNK]]
            await asyncio.sleep(0)  # let delivery run between chunks

    async def _pooled(self) -> AsyncIterator[Composed]:
        loop = asyncio.get_running_loop()
        starts = list(range(0, len(self.sends), POOL_CHUNK))
        pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.composer.program, self.timeline, self.secret),
        )
        pending: list[asyncio.Future[Composed]] = []
        done = 0
        try:
            for start in starts:
                pending.append(self._submit(loop, pool, start))
                if len(pending) < AHEAD:
                    continue
                yield await pending.pop(0)
                done += POOL_CHUNK
            while pending:
                yield await pending.pop(0)
                done += POOL_CHUNK
        except BrokenProcessPool as error:
            log.warning("the composing worker stopped (%s); composing the rest here", error)
            for future in pending:
                future.cancel()
            async for chunk in self._here(done):
                yield chunk
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)

    def _submit(
        self, loop: asyncio.AbstractEventLoop, pool: ProcessPoolExecutor, start: int
    ) -> asyncio.Future[Composed]:
        chunk = self.sends[start : start + POOL_CHUNK]
        future: Future[Composed] = pool.submit(_compose_in_worker, chunk, self.at)
        return asyncio.wrap_future(future, loop=loop)
