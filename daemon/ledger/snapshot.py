"""The ledger as one pass sees it: read once, in one read transaction, then never again. Every
decision of the pass is made from this value (and the plan, and the instant), so a decision
cannot depend on the order the store happened to be read in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from daemon.ledger.records import (
    Bouncing,
    Checkin,
    Command,
    EventVersion,
    Failure,
    Hold,
    Intent,
    Pending,
    Rsvp,
)


@dataclass(frozen=True)
class Snapshot:
    known: frozenset[str] = frozenset()  # every key in the outbox, whatever its state
    skipped: frozenset[str] = frozenset()  # the keys recorded as skipped (never sent)
    events: Mapping[str, EventVersion] = field(default_factory=dict)  # by UID
    checkins: tuple[tuple[dt.datetime, Checkin], ...] = ()  # in arrival order
    commands: tuple[tuple[dt.datetime, Command], ...] = ()  # in arrival order
    rsvps: tuple[Rsvp, ...] = ()
    bouncing: Mapping[str, Bouncing] = field(default_factory=dict)  # by address
    pending: tuple[Pending, ...] = ()  # queued, not yet sent
    failures: tuple[Failure, ...] = ()  # failed or unknown, the organizers not yet told
    intents: tuple[Intent, ...] = ()  # answers recorded with their mail, not yet queued
    hold: Hold | None = None
    unmatched: int = 0  # mail kept for a person to look at
    refused: int = 0  # mail from a sender our receiving server did not vouch for, kept unread
    # after a restore: (when the backup was taken, when it was restored); what fell due
    # between them may have been sent by the store that was replaced
    restored: tuple[dt.datetime, dt.datetime] | None = None
    # the last time sending could not be done at all: (from, until, why), once it works again
    outage: tuple[dt.datetime, dt.datetime, str] | None = None
    mailbox_problem: tuple[dt.datetime, str] | None = None  # since when, why it is not read
    first_pass: dt.datetime | None = None  # when mentormail first ran a pass on this store
