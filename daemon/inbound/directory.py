"""What the inbound classifier may look up, answered from the store and the program: the send
a reply token or Message-ID names (and the obligations and form it asked about), an invite
by UID, a person by address or alias, whether an address is an organizer's."""

from __future__ import annotations

import json

from daemon.config.load import Program
from daemon.inbound import FieldSpec, FormSpec, InviteRef, PersonRef, SentRef
from daemon.program.schedule import Obligation
from daemon.program.timeline import Action
from daemon.store.sqlite import Store


class StoreDirectory:
    """The classifier's `Directory` for one program, over its store and timeline."""

    def __init__(self, program: Program, store: Store, timeline: list[Action]) -> None:
        self.program, self.store = program, store
        sender = program.config.sender
        self.reply_base = sender.reply_to or sender.address
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
        row = self.store.db.execute(
            "SELECT uid, attendee, sequence FROM events WHERE uid = ?", (uid,)
        ).fetchone()
        return InviteRef(row[0], row[1], int(row[2])) if row else None

    def person(self, address: str) -> PersonRef | None:
        return self.people.get(address.lower())

    def is_organizer(self, address: str) -> bool:
        return address.lower() in self.organizers

    def _sent(self, column: str, value: str) -> SentRef | None:
        row = self.store.db.execute(
            f"SELECT key, kind, recipients, action_key FROM outbox WHERE {column} = ?",
            (value,),
        ).fetchone()
        if row is None:
            return None
        action = self.actions.get(row[3])
        asks = action.asks if action else ()
        obligation = self._first_obligation(asks)
        return SentRef(
            key=row[0],
            kind=row[1],
            recipients=tuple(json.loads(row[2])),
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
