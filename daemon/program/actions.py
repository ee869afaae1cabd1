"""What the planner produces: actions (immutable, cheap), and who an audience names."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from daemon.program.instance import Program
from daemon.program.people import Organizer, Participant

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


def planned_day(action: Action, recipient_tz: ZoneInfo, program_tz: ZoneInfo) -> dt.date:
    """The day the planner chose for `action`, as the schedule names it: a send to one person
    is planned in their own zone ("week 1, Monday 09:00" is 09:00 where they are), obligation
    windows and flags in the program's zone."""
    tz = program_tz if action.kind in ("obligation", "flag") else recipient_tz
    return action.at.astimezone(tz).date()


Windows = dict[tuple[str, str], list[Action]]
"""Obligation instances by (obligation id, participant email), in window order."""


def event_uid(key: str, domain: str) -> str:
    """The iCalendar UID of the invite sent under `key`: stable forever, opaque."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@" + domain


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
