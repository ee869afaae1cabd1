"""The pure planner: a program -> its timeline, every action of the program (each email,
invitation, obligation window, request, reminder, overdue notice, flag and digest), each with a
deterministic key. The timeline does not depend on the instant: what is due is decide's job.

Nothing here does I/O or reads the clock. Per-participant sends are computed in the
participant's own zone ("Monday 09:00" is 09:00 where they are, DST-correct); obligation
windows are in the program zone; flags go to every organizer at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from daemon.program.actions import (
    NO_SPEC,
    Action,
    EventTimes,
    Kind,
    Person,
    Spec,
    Windows,
    event_uid,
    recipients,
    scopes,
)
from daemon.program.digest_actions import digest_actions
from daemon.program.instance import Program
from daemon.program.obligation_actions import plan_obligations
from daemon.program.timespec import to_utc, zone
from daemon.program.windows import event_span, event_zone, occurrence_date, occurrences, step

__all__ = [
    "NO_SPEC",
    "Action",
    "EventTimes",
    "Kind",
    "Person",
    "Spec",
    "event_uid",
    "plan",
    "recipients",
    "scopes",
]


def plan(program: Program) -> list[Action]:
    """Every action of the program, sorted by instant then key."""
    obligations = list(plan_obligations(program))
    windows: Windows = {}
    for action in obligations:
        if action.kind == "obligation":
            for email in action.who:
                windows.setdefault((action.item, email), []).append(action)
    obligations.extend(_messages(program, windows))
    obligations.extend(_events(program))
    obligations.extend(digest_actions(program))
    obligations.sort()
    return obligations


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


def _messages(program: Program, windows: Windows) -> Iterator[Action]:
    pid = program.id
    default_time = program.schedule.program.send_time
    for m in program.schedule.messages:
        when = m.send.time or default_time
        people = recipients(program, m.audience, m.option)
        stale = dt.timedelta(days=m.stale_after_days)
        spec = Spec(m.template, m.subject, m.phase)
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
                    spec=spec,
                    asks=_asked(windows, m.asks, person.email, at) if m.asks else (),
                    stale_at=at + stale,
                )


def _events(program: Program) -> Iterator[Action]:
    pid = program.id
    domain = program.sender.domain
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
        spec = Spec("invite", e.title, e.phase)
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
                        spec=spec,
                        event=EventTimes(event_uid(key, domain), begin, end),
                        stale_at=end,
                    )
