"""What an invitation says, as a calendar will hold it: TEXT values cleaned for iCalendar, and
the hash of everything that makes a change worth an update. Pure; decide uses the hash to tell
an edited event from the one last sent, mail uses the cleaning to build the VEVENT."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from zoneinfo import ZoneInfo

from daemon.program.actions import Action
from daemon.program.instance import Program
from daemon.program.windows import event_zone

# C0/C1 controls but TAB and LF (handled apart), DEL, U+2028/2029, lone surrogates (not UTF-8).
# bidirectional embeddings, overrides and isolates: in someone's name or reply they would turn
# the text around them backwards on screen ("Trojan Source"); nobody's own text needs them
_BIDI = "\u202a-\u202e\u2066-\u2069"
BIDI_CONTROLS = re.compile(f"[{_BIDI}]")
CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\t]")


def clean_line(text: str) -> str:
    """A one-line TEXT value (SUMMARY, LOCATION, CN): line breaks and tabs become spaces,
    other control characters are dropped."""
    return _keep_backslash_n(CONTROLS.sub("", _LINE_BREAKS.sub(" ", text)).strip())


def clean_text(text: str) -> str:
    """A multi-line TEXT value (DESCRIPTION): line breaks become LF, controls are dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _keep_backslash_n(CONTROLS.sub("", text).strip())


def _keep_backslash_n(text: str) -> str:
    """icalendar's TEXT escaping turns a literal backslash + `N` into a line break (it reads it
    as the RFC 5545 escape); an invisible WORD JOINER between them keeps `C:\\New` as written."""
    return text.replace("\\N", "\\\u2060N")


def content_hash(
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    tzid: str,
    *,
    summary: str,
    description: str,
    location: str,
    url: str,
) -> str:
    """A hash of what makes a change worth an update (the times, zone, summary, description,
    location and URL as they would be sent); not UID, SEQUENCE, DTSTAMP or METHOD. The empty
    string is the recurrence rule, which mentormail never sends (one event per occurrence):
    kept so the hashes of invitations sent by earlier versions still match."""
    fields = [
        "v1",
        starts_at.astimezone(dt.UTC).isoformat(),
        ends_at.astimezone(dt.UTC).isoformat(),
        tzid,
        clean_line(summary),
        clean_text(description),
        clean_line(location),
        url,
        "",
    ]
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


def invite_hash(program: Program, action: Action) -> str:
    """The content hash of the invitation `action` sends (of `program`'s event `action.item`)."""
    event = next(e for e in program.schedule.events if e.id == action.item)
    assert action.starts_at is not None and action.ends_at is not None
    zone: ZoneInfo = event_zone(event, program.tz)
    return content_hash(
        action.starts_at, action.ends_at, zone.key, summary=event.title,
        description=event.description, location=event.location, url=event.url,
    )  # fmt: skip
