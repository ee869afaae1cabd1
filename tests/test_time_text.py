"""Deadlines read as people think of them, and `{{ week }}` is the program's week of the item
wherever the participant is. Table-driven: DST days, midnight, both hemispheres, zones east and
west of the program."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config.load import Program, load_program
from daemon.decide.sends import Send
from daemon.mail.compose import Composer
from daemon.mail.context import ContextBuilder
from daemon.program.time_text import city, deadline, opening_day
from daemon.program.timeline import plan
from daemon.views.participant import status_answer
from tests.conftest import mini_program

LA, NY, LONDON = "America/Los_Angeles", "America/New_York", "Europe/London"
SYDNEY, AUCKLAND, HONOLULU = "Australia/Sydney", "Pacific/Auckland", "Pacific/Honolulu"


def at(day: str, clock: str, tz: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(tz))


# (due, as a wall-clock time in the zone it was defined in; the reader's zone; expected text)
DEADLINES = [
    # end of day in the program zone, read east and west of it and in it
    (("2021-08-01", "23:59", LA), NY, "Sunday 1 August (end of day, Los Angeles time)"),
    (("2021-08-01", "23:59", LA), LA, "Sunday 1 August (end of day, Los Angeles time)"),
    (("2021-08-01", "23:59", LA), HONOLULU, "Sunday 1 August (end of day, Los Angeles time)"),
    (("2021-08-01", "23:59", LONDON), SYDNEY, "Sunday 1 August (end of day, London time)"),
    (("2021-08-01", "23:59", LONDON), AUCKLAND, "Sunday 1 August (end of day, London time)"),
    # 00:00 is the end of the day before
    (("2021-08-02", "00:00", LONDON), SYDNEY, "Sunday 1 August (end of day, London time)"),
    (("2021-08-02", "00:00", LA), LA, "Sunday 1 August (end of day, Los Angeles time)"),
    # DST days, both hemispheres (spring forward and fall back)
    (("2021-03-28", "23:59", LONDON), NY, "Sunday 28 March (end of day, London time)"),
    (("2021-10-31", "23:59", LONDON), LA, "Sunday 31 October (end of day, London time)"),
    (("2021-03-14", "23:59", LA), LONDON, "Sunday 14 March (end of day, Los Angeles time)"),
    (("2021-11-07", "23:59", LA), SYDNEY, "Sunday 7 November (end of day, Los Angeles time)"),
    (("2021-04-04", "23:59", SYDNEY), AUCKLAND, "Sunday 4 April (end of day, Sydney time)"),
    (("2021-10-03", "23:59", SYDNEY), HONOLULU, "Sunday 3 October (end of day, Sydney time)"),
    (
        ("2021-09-26", "00:00", AUCKLAND),
        LONDON,
        "Saturday 25 September (end of day, Auckland time)",
    ),
    # the end of the reader's own day, not the program's: said in theirs
    (("2021-07-23", "20:59", LA), NY, "Friday 23 July (end of day, New York time)"),
    (("2021-07-23", "12:59", LONDON), AUCKLAND, "Friday 23 July (end of day, Auckland time)"),
    # another time of day keeps its time, in the reader's zone
    (("2021-07-23", "17:00", LONDON), NY, "Friday 23 July, 12:00 PM (New York time)"),
    (("2021-07-23", "17:00", LONDON), SYDNEY, "Saturday 24 July, 2:00 AM (Sydney time)"),
    (("2021-07-23", "17:00", LONDON), HONOLULU, "Friday 23 July, 6:00 AM (Honolulu time)"),
    (("2021-03-28", "09:30", LONDON), LONDON, "Sunday 28 March, 9:30 AM (London time)"),
]


@pytest.mark.parametrize(("due", "reader", "expected"), DEADLINES)
def test_deadline_reads_as_a_day(due: tuple[str, str, str], reader: str, expected: str) -> None:
    day, clock, defined_in = due
    instant = at(day, clock, defined_in).astimezone(dt.UTC)
    today = dt.date(2021, 7, 1)
    words = deadline(instant, ZoneInfo(reader), ZoneInfo(defined_in), today)
    assert words.text == expected
    assert words.text.startswith(words.day)


def test_the_year_is_named_when_it_is_not_this_year() -> None:
    due = at("2022-01-02", "23:59", "America/Chicago")
    chicago = ZoneInfo("America/Chicago")
    assert deadline(due, chicago, chicago, dt.date(2021, 12, 1)).text == (
        "Sunday 2 January 2022 (end of day, Chicago time)"
    )
    assert deadline(due, chicago, chicago, dt.date(2022, 1, 1)).day == "Sunday 2 January"
    assert deadline(due, chicago, chicago).day == "Sunday 2 January 2022"


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (LA, "Los Angeles"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires"),
        ("America/Port-au-Prince", "Port-au-Prince"),
        ("UTC", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Etc/GMT+5", "UTC-5"),
        ("Etc/GMT-10", "UTC+10"),
        ("EST5EDT", "EST5EDT"),
    ],
)
def test_zones_are_named_by_their_city(key: str, name: str) -> None:
    assert city(ZoneInfo(key)) == name


@pytest.mark.parametrize("reader", [SYDNEY, HONOLULU, LA, AUCKLAND, LONDON])
def test_a_window_opens_on_the_program_day_wherever_the_reader_is(reader: str) -> None:
    opens = at("2021-07-19", "00:00", LONDON)
    assert opening_day(opens, ZoneInfo(reader), ZoneInfo(LONDON)) == dt.date(2021, 7, 19)
    later = at("2021-07-19", "09:00", LONDON)  # not the start of a day: the reader's day
    assert opening_day(later, ZoneInfo(SYDNEY), ZoneInfo(LONDON)) == dt.date(2021, 7, 19)
    assert opening_day(at("2021-07-19", "01:00", LONDON), ZoneInfo(HONOLULU), ZoneInfo(LONDON)) == (
        dt.date(2021, 7, 18)
    )


EDGES = """
[[messages]]
id = "first-thing"
title = "First thing"
subject = "Early {{ week }}"
template = "note"
send = { week = 1, day = "monday", time = 00:30:00 }
repeat = { every = "week", count = 4 }

[[messages]]
id = "last-thing"
title = "Last thing"
subject = "Late {{ week }}"
template = "note"
send = { week = 1, day = "sunday", time = 23:30:00 }
repeat = { every = "week", count = 4 }
"""


def test_week_is_the_programs_week_in_every_zone(tmp_path: Path) -> None:
    """A London program (across both DST changes of 2026, north and south) with participants
    east and west of it: every send says the week it was planned for, never week 0 or one too
    many (Sydney's Monday 00:30 is Sunday in London; Honolulu's Sunday 23:30 is Monday)."""
    people = [
        ("Sid Sydney", "sid@example.org", SYDNEY, "mentor"),
        ("Lou Angeles", "lou@example.org", LA, "mentee"),
        ("Aki Auckland", "aki@example.org", AUCKLAND, "mentor"),
        ("Hana Honolulu", "hana@example.org", HONOLULU, "mentee"),
        ("Len London", "len@example.org", LONDON, "mentor"),
        ("Nia York", "nia@example.org", NY, "mentee"),
    ]
    config = mini_program(
        tmp_path, people, start="2026-03-23", weeks=4, extra_schedule=EDGES, timezone=LONDON
    )
    program = load_program(config)
    timeline = plan(program)
    builder = ContextBuilder(program, timeline)
    composer = Composer(program, timeline, bytes(32))
    persons = {p.email: p for p in program.participants}
    checked = 0
    for action in timeline:
        if action.item not in ("weekly", "first-thing", "last-thing"):
            continue
        person = persons[action.recipients[0]]
        week = builder.build(action, person)["week"]
        assert week == action.occurrence + 1, (action.key, action.at)
        row, _ = composer.row(Send(action.key, action, 0), action.at)
        message = email.message_from_bytes(row.message, policy=email.policy.default)
        word = {"weekly": "Week", "first-thing": "Early", "last-thing": "Late"}[action.item]
        assert message["Subject"] == f"{word} {action.occurrence + 1}"
        checked += 1
    assert checked == 3 * 4 * len(people)


def test_status_and_reminders_say_the_deadline_as_a_day(pemento: Program) -> None:
    """PeMento is in Los Angeles; Dana is in New York. Her STATUS answer and her reminder say
    the window's last day with its city, not '2:59 AM EDT' the day after."""
    timeline = plan(pemento)
    dana = "dana.whitfield@example.org"
    now = dt.datetime(2021, 7, 27, 16, tzinfo=dt.UTC)
    answer = status_answer(pemento, timeline, dana, now, checkins=(), commands=())
    first = answer["open"][0]
    assert first == {
        "title": "Small Group Meeting 1",
        "due": "Sunday 1 August (end of day, Los Angeles time)",
    }
    reminder = next(a for a in timeline if a.kind == "reminder" and a.recipients == (dana,))
    row, _ = Composer(pemento, timeline, bytes(32)).row(Send(reminder.key, reminder, 0), now)
    message = email.message_from_bytes(row.message, policy=email.policy.default)
    assert message["Subject"] == "Reminder: Small Group Meeting 1 is due Sunday 1 August"
    text = message.get_body(("plain",))
    assert text is not None
    assert "due Sunday 1 August (end of day, Los Angeles time)" in text.get_content()
    assert "AM EDT" not in text.get_content()
