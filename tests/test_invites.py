"""The invite builder (daemon/mail/invites.py) against the iMIP checklist (protocol-reliability §1).

Every built calendar is parsed back with icalendar and vobject. Golden files in tests/golden/ are
compared byte for byte; regenerate them with MENTORMAIL_UPDATE_GOLDEN=1 after a deliberate change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.mail import invites
from daemon.mail.invites import (
    Invite,
    build_calendar,
    build_icalendar,
    check_calendar,
    clean_line,
    clean_name,
    clean_text,
    content_hash,
)

GOLDEN = Path(__file__).parent / "golden"
LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
UID = "0f6b4c2a9d8e7f6a5b4c3d2e1f0a9b8c@example.org"

# PeMento's first community call (schedules/pemento-2021), invited a week before.
CALL = Invite(
    uid=UID,
    sequence=0,
    method="REQUEST",
    summary="PeMento Welcome & Kick-Off Community Call",
    description="Meet your cohort and the PeMento organizers.",
    location="Online",
    url="https://example.org/pemento/community-call",
    starts_at=dt.datetime(2021, 7, 12, 12, tzinfo=LA),
    ends_at=dt.datetime(2021, 7, 12, 13, tzinfo=LA),
    tzid="America/Los_Angeles",
    organizer_email="pemento@example.org",
    organizer_name="PeMento Organizers",
    attendee_email="ana.perez@example.org",
    attendee_name="Ana Pérez",
    dtstamp=dt.datetime(2021, 7, 5, 16, 0, tzinfo=dt.UTC),
)
UPDATE = dataclasses.replace(
    CALL,
    sequence=1,
    starts_at=dt.datetime(2021, 7, 12, 13, tzinfo=LA),
    ends_at=dt.datetime(2021, 7, 12, 14, tzinfo=LA),
    location="Online (new link)",
    dtstamp=dt.datetime(2021, 7, 8, 17, 30, tzinfo=dt.UTC),
)
CANCEL = dataclasses.replace(
    UPDATE, sequence=2, method="CANCEL", dtstamp=dt.datetime(2021, 7, 9, 8, 15, tzinfo=dt.UTC)
)
# Starts 01:00 CET, ends 04:00 CEST: clocks jump 02:00 → 03:00 in between (two real hours).
BERLIN_DST = dataclasses.replace(
    CALL,
    uid="berlin-dst@example.org",
    summary="Nachtschicht-Mentoring: Übergang zur Sommerzeit",
    description="Zwei echte Stunden, drei auf der Wanduhr.",
    location="Café Größenwahn, Berlin",
    starts_at=dt.datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN),
    ends_at=dt.datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN),
    tzid="Europe/Berlin",
    attendee_email="jonas@example.de",
    attendee_name="Jonas Müller",
    dtstamp=dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC),
)
SAO_PAULO_CALL = dataclasses.replace(
    CALL,
    uid="sao-paulo@example.org",
    summary="Mentoria em grupo: reunião de acompanhamento",
    description="Traga suas reflexões da semana.",
    location="",
    starts_at=dt.datetime(2026, 5, 5, 19, 0, tzinfo=SAO_PAULO),
    ends_at=dt.datetime(2026, 5, 5, 20, 0, tzinfo=SAO_PAULO),
    tzid="America/Sao_Paulo",
    attendee_email="joao@example.com.br",
    attendee_name="João da Silva",
    dtstamp=dt.datetime(2026, 4, 28, 12, 0, tzinfo=dt.UTC),
)
GOLDEN_CASES = {
    "pemento-call-request": CALL,
    "pemento-call-update": UPDATE,
    "pemento-call-cancel": CANCEL,
    "berlin-dst": BERLIN_DST,
    "sao-paulo": SAO_PAULO_CALL,
}
# More shapes for the structural checks: UTC, the repeated hour, an event over New Year.
CASES = {
    **GOLDEN_CASES,
    "utc": dataclasses.replace(
        CALL,
        tzid="UTC",
        starts_at=dt.datetime(2021, 7, 12, 19, tzinfo=dt.UTC),
        ends_at=dt.datetime(2021, 7, 12, 20, tzinfo=dt.UTC),
    ),
    "second-0130-of-fall-back": dataclasses.replace(
        CALL,
        starts_at=dt.datetime(2021, 11, 7, 9, 30, tzinfo=dt.UTC),  # 01:30 PST, not PDT
        ends_at=dt.datetime(2021, 11, 7, 10, 30, tzinfo=dt.UTC),
    ),
    "over-new-year": dataclasses.replace(
        BERLIN_DST,
        starts_at=dt.datetime(2026, 12, 31, 23, tzinfo=BERLIN),
        ends_at=dt.datetime(2027, 1, 1, 1, tzinfo=BERLIN),
    ),
    "given-in-another-zone": dataclasses.replace(
        CALL, starts_at=CALL.starts_at.astimezone(BERLIN), ends_at=CALL.ends_at.astimezone(dt.UTC)
    ),
}
PROPERTIES = {
    "VCALENDAR": {"PRODID", "VERSION", "CALSCALE", "METHOD"},
    "VEVENT": {
        "UID",
        "SEQUENCE",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "RRULE",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
        "URL",
        "ORGANIZER",
        "ATTENDEE",
        "STATUS",
    },
}


def lines(ics: bytes) -> list[bytes]:
    assert ics.endswith(b"\r\n")
    return ics[:-2].split(b"\r\n")


def unfolded(ics: bytes) -> list[str]:
    return ics.decode().replace("\r\n ", "").removesuffix("\r\n").split("\r\n")


def check_wire_format(ics: bytes) -> None:
    """CRLF only, every physical line ≤ 75 octets and valid UTF-8 on its own (no split sequence)."""
    assert b"\n" not in ics.replace(b"\r\n", b"")
    assert b"\r" not in ics.replace(b"\r\n", b"")
    for line in lines(ics):
        assert len(line) <= 75, line
        line.decode("utf-8")


def the_event(calendar: icalendar.Calendar) -> icalendar.Event:
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    assert len(events) == 1
    return events[0]


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_files(name: str) -> None:
    ics = build_calendar(GOLDEN_CASES[name])
    path = GOLDEN / f"{name}.ics"
    if os.environ.get("MENTORMAIL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(ics)
    assert ics == path.read_bytes()


@pytest.mark.parametrize("name", CASES)
def test_splice_is_what_icalendar_writes(name: str) -> None:
    invite = CASES[name]
    assert build_calendar(invite) == build_icalendar(invite).to_ical(sorted=False)


@pytest.mark.parametrize("name", CASES)
def test_structure_and_both_parsers(name: str) -> None:
    invite = CASES[name]
    ics = build_calendar(invite)
    check_wire_format(ics)
    text = unfolded(ics)

    # METHOD once, at VCALENDAR level, before any component, equal to the method.
    assert [line for line in text if line.startswith("METHOD")] == [f"METHOD:{invite.method}"]
    assert text.index(f"METHOD:{invite.method}") < text.index("BEGIN:VEVENT")
    assert text.index(f"METHOD:{invite.method}") < min(
        i for i, line in enumerate(text) if line.startswith("BEGIN:V") and i > 0
    )
    assert [line for line in text if line.startswith("SEQUENCE")] == [f"SEQUENCE:{invite.sequence}"]
    assert text.count("BEGIN:VCALENDAR") == 1
    assert text.count("BEGIN:VEVENT") == 1

    # Every TZID used has a VTIMEZONE placed before the VEVENT.
    used = set(re.findall(r";TZID=([^;:]+)[;:]", "\n".join(text)))
    declared = {
        line.removeprefix("TZID:"): i for i, line in enumerate(text) if line.startswith("TZID:")
    }
    assert used <= declared.keys()
    assert all(declared[tzid] < text.index("BEGIN:VEVENT") for tzid in used)
    if invite.tzid == "UTC":
        assert not declared
        assert "BEGIN:VTIMEZONE" not in text

    # icalendar reads it back.
    calendar = icalendar.Calendar.from_ical(ics)
    assert calendar["METHOD"] == invite.method
    event = the_event(calendar)
    assert "METHOD" not in event
    assert str(event["UID"]) == invite.uid
    assert event.decoded("DTSTART") == invite.starts_at
    assert event.decoded("DTEND") == invite.ends_at
    assert event.decoded("DTSTAMP") == invite.dtstamp
    assert event.decoded("DTSTAMP").utcoffset() == dt.timedelta()
    assert text[[line.startswith("DTSTAMP") for line in text].index(True)].endswith("Z")
    assert event["STATUS"] == ("CONFIRMED" if invite.method == "REQUEST" else "CANCELLED")
    assert str(event["ORGANIZER"]) == f"mailto:{invite.organizer_email}"
    assert str(event["ATTENDEE"]) == f"mailto:{invite.attendee_email}"
    assert dict(event["ATTENDEE"].params) == {
        "CN": invite.attendee_name,
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION",
        "RSVP": "TRUE",
    }
    for component in calendar.walk():
        assert set(component.keys()) <= PROPERTIES.get(component.name, set(component.keys()))
    check_calendar(calendar)

    # vobject reads it back too (its own VTIMEZONE interpretation).
    vcal = vobject.readOne(ics.decode())
    assert vcal.method.value == invite.method
    assert vcal.vevent.uid.value == invite.uid
    assert vcal.vevent.dtstart.value == invite.starts_at
    assert vcal.vevent.dtend.value == invite.ends_at
    assert int(vcal.vevent.sequence.value) == invite.sequence
    assert vcal.vevent.attendee.value == f"mailto:{invite.attendee_email}"


def test_cn_is_always_quoted_and_organizer_is_a_bare_address() -> None:
    text = unfolded(build_calendar(CALL))
    assert 'ORGANIZER;CN="PeMento Organizers":mailto:pemento@example.org' in text
    assert (
        'ATTENDEE;CN="Ana Pérez";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE'
        ":mailto:ana.perez@example.org"
    ) in text


def test_an_empty_name_falls_back_to_the_address() -> None:
    invite = dataclasses.replace(CALL, attendee_name=" \r\n\x00 ", organizer_name="")
    event = the_event(icalendar.Calendar.from_ical(build_calendar(invite)))
    assert event["ATTENDEE"].params["CN"] == "ana.perez@example.org"
    assert event["ORGANIZER"].params["CN"] == "pemento@example.org"


def test_a_literal_backslash_n_stays_visible() -> None:
    text = "Share C:\\New folder\\Notes, see \\N."
    invite = dataclasses.replace(CALL, summary=text, description=text, location=text, url="")
    event = the_event(icalendar.Calendar.from_ical(build_calendar(invite)))
    for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
        assert "\n" not in str(event[name])
        assert str(event[name]).replace("\u2060", "") == text


@pytest.mark.parametrize(
    ("location", "description", "shown_location", "shown_description"),
    [
        ("", "", "{url}", "Join: {url}"),
        ("Online", "Meet us.", "Online ({url})", "Join: {url}\n\nMeet us."),
        ("Zoom {url}", "Link: {url}", "Zoom {url}", "Link: {url}"),  # never twice
    ],
)
def test_the_join_link_is_where_calendars_show_it(
    location: str, description: str, shown_location: str, shown_description: str
) -> None:
    """Google Calendar and Outlook show LOCATION and DESCRIPTION, not URL."""
    url = CALL.url
    assert url
    invite = dataclasses.replace(
        CALL, location=location.format(url=url), description=description.format(url=url)
    )
    event = next(c for c in icalendar.Calendar.from_ical(build_calendar(invite)).walk("VEVENT"))
    assert str(event["LOCATION"]) == shown_location.format(url=url)
    assert str(event["DESCRIPTION"]) == shown_description.format(url=url)
    assert str(event["URL"]) == url


def test_update_and_cancel_keep_the_uid_and_raise_the_sequence() -> None:
    versions = [the_event(build_icalendar(invite)) for invite in (CALL, UPDATE, CANCEL)]
    assert {str(event["UID"]) for event in versions} == {UID}
    assert [event["SEQUENCE"] for event in versions] == [0, 1, 2]
    assert [event["STATUS"] for event in versions] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    stamps = [event.decoded("DTSTAMP") for event in versions]
    assert stamps == sorted(stamps)
    assert build_icalendar(CANCEL)["METHOD"] == "CANCEL"


def test_the_repeated_hour_is_written_in_utc() -> None:
    text = unfolded(build_calendar(CASES["second-0130-of-fall-back"]))
    assert "DTSTART:20211107T093000Z" in text
    assert "DTEND;TZID=America/Los_Angeles:20211107T023000" in text


def test_vtimezone_covers_only_the_event_years_and_is_cached() -> None:
    invites._vtimezone.cache_clear()
    invites._vtimezone_ical.cache_clear()
    text = unfolded(build_calendar(CALL))
    assert "COMMENT:This timezone only works from 2021-01-01 to 2022-01-01." in text
    build_calendar(UPDATE)
    assert invites._vtimezone_ical.cache_info().hits == 1
    assert invites._vtimezone.cache_info().misses == 1
    # An event running into the next year gets both years.
    spanning = unfolded(build_calendar(CASES["over-new-year"]))
    assert "COMMENT:This timezone only works from 2026-01-01 to 2028-01-01." in spanning


REQUEST_WITH_CANCELLED = build_icalendar(CALL)
REQUEST_WITH_CANCELLED.subcomponents[-1]["STATUS"] = "CANCELLED"
METHOD_IN_EVENT = build_icalendar(CALL)
METHOD_IN_EVENT.subcomponents[-1]["METHOD"] = "REQUEST"
NO_VTIMEZONE = build_icalendar(CALL)
NO_VTIMEZONE.subcomponents = NO_VTIMEZONE.subcomponents[1:]
TWO_SEQUENCES = build_icalendar(CALL)
TWO_SEQUENCES.subcomponents[-1].add("sequence", 1)
NO_METHOD = build_icalendar(CALL)
del NO_METHOD["METHOD"]
PUBLISH = build_icalendar(CALL)
PUBLISH["METHOD"] = "PUBLISH"


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        (REQUEST_WITH_CANCELLED, "STATUS:CANCELLED does not go with METHOD:REQUEST"),
        (METHOD_IN_EVENT, "METHOD belongs to the VCALENDAR"),
        (NO_VTIMEZONE, "without a VTIMEZONE"),
        (TWO_SEQUENCES, "exactly one SEQUENCE"),
        (NO_METHOD, "METHOD must be"),
        (PUBLISH, "METHOD must be"),
    ],
    ids=[
        "request-cancelled",
        "method-in-event",
        "no-vtimezone",
        "two-sequences",
        "no-method",
        "publish",
    ],
)
def test_check_calendar_refuses(calendar: icalendar.Calendar, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_calendar(calendar)


NAIVE = dt.datetime(2021, 7, 12, 12)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_at": NAIVE}, "starts_at must be timezone-aware"),
        ({"dtstamp": NAIVE}, "dtstamp must be timezone-aware"),
        ({"ends_at": CALL.starts_at}, "must end after it starts"),
        ({"ends_at": CALL.starts_at - dt.timedelta(hours=1)}, "must end after it starts"),
        ({"method": "CANCEL", "sequence": 0}, "a CANCEL raises it"),
        ({"sequence": -1}, "SEQUENCE starts at 0"),
        ({"method": "PUBLISH"}, "method must be"),
        ({"uid": ""}, "bad UID"),
        ({"uid": "a\r\nATTENDEE:mailto:x@y"}, "bad UID"),
        ({"attendee_email": "Ana <ana@example.org>"}, "bad attendee_email"),
        ({"attendee_email": "ana@example.org\r\nATTENDEE:mailto:eve@evil"}, "bad attendee_email"),
        ({"organizer_email": "pemento"}, "bad organizer_email"),
        ({"tzid": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"tzid": "../../etc/passwd"}, "unknown time zone"),
        ({"url": "https://example.org/a b"}, "bad URL"),
        ({"url": "not a url"}, "bad URL"),
    ],
)
def test_invalid_invites_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        dataclasses.replace(CALL, **changes)


@pytest.mark.parametrize(
    ("changes", "changed"),
    [
        ({"starts_at": CALL.starts_at + dt.timedelta(minutes=30)}, True),
        ({"ends_at": CALL.ends_at + dt.timedelta(minutes=30)}, True),
        ({"summary": "PeMento Kick-Off"}, True),
        ({"location": "Room 101"}, True),
        ({"description": "New agenda."}, True),
        ({"url": "https://example.org/other"}, True),
        ({"tzid": "America/Chicago"}, True),
        ({"sequence": 5}, False),
        ({"dtstamp": CALL.dtstamp + dt.timedelta(days=3)}, False),
        ({"method": "CANCEL", "sequence": 1}, False),
        ({"uid": "another@example.org"}, False),
        ({"attendee_name": "Ana P."}, False),
        ({"starts_at": CALL.starts_at.astimezone(dt.UTC)}, False),  # the same instant
        ({"summary": CALL.summary + "\r\n"}, False),  # the same text once sent
    ],
)
def test_content_hash(changes: dict[str, Any], changed: bool) -> None:
    before = content_hash(CALL)
    assert re.fullmatch("[0-9a-f]{64}", before)
    assert (content_hash(dataclasses.replace(CALL, **changes)) != before) == changed


# Strings that have broken invites elsewhere: quotes, separators, CR/LF, RFC 6868's caret,
# emoji (4-byte UTF-8, ZWJ sequences), RTL marks and text, combining marks, NUL and other controls.
NASTY = st.sampled_from(
    ['"', ",", ";", ":", "\\", "\r\n", "\n", "\r", "\t", "^", "^n", "^'", "😀", "👩‍👩‍👧", "\u200f",
     "\u202e", "שלום", "é", "e\u0301", "中文", "\x00", "\x1b", "\x7f", "\u2028", " ", "a", "Z"]
)  # fmt: skip
NASTY_TEXT = st.lists(NASTY | st.text(max_size=3), max_size=60).map("".join)


def expected_names(invite: Invite) -> dict[str, str]:
    return {
        "ORGANIZER": clean_name(invite.organizer_name, invite.organizer_email),
        "ATTENDEE": clean_name(invite.attendee_name, invite.attendee_email),
    }


@settings(max_examples=150, deadline=None)
@given(summary=NASTY_TEXT, description=NASTY_TEXT, location=NASTY_TEXT, cn=NASTY_TEXT)
def test_hostile_text_round_trips_without_injection(
    summary: str, description: str, location: str, cn: str
) -> None:
    invite = dataclasses.replace(
        CALL,
        summary=summary,
        description=description,
        location=location,
        url="",  # (the text as given: a join link would be added to both)
        attendee_name=cn,
        organizer_name=cn[::-1],
    )
    ics = build_calendar(invite)
    check_wire_format(ics)

    calendar = icalendar.Calendar.from_ical(ics)
    for component in calendar.walk():
        assert set(component.keys()) <= PROPERTIES.get(component.name, set(component.keys()))
    event = the_event(calendar)
    assert not isinstance(event["ORGANIZER"], list)
    assert not isinstance(event["ATTENDEE"], list)
    assert str(event["ORGANIZER"]) == "mailto:pemento@example.org"
    assert str(event["ATTENDEE"]) == "mailto:ana.perez@example.org"
    names = expected_names(invite)
    assert event["ORGANIZER"].params["CN"] == names["ORGANIZER"]
    assert event["ATTENDEE"].params["CN"] == names["ATTENDEE"]
    assert set(event["ATTENDEE"].params) == {"CN", "ROLE", "PARTSTAT", "RSVP"}
    assert str(event["SUMMARY"]) == clean_line(summary)
    assert str(event.get("DESCRIPTION", "")) == clean_text(description)
    assert str(event.get("LOCATION", "")) == clean_line(location)

    vcal = vobject.readOne(ics.decode())
    vevent = vcal.vevent
    assert len(vevent.contents["attendee"]) == 1
    assert len(vevent.contents["organizer"]) == 1
    assert vevent.attendee.value == "mailto:ana.perez@example.org"
    # vobject does not decode RFC 6868; the only escape left after cleaning is ^^ for ^.
    assert vevent.attendee.params["CN"] == [names["ATTENDEE"].replace("^", "^^")]
    assert vevent.summary.value == clean_line(summary)
    assert set(vevent.contents) <= {name.lower() for name in PROPERTIES["VEVENT"]}


MULTIBYTE = st.text(
    alphabet=st.sampled_from("é中文😀👩‍👧שלום\u200fÅß ∑€𝄞ー한국어"), min_size=40, max_size=400
)


@settings(max_examples=100, deadline=None)
@given(summary=MULTIBYTE, description=MULTIBYTE)
def test_long_multibyte_text_folds_cleanly_and_round_trips(summary: str, description: str) -> None:
    ics = build_calendar(
        dataclasses.replace(CALL, summary=summary, description=description, url="")
    )
    check_wire_format(ics)
    assert clean_line(summary) == summary.strip()
    event = the_event(icalendar.Calendar.from_ical(ics))
    assert str(event["SUMMARY"]) == summary.strip()
    assert str(event.get("DESCRIPTION", "")) == description.strip()
    vevent = vobject.readOne(ics.decode()).vevent
    assert vevent.summary.value == summary.strip()


@settings(max_examples=150, deadline=None)
@given(
    uid=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-./@", min_size=1, max_size=120),
    local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_+", min_size=1, max_size=64),
    name=st.text(max_size=80),
    case=st.sampled_from(sorted(CASES)),
)
def test_spliced_calendar_is_the_full_serialization(
    uid: str, local: str, name: str, case: str
) -> None:
    """build_calendar writes the VTIMEZONE from a cache; the bytes must equal icalendar's own
    serialization of the whole calendar."""
    invite = dataclasses.replace(
        CASES[case], uid=uid, attendee_email=f"{local}@example.org", attendee_name=name
    )
    assert build_calendar(invite) == bytes(build_icalendar(invite).to_ical(sorted=False))
