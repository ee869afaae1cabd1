"""What a message means for the program and how it is answered: the classifier's event becomes a
`Recorded` — the records to write, the folder the mail goes to, and the answers to send (as
intents: the pass composes and queues them with everything else it sends).

- A check-in counts for the obligations the answered mail asked about, of which the sender is
  one of the people responsible; a plain reply to other mail counts for the sender's open
  obligations that have no form. A "no" is recorded but counts for nothing; an obligation that
  requires a yes counts only for a "yes" — a reply that says neither is asked for one. The
  answer lists what was recorded, so a person can correct it; private form fields are named,
  never echoed to organizers.
- RSVPs are recorded without an answer (the calendar already shows it). Auto-replies and
  bounces never get one (no mail loops); a new bounce and a counter-proposal go to the
  organizers. Commands get their result; mail from a participant that means nothing gets a
  short note; mail from strangers gets nothing (no backscatter).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from daemon.inbound import classify, trust
from daemon.inbound import events as ev
from daemon.inbound.classify import REFUSED_TOKEN
from daemon.inbound.command_meaning import CommandMeaning
from daemon.inbound.directory import Ledger, ProgramDirectory
from daemon.inbound.relay import relayed
from daemon.ledger.records import Bouncing, Checkin, Command, Intent, Recorded, Rsvp, Seen
from daemon.program.instance import Program
from daemon.program.timeline import Action


class Understanding(CommandMeaning):
    """`understanding(raw, seen)`: one message, classified and interpreted as of `now`."""

    def __init__(
        self,
        program: Program,
        ledger: Ledger,
        timeline: list[Action],
        now: dt.datetime,
        *,
        processed: str,
        unmatched: str,
        authserv_ids: tuple[str, ...] = (),
    ) -> None:
        self.program, self.ledger, self.now = program, ledger, now
        self.authserv_ids = authserv_ids
        self.timeline = timeline
        self.directory = ProgramDirectory(program, ledger, timeline)
        self.processed, self.unmatched = processed, unmatched
        self.bounced: set[str] = set()  # addresses whose bounce the organizers were told of
        self._asked: dict[str, int] = {}

    def __call__(self, raw: bytes, seen: Seen) -> Recorded:
        inbound = classify(raw, self.directory, authserv_ids=self.authserv_ids)
        self._seen, self._message_id = seen, inbound.message_id or ""
        self._seen_digest = seen.digest
        self._subject = inbound.subject
        self._verified = inbound.proved or inbound.verdict.authenticated
        # an answer stays in their thread (mail/thread.py makes it "Re: <their subject>")
        self._thread = {"subject": inbound.subject, "references": list(inbound.references)}
        sender = inbound.sender or ""
        event = inbound.event
        if trust.refused(event, inbound.verdict, inbound.proved):  # never recorded, never answered
            return Recorded("refused", self.unmatched, sender, "", inbound.verdict.reason)
        if isinstance(event, ev.Confirmation):
            return self._confirmation(sender, event)
        if trust.needs_confirmation(event, inbound.verdict):
            assert isinstance(event, Command | ev.OrganizerCommand)
            return self._ask(sender, event)
        if isinstance(event, Rsvp):
            summary = event.partstat.lower()
            return self._done("rsvp", sender, event.attendee, summary, rsvp=event)
        if isinstance(event, ev.StaleRsvp):
            return self._done("stale-rsvp", sender, "", "an RSVP to an older version")
        if isinstance(event, ev.Counter):
            notice = self._notice(
                f"{sender} proposed another time for an event",
                [f"Event UID: {event.uid}", "Reply to them directly to agree on a time."],
            )
            return self._done("counter", sender, event.attendee, "counter-proposal", notice)
        if isinstance(event, ev.AutoReply):
            return self._done("auto-reply", sender, "", event.kind)
        if isinstance(event, ev.Bounce):
            return self._bounce(sender, event)
        if isinstance(event, ev.CheckIn):
            return self._checkin(sender, event)
        if isinstance(event, Command):
            return self._command(sender, event)
        if isinstance(event, ev.OrganizerCommand):
            return self._organizer(sender, event)
        reason = getattr(event, "reason", "")
        kind = "malformed" if isinstance(event, ev.Malformed) else "unmatched"
        person = self.directory.person(sender) if sender else None
        if person is None or reason == REFUSED_TOKEN:  # a stranger, or someone else's token:
            return Recorded(kind, self.unmatched, sender, "", reason)  # no answer
        note = "The organizers see it in their weekly summary."
        reply = self._answer(person.address, {"kind": "noted", "subject": "Received", "note": note})
        return Recorded(kind, self.unmatched, sender, person.address, reason, replies=(reply,))

    # --- kinds ---------------------------------------------------------------------------------

    def _checkin(self, sender: str, event: ev.CheckIn) -> Recorded:
        who = event.participant
        empty = not event.text.strip() and not event.fields  # only the quoted message
        keys = [] if empty else self._counts_for(who, event.answers, event.answer)
        titles = [self._title(k) for k in keys]
        form = event.answers.form if event.answers else None
        labels = {f.id: f for f in form.fields} if form else {}
        fields = [labels[name].label for name in event.fields if name in labels]
        private = [
            labels[name].label for name in event.fields if name in labels and labels[name].private
        ]
        checkin = Checkin(
            participant=who, answers=event.answers.key if event.answers else "",
            obligations=tuple(keys), answer=event.answer, fields=dict(event.fields),
            text=event.text,
        )  # fmt: skip
        answer: dict[str, Any]
        if empty:
            problem = "your reply had no text of its own; reply again and say yes or no"
            answer = {"kind": "not-understood", "subject": "Nothing recorded", "problem": problem}
        elif event.answer == "no" and event.answers and event.answers.obligations:
            asked = [self._title(k) for k in event.answers.obligations]
            answer = {"kind": "negative", "subject": f"Noted: {asked[0]}", "recorded": asked,
                      "answer": "no"}  # fmt: skip
        elif titles:
            answer = {"kind": "recorded", "subject": f"Recorded: {', '.join(titles)}",
                      "recorded": titles, "fields": fields, "private": private}  # fmt: skip
        elif waiting := self._awaiting_yes(who, event):
            title = self._title(waiting[0])
            note = (
                f'We could not tell from your reply whether "{title}" has happened: reply '
                'to this email with "yes" or "no".'
            )
            answer = {"kind": "noted", "subject": f"Yes or no? {title}", "note": note}
            if "?" in event.text:  # it asks something too: a person answers that
                relay, _ = self._relay(who, event)
                answer["note"] = note + " Your question was passed on to the organizers."
                return Recorded("relayed", self.processed, sender, who,
                                "passed on to the organizers; asked yes or no",
                                replies=(self._answer(who, answer), relay))  # fmt: skip
        else:  # not an answer to anything open: it is for a person, so a person gets it
            relay, answer = self._relay(who, event)
            return Recorded("relayed", self.processed, sender, who, "passed on to the organizers",
                            replies=(self._answer(who, answer), relay))  # fmt: skip
        summary = f"counts for {len(keys)}" + (f", answer {event.answer}" if event.answer else "")
        summary += f" ({event.why})" if event.why else ""  # words of yesno's tables only
        reply = self._answer(who, answer)
        return Recorded("checkin", self.processed, sender, who, summary, checkin=checkin,
                        replies=(reply,))  # fmt: skip

    def _bounce(self, sender: str, event: ev.Bounce) -> Recorded:
        known = set(self.ledger.bouncing()) | self.bounced
        bounces = tuple(
            Bouncing(a.lower(), event.status, event.diagnostic) for a in event.addresses
        )
        new = [b.address for b in bounces if b.address not in known]
        self.bounced.update(new)
        replies: tuple[Intent, ...] = ()
        if new:
            lines = [f"Mail to {', '.join(new)} bounced: {event.status} {event.diagnostic}",
                     "Check the address in the roster."]  # fmt: skip
            replies = (self._notice(f"Mail to {new[0]} bounced", lines),)
        return Recorded("bounce", self.processed, sender, "", f"{len(bounces)} addresses",
                        bounces=bounces, replies=replies)  # fmt: skip

    # --- helpers -------------------------------------------------------------------------------

    def _counts_for(self, who: str, sent: ev.SentRef | None, answer: str | None) -> list[str]:
        if answer == "no":
            return []
        if sent is not None and sent.obligations:
            keys = [k for k in sent.obligations if who in self._who(k)]
        else:
            keys = [a.key for a in self.timeline if self._open_plain(a, who)]
        obligations = self.directory.obligations
        return [
            k for k in keys
            if not obligations[self.directory.actions[k].item].require_yes or answer == "yes"
        ]  # fmt: skip

    def _awaiting_yes(self, who: str, event: ev.CheckIn) -> list[str]:
        """The obligations the answered mail asked `who` about that count only for a "yes",
        when the reply said neither yes nor no: they are still open, so ask, do not guess."""
        sent = event.answers
        if event.answer is not None or sent is None:
            return []
        obligations, actions = self.directory.obligations, self.directory.actions
        needed = {o.id for o in obligations.values() if o.require_yes}
        waiting = [
            k for k in sent.obligations
            if who in self._who(k) and k in actions and actions[k].item in needed
        ]  # fmt: skip
        if not waiting:
            return []
        # not what is done already: their own answer counted, or the group's one report did
        done = {
            k for _, c in self.ledger.checkins() for k in c.obligations
            if k in waiting
            and (c.participant == who or obligations[actions[k].item].satisfied_by == "any")
        }  # fmt: skip
        return [k for k in waiting if k not in done]

    def _open_plain(self, action: Action, who: str) -> bool:
        if action.kind != "obligation" or who not in action.who or action.at > self.now:
            return False
        obligation = self.directory.obligations.get(action.item)
        if obligation is None or obligation.form:
            return False
        grace = dt.timedelta(days=obligation.grace_days)
        return action.due_at is None or self.now <= action.due_at + grace

    def _who(self, key: str) -> tuple[str, ...]:
        action = self.directory.actions.get(key)
        return action.who if action else ()

    def _title(self, key: str) -> str:
        action = self.directory.actions.get(key)
        if action is None:
            return key
        obligation = self.directory.obligations.get(action.item)
        repeats = obligation is not None and obligation.repeat is not None
        return f"{action.title} {action.occurrence + 1}" if repeats else action.title

    def _done(self, kind: str, sender: str, who: str, summary: str, *replies: Intent,
              rsvp: Rsvp | None = None) -> Recorded:  # fmt: skip
        return Recorded(kind, self.processed, sender, who, summary, rsvp=rsvp, replies=replies)

    def _answer(self, to: str, answer: dict[str, Any], *, thread: bool = True) -> Intent:
        """An answer to this message; `thread=False` for mail to someone else about it, which
        must not point at a message they never had."""
        key = f"{self.program.id}/answer/{self._seen.digest[:32]}/{to}"
        if not thread:
            return Intent(key, to, "", answer)
        return Intent(key, to, self._message_id, {**answer, "thread": self._thread})

    def _relay(self, who: str, event: ev.CheckIn) -> tuple[Intent, dict[str, Any]]:
        """This message passed on to the organizers, and what to tell its writer."""
        key = f"{self.program.id}/relay/{self._seen.digest[:32]}/{who}"
        return relayed(
            self.program, self.directory.person(who), event.text, self._subject,
            verified=self._verified, key=key,
        )  # fmt: skip

    def _notice(self, subject: str, lines: list[str]) -> Intent:
        """A note to the organizers about this message (one row, all organizers)."""
        tag = hashlib.sha256(subject.encode()).hexdigest()[:8]
        key = f"{self.program.id}/notice/{self._seen.digest[:32]}/{tag}"
        answer = {"kind": "notice", "subject": subject, "lines": lines}
        return Intent(key, "", "", answer, "notice")
