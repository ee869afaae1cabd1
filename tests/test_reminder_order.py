"""How obligations are planned and shown. A reminder comes after the check-in request it
reminds of, never with or before it: with `request = { after_open_days = 3 }` and
`reminders_days_before = [3]` on a week's window both fell on the same morning, and a
rehearsal's participants answered the reminder first (seen by a new organizer)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from daemon.config.load import load_program
from daemon.program.timeline import plan
from tests.conftest import mini_program

OBLIGATION = """
[[obligations]]
id = "meet"
title = "Meet"
who = "each_pair"
weeks = [2, 2]
request = {{ after_open_days = {after} }}
reminders_days_before = [5, 4, 3, 1]
"""
PEOPLE = [  # far west, far east: both sends are in each person's own zone
    ("Ann Adler", "ann@example.org", "Pacific/Honolulu", "mentor"),
    ("Bo Brandt", "bo@example.org", "Pacific/Kiritimati", "mentee"),
]
PEOPLE_2 = [
    ("Cy Chen", "cy@example.org", "Europe/Paris", "mentor"),
    ("Di Diaz", "di@example.org", "Asia/Tokyo", "mentee"),
]


@pytest.mark.parametrize(("after", "kept"), [(3, {"1d"}), (0, {"5d", "4d", "3d", "1d"})])
def test_reminders_no_later_than_the_request_are_not_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: int, kept: set[str]
) -> None:
    monkeypatch.setenv("MENTORMAIL_IMAP__HOST", "")
    config = mini_program(tmp_path, PEOPLE, extra_schedule=OBLIGATION.format(after=after))
    timeline = plan(load_program(config))
    requests = {a.key.rsplit("/", 1)[-1]: a.at for a in timeline if "/request/" in a.key}
    reminders: dict[str, set[str]] = defaultdict(set)
    for action in timeline:
        if "/reminder/" in action.key:
            person = action.key.rsplit("/", 1)[-1]
            assert action.at > requests[person]
            reminders[person].add(action.key.split("/")[-2])
    assert dict(reminders) == {p[1]: kept for p in PEOPLE}


def test_plan_says_each_persons_own_obligation_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "→ 6 people in 6 participants" read oddly for an obligation each person has of their own
    from zoneinfo import ZoneInfo

    from daemon.views.plan import plan_table

    monkeypatch.setenv("MENTORMAIL_IMAP__HOST", "")
    own = OBLIGATION.format(after=0).replace('who = "each_pair"', 'who = "each_participant"')
    program = load_program(mini_program(tmp_path, PEOPLE, extra_schedule=own))
    table = plan_table(program, plan(program), ZoneInfo("UTC"), "plan")
    assert "] → ann@example.org, bo@example.org, each their own" in table
    both = OBLIGATION.format(after=0)
    pairs = load_program(mini_program(tmp_path, [*PEOPLE, *PEOPLE_2], extra_schedule=both))
    assert "→ 4 people in 2 pairs" in plan_table(pairs, plan(pairs), ZoneInfo("UTC"), "plan")
