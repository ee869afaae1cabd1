"""The demo's simulated participants: pure decisions about what each one sends, and when.

A persona answers a message it received (a check-in request, a reminder, an invitation) the way
a person of that kind would, in the shape their mail client gives it — Gmail's answer on top of
a wrapped attribution and a quote, an answer bottom-posted under the quote, Outlook's sentence
above an unquoted copy of the original — with the form's lines filled in; or an RSVP from their
calendar (iMIP METHOD:REPLY) sent to the ORGANIZER. One writes a question for the organizers in
reply to the week-1 mail; some take the initiative: HELP on the first day, a holiday (PAUSE
until a date), a WITHDRAW. Nothing here does I/O: the rehearsal delivers the
returned messages to the sandbox mailbox at their time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum

from icalendar import Calendar, Event, vCalAddress

# what a check-in request or a reminder says (a weekly email's "just reply" asks no check-in)
ASK = ("Start your reply with", "When it's done, just reply", "Please reply to this email by")
WROTE = "We met on {day} and compared notes on our projects; next time we set goals."
OPT_IN = "To opt in, ask the organizers"  # PeMento's week-1 mail: a question for a person
QUESTION = "Hello! I'd like the bonus daily prompts too. Is it too late to opt in?\n\nThanks,\n"


class Persona(Enum):
    DILIGENT = "answers every check-in within hours and accepts every invitation"
    BUSY = "accepts invitations, answers check-ins only once reminded"
    DECLINER = "declines the community calls; leaves check-ins to the others"
    FORGETFUL = "never answers anything"
    HELP_SEEKER = "asks HELP on the first day, then answers like the diligent"
    HOLIDAY = "accepts invitations; goes on holiday in week 3 (PAUSE until two weeks later)"
    WITHDRAWS = "accepts invitations, then withdraws in week 5"


ANSWERS = (Persona.DILIGENT, Persona.HELP_SEEKER, Persona.BUSY)  # who answers check-ins


# who plays what, in roster order (cycled for a longer roster): in PeMento's roster this makes
# the sparrows report every meeting, the herons only after reminders, and the owls — a forgetful
# member, one on holiday and one who withdraws — never, so the organizers see their flags
CAST = (
    Persona.DILIGENT, Persona.HELP_SEEKER, Persona.DECLINER, Persona.BUSY,
    Persona.BUSY, Persona.BUSY, Persona.DECLINER, Persona.FORGETFUL,
    Persona.FORGETFUL, Persona.HOLIDAY, Persona.WITHDRAWS,
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    persona: Persona


@dataclass(frozen=True)
class Outgoing:
    """A message `who` sends at `at`: `what` they did ("accepted", "answered", "withdrew"…)
    about `topic` (an event, a subject, or nothing), for the progress lines."""

    at: dt.datetime
    raw: bytes
    who: str
    what: str
    topic: str = ""


def cast(people: list[tuple[str, str]]) -> list[Person]:
    return [Person(name, address, CAST[i % len(CAST)]) for i, (name, address) in enumerate(people)]


def respond(person: Person, mail: EmailMessage, at: dt.datetime) -> list[Outgoing]:
    """What `person` sends back to `mail`, delivered to them at `at`."""
    if person.persona is Persona.FORGETFUL or mail["Auto-Submitted"] == "auto-replied":
        return []
    calendar = _calendar(mail)
    if calendar is not None:
        return _rsvp(person, mail, calendar, at)
    text = _text(mail)
    subject = str(mail["Subject"] or "")
    if person.persona is Persona.DECLINER and OPT_IN in text and "week 1" in subject.lower():
        when = at + dt.timedelta(hours=5)
        body = QUESTION + person.name.split()[0] + "\n\n" + _gmail_quote(mail, text)
        return [_reply(person, mail, when, body, "wrote to the organizers")]
    if person.persona not in ANSWERS or not any(p.lower() in text.lower() for p in ASK):
        return []
    reminded = subject.startswith(("Reminder:", "Overdue:"))
    if person.persona is Persona.BUSY and not reminded:
        return []
    delay = dt.timedelta(hours=3 if person.persona is not Persona.BUSY else 20)
    when = at + delay
    form = _form(text, when)
    if person.persona is Persona.BUSY:  # Outlook: a sentence on top, the original unquoted below
        body = (
            "Yes, we met last week, sorry for the delay!\n\n" + form + "\n" + _outlook(mail, text)
        )
    elif person.persona is Persona.HELP_SEEKER:  # bottom-posted, under the quote
        body = _gmail_quote(mail, text) + "\nyes\n\n" + form
    else:  # Gmail: the answer on top, the attribution wrapped over two lines, the quote
        body = "yes\n\n" + form + "\n" + _gmail_quote(mail, text)
    return [_reply(person, mail, when, body, "answered")]


def _reply(person: Person, mail: EmailMessage, when: dt.datetime, body: str, what: str) -> Outgoing:
    subject = str(mail["Subject"] or "")
    reply = _message(person, str(mail["Reply-To"] or mail["From"]), "Re: " + subject, when, body)
    reply["In-Reply-To"] = str(mail["Message-ID"])
    reply["References"] = str(mail["Message-ID"])
    return Outgoing(when, bytes(reply), person.name, what, subject)


def initiatives(person: Person, start: dt.datetime, program_address: str) -> list[Outgoing]:
    """What `person` sends unprompted; `start` is the program's first day (its zone)."""
    week = dt.timedelta(weeks=1)
    if person.persona is Persona.HELP_SEEKER:
        at = start + dt.timedelta(hours=14)
        return [_command(person, program_address, "HELP", at, "asked for HELP")]
    if person.persona is Persona.HOLIDAY:
        at = start + 2 * week + dt.timedelta(hours=10)
        back = (at + 2 * week).date().isoformat()
        return [
            _command(person, program_address, f"PAUSE until {back}", at, f"paused until {back}")
        ]
    if person.persona is Persona.WITHDRAWS:
        at = start + 4 * week + dt.timedelta(days=1, hours=11)
        return [_command(person, program_address, "WITHDRAW", at, "withdrew from the program")]
    return []


def _rsvp(
    person: Person, mail: EmailMessage, calendar: Calendar, at: dt.datetime
) -> list[Outgoing]:
    if str(calendar.get("METHOD", "")).upper() != "REQUEST":
        return []
    event = next(iter(calendar.walk("VEVENT")), None)
    if event is None:
        return []
    summary = str(event.get("SUMMARY", "the event"))
    declines = person.persona is Persona.DECLINER and "call" in summary.lower()
    state = "DECLINED" if declines else "ACCEPTED"
    when = at + dt.timedelta(hours=1)
    reply = Calendar()
    reply.add("PRODID", "-//mentormail demo//simulated calendar//EN")
    reply.add("VERSION", "2.0")
    reply.add("METHOD", "REPLY")
    answer = Event()
    for name in ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER"):
        if name in event:
            answer[name] = event[name]
    answer.add("DTSTAMP", when)
    attendee = vCalAddress(f"mailto:{person.email}")
    attendee.params["PARTSTAT"] = state
    attendee.params["CN"] = person.name
    answer.add("ATTENDEE", attendee)
    reply.add_component(answer)
    organizer = str(event.get("ORGANIZER", mail["From"])).removeprefix("mailto:")
    verb = "Declined" if declines else "Accepted"
    message = _message(person, organizer, f"{verb}: {summary}", when, f"{verb}: {summary}\n")
    message.add_attachment(
        reply.to_ical(), maintype="text", subtype="calendar", params={"method": "REPLY"},
        filename="invite.ics", disposition="inline",
    )  # fmt: skip
    return [Outgoing(when, bytes(message), person.name, verb.lower(), summary)]


def _command(person: Person, to: str, line: str, at: dt.datetime, what: str) -> Outgoing:
    return Outgoing(at, bytes(_message(person, to, line, at, line + "\n")), person.name, what)


def _message(person: Person, to: str, subject: str, at: dt.datetime, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = email.utils.formataddr((person.name, person.email))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(at)
    digest = hashlib.sha256(f"{person.email}{subject}{at.isoformat()}".encode()).hexdigest()[:20]
    message["Message-ID"] = f"<{digest}@{person.email.partition('@')[2]}>"
    message.set_content(body)
    return message


def _form(text: str, at: dt.datetime) -> str:
    """The request's form lines, answered: yes/no questions yes, dates the day, the rest a line."""
    lines, taking = [], False
    for line in text.splitlines():
        if "copy these lines into your reply" in line:
            taking = True
        elif taking and line.startswith("- "):
            label = line[2:].rstrip()
            lowered = label.lower()
            if "yes/no" in lowered:
                answer = "yes"
            elif lowered.startswith("when") or "date" in lowered:
                answer = at.date().isoformat()
            else:
                answer = WROTE.format(day=at.strftime("%A"))
            lines.append(f"- {label} {answer}")  # the copied line, the answer after it
        elif taking and line.strip() and not line.startswith(" "):
            taking = line.startswith("- ")
    return "\n".join(lines) + ("\n" if lines else "")


def _gmail_quote(mail: EmailMessage, text: str) -> str:
    """Gmail's attribution, wrapped before the address as Gmail wraps it, and the quote."""
    name, address = email.utils.parseaddr(str(mail["From"]))
    when = email.utils.parsedate_to_datetime(str(mail["Date"]))
    stamp = f"{when:%a, %b} {when.day}, {when.year} at {when:%I:%M %p}".replace(" 0", " ")
    return f"On {stamp} {name or 'the organizers'} <\n{address}> wrote:\n\n" + "".join(
        f"> {line}\n" if line else ">\n" for line in text.splitlines()
    )


def _outlook(mail: EmailMessage, text: str) -> str:
    """Outlook's copy of the original: a rule, its From/Sent/To/Subject block, unquoted text."""
    when = email.utils.parsedate_to_datetime(str(mail["Date"]))
    return (
        "________________________________\n"
        f"From: {mail['From']}\nSent: {when:%A, %B} {when.day}, {when.year} {when:%I:%M %p}\n"
        f"To: {mail['To']}\nSubject: {mail['Subject']}\n\n{text}"
    )


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    return part.get_content() if isinstance(part, EmailMessage) else ""


def _calendar(mail: EmailMessage) -> Calendar | None:
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return Calendar.from_ical(payload)
    return None
