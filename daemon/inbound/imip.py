"""RSVPs (iMIP REPLY) and counter-proposals (COUNTER), checked against what was sent: a known
UID, exactly one ATTENDEE and it is the person invited, sent by that person — directly, or in
Google Calendar's envelope (From calendar-notification@google.com, the attendee in Reply-To).
Outlook's REPLY without ORGANIZER is fine. A SEQUENCE older than the last one sent is stale."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar

from daemon.inbound.events import Counter, Directory, Event, StaleRsvp, Unmatched
from daemon.inbound.parse import Mail
from daemon.ledger.records import Partstat, Rsvp

MAX_CALENDAR = 256 * 1024
GOOGLE = "calendar-notification@google.com"
PARTSTATS: tuple[Partstat, ...] = ("ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION")


def calendar_method(mail: Mail) -> str:
    """The METHOD of the message's calendar part, if it has a readable one."""
    calendar = _calendar(mail)
    return str(calendar.get("METHOD", "")).upper() if calendar is not None else ""


def rsvp(mail: Mail, directory: Directory) -> Event:
    calendar = _calendar(mail)
    if calendar is None:
        return Unmatched("a calendar reply that cannot be read")
    method = str(calendar.get("METHOD", "")).upper()
    events = list(calendar.walk("VEVENT"))[:20]
    if not events:
        return Unmatched(f"a calendar {method} without an event")
    event = events[0]
    uid = str(event.get("UID", ""))
    invite = directory.invite(uid)
    if invite is None:
        return Unmatched(f"a calendar {method} for an event mentormail did not send")
    attendees = event.get("ATTENDEE", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    if len(attendees) != 1:
        return Unmatched(f"a calendar {method} with {len(attendees)} attendees, not 1")
    who = str(attendees[0]).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()
    if who != invite.attendee.lower():
        return Unmatched(f"a calendar {method} for someone the invitation was not for")
    if not _sent_by(mail, who, directory):
        return Unmatched(f"a calendar {method} sent by someone other than the attendee")
    sequence = _int(event.get("SEQUENCE", 0))
    if sequence is None:
        return Unmatched(f"a calendar {method} whose SEQUENCE is not a number it can have")
    if method == "COUNTER":
        return Counter(uid, who, _instant(event, "DTSTART"), _instant(event, "DTEND"))
    if sequence < invite.sequence:
        return StaleRsvp(uid, who, sequence)
    partstat = str(attendees[0].params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    known: Partstat = next((p for p in PARTSTATS if p == partstat), "NEEDS-ACTION")
    return Rsvp(uid, who, known, sequence)


def _calendar(mail: Mail) -> Calendar | None:
    if mail.calendar is None or len(mail.calendar) > MAX_CALENDAR:
        return None
    try:
        calendars = Calendar.from_ical(mail.calendar, multiple=True)
    except (ValueError, KeyError, IndexError, TypeError):  # what icalendar raises on bad input
        return None
    return calendars[0] if calendars else None


def _sent_by(mail: Mail, attendee: str, directory: Directory) -> bool:
    senders = [mail.sender] if mail.sender else []
    if mail.sender == GOOGLE:
        senders = mail.reply_to
    for sender in senders:
        person = directory.person(sender)
        if sender == attendee or (person is not None and person.address.lower() == attendee):
            return True
    return False


def _int(value: object) -> int | None:
    """SEQUENCE as a number (0 when unreadable, as before), or None outside RFC 5545's
    integers (32 bits, signed): 10**23 made the whole batch fail to be stored, every pass."""
    try:
        number = int(str(value))
    except ValueError:
        return 0
    return number if -(2**31) <= number < 2**31 else None


def _instant(event: object, name: str) -> dt.datetime | None:
    try:
        value = event.decoded(name)  # type: ignore[attr-defined]
    except (KeyError, ValueError, TypeError):
        return None
    return value if isinstance(value, dt.datetime) and value.tzinfo else None
