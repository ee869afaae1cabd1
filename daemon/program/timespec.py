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

    Exactly one anchor: `week` (1 = the week the program starts, with an optional `day`),
    `offset_days` (0 = the start date), `month` (0 = the start date, 1 = a month later) or an
    absolute `date`. The time of day is local to whoever the moment is for.
    """

    week: int | None = None
    day: Weekday | None = None
    offset_days: int | None = None
    month: int | None = None
    date: dt.date | None = None
    time: dt.time | None = None

    @model_validator(mode="after")
    def _one_anchor(self) -> Self:
        anchors = [
            a for a in ("week", "offset_days", "month", "date") if getattr(self, a) is not None
        ]
        if len(anchors) != 1:
            raise ValueError(
                "give exactly one of week (with an optional day), offset_days, month or date"
                + (f"; found {', '.join(anchors)}" if anchors else "")
            )
        if self.day is not None and self.week is None:
            raise ValueError("day only goes with week, e.g. { week = 2, day = 'monday' }")
        if self.week is not None and self.week == 0:
            raise ValueError("weeks count from 1 (the week the program starts); use -1 before it")
        return self

    def local_date(self, start: dt.date) -> dt.date:
        """The calendar date this anchor names, for a program starting on `start`."""
        if self.date is not None:
            return self.date
        if self.offset_days is not None:
            return start + dt.timedelta(days=self.offset_days)
        if self.month is not None:
            return start + relativedelta(months=self.month)
        assert self.week is not None
        week_index = self.week - 1 if self.week > 0 else self.week
        week_start = start + dt.timedelta(weeks=week_index)
        if self.day is None:
            return week_start
        return week_start + dt.timedelta(days=(WEEKDAYS.index(self.day) - week_start.weekday()) % 7)


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; raises ValueError with a hint when it does not exist."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'America/New_York'"
        ) from None


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
