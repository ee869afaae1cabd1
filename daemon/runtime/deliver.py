"""Deliver due outbox rows over SMTP and record each outcome, for a bounded time.

A hold on all sending (provider pause, unusable server, daily limit) is kept in the store and
honoured across passes and restarts. Per row: wait for the per-minute limit, claim it
(pending -> sending, committed) just before the SMTP transaction, send, then record the outcome
— sent; pending again with backoff (4xx, connection trouble before the final dot) until its
deadline, then failed; failed (5xx); unknown (no reply after the final dot: it may have been
delivered, so it is never re-sent blindly). A provider quota reply holds all sending for
QUOTA_PAUSE; a server that cannot be used at all (refused, 421 greeting, TLS or login failure)
holds it with a growing backoff. Failed and unknown sends are reported by the next decision.

Time moves: claims, outcomes and retries are stamped with the clock when they happen. A
delivery ends when nothing is due, sending is held, the pass is stopping, or its time bound
(`until`, on the monotonic clock) is reached — then reading replies and fresh decisions come
first, and the next pass goes on where this one stopped. Claims and outcomes that come
together (one per connection) share one transaction, on the store's one connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from daemon.clock import Clock
from daemon.ledger.records import Finish, Hold, OutboxRow, State, ts
from daemon.store.reads import OUTAGE, OUTAGE_OVER
from daemon.transport.smtp_outcomes import Outcome, SendResult

log = logging.getLogger(__name__)

FIRST_RETRY = dt.timedelta(minutes=5)
MAX_RETRY = dt.timedelta(hours=3)
QUOTA_PAUSE = dt.timedelta(hours=1)
RETRY_HORIZON = dt.timedelta(days=5)  # RFC 5321 §4.5.4.1: give up 4–5 days after the first try
DAY = dt.timedelta(days=1)
PAGE = 200  # rows loaded at a time (each carries its whole message)
SESSION_FAILURES = "smtp-session-failures"  # consecutive passes the server could not be used
UNUSABLE = "cannot use the SMTP server"  # how a hold for an unusable server begins


class Transport(Protocol):
    async def wait_turn(self) -> None: ...

    async def send(self, message: bytes, sender: str, recipients: list[str]) -> SendResult: ...


class Store(Protocol):
    """What delivery needs of the store (daemon.store.sqlite.Store)."""

    def due(self, now: dt.datetime, limit: int = ...) -> list[OutboxRow]: ...

    def steps(
        self,
        requests: Sequence[tuple[Finish | None, str | None]],
        now: dt.datetime,
        give_up_at: dt.datetime | None = ...,
    ) -> list[bool]: ...

    def give_back(self, keys: Sequence[str], now: dt.datetime) -> list[bool]: ...

    def hold(self) -> Hold | None: ...

    def set_hold(self, until: dt.datetime, reason: str) -> None: ...

    def sends_since(self, since: dt.datetime) -> list[dt.datetime]: ...

    def count(self, name: str, change: int | None = ...) -> int: ...

    def value(self, name: str) -> str | None: ...

    def set_value(self, name: str, value: str) -> None: ...


@dataclass
class Delivery:
    """What one delivery did."""

    outcomes: Counter[str] = field(default_factory=Counter)
    paused_until: dt.datetime | None = None  # sending is held until then
    halted: str = ""  # why sending is held
    bounded: bool = False  # it stopped at its time bound with sends still due


def backoff(attempts: int) -> dt.timedelta:
    """5 min, 10, 20, 40, 80, then every 3 h (RFC 5321 §4.5.4.1 spirit)."""
    delay: dt.timedelta = min(FIRST_RETRY * 2 ** max(0, attempts - 1), MAX_RETRY)
    return delay


async def deliver(
    store: Store,
    transport: Transport,
    envelope_sender: str,
    clock: Clock,
    *,
    concurrency: int = 2,
    per_day: int = 0,
    until: float | None = None,
    stopping: asyncio.Event | None = None,
) -> Delivery:
    """Send every due pending row, `concurrency` at a time, unless sending is held, until
    `until` (monotonic seconds). Once `stopping` is set no row is claimed any more; the
    transactions in flight finish and are recorded, and the rest stays pending."""
    result = Delivery()
    now = clock.now()
    hold = store.hold()
    if hold is not None and hold.until > now:
        _held(result, hold.until, hold.reason)
        return result
    left = _daily_budget(store, now, per_day, result)  # None: no daily limit
    if left == 0 or not store.due(now, 1):
        return result
    run = _Pass(store, transport, envelope_sender, clock, result, stopping or asyncio.Event())
    run.until = until
    await run.pages(left, per_day, concurrency)
    if result.outcomes["sent"]:
        store.count(SESSION_FAILURES, None)
        if since := store.value(OUTAGE):  # sending works again: the organizers are told once
            store.set_value(OUTAGE_OVER, f"{since.split('|', 1)[0]}|{ts(clock.now())}|"
                                         f"{since.split('|', 1)[-1]}")  # fmt: skip
            store.set_value(OUTAGE, "")
    return result


def _daily_budget(store: Store, now: dt.datetime, per_day: int, result: Delivery) -> int | None:
    """How many more messages may go in the rolling day (None: no limit); holds sending when
    none may."""
    if not per_day:
        return None
    sends = store.sends_since(now - DAY)
    if len(sends) < per_day:
        return per_day - len(sends)
    until = sends[len(sends) - per_day] + DAY
    reason = f"the daily limit of {per_day} messages (smtp.max_per_day) is reached"
    store.set_hold(until, reason)
    _held(result, until, reason)
    return 0


def _held(result: Delivery, until: dt.datetime, reason: str) -> None:
    result.paused_until, result.halted = until, reason
    log.warning("sending is held until %s: %s", f"{until:%Y-%m-%d %H:%M}Z", reason)


class _Commits:
    """Group commit on the store's one connection: the claims and outcomes the connections
    ask for in the same turn of the event loop go into one transaction (one fsync for all),
    and each goes on only once its request is durable."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self._batch: list[tuple[Finish | None, str | None, asyncio.Future[bool]]] = []
        self._flushing = False

    async def step(self, done: Finish | None, claim: str | None) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._batch.append((done, claim, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._batch, self._flushing = self._batch, [], False
        now = self.clock.now()
        try:
            claimed = self.store.steps(
                [(done, claim) for done, claim, _ in batch], now, now + RETRY_HORIZON
            )
        except Exception as error:  # e.g. the disk is full: every connection hears of it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, claim, future), ok in zip(batch, claimed, strict=True):
            if not future.done():
                future.set_result(ok)
            elif ok and claim is not None:  # its worker was cancelled meanwhile: give it back
                self.store.give_back([claim], now)


@dataclass
class _Pass:
    store: Store
    transport: Transport
    sender: str
    clock: Clock
    result: Delivery
    stopping: asyncio.Event
    until: float | None = None

    async def pages(self, left: int | None, per_day: int, concurrency: int) -> None:
        """Send due rows a page at a time until none is left, the daily budget is spent,
        sending is held, the pass stops or its time is up."""
        commits, result = _Commits(self.store, self.clock), self.result
        seen: set[str] = set()
        while (left is None or left > 0) and not self._over():
            size = PAGE if left is None else min(PAGE, left)
            page = [r for r in self.store.due(self.clock.now(), size) if r.key not in seen]
            if not page:
                return
            seen.update(r.key for r in page)
            tried = await self.send_page(page, concurrency, commits)
            if left is not None:
                left -= tried
                if left <= 0 and not result.halted:
                    _daily_budget(self.store, self.clock.now(), per_day, result)

    def _over(self) -> bool:
        if self.result.halted or self.stopping.is_set() or self.result.bounded:
            return True
        if self.until is not None and self.clock.monotonic() >= self.until:
            self.result.bounded = True
        return self.result.bounded

    async def send_page(self, page: list[OutboxRow], concurrency: int, commits: _Commits) -> int:
        """Send a page of rows, `concurrency` at a time; returns how many were tried."""
        queue: asyncio.Queue[OutboxRow] = asyncio.Queue()
        for row in page:
            queue.put_nowait(row)
        tried = [0]
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(self._worker(queue, commits, tried))
        return tried[0]

    async def _turn(self) -> bool:
        """Wait for the rate limiter; False if the time bound came first."""
        if self.until is None:
            await self.transport.wait_turn()
            return True
        try:
            async with asyncio.timeout(max(0.0, self.until - self.clock.monotonic())):
                await self.transport.wait_turn()
        except TimeoutError:
            self.result.bounded = True
            return False
        return True

    async def _worker(
        self, queue: asyncio.Queue[OutboxRow], commits: _Commits, tried: list[int]
    ) -> None:
        # a commit records the previous outcome and claims the next row together, and
        # nothing goes out before its claim is durable
        done: Finish | None = None
        while True:
            row = None if queue.empty() or self._over() else queue.get_nowait()
            if row is not None:
                try:
                    ready = await self._turn()  # before the claim: a wait holds nothing
                except BaseException:
                    await commits.step(done, None)  # stopped while waiting: keep what is known
                    raise
                if not ready or self._over():
                    row = None  # unclaimed, so still pending: the next pass sends it
            if not await commits.step(done, row.key if row else None):
                if row is None:
                    return
                done = None
                continue
            assert row is not None
            tried[0] += 1
            try:
                sent = await self.transport.send(row.message, self.sender, list(row.recipients))
            except Exception as exc:  # an adapter bug must not leave the row 'sending'
                log.exception("send of %s failed unexpectedly", row.key)
                sent = SendResult(Outcome.UNKNOWN, None, f"unexpected error: {exc!r}")
            done = _outcome(self.store, row, sent, self.clock.now(), self.result)


def _outcome(
    store: Store, row: OutboxRow, sent: SendResult, now: dt.datetime, out: Delivery
) -> Finish:
    """What to record for a send that ended at `now`, and what it means for the rest of the
    delivery."""
    detail = sent.described
    outcome = sent.outcome
    if sent.session and outcome is not Outcome.SENT:
        # nothing about this message is wrong: keep it and hold all sending, backing off
        out.outcomes["waiting"] += 1
        if out.paused_until is not None:  # another connection found it first in this pass
            return Finish(row.key, "pending", detail, out.paused_until, now)
        failures = store.count(SESSION_FAILURES, 1)
        # a missing sign-in costs nothing to look for again: it resumes soon after `login`
        until = now + (FIRST_RETRY if sent.signin else backoff(failures))
        fix = " (fix the [smtp] settings or the password)" if outcome is Outcome.FAILED else ""
        fix = "" if "mentormail login" in detail else fix
        if not store.value(OUTAGE):
            store.set_value(OUTAGE, f"{ts(now)}|{detail}")
        store.set_hold(until, f"{UNUSABLE}: {detail}{fix}")
        _held(out, until, f"{UNUSABLE}: {detail}{fix}")
        return Finish(row.key, "pending", detail, until, now)
    if outcome is Outcome.SENT:
        out.outcomes["sent"] += 1
        if not sent.refused:
            return Finish(row.key, "sent", at=now)
        log.warning("%s: some recipients refused: %s", row.key, ", ".join(sent.refused))
        refused = f"refused by the server for: {', '.join(sent.refused)}"
        return Finish(row.key, "sent", refused, at=now)
    if outcome is Outcome.PAUSE:
        until = now + QUOTA_PAUSE
        store.set_hold(until, f"the provider asked to slow down: {detail}")
        _held(out, until, f"the provider asked to slow down: {detail}")
        out.outcomes["paused"] += 1
        return Finish(row.key, "pending", detail, until, now)
    if outcome is Outcome.RETRY:
        retry_at = now + backoff(row.attempts + 1)
        # the claim of a first attempt brought the deadline to RETRY_HORIZON at the latest
        deadline = row.deadline_at if row.attempts else min(row.deadline_at, now + RETRY_HORIZON)
        if retry_at <= deadline:
            out.outcomes["retry"] += 1
            log.info("%s: temporary failure (%s); retrying at %s", row.key, detail,
                     f"{retry_at:%Y-%m-%d %H:%M}Z")  # fmt: skip
            return Finish(row.key, "pending", detail, retry_at, now)
        detail = f"gave up after {row.attempts + 1} attempts: {detail}"
        outcome = Outcome.FAILED
    state: State = "failed" if outcome is Outcome.FAILED else "unknown"
    out.outcomes[state] += 1
    log.error("%s: %s (%s)", row.key, state, detail)
    return Finish(row.key, state, detail, at=now)
