"""How moments read to people (pure): a deadline as the day people think of ("Sunday 1 August
(end of day, Los Angeles time)"), other times in the reader's own zone with a city name, and
which week of the program a planned send belongs to.

The rule for deadlines (README, "Dates and times in mail"):
- A deadline at the end of a day (23:59, or 00:00 meaning the end of the day before) in the
  reader's zone reads as that day, "(end of day, <their city> time)".
- Otherwise, one at the end of a day in the zone it was defined in (obligation windows end at
  the end of a day in the program's zone) reads as that day with that zone's city: true for
  everyone wherever they are, and what the organizers meant. A reader in another zone sees
  "Sunday 1 August (end of day, Los Angeles time)", never "Monday 2 August, 2:59 AM".
- Any other deadline keeps its time, in the reader's zone: "Friday 23 July, 5:00 PM (New York
  time)".
The year is named only when it is not the year of `today` (the day the mail is written).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT", "Etc/GMT0"}
_LAST_MINUTE = dt.time(23, 59)


@dataclass(frozen=True)
class Deadline:
    """A deadline as words: `text` in full, `day` the day alone (for subjects)."""

    text: str
    day: str


def city(tz: ZoneInfo) -> str:
    """A zone as people name it: 'America/Los_Angeles' -> 'Los Angeles', 'Etc/GMT+5' -> 'UTC-5'
    (POSIX signs are inverted), 'UTC' -> 'UTC'; a name without a city is kept as it is."""
    key = tz.key
    if key in _UTC_NAMES:
        return "UTC"
    if key.startswith("Etc/GMT") and key[7:8] in "+-":
        return "UTC" + ("-" if key[7] == "+" else "+") + key[8:]
    return key.rsplit("/", 1)[-1].replace("_", " ")


@lru_cache(maxsize=4096)  # pure, and called for every recipient's every date (validate)
def day_text(day: dt.date, today: dt.date | None = None) -> str:
    """'Sunday 1 August', with the year when it is not `today`'s year (or `today` is None)."""
    text = f"{day:%A} {day.day} {day:%B}"
    return text if today is not None and day.year == today.year else f"{text} {day.year}"


def time_text(instant: dt.datetime, tz: ZoneInfo, today: dt.date | None = None) -> str:
    """'Friday 23 July, 5:00 PM (New York time)': a moment in `tz`, named by its city."""
    local = instant.astimezone(tz)
    hour = local.strftime("%I").lstrip("0")
    return f"{day_text(local.date(), today)}, {hour}:{local:%M %p} ({city(tz)} time)"


def end_of_day(instant: dt.datetime, tz: ZoneInfo) -> dt.date | None:
    """The day that `instant` ends in `tz` (it is 23:59 then, or 00:00 of the next day), or None
    when it is another time of day."""
    local = instant.astimezone(tz)
    clock = local.time().replace(second=0, microsecond=0)
    if clock == _LAST_MINUTE:
        return local.date()
    if local.time() == dt.time(0):
        return local.date() - dt.timedelta(days=1)
    return None


@lru_cache(maxsize=4096)  # pure: a window's deadline is the same for everyone who reads it
def deadline(
    due: dt.datetime, reader: ZoneInfo, defined_in: ZoneInfo, today: dt.date | None = None
) -> Deadline:
    """`due` as the reader should read it (the rule in the module's docstring)."""
    for tz in (reader, defined_in):
        day = end_of_day(due, tz)
        if day is not None:
            words = day_text(day, today)
            return Deadline(f"{words} (end of day, {city(tz)} time)", words)
    return Deadline(time_text(due, reader, today), day_text(due.astimezone(reader).date(), today))


def opening_day(opens: dt.datetime, reader: ZoneInfo, defined_in: ZoneInfo) -> dt.date:
    """The day a window opens: the day in the zone it was defined in when it opens at the start
    of a day there (an obligation window opens at 00:00 in the program's zone), else the
    reader's day."""
    local = opens.astimezone(defined_in)
    if local.time() == dt.time(0):
        return local.date()
    return opens.astimezone(reader).date()


def week_of(start: dt.date, day: dt.date) -> int:
    """The program's week that `day` is in: 1 from the start date, 0 the week before."""
    return (day - start).days // 7 + 1
