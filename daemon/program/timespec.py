"""Local wall-clock intents ("week 2, Monday 09:00") and their DST-correct UTC instants."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
UTC = dt.UTC


class Frozen(BaseModel):
    """Base of every model loaded from TOML: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class When(Frozen):
    """A local date (and optional time) relative to the program start.

    One anchor: `week` (1 = the week the program starts), `month` (0 = the start date, 1 = a
    calendar month later), an absolute `date`, or `offset_days` alone (days from the start).
    `day` moves a week or month anchor to the first such weekday on or after it ("the first
    Monday from the 7th"); `offset_days` beside a week or month anchor adjusts it by days
    (`{ month = 1, offset_days = -1 }` is the day before the one-month mark). The time of day is
    local to whoever the moment is for.
    """

    week: int | None = None
    day: Weekday | None = None
    offset_days: int | None = None
    month: int | None = None
    date: dt.date | None = None
    time: dt.time | None = None

    @model_validator(mode="after")
    def _one_anchor(self) -> Self:
        anchors = [a for a in ("week", "month", "date") if getattr(self, a) is not None]
        if len(anchors) > 1 or (not anchors and self.offset_days is None):
            raise ValueError(
                "give exactly one of week, month or date (or offset_days alone)"
                + (f"; found {', '.join(anchors)}" if anchors else "")
            )
        if self.date is not None and self.offset_days is not None:
            raise ValueError("an absolute date takes no offset_days")
        if self.day is not None and self.week is None and self.month is None:
            raise ValueError("day only goes with week or month, e.g. { week = 2, day = 'monday' }")
        if self.week is not None and self.week == 0:
            raise ValueError("weeks count from 1 (the week the program starts); use -1 before it")
        return self

    def local_date(self, start: dt.date, months: int = 0) -> dt.date:
        """The calendar date this names, for a program starting on `start`; `months` shifts
        the anchor by calendar months first (the k-th occurrence of a monthly repeat)."""
        if self.date is not None:
            moved: dt.date = self.date + relativedelta(months=months)
            return moved
        if self.month is not None:
            base: dt.date = start + relativedelta(months=self.month + months)
        elif self.week is not None:
            week_index = self.week - 1 if self.week > 0 else self.week
            base = start + dt.timedelta(weeks=week_index) + relativedelta(months=months)
        else:
            base = start + relativedelta(months=months)
        if self.day is not None:
            base += dt.timedelta(days=(WEEKDAYS.index(self.day) - base.weekday()) % 7)
        return base + dt.timedelta(days=self.offset_days or 0)


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; raises ValueError with a hint when it does not exist."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _check_zone(value: str) -> str:
    if value:
        zone(value)
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
"""An IANA zone name, checked when loaded (empty allowed where a default applies)."""


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    if not name or name != name.strip():
        raise ValueError(name)
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def to_utc(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time in `tz`.

    A time that does not exist (the spring-forward gap) moves forward by the gap, so 02:30 on
    that day is 03:30; an ambiguous time (the fall-back hour) is its first occurrence.
    """
    local = dt.datetime.combine(day, time, tzinfo=tz).replace(fold=0)
    return local.astimezone(UTC)


def iso_z(instant: dt.datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the second."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time(instant: dt.datetime, tz: ZoneInfo) -> str:
    """'Monday, July 12, 2021, 3:00 PM EDT (America/New_York)': always names the zone."""
    local = instant.astimezone(tz)
    hour = local.strftime("%I").lstrip("0")
    return f"{local:%A, %B} {local.day}, {local.year}, {hour}:{local:%M %p %Z} ({tz.key})"


def local_date(instant: dt.datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return f"{local:%A, %B} {local.day}, {local.year}"
