"""The schedule model: what a program sends, when, to whom, and what it expects back.

A schedule (`schedules/<id>/schedule.toml`) is validated into these frozen models. Whens are
local (see timespec); instants are computed by the planner, never stored here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, Self

from dateutil.relativedelta import relativedelta
from pydantic import AfterValidator, Field, field_validator, model_validator

from daemon.program.timespec import Frozen, TimeZoneName, Weekday, When

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"{value!r} is not a valid id; use lower-case letters, digits, '-' and '_'"
        )
    return value


Id = Annotated[str, AfterValidator(_check_id)]

_AUDIENCE = re.compile(r"^(all|each_group|each_pair|organizers|role:[a-z0-9_-]+)$")
_WHO = re.compile(r"^(each_participant|each_group|each_pair|role:[a-z0-9_-]+)$")


def _check_audience(value: str) -> str:
    if not _AUDIENCE.match(value):
        raise ValueError(
            f"unknown audience {value!r}; use all, each_group, each_pair, organizers or role:NAME"
        )
    return value


def _check_who(value: str) -> str:
    if not _WHO.match(value):
        raise ValueError(
            f"unknown obligation holder {value!r}; "
            "use each_participant, each_group, each_pair or role:NAME"
        )
    return value


Audience = Annotated[str, AfterValidator(_check_audience)]
Who = Annotated[str, AfterValidator(_check_who)]


class Resource(Frozen):
    """A worksheet or document: a URL (organizers may override it in the config) and/or a file
    shipped beside the schedule, attached to the messages that name it."""

    id: Id
    title: str
    url: str = ""
    file: str = ""
    description: str = ""


class Section(Frozen):
    """A titled list of tasks or prompts within a phase (e.g. "Earlier Reflection")."""

    title: str
    items: tuple[str, ...] = ()
    note: str = ""


class Phase(Frozen):
    id: Id
    title: str
    weeks: tuple[int, int] | None = None
    start: When | None = None
    end: When | None = None
    summary: str = ""
    tasks: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    resources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _span(self) -> Self:
        if (self.weeks is None) == (self.start is None or self.end is None):
            raise ValueError("give either weeks = [FIRST, LAST] or both start and end")
        if self.weeks is not None and not 1 <= self.weeks[0] <= self.weeks[1]:
            raise ValueError("weeks = [FIRST, LAST] needs 1 <= FIRST <= LAST")
        return self


class Repeat(Frozen):
    """Recurrence: `count` occurrences, one every `interval` units (day, weekday, week, month)."""

    every: Literal["day", "weekday", "week", "month"]
    interval: int = Field(default=1, ge=1)
    count: int = Field(ge=1, le=400)


class Message(Frozen):
    id: Id
    title: str
    subject: str
    template: str
    audience: Audience = "all"
    send: When
    phase: str = ""
    repeat: Repeat | None = None
    option: str = ""
    asks: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    stale_after_days: int = Field(default=7, ge=1)


class Event(Frozen):
    """A calendar event. Either fixed (`start`/`end` in `timezone`) for everyone in the audience,
    or per pair/group (`first` + `duration_minutes`, optionally repeated) in the program zone."""

    id: Id
    title: str
    description: str = ""
    audience: Audience = "all"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    timezone: TimeZoneName = ""
    first: When | None = None
    duration_minutes: int = Field(default=60, ge=1, le=24 * 60)
    repeat: Repeat | None = None
    location: str = ""
    url: str = ""
    invite: When
    phase: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Self:
        fixed = self.start is not None or self.end is not None
        if fixed == (self.first is not None):
            raise ValueError("give either start and end (a fixed event) or first (per pair/group)")
        if fixed and (self.start is None or self.end is None or not self.timezone):
            raise ValueError("a fixed event needs start, end and timezone")
        if self.first is not None and self.first.time is None:
            raise ValueError("first needs a time, e.g. { week = 1, day = 'tuesday', time = 12:00 }")
        return self


class CheckinRequest(Frozen):
    """The email that asks the people responsible whether an obligation was met."""

    send: When | None = None
    after_open_days: int = Field(default=0, ge=0)
    template: str = "checkin-request"
    subject: str = "{{ obligation.title }}: please reply"


class Obligation(Frozen):
    id: Id
    title: str
    description: str = ""
    who: Who = "each_participant"
    satisfied_by: Literal["any", "all"] = "all"
    weeks: tuple[int, int] | None = None
    opens: When | None = None
    due: When | None = None
    repeat: Repeat | None = None
    # "clip": a window that runs past the program's end is cut there (due at the end of the
    # program's last day); "whole": such a window is an error that `validate` reports
    last_window: Literal["whole", "clip"] = "whole"
    after_event: str = ""
    within_days: int = Field(default=0, ge=0, le=366)
    form: str = ""
    question: str = ""
    require_yes: bool = False
    request: CheckinRequest | None = CheckinRequest()
    reminders_days_before: tuple[int, ...] = (3,)
    overdue_notice: bool = True
    grace_days: int = Field(default=3, ge=0)
    escalate: bool = True
    phase: str = ""

    @field_validator("request", mode="before")
    @classmethod
    def _no_request(cls, value: object) -> object:
        """`request = false` means: send no check-in request for this obligation."""
        return None if value is False else value

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.after_event:
            if self.weeks is not None or self.opens is not None or self.due is not None:
                raise ValueError("after_event replaces weeks/opens/due: give one or the other")
            if self.repeat is not None:
                raise ValueError("an after_event window follows its event: drop repeat")
            if self.last_window != "whole":
                raise ValueError("an after_event window follows its event: drop last_window")
        elif (self.weeks is None) == (self.opens is None or self.due is None):
            raise ValueError(
                "give either weeks = [FIRST, LAST], both opens and due, or after_event"
            )
        if self.weeks is not None and not 1 <= self.weeks[0] <= self.weeks[1]:
            raise ValueError("weeks = [FIRST, LAST] needs 1 <= FIRST <= LAST")
        if any(d < 0 for d in self.reminders_days_before):
            raise ValueError("reminders_days_before holds days before the due date, 0 or more")
        return self


class FormField(Frozen):
    id: Id
    label: str
    kind: Literal["text", "yesno", "date", "number"] = "text"
    private: bool = True
    required: bool = False


class Form(Frozen):
    id: Id
    title: str
    intro: str = ""
    fields: tuple[FormField, ...] = ()


class EligibilityRule(Frozen):
    """A roster rule: participants (of `role`, if given) need `attribute` >= `min`, == `equals`
    or in `one_of`."""

    attribute: str
    role: str = ""
    min: float | None = None
    equals: str | int | float | bool | None = None
    one_of: tuple[str, ...] = ()
    message: str

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        tests = [self.min is not None, self.equals is not None, bool(self.one_of)]
        if sum(tests) != 1:
            raise ValueError("give exactly one of min, equals or one_of")
        return self


class Option(Frozen):
    """Something participants opt into in the roster (`options = ["daily-prompts"]`)."""

    id: Id
    title: str
    description: str = ""


class ProgramInfo(Frozen):
    id: Id
    title: str
    organization: str = ""
    description: str = ""
    source: str = ""
    structure: Literal["groups", "pairs", "individuals"]
    roles: tuple[str, ...] = Field(min_length=1)
    pair_roles: tuple[str, str] | None = None
    weeks: int | None = Field(default=None, ge=1, le=260)
    months: int | None = Field(default=None, ge=1, le=60)
    start_weekday: Weekday | None = None
    send_time: dt.time = dt.time(9, 0)
    dissolution: Literal["either", "organizers"] = "either"
    withdraw_notifies: tuple[Literal["organizers", "partner", "group"], ...] = ("organizers",)
    weekly_digest: bool = True  # the organizers' weekly summary by email

    @model_validator(mode="after")
    def _length(self) -> Self:
        if (self.weeks is None) == (self.months is None):
            raise ValueError("give the program's length as weeks = N or months = N (one of them)")
        return self

    def end(self, start: dt.date) -> dt.date:
        """The first day after a program that starts on `start`."""
        if self.months is not None:
            moved: dt.date = start + relativedelta(months=self.months)
            return moved
        return start + dt.timedelta(weeks=self.weeks or 0)


class Schedule(Frozen):
    program: ProgramInfo
    options: tuple[Option, ...] = ()
    resources: tuple[Resource, ...] = ()
    phases: tuple[Phase, ...] = ()
    messages: tuple[Message, ...] = ()
    events: tuple[Event, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    forms: tuple[Form, ...] = ()
    eligibility: tuple[EligibilityRule, ...] = ()
