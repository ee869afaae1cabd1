"""Spans of phases, events and obligation windows, as local dates/datetimes and UTC instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from daemon.program.schedule import Event, Obligation, Phase, Repeat
from daemon.program.timespec import When, to_utc, zone

MIDNIGHT = dt.time(0, 0)
END_OF_DAY = dt.time(23, 59)


def phase_span(phase: Phase, start: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of a phase."""
    if phase.weeks is not None:
        first, last = phase.weeks
        return start + dt.timedelta(weeks=first - 1), start + dt.timedelta(weeks=last, days=-1)
    assert phase.start is not None and phase.end is not None
    return phase.start.local_date(start), phase.end.local_date(start)


def step(day: dt.date, repeat: Repeat | None, k: int) -> dt.date:
    """The date of occurrence `k` (0-based) of `repeat` counted from `day`."""
    if repeat is None or k == 0:
        return day
    n = k * repeat.interval
    if repeat.every == "month":
        moved: dt.date = day + relativedelta(months=n)
        return moved
    if repeat.every == "week":
        return day + dt.timedelta(weeks=n)
    if repeat.every == "day":
        return day + dt.timedelta(days=n)
    # weekdays: count n working days forward, skipping Saturday and Sunday
    current = day
    while n:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            n -= 1
    return current


def occurrence_date(when: When, start: dt.date, repeat: Repeat | None, k: int) -> dt.date:
    """The date of occurrence `k` of `when` repeated: a monthly repeat moves the anchor itself
    (so "the day before the next month" and "the first Monday from the 7th" hold every month);
    other repeats step the first date."""
    if repeat is not None and repeat.every == "month":
        return when.local_date(start, months=k * repeat.interval)
    return step(when.local_date(start), repeat, k)


def occurrences(repeat: Repeat | None) -> range:
    return range(repeat.count if repeat else 1)


def obligation_windows(
    ob: Obligation, start: dt.date, end: dt.date
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Each occurrence's (opens, due) as naive local datetimes in the program zone. With
    `last_window = "clip"`, a window still open at the program's `end` (its first day after)
    is due at the end of the program's last day instead; one that opens after it is kept
    whole, for validation to refuse."""
    if ob.weeks is not None:
        first, last = ob.weeks
        opens = When(week=first, time=MIDNIGHT)
        due = When(offset_days=7 * last - 1, time=END_OF_DAY)
    else:
        assert ob.opens is not None and ob.due is not None
        opens, due = ob.opens, ob.due
    windows = [
        (
            dt.datetime.combine(
                occurrence_date(opens, start, ob.repeat, k), opens.time or MIDNIGHT
            ),
            dt.datetime.combine(occurrence_date(due, start, ob.repeat, k), due.time or END_OF_DAY),
        )
        for k in occurrences(ob.repeat)
    ]
    if ob.last_window == "clip":
        return [clip(window, end) for window in windows]
    return windows


def clip(window: tuple[dt.datetime, dt.datetime], end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """`window` due at the end of the day before `end` (23:59), if it opens before then and
    is due on or after `end`; otherwise unchanged."""
    opens, due = window
    last = dt.datetime.combine(end - dt.timedelta(days=1), END_OF_DAY)
    if due.date() >= end and opens < last:
        return opens, last
    return window


def event_zone(event: Event, program_tz: ZoneInfo) -> ZoneInfo:
    return zone(event.timezone) if event.timezone else program_tz


def event_span(
    event: Event, start: dt.date, program_tz: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of the event's first occurrence."""
    tz = event_zone(event, program_tz)
    if event.start is not None and event.end is not None:
        return (
            to_utc(event.start.date(), event.start.time(), tz),
            to_utc(event.end.date(), event.end.time(), tz),
        )
    assert event.first is not None and event.first.time is not None
    begin = to_utc(event.first.local_date(start), event.first.time, tz)
    return begin, begin + dt.timedelta(minutes=event.duration_minutes)
