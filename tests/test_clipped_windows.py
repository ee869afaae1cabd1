"""Programs that do not divide into whole months: with `last_window = "clip"` a repeating
obligation's window that runs past the program's end is cut there; without it `validate`
refuses the overrun and names the key."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from daemon.config.validate import validate
from daemon.errors import ConfigError
from daemon.program.schedule import Obligation
from daemon.program.windows import clip, obligation_windows
from tests.conftest import mini_program, write

MONTHLY = """
[[obligations]]
id = "monthly"
title = "Monthly contact"
who = "each_pair"
opens = {{ month = 0, time = 00:00:00 }}
due = {{ month = 1, offset_days = -1, time = 23:59:00 }}
repeat = {{ every = "month", count = {count} }}
{clip}
"""
PEOPLE = [
    ("Ann Adler", "ann@example.org", "America/Chicago", "mentor"),
    ("Bo Brandt", "bo@example.org", "Europe/Paris", "mentee"),
]
END_OF_DAY = dt.time(23, 59)


def _at(day: str, time: dt.time = dt.time(0, 0)) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), time)


@pytest.mark.parametrize(
    ("opens", "due", "end", "expected_due"),
    [
        # inside the program: unchanged
        ("2026-03-01", "2026-03-20", "2026-04-01", "2026-03-20"),
        # due exactly at the end of the program's last day: unchanged
        ("2026-03-01", "2026-03-31", "2026-04-01", "2026-03-31"),
        # the program ends mid-window: due at the end of its last day
        ("2026-03-15", "2026-04-14", "2026-04-01", "2026-03-31"),
        # opens on the program's last day: a one-day window
        ("2026-03-31", "2026-04-30", "2026-04-01", "2026-03-31"),
        # opens after the end: kept whole, for validate to refuse
        ("2026-04-01", "2026-04-30", "2026-04-01", "2026-04-30"),
    ],
)
def test_a_window_is_cut_at_the_end_of_the_programs_last_day(
    opens: str, due: str, end: str, expected_due: str
) -> None:
    window = (_at(opens), _at(due, END_OF_DAY))
    assert clip(window, dt.date.fromisoformat(end)) == (
        _at(opens),
        _at(expected_due, END_OF_DAY),
    )


def _monthly(clipped: bool, count: int = 4) -> Obligation:
    return Obligation.model_validate(
        {
            "id": "monthly", "title": "Monthly contact", "opens": {"month": 0},
            "due": {"month": 1, "offset_days": -1}, "repeat": {"every": "month", "count": count},
            "last_window": "clip" if clipped else "whole",
        }
    )  # fmt: skip


def test_only_the_window_past_the_end_is_cut_and_only_when_asked() -> None:
    start, end = dt.date(2026, 1, 5), dt.date(2026, 1, 5) + dt.timedelta(weeks=16)
    whole = obligation_windows(_monthly(False), start, end)
    cut = obligation_windows(_monthly(True), start, end)
    assert whole[:3] == cut[:3]  # the first three months fit
    assert whole[3] == (_at("2026-04-05"), _at("2026-05-04", END_OF_DAY))
    assert cut[3] == (_at("2026-04-05"), _at("2026-04-26", END_OF_DAY))


def test_an_after_event_window_cannot_be_clipped() -> None:
    with pytest.raises(ValueError, match="drop last_window"):
        Obligation.model_validate(
            {"id": "x", "title": "X", "after_event": "meeting", "last_window": "clip"}
        )


@pytest.fixture(autouse=True)
def _no_mailbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rehearsal without a mailbox (the obligations-without-[imap] rule then only warns)."""
    monkeypatch.setenv("MENTORMAIL_IMAP__HOST", "")


def _program(tmp_path: Path, clipped: bool, start: str, count: int = 4) -> Path:
    extra = MONTHLY.format(count=count, clip='last_window = "clip"' if clipped else "")
    return mini_program(tmp_path, PEOPLE, start=start, weeks=16, extra_schedule=extra)


def test_validate_refuses_the_overrun_and_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(_program(tmp_path, clipped=False, start="2026-01-05"))
    [problem] = caught.value.problems
    assert problem.key == "obligations[0]"
    assert "2026-04-05 to 2026-05-04 lies outside the program" in problem.message
    assert "2026-01-05 to 2026-04-26" in problem.message
    assert 'last_window = "clip"' in problem.hint


def test_a_window_opening_after_the_end_is_refused_even_when_clipped(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(_program(tmp_path, clipped=True, count=5, start="2026-01-05"))
    [problem] = caught.value.problems
    assert "2026-05-05 to 2026-06-04 lies outside the program" in problem.message
    assert "last_window" not in problem.hint and "lower count" in problem.hint


def test_an_explicit_request_after_the_clipped_due_date_is_refused(tmp_path: Path) -> None:
    config = _program(tmp_path, clipped=True, start="2026-01-05")
    schedule = tmp_path / "schedule.toml"
    write(  # the request a month after each window opens: the cut last one is over by then
        schedule,
        schedule.read_text() + "request = { send = { month = 0, offset_days = 25 } }\n",
    )
    with pytest.raises(ConfigError) as caught:
        validate(config)
    [problem] = caught.value.problems
    assert problem.key == "obligations[0].request"
    assert "(2026-04-30) would go out after the due date (2026-04-26)" in problem.message


@pytest.mark.parametrize(
    ("start", "timezone", "last_opens", "clipped_due"),
    [
        # 16 weeks from a Monday in January: the cut falls after the spring change (CDT, -5)
        ("2026-01-05", "America/Chicago", "2026-04-05T05:00:00Z", "2026-04-27T04:59:00Z"),
        # the same in Sydney: the last window opens in AEDT (+11), is due in AEST (+10)
        ("2026-01-05", "Australia/Sydney", "2026-04-04T13:00:00Z", "2026-04-26T13:59:00Z"),
        # a window ending on the fall-back night in Paris (Oct 25, 2026): CET (+1)
        ("2026-07-06", "Europe/Paris", "2026-10-05T22:00:00Z", "2026-10-25T22:59:00Z"),
    ],
)
def test_plan_shows_the_shorter_last_window_at_local_midnight(
    tmp_path: Path, start: str, timezone: str, last_opens: str, clipped_due: str
) -> None:
    config = _program(tmp_path, clipped=True, start=start)
    config.write_text(
        config.read_text().replace('timezone = "America/Chicago"', f'timezone = "{timezone}"', 1)
    )
    deployment, timeline = validate(config)
    end = deployment.program.end
    windows = [a for a in timeline if a.kind == "obligation" and a.item == "monthly"]
    assert [a.occurrence for a in windows] == [0, 1, 2, 3]  # one pair, four windows
    last = windows[-1]
    assert last.at.isoformat().replace("+00:00", "Z") == last_opens
    assert last.due_at is not None
    assert last.due_at.isoformat().replace("+00:00", "Z") == clipped_due
    assert last.due_at.astimezone(deployment.program.tz).date() == end - dt.timedelta(days=1)
    # the first three windows keep their whole month: each due the day before the next opens
    for window, following in itertools.pairwise(windows):
        assert window.due_at is not None
        assert following.at - window.due_at == dt.timedelta(minutes=1)
    # the last window's reminder and its flag follow its new due date
    reminders = [a for a in timeline if a.key.startswith("mini/reminder/monthly/pair:p1/3/3d/")]
    assert len(reminders) == 2 and all(last.at <= r.at < last.due_at for r in reminders)
