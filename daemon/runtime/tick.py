"""One pass: recover, read, then a straight pipeline — snapshot the ledger, decide (pure),
compose and enqueue (one place), deliver (bounded in time).

    recover   sends cut off by a crash become `unknown` (never re-sent blindly)
    read      new mail in the mailbox: classified, recorded with what it means, then moved
    snapshot  the ledger, read once
    decide    timeline + snapshot + now -> every action of the pass (pure)
    enqueue   compose what was decided and write it, in chunks
    deliver   send what is due, until nothing is, sending is held, or the time bound

When delivery ends with new failures, the pipeline runs once more so the organizers hear of
them in this pass (an alert is never alerted about). `mentormail tick --at T` runs exactly this
once; `mentormail run` repeats it. The state lock is held for the whole pass, so two passes
never overlap on one state directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.decide.decision import decide, replan
from daemon.errors import TransportError
from daemon.ledger.records import ts
from daemon.program.timeline import Action, plan
from daemon.runtime.backups import backup_if_due
from daemon.runtime.deliver import Delivery, Transport, deliver
from daemon.runtime.enqueue import Enqueued, enqueue
from daemon.runtime.read import Mailbox, ReadReport, read_mailbox
from daemon.store.lock import StateLock
from daemon.store.reads import MAILBOX_PROBLEM
from daemon.store.sqlite import Store

if TYPE_CHECKING:
    from daemon.mail.compose import Composer
    from daemon.program.instance import Program

log = logging.getLogger(__name__)

ROUNDS = 2  # the second only to tell the organizers of failures found by the first


@dataclass
class TickReport:
    at: dt.datetime
    enqueued: int = 0  # planned sends and cancellations queued (alerts are counted apart)
    alerts: int = 0
    answers: int = 0
    skipped: int = 0
    revoked: int = 0
    cancelled: int = 0
    recovered: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    paused_until: dt.datetime | None = None
    halted: str = ""
    bounded: bool = False  # delivery stopped at its time bound with sends still due
    next_due: dt.datetime | None = None  # when the next planned send or retry is due
    inbox: ReadReport | None = None  # what reading the mailbox found, if it was read
    inbox_error: str = ""  # why the mailbox could not be read

    def summary(self) -> str:
        parts = [self.inbox.summary()] if self.inbox else []
        parts += [f"mailbox not read: {self.inbox_error}"] if self.inbox_error else []
        parts += [f"{self.enqueued} new", f"{self.skipped} stale skipped"]
        parts += [f"{self.answers} answers"] if self.answers else []
        parts += [f"{self.revoked} no longer needed"] if self.revoked else []
        parts += [f"{self.alerts} alerts to organizers"] if self.alerts else []
        parts += [f"{n} {state}" for state, n in sorted(self.outcomes.items())]
        if self.recovered:
            parts.append(f"{len(self.recovered)} interrupted sends now unknown")
        if self.paused_until:
            parts.append(f"sending held until {self.paused_until:%Y-%m-%d %H:%M}Z: {self.halted}")
        if self.bounded:
            parts.append("more due: the next pass goes on")
        return f"tick at {self.at:%Y-%m-%d %H:%M}Z: " + ", ".join(parts)


async def run_tick(
    deployment: Deployment,
    clock: Clock,
    transport_factory: Callable[[], Transport],
    *,
    locked: bool = False,
    inbox: Mailbox | None = None,
    stopping: asyncio.Event | None = None,
    timeline: list[Action] | None = None,
    mailbox_problem: str = "",
) -> TickReport:
    """One pass; takes the state lock unless the caller (the service) already holds it.
    With an open `inbox`, what arrived is read and recorded first. Once `stopping` is set,
    nothing more is claimed for sending: the pass ends when the transactions in flight do.
    `timeline` is the program's plan, when the caller has it already. `mailbox_problem`:
    why the caller could not open the mailbox (kept in the store for `status` until a pass
    reads it again)."""
    directory = deployment.state_dir
    with contextlib.nullcontext() if locked else StateLock(directory):
        store = Store.open(directory)
        try:
            return await _Tick(
                deployment, store, clock, transport_factory,
                timeline if timeline is not None else plan(deployment.program),
                stopping or asyncio.Event(),
            ).run(inbox, mailbox_problem)  # fmt: skip
        finally:
            store.close()


def _composer(program: Program, timeline: list[Action], secret: bytes) -> Composer:
    """The pass's composer, made when there is something to compose (templates, invitations:
    a pass with nothing to send loads neither)."""
    from daemon.mail.compose import Composer

    return Composer(program, timeline, secret)


def _note_mailbox(store: Store, problem: str, now: dt.datetime) -> None:
    """Keep why the mailbox cannot be read (since when), or forget it once it was read."""
    known = store.value(MAILBOX_PROBLEM) or ""
    if not problem:
        if known:
            store.set_value(MAILBOX_PROBLEM, "")
        return
    since = known.split("|", 1)[0] if known else ts(now)
    if known != f"{since}|{problem}":
        store.set_value(MAILBOX_PROBLEM, f"{since}|{problem}")


@dataclass
class _Tick:
    deployment: Deployment
    store: Store
    clock: Clock
    transport_factory: Callable[[], Transport]
    timeline: list[Action]
    stopping: asyncio.Event

    async def run(self, inbox: Mailbox | None, mailbox_problem: str) -> TickReport:
        store = self.store
        report = TickReport(at=self.clock.now(), recovered=store.recover(self.clock.now()))
        store.note_first_pass(report.at)
        for key in report.recovered:
            log.error("%s was interrupted while sending; recorded as unknown", key)
        if inbox is not None:
            await self._read(inbox, report)
        report.inbox_error = report.inbox_error or mailbox_problem
        if inbox is not None or report.inbox_error:
            _note_mailbox(store, report.inbox_error, report.at)
        await self._rounds(report)
        try:
            backup_if_due(store, self.deployment.state_dir, self.clock.now())
        except (OSError, sqlite3.Error) as error:  # the pass is done; the next one tries again
            log.error("the daily backup of the store failed: %s", error)
        return report

    async def _rounds(self, report: TickReport) -> None:
        """The pipeline: snapshot, decide, enqueue and deliver (twice if the first delivery
        had failures to tell the organizers of)."""
        store, settings = self.store, self.deployment.settings
        until = self.clock.monotonic() + settings.smtp.pass_seconds
        secret = store.secret("reply-token")
        next_planned: dt.datetime | None = None
        for _ in range(ROUNDS):
            now = self.clock.now()
            snapshot = store.snapshot()
            plan_now = replan(self.deployment.program, self.timeline, snapshot)
            decision = decide(plan_now, snapshot, now)
            compose = partial(_composer, plan_now.program, plan_now.timeline, secret)
            ready = asyncio.Event()
            composing = asyncio.create_task(enqueue(store, compose, decision, self.clock, ready))
            try:
                delivery = await self._deliver(until, composing, ready)
                done = await composing
            finally:
                if not composing.done():
                    composing.cancel()
                    await asyncio.gather(composing, return_exceptions=True)
            report.enqueued += done.sends
            report.answers += done.answers
            report.alerts += done.alerts
            report.skipped += done.skipped
            report.revoked += done.revoked
            report.cancelled += len(decision.cancels)
            report.outcomes.update(expiry.state for expiry in decision.expiries)
            next_planned = decision.next_planned
            _merge(report, delivery)
            failed = delivery.outcomes["failed"] + delivery.outcomes["unknown"]
            if not failed or delivery.bounded or self.stopping.is_set():
                break
        if not report.paused_until:
            _merge(report, _hold_only(store, self.clock.now()))
        report.next_due = self._next_due(next_planned, report)

    async def _read(self, inbox: Mailbox, report: TickReport) -> None:
        """Record what arrived; the mailbox failing never stops the sending part of the pass."""
        from daemon.inbound.meaning import Understanding  # what reading needs, loaded to read
        from daemon.inbound.parse import Limits

        settings, program = self.deployment.settings.imap, self.deployment.program
        understanding = Understanding(
            program, self.store, self.timeline, self.clock.now(),
            processed=settings.processed_mailbox, unmatched=settings.unmatched_mailbox,
            authserv_ids=settings.authserv_ids,
        )  # fmt: skip
        try:
            report.inbox = await read_mailbox(
                inbox, self.store, understanding, self.clock,
                mailbox=settings.mailbox, unmatched=settings.unmatched_mailbox,
                max_bytes=Limits().max_bytes,
            )  # fmt: skip
        except TransportError as error:
            report.inbox_error = str(error)
            log.error("cannot read the mailbox: %s", error)

    async def _deliver(
        self, until: float, composing: asyncio.Task[Enqueued], ready: asyncio.Event
    ) -> Delivery:
        """Deliver what is due, and what is queued while composing goes on, until nothing
        more is or the delivery stops (held, bounded, stopping)."""
        store, smtp, clock = self.store, self.deployment.settings.smtp, self.clock
        total, transport = Delivery(), None
        try:
            while not self.stopping.is_set():
                ready.clear()  # chunks written from now on wake the wait below
                if store.due(clock.now(), 1):
                    transport = transport or self.transport_factory()
                    delivery = await deliver(
                        store, transport, self.deployment.program.sender.address, clock,
                        concurrency=smtp.connections, per_day=smtp.max_per_day, until=until,
                        stopping=self.stopping,
                    )  # fmt: skip
                    total.outcomes.update(delivery.outcomes)
                    total.halted, total.bounded = delivery.halted, delivery.bounded
                    total.paused_until = delivery.paused_until
                    if delivery.halted or delivery.bounded or not delivery.outcomes:
                        break  # (nothing tried: what is due cannot be sent in this pass)
                if composing.done():
                    if not store.due(clock.now(), 1):
                        break
                    continue
                waits = [asyncio.ensure_future(e.wait()) for e in (ready, self.stopping)]
                await asyncio.wait({composing, *waits}, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
        finally:
            close = getattr(transport, "aclose", None)
            if close is not None:
                await close()
        return total

    def _next_due(self, planned: dt.datetime | None, report: TickReport) -> dt.datetime | None:
        """The next instant a pass has work: now if delivery stopped at its bound, else a
        planned send or a retry — not before a hold ends."""
        now = self.clock.now()
        retry = self.store.next_attempt()
        candidates = [t for t in (planned, retry) if t is not None]
        if report.bounded and not report.paused_until:
            candidates.append(now)
        if not candidates:
            return None
        hold = self.store.hold()
        soonest = min(candidates)
        return max(soonest, hold.until) if hold and hold.until > now else soonest


def _hold_only(store: Store, now: dt.datetime) -> Delivery:
    """A pass with nothing due still reports a hold in force."""
    hold = store.hold()
    if hold is None or hold.until <= now:
        return Delivery()
    return Delivery(paused_until=hold.until, halted=hold.reason)


def _merge(report: TickReport, delivery: Delivery) -> None:
    report.outcomes.update(delivery.outcomes)
    report.halted = delivery.halted or report.halted
    report.paused_until = delivery.paused_until or report.paused_until
    report.bounded = report.bounded or delivery.bounded
