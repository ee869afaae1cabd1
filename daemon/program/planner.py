"""The pure planner: (program, now) -> every action of the program, each with a deterministic key.

Nothing here does I/O or reads the clock. Per-participant sends are computed in the
participant's own zone ("Monday 09:00" is 09:00 where they are, DST-correct); obligation
windows are in the program zone; flags go to every organizer at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from daemon.program.loader import Program
from daemon.program.model import Obligation
from daemon.program.roster import Organizer, Participant
from daemon.program.timespec import to_utc, zone
from daemon.program.windows import (
    event_span,
    event_zone,
    obligation_windows,
    occurrence_date,
    occurrences,
    step,
)

Kind = Literal["email", "invite", "cancel", "reminder", "obligation", "flag"]
Person = Participant | Organizer


@dataclass(frozen=True, slots=True)
class Action:
    """One planned thing. `key` is unique and stable; per-recipient items carry one recipient."""

    kind: Kind
    key: str
    at: dt.datetime
    recipients: tuple[str, ...]
    title: str
    item: str
    occurrence: int = 0
    scope: str = ""
    template: str = ""
    subject: str = ""
    phase: str = ""
    asks: tuple[str, ...] = ()
    uid: str = ""
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    opens_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    who: tuple[str, ...] = ()
    stale_at: dt.datetime | None = None


Windows = dict[tuple[str, str], list[Action]]
"""Obligation instances by (obligation id, participant email), in window order."""


def event_uid(key: str, domain: str) -> str:
    """The iCalendar UID of the invite sent under `key`: stable forever, opaque."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@" + domain


def plan(program: Program) -> list[Action]:
    """Every action of the program, sorted by instant then key."""
    obligations = list(_obligations(program))
    windows: Windows = {}
    for action in obligations:
        if action.kind == "obligation":
            for email in action.who:
                windows.setdefault((action.item, email), []).append(action)
    actions = [*_messages(program, windows), *_events(program), *obligations]
    actions.sort(key=lambda a: (a.at, a.key))
    return actions


def _asked(windows: Windows, ids: tuple[str, ...], email: str, at: dt.datetime) -> tuple[str, ...]:
    """For a message that asks about obligations: the recipient's instance of each that is open
    when the message goes out, or else the next to open."""
    keys = []
    for ob_id in ids:
        instances = windows.get((ob_id, email), [])
        current = [a for a in instances if a.opens_at and a.due_at and a.opens_at <= at < a.due_at]
        later = [a for a in instances if a.opens_at and a.opens_at > at]
        chosen = current[:1] or later[:1]
        keys += [a.key for a in chosen]
    return tuple(keys)


def scopes(program: Program, audience: str) -> Iterator[tuple[str, tuple[Participant, ...]]]:
    """The units an audience or obligation holder names: (scope id, members)."""
    people = program.participants
    if audience == "each_group":
        yield from ((f"group:{g}", m) for g, m in sorted(program.groups().items()))
    elif audience == "each_pair":
        yield from ((f"pair:{p}", m) for p, m in sorted(program.pairs().items()))
    elif audience.startswith("role:"):
        yield from ((p.email, (p,)) for p in people if p.role == audience[5:])
    else:  # all, each_participant
        yield from ((p.email, (p,)) for p in people)


def recipients(program: Program, audience: str, option: str = "") -> list[Person]:
    if audience == "organizers":
        return list(program.organizers)
    members = [p for _, unit in scopes(program, audience) for p in unit]
    return [p for p in members if not option or option in p.options]


def _messages(program: Program, windows: Windows) -> Iterator[Action]:
    pid = program.id
    default_time = program.schedule.program.send_time
    for m in program.schedule.messages:
        when = m.send.time or default_time
        people = recipients(program, m.audience, m.option)
        stale = dt.timedelta(days=m.stale_after_days)
        for k in occurrences(m.repeat):
            day = occurrence_date(m.send, program.start, m.repeat, k)
            for person in people:
                at = to_utc(day, when, zone(person.timezone))
                yield Action(
                    kind="email",
                    key=f"{pid}/message/{m.id}/{k}/{person.email}",
                    at=at,
                    recipients=(person.email,),
                    title=m.title,
                    item=m.id,
                    occurrence=k,
                    template=m.template,
                    subject=m.subject,
                    phase=m.phase,
                    asks=_asked(windows, m.asks, person.email, at) if m.asks else (),
                    stale_at=at + stale,
                )


def _events(program: Program) -> Iterator[Action]:
    pid = program.id
    domain = program.config.sender.address.rsplit("@", 1)[1]
    default_time = program.schedule.program.send_time
    for e in program.schedule.events:
        tz = event_zone(e, program.tz)
        first_begin, first_end = event_span(e, program.start, program.tz)
        units = (
            [("", tuple(recipients(program, e.audience)))]
            if e.start is not None
            else list(scopes(program, e.audience))
        )
        length = first_end - first_begin
        local_begin = first_begin.astimezone(tz)
        for scope, members in units:
            for k in occurrences(e.repeat):
                if e.first is not None:
                    day = occurrence_date(e.first, program.start, e.repeat, k)
                else:
                    day = step(local_begin.date(), e.repeat, k)
                begin = to_utc(day, local_begin.time(), tz) if k else first_begin
                end = begin + length
                send_day = occurrence_date(e.invite, program.start, e.repeat, k)
                for person in members:
                    key = "/".join(
                        x for x in (pid, "event", e.id, scope, str(k), person.email) if x
                    )
                    yield Action(
                        kind="invite",
                        key=key,
                        at=to_utc(send_day, e.invite.time or default_time, zone(person.timezone)),
                        recipients=(person.email,),
                        title=e.title,
                        item=e.id,
                        occurrence=k,
                        scope=scope,
                        template="invite",
                        subject=e.title,
                        phase=e.phase,
                        uid=event_uid(key, domain),
                        starts_at=begin,
                        ends_at=end,
                        stale_at=end,
                    )


def _obligations(program: Program) -> Iterator[Action]:
    for ob in program.schedule.obligations:
        windows = obligation_windows(ob, program.start)
        units = list(scopes(program, ob.who))
        for k, (opens_local, due_local) in enumerate(windows):
            opens = to_utc(opens_local.date(), opens_local.time(), program.tz)
            due = to_utc(due_local.date(), due_local.time(), program.tz)
            title = ob.title if len(windows) == 1 else f"{ob.title} #{k + 1}"
            for scope, members in units:
                yield from _obligation_unit(
                    program,
                    ob=ob,
                    k=k,
                    title=title,
                    scope=scope,
                    members=members,
                    window=(opens, due),
                    due_local=due_local,
                )


def _obligation_unit(
    program: Program,
    *,
    ob: Obligation,
    k: int,
    title: str,
    scope: str,
    members: tuple[Participant, ...],
    window: tuple[dt.datetime, dt.datetime],
    due_local: dt.datetime,
) -> Iterator[Action]:
    opens, due = window
    pid = program.id
    send_time = program.schedule.program.send_time
    base = f"{ob.id}/{scope}/{k}"
    ob_key = f"{pid}/obligation/{base}"
    who = tuple(p.email for p in members)
    yield Action(
        kind="obligation",
        key=ob_key,
        at=opens,
        recipients=who,
        title=title,
        item=ob.id,
        occurrence=k,
        scope=scope,
        opens_at=opens,
        due_at=due,
        who=who,
        phase=ob.phase,
    )
    opens_local_day = opens.astimezone(program.tz).date()
    grace_end = due + dt.timedelta(days=ob.grace_days)
    for person in members:
        tz = zone(person.timezone)
        if ob.request is not None:
            req = ob.request
            day = (
                occurrence_date(req.send, program.start, ob.repeat, k)
                if req.send is not None
                else opens_local_day + dt.timedelta(days=req.after_open_days)
            )
            at = to_utc(day, (req.send.time if req.send else None) or send_time, tz)
            yield Action(
                kind="email",
                key=f"{pid}/request/{base}/{person.email}",
                at=at,
                recipients=(person.email,),
                title=f"Check-in: {title}",
                item=ob.id,
                occurrence=k,
                scope=scope,
                template=req.template,
                subject=req.subject,
                asks=(ob_key,),
                phase=ob.phase,
                due_at=due,
                stale_at=due,
            )
        for days in ob.reminders_days_before:
            at = to_utc(due_local.date() - dt.timedelta(days=days), send_time, tz)
            if opens <= at < due:
                yield Action(
                    kind="reminder",
                    key=f"{pid}/reminder/{base}/{days}d/{person.email}",
                    at=at,
                    recipients=(person.email,),
                    title=f"Reminder: {title}",
                    item=ob.id,
                    occurrence=k,
                    scope=scope,
                    template="reminder",
                    asks=(ob_key,),
                    subject="Reminder: {{ obligation.title }} is due {{ obligation.due }}",
                    phase=ob.phase,
                    due_at=due,
                    stale_at=due,
                )
        if ob.overdue_notice:
            at = to_utc(due_local.date() + dt.timedelta(days=1), send_time, tz)
            yield Action(
                kind="reminder",
                key=f"{pid}/overdue/{base}/{person.email}",
                at=at,
                recipients=(person.email,),
                title=f"Overdue: {title}",
                item=ob.id,
                occurrence=k,
                scope=scope,
                template="overdue",
                asks=(ob_key,),
                phase=ob.phase,
                subject="Overdue: {{ obligation.title }}",
                due_at=due,
                stale_at=grace_end,
            )
    if ob.escalate:
        at = to_utc(due_local.date() + dt.timedelta(days=ob.grace_days), send_time, program.tz)
        yield Action(
            kind="flag",
            key=f"{pid}/flag/{base}",
            at=max(at, due),
            recipients=tuple(o.email for o in program.organizers),
            title=f"Flag: {title}",
            item=ob.id,
            occurrence=k,
            scope=scope,
            template="flag",
            asks=(ob_key,),
            subject="Overdue: {{ obligation.title }} ({{ obligation.who_names }})",
            phase=ob.phase,
            due_at=due,
            who=who,
        )
