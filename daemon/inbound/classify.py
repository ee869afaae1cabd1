"""Raw bytes in, exactly one event out (pure; never raises). In this order:

1. too big, too deep, too many parts, unreadable -> Malformed
2. a calendar REPLY or COUNTER -> Rsvp / StaleRsvp / Counter (before the auto-reply check:
   Google's RSVPs carry Auto-Submitted)
3. auto-replies and delivery reports -> AutoReply / Bounce (never answered: no mail loops)
4. the send it answers: the reply token in the recipients first, then In-Reply-To and
   References; a token used by someone the send was not for -> Unmatched
5. commands in the subject or the first line (organizer commands from organizers only)
6. a participant's mail -> CheckIn (quotes and signature stripped, form fields, yes/no)
7. anything else -> Unmatched, with the reason
"""

from __future__ import annotations

from daemon.errors import MalformedMail
from daemon.inbound import auto, commands, imip
from daemon.inbound.events import (
    CheckIn,
    Directory,
    Event,
    Inbound,
    Malformed,
    OrganizerCommand,
    PersonRef,
    SentRef,
    Unmatched,
)
from daemon.inbound.parse import Limits, Mail, parse
from daemon.inbound.replytext import form_fields, new_text, yes_or_no
from daemon.ledger.records import Command

DEFAULT_LIMITS = Limits()


def classify(raw: bytes, directory: Directory, *, limits: Limits = DEFAULT_LIMITS) -> Inbound:
    """The one boundary of the classifier: whatever a message makes any part of it raise, the
    message is Malformed (kept for a person), never an exception."""
    try:
        mail = parse(raw, limits)
    except MalformedMail as exc:
        return Inbound(Malformed(str(exc)))
    except Exception as exc:  # the stdlib parser is lenient; be safe anyway
        return Inbound(Malformed(f"cannot be parsed: {type(exc).__name__}"))
    try:
        event = _event(mail, directory)
    except Exception as exc:
        event = Malformed(f"cannot be understood: {type(exc).__name__}")
    return Inbound(event, mail.message_id, mail.sender, mail.subject)


def _event(mail: Mail, directory: Directory) -> Event:
    if imip.calendar_method(mail) in ("REPLY", "COUNTER"):
        return imip.rsvp(mail, directory)
    machine = auto.automatic(mail)
    if machine is not None:
        return machine
    if mail.sender is None:
        return Unmatched("no single sender address")
    person = directory.person(mail.sender)
    organizer = directory.is_organizer(mail.sender)
    sent, problem = _answered(mail, directory, person)
    if problem:
        return Unmatched(problem)
    text = new_text(mail.text)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    command = commands.find(mail.subject, first, organizer=True)
    if command is not None and command.name in commands.ORGANIZER:
        if organizer:
            return OrganizerCommand(mail.sender, command.name, command.args, command.error)
        if person is not None:  # refused, and said so
            refusal = f"only the program's organizers can use {command.name}"
            return Command(person.address, command.name, {}, refusal)
    if person is None:
        why = "an organizer's mail that is not a command" if organizer else "not from a participant"
        return Unmatched(why)
    if command is not None:
        return Command(person.address, command.name, command.args, command.error)
    form = sent.form if sent else None
    return CheckIn(
        participant=person.address, answers=sent, text=text, original_text=mail.text,
        fields=form_fields(text, form), answer=yes_or_no(text),
    )  # fmt: skip


def _answered(
    mail: Mail, directory: Directory, person: PersonRef | None
) -> tuple[SentRef | None, str]:
    """The send this mail answers, if it names one; or why it must not be trusted."""
    local, _, domain = directory.reply_base.lower().partition("@")
    prefix = local.split("+", 1)[0] + "+"
    for address in mail.recipients:
        box, _, host = address.partition("@")
        if host != domain or not box.startswith(prefix):
            continue
        sent = directory.sent_by_token(box[len(prefix) :])
        if sent is None:
            continue
        if person is None or person.address.lower() not in {r.lower() for r in sent.recipients}:
            return None, "a reply token used by someone the message was not sent to"
        return sent, ""
    for reference in mail.references:
        sent = directory.sent_by_message_id(reference)
        ours = sent is not None and person is not None
        if ours and person.address.lower() in {r.lower() for r in sent.recipients}:  # type: ignore[union-attr]
            return sent, ""
    return None, ""
