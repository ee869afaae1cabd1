"""What the inbound classifier answers: exactly one event per message, plus the lookups it may
make (the `Directory`, implemented over the ledger by the caller). An RSVP and a command are
the ledger's own types: what is read is what is recorded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Protocol

from daemon.inbound.authentication import UNCHECKED, Verdict
from daemon.ledger.records import Command, Rsvp


@dataclass(frozen=True)
class FieldSpec:
    id: str
    label: str
    kind: str = "text"  # text | yesno | date | number
    private: bool = True
    required: bool = False


@dataclass(frozen=True)
class FormSpec:
    id: str
    fields: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class SentRef:
    """A message mentormail sent, as a reply names it."""

    key: str
    kind: str
    recipients: tuple[str, ...]
    obligations: tuple[str, ...] = ()  # the obligation keys it asked about
    form: FormSpec | None = None
    question: str = ""


@dataclass(frozen=True)
class InviteRef:
    uid: str
    attendee: str
    sequence: int


@dataclass(frozen=True)
class PersonRef:
    address: str  # the roster address (an alias resolves to it)
    name: str
    role: str


class Directory(Protocol):
    reply_base: str  # "replies@example.org": reply tokens arrive as replies+TOKEN@example.org

    def sent_by_token(self, token: str) -> SentRef | None: ...

    def sent_by_message_id(self, message_id: str) -> SentRef | None: ...

    def invite(self, uid: str) -> InviteRef | None: ...

    def person(self, address: str) -> PersonRef | None: ...

    def is_organizer(self, address: str) -> bool: ...


@dataclass(frozen=True)
class StaleRsvp:
    uid: str
    attendee: str
    sequence: int  # older than the version last sent


@dataclass(frozen=True)
class Counter:
    uid: str
    attendee: str
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


@dataclass(frozen=True)
class AutoReply:
    kind: str  # what gave it away, e.g. "Auto-Submitted: auto-replied"


@dataclass(frozen=True)
class Bounce:
    addresses: tuple[str, ...]
    status: str
    diagnostic: str


@dataclass(frozen=True)
class CheckIn:
    participant: str
    answers: SentRef | None  # the send it answers, if known
    text: str  # the new text: quotes and signature stripped
    original_text: str
    fields: dict[str, str] = field(default_factory=dict)  # form field id -> answer
    answer: Literal["yes", "no"] | None = None  # None: unknown, never guessed
    why: str = ""  # the words that made the answer ("no: 'not … meet'"); yesno.Verdict


@dataclass(frozen=True)
class OrganizerCommand:
    organizer: str
    name: str  # EXCUSE | EXTEND
    args: dict[str, object] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class Confirmation:
    """A reply to a request to confirm a command (its token proves the mailbox): `answer`
    "no" declines it, anything else confirms it."""

    sender: str  # the roster or organizer address the request went to
    request: str  # the key of the request answered
    answer: Literal["yes", "no"] | None = None


@dataclass(frozen=True)
class Unmatched:
    reason: str


@dataclass(frozen=True)
class Malformed:
    reason: str


Event = (
    Rsvp
    | StaleRsvp
    | Counter
    | AutoReply
    | Bounce
    | CheckIn
    | Command
    | OrganizerCommand
    | Confirmation
    | Unmatched
    | Malformed
)


@dataclass(frozen=True)
class Inbound:
    """One message understood: who sent it, and the one event it is."""

    event: Event
    message_id: str | None = None
    sender: str | None = None
    subject: str = ""
    verdict: Verdict = UNCHECKED  # what our receiving server says of the sender
    proved: bool = False  # sent to the reply token of one of our sends to the sender
    references: tuple[str, ...] = ()  # In-Reply-To, then References nearest first
