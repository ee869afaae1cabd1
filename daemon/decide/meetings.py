"""Meetings a pair or group sets by email (`MEETING 2026-05-04 14:00 [zone]`), as planned
actions (pure): an invitation to every member of the sender's pair or group, and an hour after
the meeting ends, a question to each of them — did it happen? — about the unit's obligation
whose window holds the meeting (its check-in request, so a reply counts as usual).

A meeting belongs to a slot: that obligation window, or, when no window holds it, its day. A
second MEETING for the same slot moves the meeting: the same invitation is updated (same UID,
SEQUENCE + 1). The meeting is in the sender's zone unless the command names one. Someone not
in a pair or group has no one to meet: the command is answered, nothing is planned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from daemon.ledger.records import Command
from daemon.program.actions import EventTimes, Spec, event_uid
from daemon.program.instance import Program
from daemon.program.people import Participant
from daemon.program.schedule import Event
from daemon.program.timeline import Action
from daemon.program.timespec import When, to_utc

DURATION = dt.timedelta(hours=1)
FOLLOW_UP = dt.timedelta(hours=1)  # after the end: time to get back to one's mail
ASK = Spec("checkin-request", "{{ obligation.title }}: did your meeting happen?")


@dataclass(frozen=True)
class Meeting:
    scope: str  # "pair:p1" | "group:owls"
    unit_name: str
    members: tuple[Participant, ...]
    starts_at: dt.datetime
    zone: str
    slot: str  # the obligation key whose window holds it, or "day:YYYY-MM-DD"
    set_by: str
    set_at: dt.datetime

    @property
    def event_id(self) -> str:
        return "meeting-" + hashlib.sha256(f"{self.scope}/{self.slot}".encode()).hexdigest()[:12]


def meetings(
    program: Program, timeline: list[Action], commands: Iterable[tuple[dt.datetime, Command]]
) -> list[Meeting]:
    """The meetings set so far: the latest command per (unit, slot)."""
    people = {p.email: p for p in program.participants}
    units = {f"pair:{k}": m for k, m in program.pairs().items()}
    units |= {f"group:{k}": m for k, m in program.groups().items()}
    windows = [a for a in timeline if a.kind == "obligation" and a.scope in units]
    out: dict[tuple[str, str], Meeting] = {}
    for at, command in commands:
        person = people.get(command.participant)
        if command.name != "MEETING" or person is None:
            continue
        scope = f"pair:{person.pair}" if person.pair else f"group:{person.group}"
        if scope not in units or "date" not in command.args:
            continue
        zone = str(command.args.get("zone") or person.timezone)
        day = dt.date.fromisoformat(str(command.args["date"]))
        clock = dt.time.fromisoformat(str(command.args["time"]))
        starts = to_utc(day, clock, ZoneInfo(zone))
        slot = next(
            (
                w.key
                for w in windows
                if w.scope == scope and w.at <= starts and (w.due_at is None or starts <= w.due_at)
            ),
            f"day:{day.isoformat()}",
        )
        name = scope.split(":", 1)[1]
        out[scope, slot] = Meeting(scope, name, units[scope], starts, zone, slot, person.email, at)
    return list(out.values())


def with_meetings(program: Program, found: list[Meeting]) -> Program:
    """The program with each meeting as a fixed event (for composing and rendering only: the
    planner never sees these, their actions come from `meeting_actions`)."""
    if not found:
        return program
    events = tuple(
        Event(
            id=m.event_id,
            title=f"Meeting: {m.unit_name}",
            description=f"Set by email by {m.set_by} for {m.scope.replace(':', ' ')}.",
            start=m.starts_at.astimezone(ZoneInfo(m.zone)).replace(tzinfo=None),
            end=(m.starts_at + DURATION).astimezone(ZoneInfo(m.zone)).replace(tzinfo=None),
            timezone=m.zone,
            invite=When(offset_days=0),
        )
        for m in found
    )
    schedule = program.schedule.model_copy(update={"events": (*program.schedule.events, *events)})
    return dataclasses.replace(program, schedule=schedule)


def meeting_actions(program: Program, timeline: list[Action], found: list[Meeting]) -> list[Action]:
    """The invitations and the follow-up questions of these meetings."""
    pid, domain = program.id, program.sender.domain
    by_key = {a.key: a for a in timeline}
    out: list[Action] = []
    for m in found:
        ends = m.starts_at + DURATION
        base = f"{pid}/meeting/{m.scope}/{m.slot}"
        window = by_key.get(m.slot)
        for person in m.members:
            key = f"{base}/{person.email}"
            out.append(Action(
                kind="invite", key=key, at=m.set_at, recipients=(person.email,),
                title=f"Meeting: {m.unit_name}", item=m.event_id, scope=m.scope,
                spec=Spec("invite", f"Meeting: {m.unit_name}"), stale_at=ends,
                event=EventTimes(event_uid(key, domain), m.starts_at, ends),
            ))  # fmt: skip
            if window is None:
                continue
            request = by_key.get(
                window.key.replace("/obligation/", "/request/") + "/" + person.email
            )
            spec = (
                request.spec
                if request
                else Spec("checkin-request", "{{ obligation.title }}: did it happen?")
            )
            out.append(Action(
                kind="email", key=f"{base}/followup/{person.email}", at=ends + FOLLOW_UP,
                recipients=(person.email,), title=window.title, item=window.item,
                occurrence=window.occurrence, scope=m.scope, spec=spec, asks=(window.key,),
                due_at=window.due_at, stale_at=window.due_at,
            ))  # fmt: skip
    return sorted(out)
