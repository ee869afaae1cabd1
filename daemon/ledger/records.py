"""What the ledger holds, as plain immutable values every layer shares: outbox rows and send
outcomes, invite versions, what arrived in the mailbox and what it meant (check-ins, RSVPs,
commands, bouncing addresses), and the answers still to compose. The store reads and writes
them; nothing here does I/O."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["pending", "sending", "sent", "unknown", "failed", "skipped"]


def ts(instant: dt.datetime) -> str:
    """A sortable UTC timestamp for the database."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_ts(text: str) -> dt.datetime:
    """The instant `ts` wrote (fromisoformat: ~10x faster than strptime, and exact)."""
    return dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class OutboxRow:
    key: str
    action_key: str
    kind: str
    title: str
    recipients: tuple[str, ...]
    message_id: str
    token: str
    planned_at: dt.datetime
    deadline_at: dt.datetime
    message: bytes
    state: State = "pending"
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    last_error: str = ""
    event_uid: str | None = None
    sequence: int | None = None


@dataclass(frozen=True)
class Pending:
    """A queued send, as a pass decides about it (without its message)."""

    key: str
    action_key: str
    kind: str
    title: str
    recipients: tuple[str, ...]
    message_id: str
    deadline_at: dt.datetime
    attempts: int
    last_error: str


@dataclass(frozen=True)
class Finish:
    """The outcome to record for a claimed send."""

    key: str
    state: State
    error: str = ""
    retry_at: dt.datetime | None = None
    at: dt.datetime | None = None  # when it happened (default: when it is written)


@dataclass(frozen=True)
class Batch:
    """What a pass writes to the outbox in one transaction: new rows and the invite versions
    they send, queued rows that must not go any more, rows finished without a send (expired),
    and failures the organizers have now been told of."""

    rows: tuple[OutboxRow, ...] = ()
    versions: tuple[EventVersion, ...] = ()
    revoked: tuple[tuple[str, str], ...] = ()
    finished: tuple[Finish, ...] = ()
    reported: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hold:
    """No message may go out before `until` (why: `reason`)."""

    until: dt.datetime
    reason: str


@dataclass(frozen=True)
class EventVersion:
    uid: str
    invite_key: str
    attendee: str
    sequence: int
    content_hash: str
    status: Literal["active", "cancelled"]
    invite: str  # the last invite sent, as JSON (a CANCEL is built from it)


COLUMNS = (
    "key, action_key, kind, title, recipients, message_id, token, planned_at, deadline_at, message,"
    " state, attempts, next_attempt_at, last_error, event_uid, sequence"
)


def row_of(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(
        key=r[0],
        action_key=r[1],
        kind=r[2],
        title=r[3],
        recipients=tuple(json.loads(r[4])),
        message_id=r[5],
        token=r[6],
        planned_at=from_ts(r[7]),
        deadline_at=from_ts(r[8]),
        message=bytes(r[9]),
        state=r[10],
        attempts=r[11],
        next_attempt_at=from_ts(r[12]),
        last_error=r[13],
        event_uid=r[14],
        sequence=r[15],
    )


# --- the inbox: what arrived and what it meant ------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One message as fetched: where it was and how to know it again."""

    mailbox: str
    uidvalidity: int
    uid: int
    message_id: str | None
    digest: str
    sender: str = ""  # its one From address, lower case ("" when not one)


@dataclass(frozen=True)
class Checkin:
    participant: str
    answers: str  # the send key it answers, "" for a plain reply
    obligations: tuple[str, ...]  # the obligation keys it counts for
    answer: str | None  # "yes" | "no" | None
    fields: dict[str, str]
    text: str  # confidential: the stripped reply


Partstat = Literal["ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION"]


@dataclass(frozen=True)
class Rsvp:
    """An attendee's answer to an invitation (iMIP REPLY), as RFC 5545 spells PARTSTAT."""

    uid: str
    attendee: str
    partstat: Partstat
    sequence: int


@dataclass(frozen=True)
class Command:
    """An email command: what the classifier read (with `error` if its arguments could not
    be read) and, once it took effect, what is recorded (never with an error)."""

    participant: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class Bouncing:
    """An address mail bounced from, with the last delivery status and diagnostic."""

    address: str
    status: str
    diagnostic: str


@dataclass(frozen=True)
class PendingCommand:
    """A command that changes something, from a sender our receiving server did not vouch
    for: it waits for its owner to answer the request to confirm it (`key`, the request's
    send key), sent to their own address."""

    key: str
    participant: str  # the roster (or organizer) address it is for
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    asked_at: dt.datetime | None = None
    outcome: str = ""  # "" while it waits; "confirmed", "declined" or "expired"


@dataclass(frozen=True)
class Intent:
    """An answer or a note to compose and send because of a message that arrived, recorded
    with that message (so it is sent exactly once, even across a crash). `to` is one address,
    or "" for all the organizers; `answer` is what the `answer` template says. A `relay` is
    a participant's message passed on to the organizers (Reply-To: the participant)."""

    key: str
    to: str
    in_reply_to: str
    answer: dict[str, Any]
    kind: Literal["answer", "notice", "confirm", "relay"] = "answer"


@dataclass(frozen=True)
class Failure:
    """A send the organizers must hear of: it failed, or whether it went is unknown."""

    key: str
    kind: str
    title: str
    recipients: tuple[str, ...]
    state: State
    error: str
    message_id: str
    attempts: int


@dataclass(frozen=True)
class Recorded:
    """What one message meant, to be recorded together."""

    kind: str  # checkin | rsvp | command | auto-reply | bounce | unmatched | malformed | ...
    folder: str  # where the message goes once recorded
    sender: str = ""
    participant: str = ""
    summary: str = ""  # for organizers and logs: never confidential text
    checkin: Checkin | None = None
    rsvp: Rsvp | None = None
    command: Command | None = None
    bounces: tuple[Bouncing, ...] = ()
    replies: tuple[Intent, ...] = ()  # answers and notes to send
    pending: PendingCommand | None = None  # a command now waiting for its confirmation
    resolved: tuple[str, str] = ("", "")  # (request key, outcome) of a confirmation answered
