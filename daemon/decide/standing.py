"""Where each participant stands, from the commands they sent: taking part, paused (until a
date, or until RESUME) or withdrawn — and what that means for a planned send (pure).

- PAUSE [until DATE]: emails and reminders due while paused wait; when the pause ends they go,
  if still useful then (a reminder before its due date), else they are skipped as stale.
  Calendar invitations still go: an event stays an event.
- RESUME ends a pause at once; a pause with a date ends at the start of that day in the
  participant's zone.
- WITHDRAW: nothing more is sent to the person (a message for several people still goes to
  them all while one of them takes part), and their invitations are no longer planned, so the
  ones already sent are cancelled (METHOD:CANCEL) by the usual reconciliation.
Commands count from the moment they were recorded, in the order they came. An address that
bounced for good (a 5.x.x delivery status) gets nothing more either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from daemon.ledger.records import Command
from daemon.program.timeline import Action

QUIET_KINDS = frozenset({"email", "reminder"})  # what a pause holds back


@dataclass(frozen=True)
class Standing:
    paused_at: dt.datetime | None = None
    paused_until: dt.datetime | None = None  # None with paused_at: until RESUME
    withdrawn_at: dt.datetime | None = None

    def paused(self, at: dt.datetime) -> bool:
        if self.paused_at is None or at < self.paused_at:
            return False
        return self.paused_until is None or at < self.paused_until


def standings(
    commands: Iterable[tuple[dt.datetime, Command]],
    zones: dict[str, dt.tzinfo],
) -> dict[str, Standing]:
    """Each participant's standing after these commands (time-ordered, as recorded)."""
    out: dict[str, Standing] = {}
    for at, command in commands:
        who = command.participant
        current = out.get(who, Standing())
        if current.withdrawn_at is not None:
            continue  # nothing after leaving changes anything
        if command.name == "PAUSE":
            until = _day_start(command.args.get("until"), zones.get(who, dt.UTC))
            out[who] = Standing(paused_at=at, paused_until=until)
        elif command.name == "RESUME":
            out[who] = Standing()
        elif command.name == "WITHDRAW":
            out[who] = Standing(withdrawn_at=at)
    return out


def without_withdrawn(timeline: list[Action], standing: Mapping[str, Standing]) -> list[Action]:
    """The timeline minus the invitations of people who left (their sent ones get cancelled)."""
    gone = {who for who, s in standing.items() if s.withdrawn_at is not None}
    if not gone:
        return timeline
    return [a for a in timeline if not (a.kind == "invite" and set(a.recipients) <= gone)]


def after_leaving(timeline: list[Action], standing: Mapping[str, Standing]) -> list[Action]:
    """The timeline with people who left taken out of the obligation windows that opened after
    they left (and out of those windows' flags): nobody owes anything, nor is named in a flag,
    for a window they were gone before. A window left with nobody is dropped with its mail."""
    left = {who: s.withdrawn_at for who, s in standing.items() if s.withdrawn_at is not None}
    if not left:
        return timeline
    remaining: dict[str, tuple[str, ...]] = {}
    for a in timeline:
        if a.kind == "obligation" and any(
            (at := left.get(who)) is not None and a.at >= at for who in a.who
        ):
            remaining[a.key] = tuple(
                who for who in a.who if (at := left.get(who)) is None or a.at < at
            )
    if not remaining:
        return timeline
    out = []
    for a in timeline:
        keys = [k for k in (a.key, *a.asks) if k in remaining]
        if not keys:
            out.append(a)
        elif not (who := remaining[keys[0]]):
            continue  # nobody left to owe it: no window, no request, no flag
        elif a.kind == "obligation":
            out.append(a._replace(who=who, recipients=who))
        elif a.kind == "flag":
            out.append(a._replace(who=who))
        else:
            out.append(a)  # mail to the one who left is held back as usual
    return out


def held_back(action: Action, standing: Mapping[str, Standing]) -> str:
    """Why this planned send must not go (a reason to record), or "" if it may."""
    reasons = []
    for who in action.recipients:
        s = standing.get(who)
        if s is None:
            return ""  # someone it is for takes part: it goes
        if s.withdrawn_at is not None and action.at >= s.withdrawn_at:
            reasons.append(f"{who} withdrew")
        else:
            return ""
    return "; ".join(reasons)


def paused_now(action: Action, standing: Mapping[str, Standing], now: dt.datetime) -> bool:
    """An email or reminder to people who are all paused right now: not yet. It is decided
    again at every pass, so it goes when the pause ends (RESUME or its date) if it is still
    useful then — a pause shifts reminders; the stale ones are skipped as usual."""
    return action.kind in QUIET_KINDS and all_paused(action.recipients, standing, now)


def bounced(action: Action, hard_bounces: set[str]) -> str:
    """Why a send must not go to an address that bounced for good (5.x.x), or "". The
    organizers were told; a corrected address in the roster is a new address."""
    if action.kind == "flag" or not action.recipients:
        return ""
    if all(who in hard_bounces for who in action.recipients):
        return f"{', '.join(action.recipients)} bounced"
    return ""


def _day_start(value: object, zone: dt.tzinfo) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(0), zone).astimezone(dt.UTC)


def all_paused(people: tuple[str, ...], standing: Mapping[str, Standing], now: dt.datetime) -> bool:
    """Everyone named is paused right now (and nobody is named for nothing)."""
    return bool(people) and all(
        (s := standing.get(who)) is not None and s.withdrawn_at is None and s.paused(now)
        for who in people
    )
