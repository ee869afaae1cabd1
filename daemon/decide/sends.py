"""Which planned sends are due now (pure): due actions not yet in the outbox, invitation
updates and cancellations, and the catch-up policy.

Catch-up policy: after downtime a due send still goes out while it is useful — an email until
its `stale_after_days` pass, a check-in request or reminder until the obligation is due, an
overdue notice until the grace period ends, an invitation until the event ends, a flag always.
A send that is no longer useful is recorded as `skipped` (and logged), never sent late.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from daemon.ledger.records import EventVersion
from daemon.program.timeline import Action

SENDABLE = frozenset({"email", "invite", "reminder", "flag"})


@dataclass(frozen=True)
class Send:
    """One send to make: its outbox key, the planned action, and for an invite its version."""

    key: str
    action: Action
    sequence: int | None = None


@dataclass
class Due:
    sends: list[Send] = field(default_factory=list)
    stale: list[Action] = field(default_factory=list)
    cancels: list[EventVersion] = field(default_factory=list)
    held: list[tuple[Action, str]] = field(default_factory=list)  # (action, why not sent)


def due_sends(
    timeline: Iterable[Action],
    known: Collection[str],
    events: Mapping[str, EventVersion],
    invite_hash: Callable[[Action], str],
    now: dt.datetime,
    *,
    held_back: Callable[[Action], str] = lambda action: "",
    not_yet: Callable[[Action], bool] = lambda action: False,
) -> Due:
    """`held_back` says why a due send must not go (a participant paused or left), if so;
    `not_yet` leaves a due send undecided, to be decided again at the next pass."""
    out = Due()
    planned_uids: set[str] = set()
    for action in timeline:
        if action.kind not in SENDABLE:
            continue
        if action.kind == "invite":
            planned_uids.add(action.uid)
            version = events.get(action.uid)
            _invite(action, version, known=known, invite_hash=invite_hash, now=now, out=out)
        elif action.at <= now and action.key not in known and not not_yet(action):
            if action.stale_at is not None and now >= action.stale_at:
                out.stale.append(action)
            elif reason := held_back(action):
                out.held.append((action, reason))
            else:
                out.sends.append(Send(action.key, action))
    for uid, version in sorted(events.items()):
        if version.status == "active" and uid not in planned_uids and not _ended(version, now):
            out.cancels.append(version)
    return out


def _invite(
    action: Action,
    version: EventVersion | None,
    *,
    known: Collection[str],
    invite_hash: Callable[[Action], str],
    now: dt.datetime,
    out: Due,
) -> None:
    useful = action.ends_at is None or now < action.ends_at
    if version is None:
        if action.at <= now and action.key not in known:
            if useful:
                out.sends.append(Send(action.key, action, 0))
            else:
                out.stale.append(action)
        return
    changed = version.status == "cancelled" or invite_hash(action) != version.content_hash
    if changed and useful:
        sequence = version.sequence + 1
        key = f"{action.key}/v{sequence}"
        if key not in known:
            out.sends.append(Send(key, action, sequence))


def _ended(version: EventVersion, now: dt.datetime) -> bool:
    ends = json.loads(version.invite).get("ends_at")
    return bool(ends) and dt.datetime.fromisoformat(ends) <= now


def cancel_key(version: EventVersion) -> str:
    return f"{version.invite_key}/cancel/{version.sequence + 1}"
