"""What to write instead of a time zone name that does not exist: "did you mean", or why an
abbreviation or a fixed offset is not a zone."""

from __future__ import annotations

import difflib
import re
from functools import cache
from zoneinfo import available_timezones

GENERIC = "use an IANA zone name such as America/Chicago or Australia/Sydney"
REGIONS = (
    "America", "Europe", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian",
    "Antarctica", "Arctic",
)  # fmt: skip
# common abbreviations that are not zone names (EST, MST, HST and CET are, as legacy names)
ABBREVIATIONS = {
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "MDT": "America/Denver", "MT": "America/Denver",
    "CST": "America/Chicago", "CDT": "America/Chicago", "CT": "America/Chicago",
    "EDT": "America/New_York", "ET": "America/New_York",
    "AKST": "America/Anchorage", "AKDT": "America/Anchorage",
    "BST": "Europe/London", "IST": "Asia/Kolkata",
    "CEST": "Europe/Berlin", "EEST": "Europe/Athens", "WEST": "Europe/Lisbon",
    "MSK": "Europe/Moscow", "SAST": "Africa/Johannesburg", "WAT": "Africa/Lagos",
    "EAT": "Africa/Nairobi", "JST": "Asia/Tokyo", "KST": "Asia/Seoul", "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong", "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
    "ACST": "Australia/Adelaide", "AWST": "Australia/Perth", "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland", "BRT": "America/Sao_Paulo",
}  # fmt: skip
_OFFSET = re.compile(r"^(UTC|GMT|Z)?\s*[+-]\s*\d{1,2}(:?\d\d)?$", re.IGNORECASE)


def zone_hint(name: str) -> str:
    """The hint for an unknown zone `name`: the zone meant, when it can be guessed."""
    text = name.strip()
    meant = ABBREVIATIONS.get(text.upper())
    if meant:
        return (
            f"{text} is an abbreviation, not a zone: use {meant} (or the zone of another city),"
            " which switches to and from daylight saving time by itself"
        )
    if _OFFSET.match(text):
        return (
            "a fixed offset does not follow daylight saving time: use the zone of a city, "
            "such as Europe/Berlin or America/Chicago"
        )
    guess = suggest_zone(text)
    return f"did you mean {guess}?" if guess else GENERIC


def suggest_zone(name: str) -> str:
    """The zone most like `name` ("America/Chigaco", "america/chicago", "New York",
    "Berlin"), or "" when nothing is close enough to offer."""
    key = _key(name)
    if not key:
        return ""
    exact = _by_key().get(key)
    if exact:
        return exact
    if "/" not in key:  # a city alone: Chicago, New York
        cities = _by_city()
        found = difflib.get_close_matches(key, list(cities), n=1, cutoff=0.8)
        return cities[found[0]] if found else ""
    names = _by_key()
    found = difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)
    return names[found[0]] if found else ""


def _key(name: str) -> str:
    return re.sub(r"\s+", "_", name.strip()).lower()


@cache
def _by_key() -> dict[str, str]:
    """Every zone, by its lower-cased name."""
    return {zone.lower(): zone for zone in sorted(available_timezones())}


@cache
def _by_city() -> dict[str, str]:
    """The regional zones, by their lower-cased city ("new_york" -> America/New_York); the
    first region in REGIONS wins a city name two regions share."""
    cities: dict[str, str] = {}
    zones = [z for z in available_timezones() if z.split("/")[0] in REGIONS]
    for zone in sorted(zones, key=lambda z: (REGIONS.index(z.split("/")[0]), z)):
        cities.setdefault(zone.rsplit("/", 1)[1].lower(), zone)
    return cities
