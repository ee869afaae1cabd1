"""What the inbound classifier may look up, answered from the ledger and the program: the send
a reply token or Message-ID names (and the obligations and form it asked about), an invite
by UID, a person by address or alias, whether an address is an organizer's. The ledger is
read through `Ledger`, the few look-ups understanding mail needs (the store implements it)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from daemon.inbound.events import FieldSpec, FormSpec, InviteRef, PersonRef, SentRef
from daemon.ledger.records import Bouncing, Checkin, Command, EventVersion, PendingCommand
from daemon.program.instance import Program
from daemon.program.schedule import Obligation
from daemon.program.timeline import Action


class Ledger(Protocol):
    def sent(self, column: str, value: str) -> tuple[str, str, tuple[str, ...], str] | None: ...

    def invite_version(self, uid: str) -> EventVersion | None: ...

    def checkins(self) -> list[tuple[dt.datetime, Checkin]]: ...

    def commands(self) -> list[tuple[dt.datetime, Command]]: ...

    def bouncing(self) -> dict[str, Bouncing]: ...

    def confirmation(self, key: str) -> PendingCommand | None: ...

    def asked_since(self, owner: str, since: dt.datetime) -> int: ...


class ProgramDirectory:
    """The classifier's `Directory` for one program, over its ledger and timeline."""

    def __init__(self, program: Program, ledger: Ledger, timeline: list[Action]) -> None:
        self.program, self.ledger = program, ledger
        self.reply_base = program.sender.reply_base
        self.actions = {a.key: a for a in timeline}
        self.obligations: dict[str, Obligation] = {o.id: o for o in program.schedule.obligations}
        self.forms = {f.id: f for f in program.schedule.forms}
        self.people: dict[str, PersonRef] = {}
        for p in program.participants:
            ref = PersonRef(p.email, p.name, p.role)
            for address in (p.email, *p.aliases):
                self.people[address.lower()] = ref
        self.organizers = {o.email.lower() for o in program.organizers}

    def sent_by_token(self, token: str) -> SentRef | None:
        return self._sent("token", token)

    def sent_by_message_id(self, message_id: str) -> SentRef | None:
        return self._sent("message_id", message_id)

    def invite(self, uid: str) -> InviteRef | None:
        version = self.ledger.invite_version(uid)
        return InviteRef(version.uid, version.attendee, version.sequence) if version else None

    def person(self, address: str) -> PersonRef | None:
        return self.people.get(address.lower())

    def is_organizer(self, address: str) -> bool:
        return address.lower() in self.organizers

    def _sent(self, column: str, value: str) -> SentRef | None:
        row = self.ledger.sent(column, value)
        if row is None:
            return None
        action = self.actions.get(row[3])
        asks = action.asks if action else ()
        obligation = self._first_obligation(asks)
        return SentRef(
            key=row[0],
            kind=row[1],
            recipients=row[2],
            obligations=asks,
            form=self._form(obligation),
            question=obligation.question if obligation else "",
        )

    def _first_obligation(self, asks: tuple[str, ...]) -> Obligation | None:
        for key in asks:
            instance = self.actions.get(key)
            if instance is not None and instance.item in self.obligations:
                return self.obligations[instance.item]
        return None

    def _form(self, obligation: Obligation | None) -> FormSpec | None:
        form = self.forms.get(obligation.form) if obligation and obligation.form else None
        if form is None:
            return None
        fields = tuple(FieldSpec(f.id, f.label, f.kind, f.private, f.required) for f in form.fields)
        return FormSpec(form.id, fields)
