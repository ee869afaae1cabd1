"""One outbox row as `status` shows it: without its message, with what happened to it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from daemon.ledger.records import State


@dataclass(frozen=True)
class OutboxLine:
    key: str
    kind: str
    title: str
    recipients: tuple[str, ...]
    state: State
    attempts: int
    next_attempt_at: dt.datetime  # pending: when it may be tried (now or later)
    updated_at: dt.datetime  # failed/unknown: when that was recorded
    last_error: str
