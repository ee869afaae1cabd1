"""Plan obligations: each window per holder (pair, group or person), with its check-in
request, reminders and overdue notice to each person responsible (at their local time) and
the flag to the organizers after the grace period.

A window comes from the schedule (`weeks`, or `opens`/`due`, optionally repeated) or, with
`after_event`, from each unit's own occurrence of a per-pair/group event ("a thank-you note
within two days of the final meeting").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from daemon.program.actions import Action, Kind, Spec, scopes
from daemon.program.instance import Program
from daemon.program.people import Participant
from daemon.program.schedule import Event, Obligation
from daemon.program.timespec import to_utc, zone
from daemon.program.windows import END_OF_DAY, obligation_windows, occurrence_date, occurrences

FOREVER = dt.datetime.max.replace(tzinfo=dt.UTC)
REMINDER_SUBJECT = "Reminder: {{ obligation.title }} is due {{ obligation.due_date }}"
OVERDUE_SUBJECT = "Overdue: {{ obligation.title }}"
FLAG_SUBJECT = "Overdue: {{ obligation.title }} ({{ obligation.who_first_names }})"
People = dict[str, tuple[ZoneInfo, tuple[str]]]


class Notice(NamedTuple):
    """One kind of mail about an obligation window: shared by every unit holding it."""

    kind: Kind
    title: str
    spec: Spec


@dataclass(frozen=True)
class Window:
    ob: Obligation
    k: int
    title: str
    spec: Spec
    opens: dt.datetime
    due: dt.datetime
    request: Notice | None
    request_day: dt.date | None
    request_time: dt.time
    reminder: Notice
    reminder_days: tuple[tuple[int, dt.date], ...]
    overdue: Notice | None
    overdue_day: dt.date
    flag: Notice | None
    flag_at: dt.datetime


def plan_obligations(program: Program) -> Iterator[Action]:
    # one zone and one recipients tuple per person, shared by all of their actions
    people = {p.email: (zone(p.timezone), (p.email,)) for p in program.participants}
    events = {e.id: e for e in program.schedule.events}
    for ob in program.schedule.obligations:
        units = list(scopes(program, ob.who))
        if ob.after_event:
            for scope, members in units:
                local = event_window(program, ob, events[ob.after_event], members[0])
                if local is not None:
                    window = make_window(program, ob, 0, local, ob.title)
                    yield from _unit(program, window, scope, members, people)
            continue
        windows = obligation_windows(ob, program.start, program.end)
        for k, local in enumerate(windows):
            title = ob.title if len(windows) == 1 else f"{ob.title} #{k + 1}"
            window = make_window(program, ob, k, local, title)
            for scope, members in units:
                yield from _unit(program, window, scope, members, people)


def event_window(
    program: Program, ob: Obligation, event: Event, holder: Participant
) -> tuple[dt.datetime, dt.datetime] | None:
    """From the start of the holder's pair's (or group's) last occurrence of `event` to the end
    of the day `within_days` later, in the program zone; None if the holder has no such unit."""
    if event.first is None or event.first.time is None:
        return None
    unit = holder.pair if event.audience == "each_pair" else holder.group
    if not unit:
        return None
    last = occurrences(event.repeat)[-1]
    day = occurrence_date(event.first, program.start, event.repeat, last)
    opens = dt.datetime.combine(day, event.first.time)
    due = dt.datetime.combine(day + dt.timedelta(days=ob.within_days), END_OF_DAY)
    return opens, due


def make_window(
    program: Program, ob: Obligation, k: int, local: tuple[dt.datetime, dt.datetime], title: str
) -> Window:
    opens_local, due_local = local
    send_time = program.schedule.program.send_time
    due_day = due_local.date()
    opens = to_utc(opens_local.date(), opens_local.time(), program.tz)
    due = to_utc(due_day, due_local.time(), program.tz)
    request, request_day = ob.request, None
    if request is not None and request.send is not None:
        request_day = occurrence_date(request.send, program.start, ob.repeat, k)
    elif request is not None:
        request_day = opens_local.date() + dt.timedelta(days=request.after_open_days)
    flag_day = due_day + dt.timedelta(days=ob.grace_days)

    def notice(kind: Kind, word: str, template: str, subject: str) -> Notice:
        return Notice(kind, f"{word}: {title}", Spec(template, subject, ob.phase))

    return Window(
        ob=ob,
        k=k,
        title=title,
        spec=Spec(phase=ob.phase),
        opens=opens,
        due=due,
        request=notice("email", "Check-in", request.template, request.subject) if request else None,
        request_day=request_day,
        request_time=(request.send.time if request and request.send else None) or send_time,
        reminder=notice("reminder", "Reminder", "reminder", REMINDER_SUBJECT),
        reminder_days=tuple((d, due_day - dt.timedelta(days=d)) for d in ob.reminders_days_before),
        overdue=notice("reminder", "Overdue", "overdue", OVERDUE_SUBJECT)
        if ob.overdue_notice
        else None,
        overdue_day=due_day + dt.timedelta(days=1),
        flag=notice("flag", "Flag", "flag", FLAG_SUBJECT) if ob.escalate else None,
        flag_at=max(to_utc(flag_day, send_time, program.tz), due),
    )


def _unit(
    program: Program, w: Window, scope: str, members: tuple[Participant, ...], people: People
) -> Iterator[Action]:
    ob, k, opens, due = w.ob, w.k, w.opens, w.due
    pid = program.id
    send_time = program.schedule.program.send_time
    base = f"{ob.id}/{scope}/{k}"
    ob_key = f"{pid}/obligation/{base}"
    asks = (ob_key,)
    who = tuple(p.email for p in members)
    yield Action(
        kind="obligation", key=ob_key, at=opens, recipients=who, title=w.title, item=ob.id,
        occurrence=k, scope=scope, due_at=due, who=who, spec=w.spec,
    )  # fmt: skip
    grace_end = due + dt.timedelta(days=ob.grace_days)

    def notice(
        n: Notice, key: str, at: dt.datetime, to: tuple[str, ...], stale: dt.datetime
    ) -> Action:
        # positional: this builds most of a big program's actions, and keywords cost a third
        return Action(
            at, key, n.kind, to, n.title, ob.id, k, scope, n.spec, asks, due,
            who if n.kind == "flag" else (), stale,
        )  # fmt: skip

    for person in members:
        email = person.email
        tz, to = people[email]
        asked = None  # a reminder comes after the check-in request, never with or before it
        if w.request is not None and w.request_day is not None:
            asked = to_utc(w.request_day, w.request_time, tz)
            yield notice(w.request, f"{pid}/request/{base}/{email}", asked, to, due)
        for days, day in w.reminder_days:
            at = to_utc(day, send_time, tz)
            if opens <= at < due and (asked is None or at > asked):
                yield notice(w.reminder, f"{pid}/reminder/{base}/{days}d/{email}", at, to, due)
        if w.overdue is not None:
            # the first local send time after the deadline, even far east of the program zone
            day = w.overdue_day
            while (at := to_utc(day, send_time, tz)) <= due:
                day += dt.timedelta(days=1)
            yield notice(w.overdue, f"{pid}/overdue/{base}/{email}", at, to, grace_end)
    if w.flag is not None:
        organizers = tuple(o.email for o in program.organizers)
        # a flag is never stale: organizers hear of an overdue obligation however late
        yield notice(w.flag, f"{pid}/flag/{base}", w.flag_at, organizers, FOREVER)
