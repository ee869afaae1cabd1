"""Commands people write in the subject or on the first line of their mail. A command is the
whole line: the word and only the arguments it takes, so a sentence that merely starts with
"Help" or "Status" is not one. Reply prefixes (Re:, AW:, SV:, Fwd:…) are ignored."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PARTICIPANT = ("HELP", "STATUS", "PAUSE", "RESUME", "WITHDRAW", "MEETING")
ORGANIZER = ("EXCUSE", "EXTEND")
_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|vs|fw|fwd|wg|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_WORD = re.compile(r"^([A-Za-z]+)\b\s*(.*)$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
# the years a date in a command may name: at the ends of what a date can hold, the instants
# made from it (its midnight east of UTC, a meeting's end, its zone's rules) fall outside, and
# every later pass failed on them
YEARS = range(1900, 3000)


@dataclass(frozen=True)
class Parsed:
    name: str
    args: dict[str, object]
    error: str = ""


def find(subject: str, first_line: str, *, organizer: bool) -> Parsed | None:
    """The command in the subject or the first line; a complete one wins over one whose
    arguments are wrong (a subject "Excuse" and the full command on the first line)."""
    found = [
        parsed
        for text in (_PREFIX.sub("", subject), first_line)
        if (parsed := parse(text.strip(), organizer=organizer)) is not None
    ]
    return next((p for p in found if not p.error), found[0] if found else None)


def parse(line: str, *, organizer: bool) -> Parsed | None:
    found = _WORD.match(line.strip().rstrip(".!"))
    if found is None:
        return None
    name, rest = found[1].upper(), found[2].strip()
    known = PARTICIPANT + (ORGANIZER if organizer else ())
    if name not in known:
        return None
    if name in ("HELP", "STATUS", "RESUME", "WITHDRAW"):
        return Parsed(name, {}) if not rest else None
    if name == "PAUSE":
        return _pause(rest)
    if name == "MEETING":
        return _meeting(rest)
    return _organizer(name, rest)


def _pause(rest: str) -> Parsed | None:
    if not rest:
        return Parsed("PAUSE", {})
    words = rest.split()
    if words[0].lower() == "until":
        words = words[1:]
    if len(words) != 1:
        return None if len(words) > 3 else Parsed("PAUSE", {}, "write PAUSE until YYYY-MM-DD")
    day = _day(words[0])
    if day is None:
        return Parsed("PAUSE", {}, f"{words[0]!r} is not a date like 2026-05-01")
    return Parsed("PAUSE", {"until": day.isoformat()})


def _meeting(rest: str) -> Parsed | None:
    words = rest.split()
    if not 2 <= len(words) <= 4:
        usage = "write MEETING 2026-05-04 14:00 (and a time zone if not yours)"
        return Parsed("MEETING", {}, usage) if len(words) < 6 else None
    day = _day(words[0])
    if day is None:
        return Parsed("MEETING", {}, f"{words[0]!r} is not a date like 2026-05-04")
    clock, zone_words = words[1], words[2:]
    if zone_words and zone_words[0].lower() in ("am", "pm"):
        clock, zone_words = clock + zone_words[0], zone_words[1:]
    time = _clock(clock)
    if time is None:
        return Parsed("MEETING", {}, f"{clock!r} is not a time like 14:00 or 2:00pm")
    args: dict[str, object] = {"date": day.isoformat(), "time": time.strftime("%H:%M")}
    if zone_words:
        try:
            ZoneInfo(zone_words[0])
        except (ZoneInfoNotFoundError, ValueError):
            return Parsed("MEETING", {}, f"{zone_words[0]!r} is not a time zone like Europe/Paris")
        args["zone"] = zone_words[0]
    return Parsed("MEETING", args)


def _day(text: str) -> dt.date | None:
    """An ISO date of one of YEARS, or None."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if day.year in YEARS else None


def _clock(text: str) -> dt.time | None:
    found = _TIME.match(text)
    if found is None:
        return None
    hour, minute, half = int(found[1]), int(found[2] or 0), (found[3] or "").lower()
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def _organizer(name: str, rest: str) -> Parsed:
    words = rest.split()
    if name == "EXCUSE" and len(words) == 2:
        return Parsed(name, {"participant": words[0].lower(), "obligation": words[1]})
    if name == "EXTEND" and len(words) == 3:
        day = _day(words[2])
        if day is None:
            return Parsed(name, {}, f"{words[2]!r} is not a date like 2026-05-01")
        return Parsed(name, {"participant": words[0].lower(), "obligation": words[1],
                             "until": day.isoformat()})  # fmt: skip
    usage = "EXCUSE <address> <obligation>[#N]" if name == "EXCUSE" else (
        "EXTEND <address> <obligation>[#N] <YYYY-MM-DD>")  # fmt: skip
    return Parsed(name, {}, f"write {usage}")
