"""Invariants of the planner: deterministic, unique keys, instants in UTC, sends in local time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config.load import Program, load_program
from daemon.program.people import Participant
from daemon.program.timeline import plan
from tests.conftest import ROOT

ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Europe/London",
    "Pacific/Chatham",
    "UTC",
]
BASE = load_program(ROOT / "config.example.toml")


@st.composite
def programs(draw: st.DrawFn) -> Program:
    count = draw(st.integers(min_value=1, max_value=12))
    groups = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=count, max_size=count))
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=count, max_size=count))
    opted = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    people = tuple(
        Participant(
            name=f"Person {i}",
            email=f"p{i}@example.org",
            timezone=zones[i],
            role="peer",
            group=groups[i],
            options=("daily-prompts",) if opted[i] else (),
        )
        for i in range(count)
    )
    monday = dt.date(2020, 1, 6) + dt.timedelta(weeks=draw(st.integers(min_value=0, max_value=520)))
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    return dataclasses.replace(BASE, participants=people, start=monday, tz=tz)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_plan_is_deterministic_with_unique_keys(program: Program) -> None:
    first, second = plan(program), plan(program)
    assert first == second
    keys = [a.key for a in first]
    assert len(keys) == len(set(keys))
    assert first == sorted(first, key=lambda a: (a.at, a.key))
    for action in first:
        assert action.at.utcoffset() == dt.timedelta(0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_weekly_mail_arrives_at_the_local_time_asked_for(program: Program) -> None:
    zones = {p.email: ZoneInfo(p.timezone) for p in program.participants}
    for action in plan(program):
        if action.item.startswith("week") and action.kind == "email":
            local = action.at.astimezone(zones[action.recipients[0]])
            message = next(m for m in program.schedule.messages if m.id == action.item)
            assert local.time() == (message.send.time or program.schedule.program.send_time)
            assert local.strftime("%A") == "Monday"
