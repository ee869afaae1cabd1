"""The one place where a pass's decision becomes outbox rows: compose each send (templates,
invitations, MIME) and write them with everything else decided, a chunk per transaction, so a
long backlog keeps its progress if the pass is interrupted.

Composing is CPU work and delivering mostly waits for the server's replies, so the pass
delivers each chunk as soon as it is written (`ready` is set) while the next is composed: this
task yields to the event loop after every message, and the connections' replies are handled
between them. One thread, one SQLite connection: each write is a whole transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from daemon.clock import Clock
from daemon.decide.decision import Decision
from daemon.ledger.records import Batch, EventVersion, Finish, OutboxRow
from daemon.mail.compose import Composer
from daemon.store.sqlite import Store

log = logging.getLogger(__name__)

CHUNK = 200  # rows composed and committed at a time


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
    composer: Composer,
    decision: Decision,
    clock: Clock,
    ready: asyncio.Event | None = None,
) -> Enqueued:
    """Compose and write all of `decision`; see the module docstring. A failure is marked
    reported in the transaction that queues its alert, never before."""
    _log(decision)
    now = clock.now()
    finished = tuple(Finish(e.key, e.state, e.error, at=now) for e in decision.expiries)
    store.apply(Batch(revoked=decision.revokes, finished=finished), now)
    counts = {"sends": 0, "answers": 0, "skipped": 0}
    for kind, chunk, versions in _chunks(composer, decision, clock):
        if chunk is None:
            await asyncio.sleep(0)  # a message composed: let the connections move
            continue
        counts[kind] += store.apply(Batch(chunk, versions), clock.now())
        if ready is not None:
            ready.set()
    alerts = tuple(composer.alert(f, clock.now()) for f in decision.alerts)
    added = store.apply(Batch(alerts, reported=decision.reported), clock.now())
    if ready is not None:
        ready.set()
    return Enqueued(
        counts["sends"], counts["answers"], added, len(decision.skips), len(decision.revokes),
        len(decision.expiries),
    )  # fmt: skip


def _chunks(
    composer: Composer, decision: Decision, clock: Clock
) -> Iterator[tuple[str, tuple[OutboxRow, ...] | None, tuple[EventVersion, ...]]]:
    """(counted as, rows, invite versions) in chunks, and (.., None, ..) after each send
    composed; skipped rows count as nothing."""
    rows: list[OutboxRow] = []
    versions: list[EventVersion] = []
    for send in decision.sends:
        row, version = composer.row(send, clock.now())
        rows.append(row)
        versions += [version] if version else []
        yield "sends", None, ()
        if len(rows) >= CHUNK:
            yield "sends", tuple(rows), tuple(versions)
            rows, versions = [], []
    now = clock.now()
    rows += [composer.digest(d, now) for d in decision.digests]
    for version in decision.cancels:
        row, cancelled = composer.cancel(version, now)
        rows.append(row)
        versions.append(cancelled)
    if rows:
        yield "sends", tuple(rows), tuple(versions)
    skips = tuple(composer.skipped(skip, now) for skip in decision.skips)
    if skips:
        yield "skipped", skips, ()
    for start in range(0, len(decision.answers), CHUNK):
        chunk = decision.answers[start : start + CHUNK]
        yield "answers", tuple(composer.reply(i, clock.now()) for i in chunk), ()
        yield "answers", None, ()


def _log(decision: Decision) -> None:
    """What the decision skips or ends, in a line a kind (the keys at DEBUG)."""
    stale = [s for s in decision.skips if s.stale and not s.paused]
    during_pause = [s for s in decision.skips if s.stale and s.paused]
    held = [s for s in decision.skips if not s.stale]
    for found, level, what in (
        (stale, logging.WARNING, "skipped: no longer useful (due while nothing could send)"),
        (during_pause, logging.INFO, "skipped: due while their recipients had paused"),
        (held, logging.INFO, "not sent: held back"),
    ):
        if found:
            log.log(level, "%d sends %s", len(found), what)
            for skip in found:
                log.debug("%s: %s", skip.action.key, skip.reason)
    for key, reason in decision.revokes:
        log.info("%s: no longer sent: %s", key, reason)
    for expiry in decision.expiries:
        log.warning("%s: %s: %s", expiry.key, expiry.state, expiry.error)
