"""Wall-clock intents to UTC: DST in both hemispheres, gaps, folds, midnight, odd offsets."""

from __future__ import annotations

import datetime as dt

import pytest

from daemon.program.schedule import Repeat
from daemon.program.timespec import When, to_utc, zone
from daemon.program.windows import occurrence_date, step

UTC = dt.UTC


@pytest.mark.parametrize(
    ("zone_name", "day", "time", "expected_utc"),
    [
        # New York: EST (-5) before 8 March 2026, EDT (-4) after.
        (
            "America/New_York",
            dt.date(2026, 3, 2),
            dt.time(9),
            dt.datetime(2026, 3, 2, 14, tzinfo=UTC),
        ),
        (
            "America/New_York",
            dt.date(2026, 3, 9),
            dt.time(9),
            dt.datetime(2026, 3, 9, 13, tzinfo=UTC),
        ),
        (
            "America/New_York",
            dt.date(2026, 10, 26),
            dt.time(9),
            dt.datetime(2026, 10, 26, 13, tzinfo=UTC),
        ),
        (
            "America/New_York",
            dt.date(2026, 11, 2),
            dt.time(9),
            dt.datetime(2026, 11, 2, 14, tzinfo=UTC),
        ),
        # Sydney: AEDT (+11) until 5 April 2026, AEST (+10) until 4 October 2026.
        (
            "Australia/Sydney",
            dt.date(2026, 3, 30),
            dt.time(9),
            dt.datetime(2026, 3, 29, 22, tzinfo=UTC),
        ),
        (
            "Australia/Sydney",
            dt.date(2026, 4, 6),
            dt.time(9),
            dt.datetime(2026, 4, 5, 23, tzinfo=UTC),
        ),
        (
            "Australia/Sydney",
            dt.date(2026, 9, 28),
            dt.time(9),
            dt.datetime(2026, 9, 27, 23, tzinfo=UTC),
        ),
        (
            "Australia/Sydney",
            dt.date(2026, 10, 5),
            dt.time(9),
            dt.datetime(2026, 10, 4, 22, tzinfo=UTC),
        ),
        # Spring-forward gap: 02:30 does not exist in New York on 8 March; it moves forward by
        # the gap to 03:30 EDT (07:30 UTC).
        (
            "America/New_York",
            dt.date(2026, 3, 8),
            dt.time(2, 30),
            dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        ),
        # Fall-back: 01:30 happens twice on 1 November; the first (EDT) is meant.
        (
            "America/New_York",
            dt.date(2026, 11, 1),
            dt.time(1, 30),
            dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        ),
        # Berlin both ways.
        (
            "Europe/Berlin",
            dt.date(2026, 3, 29),
            dt.time(2, 30),
            dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),
        (
            "Europe/Berlin",
            dt.date(2026, 10, 25),
            dt.time(2, 30),
            dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        # Midnight is the start of the local day, which is the previous UTC day east of Greenwich.
        ("Asia/Tokyo", dt.date(2026, 1, 1), dt.time(0), dt.datetime(2025, 12, 31, 15, tzinfo=UTC)),
        (
            "Pacific/Honolulu",
            dt.date(2026, 1, 1),
            dt.time(23, 59),
            dt.datetime(2026, 1, 2, 9, 59, tzinfo=UTC),
        ),
        # Lord Howe moves by 30 minutes; Kolkata is +05:30 with no DST; Phoenix never changes.
        (
            "Australia/Lord_Howe",
            dt.date(2026, 1, 5),
            dt.time(9),
            dt.datetime(2026, 1, 4, 22, tzinfo=UTC),
        ),
        (
            "Australia/Lord_Howe",
            dt.date(2026, 6, 1),
            dt.time(9),
            dt.datetime(2026, 5, 31, 22, 30, tzinfo=UTC),
        ),
        (
            "Asia/Kolkata",
            dt.date(2026, 6, 1),
            dt.time(9),
            dt.datetime(2026, 6, 1, 3, 30, tzinfo=UTC),
        ),
        (
            "America/Phoenix",
            dt.date(2026, 7, 1),
            dt.time(9),
            dt.datetime(2026, 7, 1, 16, tzinfo=UTC),
        ),
    ],
)
def test_local_wall_clock_to_utc(
    zone_name: str, day: dt.date, time: dt.time, expected_utc: dt.datetime
) -> None:
    assert to_utc(day, time, zone(zone_name)) == expected_utc


START = dt.date(2026, 3, 2)  # a Monday


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (When(week=1), dt.date(2026, 3, 2)),
        (When(week=1, day="friday"), dt.date(2026, 3, 6)),
        (When(week=2, day="monday"), dt.date(2026, 3, 9)),
        (When(week=-1, day="monday"), dt.date(2026, 2, 23)),
        (When(offset_days=-7), dt.date(2026, 2, 23)),
        (When(offset_days=27), dt.date(2026, 3, 29)),
        (When(month=1), dt.date(2026, 4, 2)),
        (When(month=12), dt.date(2027, 3, 2)),
        (When(date=dt.date(2026, 5, 1)), dt.date(2026, 5, 1)),
        # the day before the one-month mark, and the first Monday on or after it
        (When(month=1, offset_days=-1), dt.date(2026, 4, 1)),
        (When(month=1, day="monday"), dt.date(2026, 4, 6)),
        (When(week=2, offset_days=3), dt.date(2026, 3, 12)),
    ],
)
def test_when_local_date(when: When, expected: dt.date) -> None:
    assert when.local_date(START) == expected


def test_week_day_in_a_program_starting_midweek() -> None:
    # A program starting on a Wednesday: week 1's Monday is the first Monday on or after start.
    assert When(week=1, day="monday").local_date(dt.date(2026, 3, 4)) == dt.date(2026, 3, 9)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"week": 1, "month": 2},
        {"day": "monday"},
        {"week": 0},
        {"month": 1, "date": "2026-01-01"},
        {"date": "2026-01-01", "offset_days": 1},
    ],
)
def test_when_needs_exactly_one_anchor(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"exactly one|day only|count from 1|no offset_days"):
        When.model_validate(bad)


def test_unknown_zone_has_a_hint() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("when", "k", "expected"),
    [
        # A monthly repeat moves the anchor, so month-long windows stay back to back even from
        # the 31st: Jan 31 + 1 month - 1 day = Feb 27, + 2 months - 1 day = Mar 30.
        (When(month=1, offset_days=-1), 0, dt.date(2026, 2, 27)),
        (When(month=1, offset_days=-1), 1, dt.date(2026, 3, 30)),
        (When(month=0), 1, dt.date(2026, 2, 28)),
        (When(month=0), 2, dt.date(2026, 3, 31)),
        # "the first Monday from the start date's day of month", every month
        (When(month=0, day="monday"), 1, dt.date(2026, 3, 2)),
        (When(month=0, day="monday"), 2, dt.date(2026, 4, 6)),
    ],
)
def test_monthly_occurrences_from_the_31st(when: When, k: int, expected: dt.date) -> None:
    repeat = Repeat(every="month", count=12)
    assert occurrence_date(when, dt.date(2026, 1, 31), repeat, k) == expected


def test_weekday_repeat_skips_weekends() -> None:
    repeat = Repeat(every="weekday", count=10)
    friday = dt.date(2026, 3, 6)
    assert [step(friday, repeat, k) for k in range(3)] == [
        friday,
        dt.date(2026, 3, 9),
        dt.date(2026, 3, 10),
    ]
