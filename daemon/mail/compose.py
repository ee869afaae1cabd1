"""Compose outbox rows from what a pass decided: render the template for the recipient, build
the invitation and the email (pure: the instant is a parameter).

Everything a retry needs is fixed here, once: the bytes, the Message-ID, the Date and the reply
token. A retry sends exactly the same message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from daemon.decide.decision import Digest, Skip
from daemon.decide.sends import Send, cancel_key
from daemon.errors import TemplateProblem
from daemon.ledger.records import EventVersion, Failure, Intent, OutboxRow
from daemon.mail.common import (
    alert_context,
    answer_context,
    cancel_context,
    digest_context_for,
)
from daemon.mail.context import ContextBuilder
from daemon.mail.invites import Invite, build_calendar, content_hash
from daemon.mail.message import (
    Calendar,
    Outgoing,
    build,
    domain_of,
    message_id,
    reply_address,
    reply_token,
    to_bytes,
)
from daemon.mail.render import Rendered, Renderer
from daemon.mail.thread import reply_thread
from daemon.program.instance import Program, ResourceFile
from daemon.program.timeline import Action, Person
from daemon.program.windows import event_zone

log = logging.getLogger(__name__)

UNSENT_HORIZON = dt.timedelta(days=30)  # a send that never goes stale still ends some day


@dataclass(frozen=True)
class Body:
    """What a row's email carries."""

    rendered: Rendered
    calendar: Calendar | None = None
    attachments: tuple[ResourceFile, ...] = ()
    names: tuple[str, ...] = ()
    event_uid: str = ""
    sequence: int | None = None  # the invite's SEQUENCE (a request or a cancel)
    in_reply_to: str = ""  # an answer to a participant's mail: its Message-ID
    references: tuple[str, ...] = ()  # and the thread it continues (mail/thread.py)


class Composer:
    def __init__(self, program: Program, timeline: list[Action], secret: bytes) -> None:
        self.program = program
        self.timeline = timeline
        self.secret = secret
        self.renderer = Renderer.of(program.templates)
        self.context = ContextBuilder(program, timeline)
        self.people: dict[str, Person] = {p.email: p for p in program.participants}
        self.people |= {o.email: o for o in program.organizers}
        self.participants = {p.email for p in program.participants}
        self.sender = program.sender
        self.domain = domain_of(program.sender.address)
        self.reply_base = program.sender.reply_base
        self.events = {e.id: e for e in program.schedule.events}
        self.resources = {r.id: r for r in program.schedule.resources}
        self.messages = {m.id: m for m in program.schedule.messages}

    # --- invites -------------------------------------------------------------------------------

    def invite(
        self, action: Action, sequence: int, now: dt.datetime, method: str = "REQUEST"
    ) -> Invite:
        event = self.events[action.item]
        person = self.people[action.recipients[0]]
        assert action.starts_at is not None and action.ends_at is not None
        return Invite(
            uid=action.uid,
            sequence=sequence,
            method="CANCEL" if method == "CANCEL" else "REQUEST",
            summary=event.title,
            description=event.description,
            location=event.location,
            url=event.url,
            starts_at=action.starts_at,
            ends_at=action.ends_at,
            tzid=event_zone(event, self.program.tz).key,
            organizer_email=self.sender.address,
            organizer_name=self.sender.name,
            attendee_email=person.email,
            attendee_name=person.name,
            dtstamp=now,
        )

    # --- rows ----------------------------------------------------------------------------------

    def row(self, send: Send, now: dt.datetime) -> tuple[OutboxRow, EventVersion | None]:
        action = send.action
        versions: list[EventVersion] = []

        def make() -> Body:
            context = self.context.build(action, self.people[action.recipients[0]])
            calendar = None
            if action.kind == "invite":
                sequence = send.sequence or 0
                invite = self.invite(action, sequence, now)
                context["invite"] = {"method": "REQUEST", "sequence": sequence,
                                     "changed": sequence > 0}  # fmt: skip
                calendar = Calendar("REQUEST", build_calendar(invite))
                version = EventVersion(
                    uid=action.uid, invite_key=action.key, attendee=invite.attendee_email,
                    sequence=sequence, content_hash=content_hash(invite), status="active",
                    invite=invite.to_json(),
                )  # fmt: skip
                versions.append(version)
            subject = action.subject
            if action.kind == "invite" and send.sequence:
                subject = "Updated: " + subject
            rendered = self.renderer.render(action.template, subject, context)
            uid, seq = (action.uid, send.sequence or 0) if calendar else ("", None)
            return Body(rendered, calendar, self._attachments(action), event_uid=uid, sequence=seq)

        row = self._made(send.key, action, now, make)
        return row, versions[0] if versions and row.state == "pending" else None

    def cancel(self, version: EventVersion, now: dt.datetime) -> tuple[OutboxRow, EventVersion]:
        invite = dataclasses.replace(
            Invite.from_json(version.invite), method="CANCEL", sequence=version.sequence + 1,
            dtstamp=now,
        )  # fmt: skip
        key = cancel_key(version)
        action = Action(
            at=now, key=key, kind="cancel", recipients=(invite.attendee_email,),
            title=f"Cancelled: {invite.summary}", item="", stale_at=invite.ends_at,
        )  # fmt: skip

        def make() -> Body:
            context = cancel_context(
                self.program, invite.attendee_name, invite.summary,
                still_in_program=invite.attendee_email in self.people,
            )  # fmt: skip
            subject = "Cancelled: {{ event.title }}"
            return Body(
                self.renderer.render("invite-cancel", subject, context),
                Calendar("CANCEL", build_calendar(invite)), names=(invite.attendee_name,),
                event_uid=invite.uid, sequence=invite.sequence,
            )  # fmt: skip

        cancelled = dataclasses.replace(
            version, sequence=invite.sequence, status="cancelled", invite=invite.to_json()
        )  # recorded even if it cannot be sent: the organizers hear of that instead
        return self._made(key, action, now, make), cancelled

    def alert(self, failed: Failure, now: dt.datetime) -> OutboxRow:
        """Tell the organizers about a send that failed or whose outcome is unknown."""
        key = f"{self.program.id}/alert/{failed.state}/{failed.key}"
        failure = {
            "title": failed.title,
            "recipients": list(failed.recipients),
            "state": failed.state,
            "error": failed.error,
            "message_id": failed.message_id,
            "attempts": failed.attempts,
        }
        action = Action(
            at=now, key=key, kind="email", title=f"Alert: {failed.title}", item="alert",
            recipients=tuple(o.email for o in self.program.organizers),
        )  # fmt: skip

        def make() -> Body:
            subject = "Delivery {{ failed.state }}: {{ failed.title }}"
            context = alert_context(self.program, failure)
            return Body(self.renderer.render("alert", subject, context))

        # an alert that cannot be made is recorded failed too; alerts about alerts never go
        return dataclasses.replace(self._made(key, action, now, make), kind="alert")

    def reply(self, intent: Intent, now: dt.datetime) -> OutboxRow:
        """An answer to a participant's or organizer's mail (`answer.md.j2`): what was recorded,
        the command's result, or why it could not be understood; or a note to all the
        organizers about something that arrived (a withdrawal, a bounce, a counter-proposal)."""
        to = intent.to
        recipients = (to,) if to else tuple(o.email for o in self.program.organizers)
        action = Action(
            at=now, key=intent.key, kind="email", recipients=recipients,
            title=str(intent.answer["subject"]), item=intent.kind,
        )  # fmt: skip

        def make() -> Body:
            person = self.people.get(to) if to else None
            thread = reply_thread(intent.answer, intent.in_reply_to)  # "Re: <their subject>"
            answer, subject = intent.answer, "{{ answer.subject }}"
            if thread.subject:
                answer, subject = (
                    {**answer, "reply_subject": thread.subject},
                    "{{ answer.reply_subject }}",
                )
            context = answer_context(self.program, person, to, answer)
            rendered = self.renderer.render("answer", subject, context)
            return Body(rendered, in_reply_to=thread.in_reply_to, references=thread.references)

        # a participant's message passed on: answering it reaches them (their roster address)
        writer = str(intent.answer.get("reply_to", "")) if intent.kind == "relay" else ""
        reply_to = writer if writer in self.participants else ""
        row = self._made(intent.key, action, now, make, reply_to=reply_to)
        return dataclasses.replace(row, kind=intent.kind)

    def digest(self, digest: Digest, now: dt.datetime) -> OutboxRow:
        """The organizers' weekly digest (`digest.md.j2`), composed when it is due."""
        action = digest.action

        def make() -> Body:
            context = digest_context_for(self.program, digest.content)
            return Body(self.renderer.render("digest", action.subject, context))

        return dataclasses.replace(self._made(action.key, action, now, make), kind="digest")

    def skipped(self, skip: Skip, now: dt.datetime) -> OutboxRow:
        """A due send that is no longer useful (catch-up policy) or must not go: recorded,
        never sent."""
        row = self._row(skip.action.key, skip.action, now, None)
        return dataclasses.replace(row, state=skip.state, last_error=skip.reason)

    # --- helpers -------------------------------------------------------------------------------

    def _made(
        self, key: str, action: Action, now: dt.datetime, make: Callable[[], Body],
        reply_to: str = "",
    ) -> OutboxRow:  # fmt: skip
        """The row of the message `make` makes. One that cannot be made — a template that
        fails on these values, or a fault of ours — is recorded failed, never sent, and the
        organizers are told (an alert); every other message of the pass still goes, where an
        exception would have failed every pass from then on."""
        try:
            body = make()
        except Exception as exc:
            bug = not isinstance(exc, TemplateProblem)  # a fault of ours: its traceback
            why = f"{type(exc).__name__}: {exc}" if bug else str(exc)
            log.error("%s cannot be composed: %s", key, why, exc_info=bug)
            row = self._row(key, action, now, None)
            return dataclasses.replace(row, state="failed", last_error=f"cannot be composed: {why}")
        return self._row(key, action, now, body, reply_to)

    def _row(
        self, key: str, action: Action, now: dt.datetime, body: Body | None, reply_to: str = ""
    ) -> OutboxRow:
        token = reply_token(self.secret, key)
        message = b""
        if body is not None:
            to = tuple(
                (body.names[i] if i < len(body.names) else self._name(a), a)
                for i, a in enumerate(action.recipients)
            )
            out = Outgoing(
                key=key, sender_name=self.sender.name, sender_address=self.sender.address, to=to,
                reply_to=reply_to or reply_address(self.reply_base, token), date=now,
                rendered=body.rendered,
                calendar=body.calendar, attachments=body.attachments,
                in_reply_to=body.in_reply_to, references=body.references,
                auto="auto-replied" if body.in_reply_to else "auto-generated",
            )  # fmt: skip
            message = to_bytes(build(out))
        return OutboxRow(
            key=key, action_key=action.key, kind=action.kind, title=action.title,
            recipients=action.recipients, message_id=message_id(key, self.domain), token=token,
            planned_at=action.at, deadline_at=action.stale_at or now + UNSENT_HORIZON,
            message=message,
            event_uid=body.event_uid if body and body.event_uid else None,
            sequence=body.sequence if body else None,
        )  # fmt: skip

    def _name(self, address: str) -> str:
        person = self.people.get(address)
        return person.name if person else ""

    def _attachments(self, action: Action) -> tuple[ResourceFile, ...]:
        message = self.messages.get(action.item) if action.kind == "email" else None
        if message is None:
            return ()
        files = (self.program.files.get(rid) for rid in message.resources)
        return tuple(f for f in files if f is not None)
