"""One pass as of an instant: recover, plan, decide, compose, enqueue, deliver, report.

`mentormail tick --at T` runs exactly this once; `mentormail run` repeats it. The state lock
is held for the whole pass, so two passes never overlap on one state directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from daemon.config.load import Program
from daemon.config.settings import resolve
from daemon.decide.decision import as_replied, decide_now, records
from daemon.decide.sends import SENDABLE
from daemon.inbound.meaning import Understanding
from daemon.mail.compose import Composer
from daemon.program.timeline import Action, plan
from daemon.runtime.backlog import POOL_MIN, Backlog
from daemon.runtime.deliver import Delivery, Transport, deliver
from daemon.runtime.read import Mailbox, ReadReport, read_mailbox
from daemon.store.lock import StateLock
from daemon.store.sqlite import Store
from daemon.transport.smtp_outcomes import TransportError

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    at: dt.datetime
    enqueued: int = 0  # planned sends and cancellations queued (alerts are counted apart)
    alerts: int = 0
    skipped: int = 0
    cancelled: int = 0
    recovered: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    paused_until: dt.datetime | None = None
    halted: str = ""
    next_due: dt.datetime | None = None  # when the next planned send or retry is due
    inbox: ReadReport | None = None  # what reading the mailbox found, if it was read
    inbox_error: str = ""  # why the mailbox could not be read

    def summary(self) -> str:
        parts = [self.inbox.summary()] if self.inbox else []
        parts += [f"mailbox not read: {self.inbox_error}"] if self.inbox_error else []
        parts += [f"{self.enqueued} new", f"{self.skipped} stale skipped"]
        parts += [f"{self.alerts} alerts to organizers"] if self.alerts else []
        parts += [f"{n} {state}" for state, n in sorted(self.outcomes.items())]
        if self.recovered:
            parts.append(f"{len(self.recovered)} interrupted sends now unknown")
        if self.paused_until:
            parts.append(f"sending held until {self.paused_until:%Y-%m-%d %H:%M}Z: {self.halted}")
        return f"tick at {self.at:%Y-%m-%d %H:%M}Z: " + ", ".join(parts)


def state_dir(program: Program, config_path: Path) -> Path:
    return resolve(config_path, program.config.state.path)


async def run_tick(
    program: Program,
    config_path: Path,
    at: dt.datetime,
    transport_factory: Callable[[], Transport],
    *,
    locked: bool = False,
    pool_min: int = POOL_MIN,
    inbox: Mailbox | None = None,
    stopping: asyncio.Event | None = None,
) -> TickReport:
    """One pass; takes the state lock unless the caller (the service) already holds it.
    With an open `inbox`, what arrived is read and recorded first. Once `stopping` is set,
    nothing more is claimed for sending: the pass ends when the transactions in flight do."""
    directory = state_dir(program, config_path)
    with contextlib.nullcontext() if locked else StateLock(directory):
        store = Store.open(directory)
        try:
            return await _tick(
                program, store, at, transport_factory=transport_factory, pool_min=pool_min,
                inbox=inbox, stopping=stopping or asyncio.Event(),
            )  # fmt: skip
        finally:
            store.close()


def _next_due(timeline: list[Action], store: Store, at: dt.datetime) -> dt.datetime | None:
    """The next instant a tick has work: a planned send, a retry — not before a hold ends."""
    later = [a.at for a in timeline if a.kind in SENDABLE and a.at > at]
    retry = store.next_attempt()
    candidates = [*later[:1], *([retry] if retry else [])]
    if not candidates:
        return None
    hold = store.hold()
    return max(min(candidates), hold.until) if hold and hold.until > at else min(candidates)


async def _tick(
    program: Program,
    store: Store,
    at: dt.datetime,
    *,
    transport_factory: Callable[[], Transport],
    pool_min: int,
    inbox: Mailbox | None,
    stopping: asyncio.Event,
) -> TickReport:
    report = TickReport(at=at, recovered=store.recover(at))
    for key in report.recovered:
        log.error("%s was interrupted while sending; recorded as unknown", key)
    timeline = plan(program)
    secret = store.secret("reply-token")
    composer = Composer(program, timeline, secret)
    if inbox is not None:
        await _read(program, store, composer, timeline, inbox=inbox, report=report)
    timeline, composer, standing = as_replied(program, store, timeline, composer, secret)
    decisions = decide_now(store, timeline, composer, standing, at)
    digests = [s for s in decisions.sends if s.action.item == "digest"]
    sends = [s for s in decisions.sends if s.action.item != "digest"]
    backlog = Backlog(composer, timeline, secret, sends, at, pool_min=pool_min)
    if not backlog.pooled:  # composed and committed in chunks before anything is sent
        await _enqueue(backlog, store, at, report)
    rows, versions = records(store, composer, decisions, at, digests=digests, standing=standing)
    report.enqueued += (
        store.enqueue(rows, at, versions) - len(decisions.stale) - len(decisions.held)
    )
    report.skipped = len(decisions.stale)
    report.cancelled = len(decisions.cancels)
    for row in store.expire(at):
        state = "failed" if row.attempts else "skipped"
        report.outcomes[state] += 1
        log.warning("%s: %s: not delivered before its deadline %s", row.key, state, row.deadline_at)
    report.alerts += _alerts(store, composer, at)
    if not backlog.pooled and not store.due(at, 1):
        _merge(report, _hold_only(store, at))
        report.next_due = _next_due(timeline, store, at)
        return report
    # a big backlog is composed by a worker process while this one delivers what is ready
    fresh = asyncio.Event()
    composing = (
        asyncio.create_task(_enqueue(backlog, store, at, report, fresh)) if backlog.pooled else None
    )
    transport = transport_factory()
    try:
        await _deliver_all(
            program, store, transport, composer, report, composing=composing, fresh=fresh,
            stopping=stopping,
        )  # fmt: skip
        if composing is not None:
            await composing
    finally:
        if composing is not None and not composing.done():
            composing.cancel()
            await asyncio.gather(composing, return_exceptions=True)
        close = getattr(transport, "aclose", None)
        if close is not None:
            await close()
    report.next_due = _next_due(timeline, store, at)
    return report


async def _read(
    program: Program,
    store: Store,
    composer: Composer,
    timeline: list[Action],
    *,
    inbox: Mailbox,
    report: TickReport,
) -> None:
    """Record what arrived; the mailbox failing never stops the sending part of the pass."""
    settings, at = program.config.imap, report.at
    understanding = Understanding(program, store, composer, timeline, at)
    try:
        report.inbox = await read_mailbox(
            inbox, store, understanding, at,
            mailbox=settings.mailbox, unmatched=settings.unmatched_mailbox,
        )  # fmt: skip
    except TransportError as error:
        report.inbox_error = str(error)
        log.error("cannot read the mailbox: %s", error)


async def _enqueue(
    backlog: Backlog,
    store: Store,
    at: dt.datetime,
    report: TickReport,
    fresh: asyncio.Event | None = None,
) -> None:
    """Commit composed chunks as they come: a long backlog keeps its progress if interrupted.
    `fresh` is set after each chunk, for a delivery waiting for work."""
    async for chunk in backlog:
        rows = [row for row, _ in chunk]
        versions = [version for _, version in chunk if version is not None]
        report.enqueued += store.enqueue(rows, at, versions)
        if fresh is not None:
            fresh.set()


async def _deliver_all(
    program: Program,
    store: Store,
    transport: Transport,
    composer: Composer,
    report: TickReport,
    *,
    composing: asyncio.Task[None] | None,
    fresh: asyncio.Event,
    stopping: asyncio.Event,
) -> None:
    """Deliver until nothing is due and nothing more is being composed; then deliver the
    alerts about this pass's failures once."""
    sender, smtp, at = program.config.sender.address, program.config.smtp, report.at
    alerted = False
    while True:
        fresh.clear()  # chunks enqueued from now on wake the wait below
        delivery = await deliver(
            store, transport, sender, at, concurrency=smtp.connections,
            per_day=smtp.max_per_day, stopping=stopping,
        )  # fmt: skip
        _merge(report, delivery)
        if delivery.halted or stopping.is_set():
            return
        if composing is not None and not composing.done():
            if not store.due(at, 1):  # wait for the next chunk, the end of composing or a stop
                waits = [asyncio.ensure_future(e.wait()) for e in (fresh, stopping)]
                await asyncio.wait({composing, *waits}, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
            continue
        if alerted or not (added := _alerts(store, composer, at)):
            return
        report.alerts += added
        alerted = True


def _alerts(store: Store, composer: Composer, at: dt.datetime) -> int:
    """Organizers hear once of every failed or unknown send (not of failed alerts: no loops)."""
    failed = store.unreported(("failed", "unknown"))
    if not failed:
        return 0
    alerts = [composer.alert(r, at) for r in failed if r.kind != "alert"]
    added = store.enqueue(alerts, at)
    store.mark_reported([r.key for r in failed], at)
    return added


def _hold_only(store: Store, at: dt.datetime) -> Delivery:
    """A pass with nothing due still reports a hold in force."""
    hold = store.hold()
    if hold is None or hold.until <= at:
        return Delivery()
    return Delivery(paused_until=hold.until, halted=hold.reason)


def _merge(report: TickReport, delivery: Delivery) -> None:
    report.outcomes.update(delivery.outcomes)
    report.halted = delivery.halted or report.halted
    report.paused_until = delivery.paused_until or report.paused_until
