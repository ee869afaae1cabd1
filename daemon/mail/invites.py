"""Calendar invites (iMIP, RFC 5545/5546/6047): one VCALENDAR per attendee, built with icalendar.

Pure: no I/O, no wall clock (`dtstamp` is a parameter). Follows section 1 of
`shared/research/protocol-reliability.md`: METHOD on the VCALENDAR (the MIME part must carry the
same `method=`); ORGANIZER the bare sending address; one ATTENDEE, RSVP=TRUE; CN always quoted,
without controls or backslashes, `"` replaced by `'` (RFC 6868 `^'` is not read by every client,
vobject included); SEQUENCE once, DTSTAMP in UTC; CANCEL with STATUS:CANCELLED; a VTIMEZONE
before the VEVENT, covering only the event's years and cached (icalendar's default 1970-2038
span costs milliseconds per zone); folding, CRLF and TEXT escaping by icalendar's serializer.
One event per occurrence: no recurrence rules (section 1.9 of the research: clients differ).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Parameters, Timezone, vCalAddress, vUri

from daemon.program.calendar_text import CONTROLS as _CONTROLS
from daemon.program.calendar_text import clean_line, clean_text
from daemon.program.calendar_text import content_hash as _content_hash

PRODID = "-//mentormail//mentormail invites//EN"
UTC = dt.UTC

_ADDRESS = re.compile(r"[^\s\"<>(),;:@\\\[\]]+@[^\s\"<>(),;:@\\\[\]]+")
_URL = re.compile(r"[A-Za-z][\w+.-]*:\S+")


@dataclass(frozen=True)
class Invite:
    uid: str  # stable forever (derived by the planner from the send key)
    sequence: int  # 0 for the first REQUEST; +1 on each change and on CANCEL
    method: Literal["REQUEST", "CANCEL"]
    summary: str
    description: str
    location: str
    url: str
    starts_at: dt.datetime  # aware, any zone
    ends_at: dt.datetime
    tzid: str  # IANA zone the event is defined in (VTIMEZONE emitted for it), or "UTC"
    organizer_email: str  # == the sending address
    organizer_name: str
    attendee_email: str  # exactly one ATTENDEE per invite (one email per attendee)
    attendee_name: str
    dtstamp: dt.datetime  # aware; written in UTC

    def to_json(self) -> str:
        """As the store keeps it with its event version (a cancel is made from it)."""
        data = dataclasses.asdict(self)
        for name in ("starts_at", "ends_at", "dtstamp"):
            data[name] = data[name].isoformat()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Invite:
        fields = json.loads(text)
        for name in ("starts_at", "ends_at", "dtstamp"):
            fields[name] = dt.datetime.fromisoformat(fields[name])
        return cls(**fields)

    def __post_init__(self) -> None:
        if self.method not in ("REQUEST", "CANCEL"):
            raise ValueError(f"method must be REQUEST or CANCEL, not {self.method!r}")
        if not self.uid or _CONTROLS.search(self.uid) or any(c.isspace() for c in self.uid):
            raise ValueError(f"bad UID {self.uid!r}")
        if self.sequence < 0 or (self.method == "CANCEL" and self.sequence < 1):
            raise ValueError("SEQUENCE starts at 0 and a CANCEL raises it (at least 1)")
        for name in ("starts_at", "ends_at", "dtstamp"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.ends_at <= self.starts_at:
            raise ValueError("an event must end after it starts")
        for name in ("organizer_email", "attendee_email"):
            if not _ADDRESS.fullmatch(getattr(self, name)):
                raise ValueError(f"bad {name} {getattr(self, name)!r}")
        if self.url and (_CONTROLS.search(self.url) or not _URL.fullmatch(self.url)):
            raise ValueError(f"bad URL {self.url!r}")
        _zone(self.tzid)


def clean_name(name: str, fallback: str) -> str:
    """A CN parameter: one line, no controls, `"` replaced by `'` and no backslash (parameters
    have no backslash escapes, but icalendar reads `\\,` as `,`); `fallback` if nothing is left."""
    return clean_line(name.replace("\\", "")).replace('"', "'") or fallback


class _QuotedParameters(Parameters):
    """Parameters whose CN is always double-quoted (some clients drop an unquoted non-ASCII CN)."""

    always_quoted: tuple[str, ...] = (*Parameters.always_quoted, "CN")  # type: ignore[assignment]


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params = _QuotedParameters(CN=clean_name(name, email), **params)
    return address


@functools.cache
def _zone(tzid: str) -> dt.tzinfo:
    if tzid == "UTC":
        return UTC
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {tzid!r}") from error


@functools.lru_cache(maxsize=256)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE of `tzid` valid from 1 January `first_year` to the end of `last_year`.

    Shared between calendars: callers must not modify it."""
    return Timezone.from_tzinfo(
        _zone(tzid), tzid, dt.date(first_year, 1, 1), dt.date(last_year + 1, 1, 1)
    )


@functools.lru_cache(maxsize=256)
def _vtimezone_ical(tzid: str, first_year: int, last_year: int) -> bytes:
    return bytes(_vtimezone(tzid, first_year, last_year).to_ical(sorted=False))


def _local(when: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """`when` as wall time in `zone`; in UTC instead when that wall time is the second of a
    repeated hour (a TZID wall time always means the first)."""
    local = when.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return when.astimezone(UTC)
    return local


def build_icalendar(invite: Invite) -> Calendar:
    """The checked icalendar object of `invite` (see `build_calendar`). Its VTIMEZONE is shared
    with other calendars: do not modify it."""
    return _build(invite)[0]


def build_calendar(invite: Invite) -> bytes:
    """The VCALENDAR of `invite`: CRLF, folded at 75 octets, METHOD at VCALENDAR level, PRODID,
    VERSION:2.0, the VTIMEZONE before the VEVENT (unless UTC), DTSTART/DTEND with TZID, UID,
    SEQUENCE once, DTSTAMP in UTC, quoted CNs, STATUS:CONFIRMED (REQUEST) or CANCELLED (CANCEL)."""
    calendar, zone_key = _build(invite)
    if zone_key is None:
        return bytes(calendar.to_ical(sorted=False))
    rest = Calendar(calendar)  # the VTIMEZONE is written from its own cache
    rest.subcomponents = calendar.subcomponents[1:]
    body = bytes(rest.to_ical(sorted=False))
    at = body.index(b"\r\nBEGIN:VEVENT\r\n") + 2
    return body[:at] + _vtimezone_ical(*zone_key) + body[at:]


def _attendee(invite: Invite) -> vCalAddress:
    return _address(
        invite.attendee_email,
        invite.attendee_name,
        ROLE="REQ-PARTICIPANT",
        PARTSTAT="NEEDS-ACTION",
        RSVP="TRUE",
    )


def _build(invite: Invite) -> tuple[Calendar, tuple[str, int, int] | None]:
    zone = _zone(invite.tzid)
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", invite.dtstamp.astimezone(UTC))
    start = _local(invite.starts_at, zone)
    event.add("dtstart", start)
    event.add("dtend", _local(invite.ends_at, zone))
    last = invite.ends_at.astimezone(zone)
    event.add("summary", clean_line(invite.summary))
    description, location = clean_text(invite.description), clean_line(invite.location)
    if invite.url:  # Google Calendar and Outlook show LOCATION and DESCRIPTION, not URL
        if invite.url not in description:
            description = f"Join: {invite.url}" + (f"\n\n{description}" if description else "")
        if invite.url not in location:
            location = f"{location} ({invite.url})" if location else invite.url
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if invite.url:
        event.add("url", vUri(invite.url))
    event.add("organizer", _address(invite.organizer_email, invite.organizer_name))
    event.add("attendee", _attendee(invite))
    event.add("status", "CONFIRMED" if invite.method == "REQUEST" else "CANCELLED")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", invite.method)
    zone_key = None
    if invite.tzid != "UTC":
        zone_key = (invite.tzid, invite.starts_at.astimezone(zone).year, last.year)
        calendar.add_component(_vtimezone(*zone_key))
    calendar.add_component(event)
    check_calendar(calendar)
    return calendar, zone_key


def check_calendar(calendar: Calendar) -> None:
    """Refuse a calendar that breaks the iMIP rules this module relies on (ValueError)."""
    method = calendar.get("METHOD")
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"METHOD must be REQUEST or CANCEL at VCALENDAR level, not {method!r}")
    names = [component.name for component in calendar.subcomponents]
    if names.count("VEVENT") != 1 or names[-1] != "VEVENT":
        raise ValueError("exactly one VEVENT, after every VTIMEZONE")
    event = calendar.subcomponents[-1]
    if "METHOD" in event:
        raise ValueError("METHOD belongs to the VCALENDAR, not the VEVENT")
    for name in ("UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "ORGANIZER", "ATTENDEE"):
        if name not in event or isinstance(event[name], list):
            raise ValueError(f"the VEVENT needs exactly one {name}")
    status = event.get("STATUS")
    if status != ("CONFIRMED" if method == "REQUEST" else "CANCELLED"):
        raise ValueError(f"STATUS:{status} does not go with METHOD:{method}")
    if event.decoded("DTSTAMP").utcoffset() != dt.timedelta():
        raise ValueError("DTSTAMP must be in UTC")
    if event.decoded("DTEND") <= event.decoded("DTSTART"):
        raise ValueError("DTEND must be after DTSTART")
    declared = {str(zone["TZID"]) for zone in calendar.subcomponents if zone.name == "VTIMEZONE"}
    for name in ("DTSTART", "DTEND"):
        tzid = event[name].params.get("TZID")
        if tzid is not None and tzid not in declared:
            raise ValueError(f"{name} uses TZID {tzid} without a VTIMEZONE")


def content_hash(invite: Invite) -> str:
    """See `daemon.program.calendar_text.content_hash`."""
    return _content_hash(
        invite.starts_at, invite.ends_at, invite.tzid, summary=invite.summary,
        description=invite.description, location=invite.location, url=invite.url,
    )  # fmt: skip
