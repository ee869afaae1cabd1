"""Template contexts not tied to a timeline: the parts every context has in the same shape (the
program, a person, the organizers greeted together), and the whole contexts of the mail made at
run time rather than planned — an alert to the organizers, an answer to a reply, the weekly
digest, a cancelled invitation (validate renders each with the samples in mail/samples.py).
Names from the roster or the config, and anything a person wrote, are shown inert (inert.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from daemon.mail.inert import Inert, inert
from daemon.program.instance import Program
from daemon.program.people import Participant, first_name_of, names_and
from daemon.program.timeline import Person
from daemon.program.timespec import local_date


def program_context(program: Program) -> dict[str, Any]:
    return {
        "title": program.title,
        "organization": program.schedule.program.organization,
        "weeks": program.weeks,
        "start": local_date(_midday(program.start, program.tz), program.tz),
        "organizers": [{"name": Inert(o.name), "email": o.email} for o in program.organizers],
        "sender": Inert(program.sender.name),
    }


def organizers_recipient(program: Program) -> dict[str, Any]:
    """Mail to all the organizers greets them all ("Hello Ashley and Morgan")."""
    people = program.organizers
    if not people:
        return {"name": "", "first_name": "", "email": "", "organizer": True}
    firsts = [first_name_of(o.name) or o.name for o in people]
    return {
        "name": Inert(names_and([o.name for o in people])),
        "first_name": Inert(names_and(firsts)),
        "email": people[0].email,
        "role": Inert("organizer"),
        "timezone": people[0].timezone,
        "organizer": True,
    }


def person_context(p: Person) -> dict[str, Any]:
    """A person as templates see them: names from the roster or the config shown inert; the
    address is a checked address (templates make it a mailto link: `<{{ person.email }}>`)."""
    first = p.greeting_name if isinstance(p, Participant) else first_name_of(p.name)
    return {
        "name": Inert(p.name),
        "first_name": Inert(first),
        "email": p.email,
        "role": Inert(getattr(p, "role", "organizer")),
        "timezone": p.timezone,
        "organizer": not isinstance(p, Participant),
    }


def _midday(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=tz)


def alert_context(program: Program, failed: dict[str, Any]) -> dict[str, Any]:
    """For `alert.md.j2`: a send that failed or whose outcome is unknown."""
    return {
        "program": program_context(program),
        "recipient": organizers_recipient(program),
        "failed": inert(failed),  # a server's words, an address
    }


def answer_context(
    program: Program, person: Person | None, address: str, answer: dict[str, Any]
) -> dict[str, Any]:
    """For `answer.md.j2`: the reply to a participant's (or organizer's) mail."""
    recipient = (
        person_context(person) if person
        else organizers_recipient(program) if not address
        else inert({"name": "", "first_name": "", "email": address})
    )  # fmt: skip
    # what a person wrote, echoed back (a command's argument), names, a server's diagnostic
    return {"program": program_context(program), "recipient": recipient, "answer": inert(answer)}


def digest_context_for(program: Program, digest: dict[str, Any]) -> dict[str, Any]:
    """For `digest.md.j2`: the organizers' weekly summary (greeting them all)."""
    shown = inert(digest)
    for unit, raw in zip(shown["units"], digest["units"], strict=True):
        for owed, links in zip(unit["owing"], raw["owing"], strict=True):
            for name in ("excuse_link", "extend_link"):  # URLs we built: quoted, not text
                if name in links:
                    owed[name] = links[name]
    return {
        "program": program_context(program),
        "recipient": organizers_recipient(program),
        "digest": shown,
    }


def cancel_context(
    program: Program, attendee: str, title: str, *, still_in_program: bool
) -> dict[str, Any]:
    """For `invite-cancel.md.j2`: an event removed, or a participant who left."""
    return {
        "program": program_context(program),
        "recipient": {
            "name": Inert(attendee),
            "first_name": Inert(attendee.split(maxsplit=1)[0] if attendee else ""),
        },
        "event": {"title": title},
        "still_in_program": still_in_program,
    }
