"""The pure planner: (program, now) -> every action of the program, each with a deterministic key.

Nothing here does I/O or reads the clock. Per-participant sends are computed in the
participant's own zone ("Monday 09:00" is 09:00 where they are, DST-correct); obligation
windows are in the program zone; flags go to every organizer at once.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

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


class Spec(NamedTuple):
    """How an action is rendered; one shared by every action of an item and variant."""

    template: str = ""
    subject: str = ""
    phase: str = ""


NO_SPEC = Spec()


class EventTimes(NamedTuple):
    """An invitation's calendar identity and times."""

    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime


class Action(NamedTuple):
    """One planned thing. `key` is unique and stable; per-recipient items carry one recipient.

    Immutable. A NamedTuple rather than a frozen dataclass because a year-long program for
    10,000 people plans ~700,000 of these, and a frozen dataclass costs ~2.2 µs each to build
    against ~0.6 µs for a NamedTuple (bench/plan.py). `at` and `key` come first so that plain
    tuple order is timeline order (keys are unique, so comparison never goes further).
    """

    at: dt.datetime
    key: str
    kind: Kind
    recipients: tuple[str, ...]
    title: str
    item: str
    occurrence: int = 0
    scope: str = ""
    spec: Spec = NO_SPEC
    asks: tuple[str, ...] = ()
    due_at: dt.datetime | None = None
    who: tuple[str, ...] = ()
    stale_at: dt.datetime | None = None
    event: EventTimes | None = None

    @property
    def template(self) -> str:
        return self.spec.template

    @property
    def subject(self) -> str:
        return self.spec.subject

    @property
    def phase(self) -> str:
        return self.spec.phase

    @property
    def opens_at(self) -> dt.datetime | None:
        """An obligation's window opens when it is planned."""
        return self.at if self.kind == "obligation" else None

    @property
    def uid(self) -> str:
        return self.event.uid if self.event else ""

    @property
    def starts_at(self) -> dt.datetime | None:
        return self.event.starts_at if self.event else None

    @property
    def ends_at(self) -> dt.datetime | None:
        return self.event.ends_at if self.event else None


Windows = dict[tuple[str, str], list[Action]]
"""Obligation instances by (obligation id, participant email), in window order."""


def event_uid(key: str, domain: str) -> str:
    """The iCalendar UID of the invite sent under `key`: stable forever, opaque."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@" + domain


def plan(program: Program) -> list[Action]:
    """Every action of the program, sorted by instant then key."""
    with _no_gc_pauses():
        return _plan(program)


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Planning allocates hundreds of thousands of acyclic tuples; the cyclic collector would
    rescan them again and again (40% of the time for 10,000 people). Pause it, then restore."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _plan(program: Program) -> list[Action]:
    obligations = list(_obligations(program))
    windows: Windows = {}
    for action in obligations:
        if action.kind == "obligation":
            for email in action.who:
                windows.setdefault((action.item, email), []).append(action)
    obligations.extend(_messages(program, windows))
    obligations.extend(_events(program))
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


@dataclass(frozen=True)
class _Window:
    """One occurrence of an obligation: what every unit holding it shares."""

    ob: Obligation
    k: int
    title: str
    titles: tuple[str, str, str, str]
    specs: tuple[Spec, Spec, Spec, Spec, Spec]
    opens: dt.datetime
    due: dt.datetime
    request_day: dt.date | None
    request_time: dt.time
    reminder_days: tuple[tuple[int, dt.date], ...]
    overdue_day: dt.date | None
    flag_at: dt.datetime | None


def _obligations(program: Program) -> Iterator[Action]:
    send_time = program.schedule.program.send_time
    # one zone and one recipients tuple per person, shared by all of their actions
    people = {p.email: (zone(p.timezone), (p.email,)) for p in program.participants}
    for ob in program.schedule.obligations:
        windows = obligation_windows(ob, program.start)
        units = list(scopes(program, ob.who))
        for k, (opens_local, due_local) in enumerate(windows):
            opens = to_utc(opens_local.date(), opens_local.time(), program.tz)
            due = to_utc(due_local.date(), due_local.time(), program.tz)
            due_day = due_local.date()
            request, request_day = ob.request, None
            if request is not None and request.send is not None:
                request_day = occurrence_date(request.send, program.start, ob.repeat, k)
            elif request is not None:
                request_day = opens_local.date() + dt.timedelta(days=request.after_open_days)
            flag_day = due_day + dt.timedelta(days=ob.grace_days)
            title = ob.title if len(windows) == 1 else f"{ob.title} #{k + 1}"
            request_spec = Spec(request.template, request.subject, ob.phase) if request else NO_SPEC
            window = _Window(
                ob=ob,
                k=k,
                title=title,
                specs=(
                    Spec("", "", ob.phase),
                    request_spec,
                    Spec("reminder", REMINDER_SUBJECT, ob.phase),
                    Spec("overdue", OVERDUE_SUBJECT, ob.phase),
                    Spec("flag", FLAG_SUBJECT, ob.phase),
                ),
                titles=(
                    f"Check-in: {title}",
                    f"Reminder: {title}",
                    f"Overdue: {title}",
                    f"Flag: {title}",
                ),
                opens=opens,
                due=due,
                request_day=request_day,
                request_time=(request.send.time if request and request.send else None) or send_time,
                reminder_days=tuple(
                    (days, due_day - dt.timedelta(days=days)) for days in ob.reminders_days_before
                ),
                overdue_day=due_day + dt.timedelta(days=1) if ob.overdue_notice else None,
                flag_at=max(to_utc(flag_day, send_time, program.tz), due) if ob.escalate else None,
            )
            for scope, members in units:
                yield from _obligation_unit(program, window, scope, members, people)


def _obligation_unit(
    program: Program,
    w: _Window,
    scope: str,
    members: tuple[Participant, ...],
    people: dict[str, tuple[ZoneInfo, tuple[str]]],
) -> Iterator[Action]:
    ob, k, opens, due = w.ob, w.k, w.opens, w.due
    pid = program.id
    send_time = program.schedule.program.send_time
    base = f"{ob.id}/{scope}/{k}"
    ob_key = f"{pid}/obligation/{base}"
    asks = (ob_key,)
    who = tuple(p.email for p in members)
    yield Action(
        kind="obligation",
        key=ob_key,
        at=opens,
        recipients=who,
        title=w.title,
        item=ob.id,
        occurrence=k,
        scope=scope,
        due_at=due,
        who=who,
        spec=w.specs[0],
    )
    grace_end = due + dt.timedelta(days=ob.grace_days)

    def notice(
        variant: int, key: str, at: dt.datetime, to: tuple[str, ...], stale: dt.datetime
    ) -> Action:
        """A request (variant 1), reminder (2), overdue notice (3) or flag (4) of this unit."""
        kind = NOTICE_KINDS[variant]
        return Action(
            kind=kind, key=key, at=at, recipients=to, title=w.titles[variant - 1], item=ob.id,
            occurrence=k, scope=scope, spec=w.specs[variant], asks=asks, due_at=due,
            stale_at=stale, who=who if kind == "flag" else (),
        )  # fmt: skip

    for person in members:
        email = person.email
        tz, to = people[email]
        if w.request_day is not None:
            at = to_utc(w.request_day, w.request_time, tz)
            yield notice(1, f"{pid}/request/{base}/{email}", at, to, due)
        for days, day in w.reminder_days:
            at = to_utc(day, send_time, tz)
            if opens <= at < due:
                yield notice(2, f"{pid}/reminder/{base}/{days}d/{email}", at, to, due)
        if w.overdue_day is not None:
            # never before the deadline, even for someone far east of the program's zone
            at = max(to_utc(w.overdue_day, send_time, tz), due)
            yield notice(3, f"{pid}/overdue/{base}/{email}", at, to, grace_end)
    if w.flag_at is not None:
        organizers = tuple(o.email for o in program.organizers)
        # a flag is never stale: organizers hear of an overdue obligation however late
        yield notice(4, f"{pid}/flag/{base}", w.flag_at, organizers, FOREVER)


FOREVER = dt.datetime.max.replace(tzinfo=dt.UTC)
NOTICE_KINDS: dict[int, Kind] = {1: "email", 2: "reminder", 3: "reminder", 4: "flag"}
REMINDER_SUBJECT = "Reminder: {{ obligation.title }} is due {{ obligation.due }}"
OVERDUE_SUBJECT = "Overdue: {{ obligation.title }}"
FLAG_SUBJECT = "Overdue: {{ obligation.title }} ({{ obligation.who_names }})"
