"""The one place where a pass's decision becomes outbox rows: compose each send (templates,
invitations, MIME) and write them with everything else decided, a chunk per transaction, so a
long backlog keeps its progress if the pass is interrupted.

Composing is CPU work and delivering mostly waits for the server's replies, so the pass
delivers each chunk as soon as it is written (`ready` is set) while the next is composed:
here, yielding to the event loop after every message, or — for a big backlog — in a child
process on the other core (runtime/composer.py). One SQLite connection writes it all, each
write a whole transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from daemon.clock import Clock
from daemon.decide.decision import Decision
from daemon.decide.sends import Send
from daemon.ledger.records import Batch, EventVersion, Finish, OutboxRow
from daemon.runtime.composer import COMPOSE_APART, ChildComposer, ComposerFailed

if TYPE_CHECKING:
    from daemon.mail.compose import Composer

log = logging.getLogger(__name__)

CHUNK = 200  # rows composed and committed at a time

Chunk = tuple[tuple[OutboxRow, ...], tuple[EventVersion, ...]]


class Store(Protocol):
    """What composing and writing needs of the store: one write (daemon.store.sqlite.Store)."""

    def apply(self, batch: Batch, now: dt.datetime) -> int: ...


@dataclass(frozen=True)
class Enqueued:
    sends: int = 0  # planned sends, digests and cancellations queued
    answers: int = 0
    alerts: int = 0
    skipped: int = 0  # due sends recorded as skipped (stale or held back)
    revoked: int = 0  # queued sends that must not go any more
    expired: int = 0  # queued sends past their deadline


async def enqueue(
    store: Store,
    compose: Callable[[], Composer],
    decision: Decision,
    clock: Clock,
    ready: asyncio.Event | None = None,
) -> Enqueued:
    """Compose and write all of `decision`; see the module docstring. A failure is marked
    reported in the transaction that queues its alert, never before. `compose` makes the
    composer, once, at the first message there is to compose: a pass with none loads no
    template engine."""
    made: list[Composer] = []

    def composer() -> Composer:
        if not made:
            made.append(compose())
        return made[0]

    log_decision(decision)
    now = clock.now()
    finished = tuple(Finish(e.key, e.state, e.error, at=now) for e in decision.expiries)
    store.apply(Batch(revoked=decision.revokes, finished=finished), now)

    def write(rows: Sequence[OutboxRow], versions: Sequence[EventVersion] = ()) -> int:
        added = store.apply(Batch(tuple(rows), tuple(versions)), clock.now())
        if ready is not None:
            ready.set()
        return added

    sends = 0
    async for composed, versions in _sends(composer, decision.sends, clock):
        sends += write(composed, versions)
    now = clock.now()
    digests = [composer().digest(d, now) for d in decision.digests]
    cancels = [composer().cancel(version, now) for version in decision.cancels]
    sends += write([*digests, *(row for row, _ in cancels)], [v for _, v in cancels])
    skips = [composer().skipped(skip, now) for skip in decision.skips]
    unknown = tuple(row.key for row in skips if row.state == "unknown")  # told in one note
    store.apply(Batch(tuple(skips), reported=unknown), now)
    answers = 0
    replies: list[OutboxRow] = []
    for intent in decision.answers:
        replies.append(composer().reply(intent, clock.now()))
        await asyncio.sleep(0)  # let the connections (and the mailbox's moves) move
        if len(replies) >= CHUNK:
            answers += write(replies)
            replies = []
    answers += write(replies)
    alerts = tuple(composer().alert(f, clock.now()) for f in decision.alerts)
    added = store.apply(Batch(alerts, reported=decision.reported), clock.now())
    if ready is not None:
        ready.set()
    return Enqueued(
        sends, answers, added, len(decision.skips), len(decision.revokes), len(decision.expiries)
    )


async def _sends(
    make: Callable[[], Composer], sends: Sequence[Send], clock: Clock
) -> AsyncIterator[Chunk]:
    """The planned sends composed, a chunk at a time: apart, in a child process, when there
    are many (what it cannot do is composed here)."""
    if not sends:
        return
    composer, done = make(), 0
    if len(sends) >= COMPOSE_APART:
        try:
            async for chunk in _apart(composer, sends, clock):
                done += len(chunk[0])
                yield chunk
        except (ComposerFailed, OSError) as error:
            log.warning("composing in a child process failed (%s); composing here", error)
    async for chunk in _here(composer, sends[done:], clock):
        yield chunk


async def _here(composer: Composer, sends: Sequence[Send], clock: Clock) -> AsyncIterator[Chunk]:
    rows: list[OutboxRow] = []
    versions: list[EventVersion] = []
    for send in sends:
        row, version = composer.row(send, clock.now())
        rows.append(row)
        versions += [version] if version else []
        await asyncio.sleep(0)  # a message composed: let the connections move
        if len(rows) >= CHUNK:
            yield tuple(rows), tuple(versions)
            rows, versions = [], []
    if rows:
        yield tuple(rows), tuple(versions)


async def _apart(composer: Composer, sends: Sequence[Send], clock: Clock) -> AsyncIterator[Chunk]:
    """One chunk ahead, so the child composes the next while this one is written."""
    chunks = [sends[i : i + CHUNK] for i in range(0, len(sends), CHUNK)]
    async with ChildComposer(composer.program, composer.timeline, composer.secret) as child:
        for chunk in chunks[:2]:
            await child.submit(chunk, clock.now())
        for ahead in range(2, len(chunks) + 2):
            composed = await child.result()
            if ahead < len(chunks):
                await child.submit(chunks[ahead], clock.now())
            yield _split(composed)


def _split(composed: list[tuple[OutboxRow, EventVersion | None]]) -> Chunk:
    return tuple(row for row, _ in composed), tuple(v for _, v in composed if v is not None)


def log_decision(decision: Decision) -> None:
    """What the decision skips or ends, in a line a kind however many (the keys at DEBUG): a
    catch-up after a long stop may skip hundreds."""
    stale = [(s.action.key, s.reason) for s in decision.skips if s.stale and not s.paused]
    during_pause = [(s.action.key, s.reason) for s in decision.skips if s.stale and s.paused]
    held = [(s.action.key, s.reason) for s in decision.skips if not s.stale]
    expired = [(e.key, e.error) for e in decision.expiries if e.state == "skipped"]
    failed = [(e.key, e.error) for e in decision.expiries if e.state == "failed"]
    for found, level, what in (
        (stale, logging.WARNING, "skipped: no longer useful (due while nothing could send)"),
        (during_pause, logging.INFO, "skipped: due while their recipients had paused"),
        (held, logging.INFO, "not sent: held back"),
        (list(decision.revokes), logging.INFO, "queued no longer sent (met, or people left)"),
        (expired, logging.WARNING, "queued skipped: stale before they could go"),
        (failed, logging.WARNING, "queued failed: not delivered by their deadline"),
    ):
        if found:
            log.log(level, "%d send%s %s", len(found), "" if len(found) == 1 else "s", what)
            for key, why in found:
                log.debug("%s: %s", key, why)
