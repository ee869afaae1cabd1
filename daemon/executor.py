"""Deliver due outbox rows over SMTP and record each outcome.

Per row: claim it (pending -> sending, committed) just before the SMTP transaction, send, then
record the outcome — sent; pending again with backoff (4xx, connection trouble before the final
dot) until its deadline, then failed; failed (5xx); unknown (no reply after the final dot: it
may have been delivered, so it is never re-sent blindly); or, for provider quota replies, pending
and a pause of all sending. Failed and unknown sends are reported to the organizers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from daemon.store.sqlite import Finish, OutboxRow, State, Store
from daemon.transport.smtp import Outcome, SendResult

log = logging.getLogger(__name__)

FIRST_RETRY = dt.timedelta(minutes=5)
MAX_RETRY = dt.timedelta(hours=3)
QUOTA_PAUSE = dt.timedelta(hours=1)


class Transport(Protocol):
    async def send(self, message: bytes, sender: str, recipients: list[str]) -> SendResult: ...


@dataclass
class Delivery:
    """What one delivery pass did."""

    outcomes: Counter[str] = field(default_factory=Counter)
    paused_until: dt.datetime | None = None
    halted: str = ""  # why the pass stopped early: the server could not be used at all


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
    limit: int = 100_000,
) -> Delivery:
    """Send every due pending row (up to `limit`), `concurrency` at a time."""
    result = Delivery()
    queue: asyncio.Queue[OutboxRow] = asyncio.Queue()
    for row in store.due(now, limit):
        queue.put_nowait(row)

    async def worker() -> None:
        # each commit records the previous outcome and claims the next row together: one
        # fsync per message, and still nothing goes out before its claim is durable
        done: Finish | None = None
        while True:
            go = not queue.empty() and result.paused_until is None and not result.halted
            row = queue.get_nowait() if go else None
            claimed = store.step(done, row.key if row else None, now)
            done = None
            if row is None:
                return
            if not claimed:
                continue
            try:
                sent = await transport.send(row.message, envelope_sender, list(row.recipients))
            except Exception as exc:  # an adapter bug must not leave the row 'sending'
                log.exception("send of %s failed unexpectedly", row.key)
                sent = SendResult(Outcome.UNKNOWN, None, f"unexpected error: {exc!r}")
            done = _outcome(row, sent, now, result)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return result


def _outcome(row: OutboxRow, sent: SendResult, now: dt.datetime, out: Delivery) -> Finish:
    """What to record for a send, and what it means for the rest of the pass."""
    detail = f"{sent.code or ''} {sent.detail}".strip()
    outcome = sent.outcome
    if sent.session and outcome is not Outcome.SENT:
        # nothing about this message is wrong: keep it, stop the pass, say why
        out.halted = detail
        out.outcomes["waiting"] += 1
        log.error("cannot use the SMTP server: %s", detail)
        return Finish(row.key, "pending", detail, now + FIRST_RETRY)
    if outcome is Outcome.SENT:
        out.outcomes["sent"] += 1
        if not sent.refused:
            return Finish(row.key, "sent")
        log.warning("%s: some recipients refused: %s", row.key, ", ".join(sent.refused))
        return Finish(row.key, "sent", f"refused by the server for: {', '.join(sent.refused)}")
    if outcome is Outcome.PAUSE:
        until = now + QUOTA_PAUSE
        out.paused_until = until
        out.outcomes["paused"] += 1
        log.warning("provider limit reached (%s): pausing all sending until %s", detail, until)
        return Finish(row.key, "pending", detail, until)
    if outcome is Outcome.RETRY:
        retry_at = now + backoff(row.attempts + 1)
        if retry_at <= row.deadline_at:
            out.outcomes["retry"] += 1
            log.info("%s: temporary failure (%s); retrying at %s", row.key, detail, retry_at)
            return Finish(row.key, "pending", detail, retry_at)
        detail = f"gave up after {row.attempts + 1} attempts: {detail}"
        outcome = Outcome.FAILED
    state: State = "failed" if outcome is Outcome.FAILED else "unknown"
    out.outcomes[state] += 1
    log.error("%s: %s (%s)", row.key, state, detail)
    return Finish(row.key, state, detail)
