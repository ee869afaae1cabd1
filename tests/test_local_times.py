"""'Monday 09:00' means 09:00 where each participant is, through DST changes in both hemispheres."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config.load import load_program
from daemon.program.timeline import plan
from tests.conftest import mini_program

PEOPLE = [
    ("Nora York", "nora@example.org", "America/New_York", "mentor"),
    ("Sid Harbour", "sid@example.org", "Australia/Sydney", "mentee"),
]


def _weekly(tmp_path: Path, start: str) -> dict[str, list[dt.datetime]]:
    program = load_program(mini_program(tmp_path, PEOPLE, start=start, weeks=8))
    sends: dict[str, list[dt.datetime]] = {}
    for action in plan(program):
        if action.item == "weekly":
            sends.setdefault(action.recipients[0], []).append(action.at)
    return sends


@pytest.mark.parametrize(
    ("start", "email", "expected_utc_hours"),
    [
        # March: New York springs forward on 8 March (EST -5 -> EDT -4); Sydney falls back on
        # 5 April (AEDT +11 -> AEST +10). 09:00 local stays 09:00 local.
        ("2026-03-02", "nora@example.org", [14, 13, 13, 13, 13, 13, 13, 13]),
        ("2026-03-02", "sid@example.org", [22, 22, 22, 22, 22, 23, 23, 23]),
        # October: Sydney springs forward on 4 October; New York falls back on 1 November.
        ("2026-09-28", "nora@example.org", [13, 13, 13, 13, 13, 14, 14, 14]),
        ("2026-09-28", "sid@example.org", [23, 22, 22, 22, 22, 22, 22, 22]),
    ],
)
def test_monday_nine_local_across_dst(
    tmp_path: Path, start: str, email: str, expected_utc_hours: list[int]
) -> None:
    sends = _weekly(tmp_path, start)[email]
    tz = ZoneInfo({p[1]: p[2] for p in PEOPLE}[email])
    assert len(sends) == 8
    for instant in sends:
        local = instant.astimezone(tz)
        assert (local.strftime("%A"), local.hour, local.minute) == ("Monday", 9, 0)
    assert [s.hour for s in sends] == expected_utc_hours


def test_sydney_monday_is_the_previous_day_in_utc(tmp_path: Path) -> None:
    first = _weekly(tmp_path, "2026-03-02")["sid@example.org"][0]
    assert first == dt.datetime(2026, 3, 1, 22, tzinfo=dt.UTC)
