"""Calendar invites (iMIP, RFC 5545/5546/6047): one VCALENDAR per attendee, built with icalendar.

Pure: no I/O, no wall clock (`dtstamp` is a parameter). Follows section 1 of
`shared/research/protocol-reliability.md`: METHOD on the VCALENDAR (the MIME part must carry the
same `method=`); ORGANIZER the bare sending address; one ATTENDEE, RSVP=TRUE; CN always quoted,
without controls or backslashes, `"` replaced by `'` (RFC 6868 `^'` is not read by every client,
vobject included); SEQUENCE once, DTSTAMP in UTC; CANCEL with STATUS:CANCELLED; a VTIMEZONE
before the VEVENT, covering only the event's years and cached (icalendar's default 1970-2038
span costs milliseconds per zone); folding, CRLF and TEXT escaping by icalendar's serializer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr
from icalendar import Calendar, Event, Parameters, Timezone, vCalAddress, vRecur, vUri

PRODID = "-//mentormail//mentormail invites//EN"
UTC = dt.UTC
MAX_OCCURRENCES = 1000
FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})

# C0/C1 controls but TAB and LF (handled apart), DEL, U+2028/2029, lone surrogates (not UTF-8).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\t]")
_ADDRESS = re.compile(r"[^\s\"<>(),;:@\\\[\]]+@[^\s\"<>(),;:@\\\[\]]+")
_ORDINAL_DAY = re.compile(r"^[+-]?\d+")
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
    rrule: str = ""  # optional; single events are preferred (section 1.9)

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


def clean_line(text: str) -> str:
    """A one-line TEXT value (SUMMARY, LOCATION, CN): line breaks and tabs become spaces,
    other control characters are dropped."""
    return _keep_backslash_n(_CONTROLS.sub("", _LINE_BREAKS.sub(" ", text)).strip())


def clean_text(text: str) -> str:
    """A multi-line TEXT value (DESCRIPTION): line breaks become LF, controls are dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _keep_backslash_n(_CONTROLS.sub("", text).strip())


def _keep_backslash_n(text: str) -> str:
    """icalendar's TEXT escaping turns a literal backslash + `N` into a line break (it reads it
    as the RFC 5545 escape); an invisible WORD JOINER between them keeps `C:\\New` as written."""
    return text.replace("\\N", "\\\u2060N")


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


def _recurrence(rrule: str) -> vRecur:
    """Parse and vet an RRULE: bounded, a plain frequency, no multi-ordinal patterns (Outlook)."""
    try:
        recur: vRecur = vRecur.from_ical(rrule.removeprefix("RRULE:"))
    except ValueError as error:
        raise ValueError(f"bad RRULE {rrule!r}") from error
    freq = recur.get("FREQ", [])
    if len(freq) != 1 or freq[0] not in FREQUENCIES:
        raise ValueError(f"RRULE needs one FREQ of {sorted(FREQUENCIES)}: {rrule!r}")
    count, until = recur.get("COUNT", []), recur.get("UNTIL", [])
    if bool(count) == bool(until):
        raise ValueError(f"RRULE needs exactly one of COUNT and UNTIL: {rrule!r}")
    if count and not 1 <= count[0] <= MAX_OCCURRENCES:
        raise ValueError(f"RRULE COUNT must be 1..{MAX_OCCURRENCES}: {rrule!r}")
    if until and (not isinstance(until[0], dt.datetime) or until[0].utcoffset() != dt.timedelta()):
        raise ValueError(f"RRULE UNTIL must be a UTC date-time: {rrule!r}")
    ordinals = [day for day in recur.get("BYDAY", []) if _ORDINAL_DAY.match(day)]
    if len(ordinals) > 1 or len(recur.get("BYSETPOS", [])) > 1:
        raise ValueError(f"RRULE with several ordinals (not supported by Outlook): {rrule!r}")
    if "BYSECOND" in recur or "BYMINUTE" in recur or "BYHOUR" in recur:
        raise ValueError(f"RRULE with BYHOUR/BYMINUTE/BYSECOND: {rrule!r}")
    return recur


def _last_start(invite: Invite, recur: vRecur, zone: dt.tzinfo) -> dt.datetime:
    """The start of the last occurrence (the VTIMEZONE must reach it); at most MAX_OCCURRENCES."""
    start = invite.starts_at.astimezone(zone)
    text = bytes(recur.to_ical()).decode()  # type: ignore[no-untyped-call]
    starts = list(itertools.islice(rrulestr(text, dtstart=start), MAX_OCCURRENCES + 1))
    if len(starts) > MAX_OCCURRENCES:
        raise ValueError(f"RRULE with more than {MAX_OCCURRENCES} occurrences: {invite.rrule!r}")
    return max(starts, default=start)


def build_icalendar(invite: Invite) -> Calendar:
    """The checked icalendar object of `invite` (see `build_calendar`). Its VTIMEZONE is shared
    with other calendars: do not modify it."""
    return _build(invite)[0]


def build_calendar(invite: Invite) -> bytes:
    """The VCALENDAR of `invite`: CRLF, folded at 75 octets, METHOD at VCALENDAR level, PRODID,
    VERSION:2.0, the VTIMEZONE before the VEVENT (unless UTC), DTSTART/DTEND with TZID, UID,
    SEQUENCE once, DTSTAMP in UTC, quoted CNs, STATUS:CONFIRMED (REQUEST) or CANCELLED (CANCEL).

    The same bytes as `build_icalendar(invite).to_ical(sorted=False)`, faster: the calendar of
    an event is built and checked once per (event, method, SEQUENCE, DTSTAMP) with stand-in
    UID and ATTENDEE, and each attendee's own two lines, serialized by icalendar, are spliced
    into it (an event sent to thousands costs one full build)."""
    shared = dataclasses.replace(
        invite, uid=_STAND_IN_UID, attendee_email=_STAND_IN, attendee_name=""
    )
    head, middle, tail = _template(shared)
    own = Event()
    own.add("uid", invite.uid)
    own.add("attendee", _attendee(invite))
    lines = bytes(own.to_ical(sorted=False)).split(b"\r\n", 1)[1]  # after BEGIN:VEVENT
    uid, _, attendee = lines.removesuffix(b"END:VEVENT\r\n").partition(b"\r\nATTENDEE")
    return head + uid + b"\r\n" + middle + b"ATTENDEE" + attendee + tail


_STAND_IN_UID = "stand-in-uid"
_STAND_IN = "stand-in@invalid.invalid"


@functools.lru_cache(maxsize=64)
def _template(shared: Invite) -> tuple[bytes, bytes, bytes]:
    """The calendar of `shared` cut around its UID and ATTENDEE lines: what comes before the
    UID line, between the UID and ATTENDEE lines, and after the ATTENDEE line."""
    calendar, zone_key = _build(shared)
    if zone_key is None:
        body = bytes(calendar.to_ical(sorted=False))
    else:
        rest = Calendar(calendar)
        rest.subcomponents = calendar.subcomponents[1:]
        body = bytes(rest.to_ical(sorted=False))
        at = body.index(b"\r\nBEGIN:VEVENT\r\n") + 2
        body = body[:at] + _vtimezone_ical(*zone_key) + body[at:]
    uid_line = f"\r\nUID:{_STAND_IN_UID}\r\n".encode()
    uid_at = body.index(uid_line) + 2
    attendee_at = body.index(b"\r\nATTENDEE", uid_at) + 2
    after = body.index(b"\r\nSTATUS:", attendee_at) + 2  # STATUS follows ATTENDEE
    return body[:uid_at], body[uid_at + len(uid_line) - 2 : attendee_at], body[after:]


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
    if invite.rrule:
        if start.tzinfo is not zone:
            raise ValueError("a recurrence cannot start in the repeated hour of a DST change")
        recur = _recurrence(invite.rrule)
        event.add("rrule", recur)
        last = _last_start(invite, recur, zone) + (invite.ends_at - invite.starts_at)
    event.add("summary", clean_line(invite.summary))
    if description := clean_text(invite.description):
        event.add("description", description)
    if location := clean_line(invite.location):
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
    """A hash of what makes a change worth an update (the times, zone, summary, description,
    location, URL and recurrence as they would be sent); not UID, SEQUENCE, DTSTAMP or METHOD."""
    fields = [
        "v1",
        invite.starts_at.astimezone(UTC).isoformat(),
        invite.ends_at.astimezone(UTC).isoformat(),
        invite.tzid,
        clean_line(invite.summary),
        clean_text(invite.description),
        clean_line(invite.location),
        invite.url,
        invite.rrule.strip(),
    ]
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()
