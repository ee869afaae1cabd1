"""Deliver due outbox rows over SMTP and record each outcome.

A hold on all sending (provider pause, unusable server, daily limit) is kept in the store and
honoured across passes and restarts (the caller ends rows past their deadline first). Per row:
wait for the per-minute limit, claim it (pending -> sending, committed) just before the SMTP
transaction, send, then record the outcome — sent; pending again with backoff (4xx, connection
trouble before the final dot) until its deadline, then failed; failed (5xx); unknown (no reply
after the final dot: it may have been delivered, so it is never re-sent blindly). A provider
quota reply holds all sending for QUOTA_PAUSE; a server that cannot be used at all (refused,
421 greeting, TLS or login failure) holds it with a growing backoff. Failed and unknown sends
are reported to the organizers by the caller.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from daemon.store.sqlite import Finish, OutboxRow, State, Store
from daemon.transport.smtp import Outcome, SendResult

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


@dataclass
class Delivery:
    """What one delivery pass did."""

    outcomes: Counter[str] = field(default_factory=Counter)
    paused_until: dt.datetime | None = None  # sending is held until then
    halted: str = ""  # why sending is held


def backoff(attempts: int) -> dt.timedelta:
    """5 min, 10, 20, 40, 80, then every 3 h (RFC 5321 §4.5.4.1 spirit)."""
    delay: dt.timedelta = min(FIRST_RETRY * 2 ** max(0, attempts - 1), MAX_RETRY)
    return delay


async def deliver(
    store: Store,
    transport: Transport,
    envelope_sender: str,
    now: dt.datetime,
    *,
    concurrency: int = 2,
    per_day: int = 0,
    stopping: asyncio.Event | None = None,
) -> Delivery:
    """Send every due pending row, `concurrency` at a time, unless sending is held. Once
    `stopping` is set no row is claimed any more; the transactions in flight finish and are
    recorded, and the rest stays pending for the next start."""
    result = Delivery()
    hold = store.hold()
    if hold is not None and hold.until > now:
        _held(result, hold.until, hold.reason)
        return result
    left = _daily_budget(store, now, per_day, result)  # None: no daily limit
    if left == 0 or not store.due(now, 1):
        return result
    commits = _Commits(store, now)
    stop = stopping or asyncio.Event()
    run = _Pass(store, transport, envelope_sender, now, result, commits, stop)
    try:
        await _pages(run, left, per_day, concurrency)
    finally:
        await commits.close()
    if result.outcomes["sent"]:
        store.count(SESSION_FAILURES, None)
    return result


async def _pages(run: _Pass, left: int | None, per_day: int, concurrency: int) -> None:
    """Send due rows a page at a time until none is left, the daily budget is spent or
    sending is held."""
    store, now, result = run.store, run.now, run.result
    seen: set[str] = set()
    while (left is None or left > 0) and not result.halted and not run.stopping.is_set():
        size = PAGE if left is None else min(PAGE, left)
        page = [r for r in store.due(now, size) if r.key not in seen]
        if not page:
            return
        seen.update(r.key for r in page)
        tried = await run.send_page(page, concurrency)
        if left is not None:
            left -= tried
            if left <= 0 and not result.halted:
                _daily_budget(store, now, per_day, result)


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
    """Group commit in a thread of its own: the claims and outcomes that workers ask for
    while a commit is being written go into the next one (one fsync for all), the event loop
    keeps talking SMTP meanwhile, and each worker goes on only once its request is durable.
    The thread uses its own connection; it is the only user of that connection."""

    def __init__(self, store: Store, now: dt.datetime) -> None:
        self.writer, self.now = store.writer(), now
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="mentormail-commit")
        self._batch: list[tuple[Finish | None, str | None, asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def step(self, done: Finish | None, claim: str | None) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._batch.append((done, claim, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # the commit goes on regardless: a claim it made for us is given back
            if await future and claim is not None:
                await self._run(lambda: self.writer.give_back([claim], self.now))
            raise

    async def close(self) -> None:
        if self._flushing is not None:
            await self._flushing
        self._thread.shutdown(wait=True)
        self.writer.close()

    async def _flush(self) -> None:
        give_up_at = self.now + RETRY_HORIZON
        try:
            while self._batch:
                batch, self._batch = self._batch, []
                requests = [(done, claim) for done, claim, _ in batch]
                try:
                    claimed = await self._run(
                        functools.partial(self.writer.steps, requests, self.now, give_up_at)
                    )
                except Exception as error:  # e.g. the disk is full: every worker hears of it
                    for _, _, future in batch:
                        future.set_exception(error)
                    continue
                for (_, _, future), ok in zip(batch, claimed, strict=True):
                    future.set_result(ok)
        finally:
            self._flushing = None

    async def _run(self, write: Callable[[], list[bool]]) -> list[bool]:
        loop = asyncio.get_running_loop()
        return await asyncio.shield(loop.run_in_executor(self._thread, write))


@dataclass
class _Pass:
    store: Store
    transport: Transport
    sender: str
    now: dt.datetime
    result: Delivery
    commits: _Commits
    stopping: asyncio.Event

    async def send_page(self, page: list[OutboxRow], concurrency: int) -> int:
        """Send a page of rows, `concurrency` at a time; returns how many were tried."""
        queue: asyncio.Queue[OutboxRow] = asyncio.Queue()
        for row in page:
            queue.put_nowait(row)
        tried = [0]
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(self._worker(queue, self.commits, tried))
        return tried[0]

    async def _worker(
        self, queue: asyncio.Queue[OutboxRow], commits: _Commits, tried: list[int]
    ) -> None:
        # a commit records the previous outcome and claims the next row together, and
        # nothing goes out before its claim is durable
        store, now, done, stopping = self.store, self.now, None, self.stopping
        while True:
            row = None if queue.empty() or self.result.halted else queue.get_nowait()
            if row is not None and not stopping.is_set():
                try:
                    await self.transport.wait_turn()  # before the claim: a wait holds nothing
                except BaseException:
                    await commits.step(done, None)  # stopped while waiting: keep what is known
                    raise
            if stopping.is_set():
                row = None  # unclaimed, so still pending: the next start sends it
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
            done = _outcome(store, row, sent, now, self.result)


def _outcome(
    store: Store, row: OutboxRow, sent: SendResult, now: dt.datetime, out: Delivery
) -> Finish:
    """What to record for a send, and what it means for the rest of the pass."""
    detail = f"{sent.code or ''} {sent.detail}".strip()
    outcome = sent.outcome
    if sent.session and outcome is not Outcome.SENT:
        # nothing about this message is wrong: keep it and hold all sending, backing off
        out.outcomes["waiting"] += 1
        if out.paused_until is not None:  # another connection found it first in this pass
            return Finish(row.key, "pending", detail, out.paused_until)
        failures = store.count(SESSION_FAILURES, 1)
        until = now + backoff(failures)
        fix = " (fix the [smtp] settings or the password)" if outcome is Outcome.FAILED else ""
        store.set_hold(until, f"{UNUSABLE}: {detail}{fix}")
        _held(out, until, f"{UNUSABLE}: {detail}{fix}")
        return Finish(row.key, "pending", detail, until)
    if outcome is Outcome.SENT:
        out.outcomes["sent"] += 1
        if not sent.refused:
            return Finish(row.key, "sent")
        log.warning("%s: some recipients refused: %s", row.key, ", ".join(sent.refused))
        return Finish(row.key, "sent", f"refused by the server for: {', '.join(sent.refused)}")
    if outcome is Outcome.PAUSE:
        until = now + QUOTA_PAUSE
        store.set_hold(until, f"the provider asked to slow down: {detail}")
        _held(out, until, f"the provider asked to slow down: {detail}")
        out.outcomes["paused"] += 1
        return Finish(row.key, "pending", detail, until)
    if outcome is Outcome.RETRY:
        retry_at = now + backoff(row.attempts + 1)
        deadline = (
            min(row.deadline_at, now + RETRY_HORIZON) if not row.attempts else row.deadline_at
        )
        if retry_at <= deadline:
            out.outcomes["retry"] += 1
            log.info("%s: temporary failure (%s); retrying at %s", row.key, detail, retry_at)
            return Finish(row.key, "pending", detail, retry_at)
        detail = f"gave up after {row.attempts + 1} attempts: {detail}"
        outcome = Outcome.FAILED
    state: State = "failed" if outcome is Outcome.FAILED else "unknown"
    out.outcomes[state] += 1
    log.error("%s: %s (%s)", row.key, state, detail)
    return Finish(row.key, state, detail)
