"""Raw bytes in, exactly one event out (pure; never raises). In this order:

1. too big, too deep, too many parts, unreadable -> Malformed
2. a calendar REPLY or COUNTER -> Rsvp / StaleRsvp / Counter (before the auto-reply check:
   Google's RSVPs carry Auto-Submitted)
3. auto-replies and delivery reports -> AutoReply / Bounce (never answered: no mail loops)
4. the send it answers: the reply token in the recipients first, then In-Reply-To and
   References; a token used by someone the send was not for -> Unmatched
5. commands in the subject or the first line (organizer commands from organizers only)
6. a participant's mail -> CheckIn: their own text wherever they wrote it (quotes,
   attributions, old messages and signatures cut), form fields, yes/no/unknown and why
7. anything else -> Unmatched, with the reason
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.errors import MalformedMail
from daemon.inbound import auto, commands, imip
from daemon.inbound.authentication import UNCHECKED, authenticate
from daemon.inbound.events import (
    Bounce,
    CheckIn,
    Confirmation,
    Directory,
    Event,
    Inbound,
    Malformed,
    OrganizerCommand,
    PersonRef,
    SentRef,
    Unmatched,
)
from daemon.inbound.parse import Limits, Mail, addresses, parse
from daemon.inbound.replytext import confirmation_answer, new_text, read_reply
from daemon.ledger.records import Command

DEFAULT_LIMITS = Limits()


def classify(
    raw: bytes,
    directory: Directory,
    *,
    limits: Limits = DEFAULT_LIMITS,
    authserv_ids: Sequence[str] = (),
) -> Inbound:
    """The one boundary of the classifier: whatever a message makes any part of it raise, the
    message is Malformed (kept for a person), never an exception."""
    try:
        mail = parse(raw, limits)
    except MalformedMail as exc:
        return Inbound(Malformed(str(exc)))
    except Exception as exc:  # the stdlib parser is lenient; be safe anyway
        return Inbound(Malformed(f"cannot be parsed: {type(exc).__name__}"))
    try:
        verdict = authenticate(mail.authentication, mail.sender, authserv_ids)
        event, proved = _event(mail, directory)
    except Exception as exc:
        event, proved = Malformed(f"cannot be understood: {type(exc).__name__}"), False
        verdict = UNCHECKED
    return Inbound(event, mail.message_id, mail.sender, mail.subject, verdict, proved,
                   tuple(mail.references))  # fmt: skip


def _event(mail: Mail, directory: Directory) -> tuple[Event, bool]:
    """The event, and whether a reply token of a send to the sender proves their mailbox."""
    if imip.calendar_method(mail) in ("REPLY", "COUNTER"):
        rsvp = imip.rsvp(mail, directory)
        return rsvp, _tokened(mail, directory, getattr(rsvp, "attendee", "")) is not None
    machine = auto.automatic(mail)
    if isinstance(machine, Bounce):
        return _ours(machine, mail, directory), False
    if machine is not None:
        return machine, False
    if mail.sender is None:
        return Unmatched("no single sender address"), False
    person = directory.person(mail.sender)
    organizer = directory.is_organizer(mail.sender)
    address = person.address if person else mail.sender
    if (tokened := _tokened(mail, directory, address)) is not None:
        if isinstance(tokened, str):
            return Unmatched(tokened), False
        if tokened.kind == "confirm":  # the token went to the roster address: proof
            answer = confirmation_answer(new_text(mail.text))
            return Confirmation(address, tokened.key, answer), True
    proved = tokened is not None
    sent = tokened if proved else _referenced(mail, directory, person)
    reply = read_reply(mail.text, sent.form if sent else None)
    first = next((line.strip() for line in reply.text.splitlines() if line.strip()), "")
    command = commands.find(mail.subject, first, organizer=True)
    if command is not None and command.name in commands.ORGANIZER:
        if organizer:
            event = OrganizerCommand(mail.sender, command.name, command.args, command.error)
            return event, proved
        if person is not None:  # refused, and said so
            refusal = f"only the program's organizers can use {command.name}"
            return Command(person.address, command.name, {}, refusal), proved
    if person is None:
        why = "an organizer's mail that is not a command" if organizer else "not from a participant"
        return Unmatched(why), False
    if command is not None:
        return Command(person.address, command.name, command.args, command.error), proved
    return CheckIn(
        participant=person.address, answers=sent, text=reply.text, original_text=mail.text,
        fields=reply.fields, answer=reply.verdict.answer, why=reply.verdict.explain(),
    ), proved  # fmt: skip


REFUSED_TOKEN = "a reply token used by someone the message was not sent to"


def _ours(bounce: Bounce, mail: Mail, directory: Directory) -> Event:
    """A bounce counts only for what we sent: it names our message's reply token — in the
    copy of our headers it returns, or as the address it was sent to (VERP) — and the
    addresses it says failed are among that message's recipients. Anyone can send a report
    naming anyone; nobody else knows a token."""
    returned = mail.returned[0] if mail.returned else None
    replies = addresses(returned.get_all("Reply-To") or []) if returned is not None else []
    tokens = [t for a in (*replies, *mail.recipients) if (t := _token(a, directory))]
    sent = next((found for t in tokens if (found := directory.sent_by_token(t))), None)
    if sent is None:
        return Unmatched("a delivery report about no message of ours")
    recipients = {r.lower() for r in sent.recipients}
    failed = tuple(a for a in bounce.addresses if a.lower() in recipients)
    if not failed:
        return Unmatched("a delivery report naming someone our message was not sent to")
    return Bounce(failed, bounce.status, bounce.diagnostic)


def _token(address: str, directory: Directory) -> str:
    """The reply token in `address` (replies+TOKEN@domain), or ""."""
    local, _, domain = directory.reply_base.lower().partition("@")
    box, _, host = address.lower().partition("@")
    prefix = local.split("+", 1)[0] + "+"
    return box[len(prefix) :] if host == domain and box.startswith(prefix) else ""


def _tokened(mail: Mail, directory: Directory, address: str) -> SentRef | str | None:
    """The send whose reply token this mail was sent to, if one was sent to `address`; a
    reason to refuse it if the token is someone else's; None without a token."""
    for recipient in mail.recipients:
        token = _token(recipient, directory)
        sent = directory.sent_by_token(token) if token else None
        if sent is None:
            continue
        if address.lower() not in {r.lower() for r in sent.recipients}:
            return REFUSED_TOKEN
        return sent
    return None


def _referenced(mail: Mail, directory: Directory, person: PersonRef | None) -> SentRef | None:
    """The send to this person that In-Reply-To or References names, if any (no proof: a
    Message-ID can be guessed)."""
    if person is None:
        return None
    for reference in mail.references:
        sent = directory.sent_by_message_id(reference)
        if sent is not None and person.address.lower() in {r.lower() for r in sent.recipients}:
            return sent
    return None
