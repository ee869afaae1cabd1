"""What a command means (pure): its effect to record, its answer, who else is told — and,
from a sender not authenticated, the request to confirm it, then its confirmation
(inbound/trust.py). Part of `Understanding` (meaning.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from daemon.inbound import events as ev
from daemon.inbound import trust
from daemon.inbound.directory import Ledger, ProgramDirectory
from daemon.ledger.records import Command, Intent, Recorded
from daemon.program.instance import Program
from daemon.program.refs import parse_window_ref
from daemon.program.time_text import deadline
from daemon.program.timeline import Action
from daemon.program.timespec import local_time, to_utc
from daemon.views.participant import status_answer

PARTICIPANT_COMMANDS = {"HELP", "STATUS", "PAUSE", "RESUME", "WITHDRAW", "MEETING"}


class CommandMeaning:
    """The commands' part of Understanding (which provides these attributes and helpers)."""

    program: Program
    ledger: Ledger
    timeline: list[Action]
    now: dt.datetime
    directory: ProgramDirectory
    processed: str
    unmatched: str
    _asked: dict[str, int]  # requests to confirm asked in this pass, by owner
    _message_id: str
    _seen_digest: str

    def _answer(self, to: str, answer: dict[str, Any], *, thread: bool = True) -> Intent:
        raise NotImplementedError

    def _notice(self, subject: str, lines: list[str]) -> Intent:
        raise NotImplementedError

    def _title(self, key: str) -> str:
        raise NotImplementedError

    def _done(self, kind: str, sender: str, who: str, summary: str, *replies: Intent) -> Recorded:
        raise NotImplementedError

    def _ask(self, sender: str, event: Command | ev.OrganizerCommand) -> Recorded:
        """A command from a sender not authenticated: ask its owner, at their address — at
        most MAX_ASKED_A_DAY times a day (counting this pass's requests, not yet stored)."""
        owner = event.participant if isinstance(event, Command) else event.organizer
        since = self.now - dt.timedelta(days=1)
        asked = self.ledger.asked_since(owner, since) + self._asked.get(owner, 0)
        if asked >= trust.MAX_ASKED_A_DAY:
            why = f"{event.name}: not vouched for; {owner} was asked to confirm {asked} today"
            return Recorded("refused", self.unmatched, sender, "", why)
        self._asked[owner] = self._asked.get(owner, 0) + 1
        key = f"{self.program.id}/confirm/{self._seen_digest[:32]}"
        pending, answer = trust.request(key, owner, event, jsonable(event.args), self.now)
        request = Intent(key, owner, self._message_id, answer, "confirm")
        who = owner if isinstance(event, Command) else ""
        return Recorded("command-to-confirm", self.processed, sender, who,
                        f"{event.name}: confirmation asked of {owner}", pending=pending,
                        replies=(request,))  # fmt: skip

    def _confirmation(self, sender: str, event: ev.Confirmation) -> Recorded:
        """A reply to a request to confirm: the command takes effect, or nothing changes."""
        pending = self.ledger.confirmation(event.request)
        result = trust.outcome(pending, event.answer, self.now)
        if pending is not None and result == "confirmed":
            args = dict(pending.args)
            if pending.name in PARTICIPANT_COMMANDS:
                done = self._command(sender, Command(pending.participant, pending.name, args))
            else:
                done = self._organizer(
                    sender, ev.OrganizerCommand(pending.participant, pending.name, args)
                )
            summary = f"{pending.name} confirmed"
            return dataclasses.replace(done, summary=summary, resolved=(pending.key, result))
        answers = {
            "declined": ("Nothing changed", "You answered no, so nothing changed."),
            "expired": ("Nothing changed: too late", "That request has expired; send the "
                        "command again if you still want it."),
            "unclear": ("Nothing changed yet", 'We could not tell whether you meant yes, so '
                        'nothing changed. If it was you, reply "yes" to that request; if it '
                        'was not, there is nothing to do.'),
        }  # fmt: skip
        subject, note = answers.get(result, ("Nothing changed", f"That request is {result}."))
        reply = self._answer(event.sender, {"kind": "noted", "subject": subject, "note": note})
        settled = result in answers and result != "unclear"  # an unclear answer leaves it open
        resolved = (event.request, result) if settled else ("", "")
        return Recorded("confirmation", self.processed, sender, "", result, replies=(reply,),
                        resolved=resolved)  # fmt: skip

    def _command(self, sender: str, event: Command) -> Recorded:
        who, name = event.participant, event.name
        if event.error or name not in PARTICIPANT_COMMANDS:
            problem = event.error or f"{name} is not a command"
            reply = self._answer(who, {"kind": "not-understood", "subject": "Not understood",
                                       "problem": problem})  # fmt: skip
            return Recorded("command", self.processed, sender, who, f"{name}: {problem}",
                            replies=(reply,))  # fmt: skip
        args = jsonable(event.args)
        command = Command(who, name, args)
        replies: list[Intent] = [self._answer(who, self._command_answer(who, name, args))]
        if name == "WITHDRAW":
            replies += self._withdrawal_notes(who)
        return Recorded("command", self.processed, sender, who, name, command=command,
                        replies=tuple(replies))  # fmt: skip

    def _withdrawal_notes(self, who: str) -> list[Intent]:
        """The organizers are told; so are the partner or the group where the schedule says."""
        person = next((p for p in self.program.participants if p.email == who), None)
        name = person.name if person else who
        notes = []
        notify = self.program.schedule.program.withdraw_notifies
        if "organizers" in notify:
            line = f"{who} sent WITHDRAW on {self.now:%Y-%m-%d}."
            notes.append(self._notice(f"{name} left the program", [line]))
        others = [
            p.email for p in self.program.participants if p.email != who and person is not None
            and (("partner" in notify and person.pair and p.pair == person.pair)
                 or ("group" in notify and person.group and p.group == person.group))
        ]  # fmt: skip
        note = f"{name} has left {self.program.title}. The organizers know and will be in touch."
        for other in others:
            answer = {"kind": "notice", "subject": f"{name} has left the program", "lines": [note]}
            notes.append(self._answer(other, answer, thread=False))  # not X's thread
        return notes

    def _command_answer(self, who: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if name == "HELP":
            return {"kind": "help", "subject": "How to use the program's email"}
        if name == "STATUS":
            return status_answer(
                self.program, self.timeline, who, self.now, checkins=self.ledger.checkins(),
                commands=self.ledger.commands(),
            )  # fmt: skip
        if name == "PAUSE":
            until = str(args.get("until") or "")
            return {"kind": "paused", "subject": "Reminders paused", "until": until}
        if name == "RESUME":
            return {"kind": "resumed", "subject": "Reminders back on"}
        if name == "WITHDRAW":
            return {"kind": "withdrawn", "subject": f"You have left {self.program.title}"}
        return self._meeting_answer(who, args)

    def _meeting_answer(self, who: str, args: dict[str, Any]) -> dict[str, Any]:
        person = next((p for p in self.program.participants if p.email == who), None)
        unit = "pair" if person and person.pair else "group" if person and person.group else ""
        if person is None or not unit:
            problem = "you are not in a pair or a group, so there is no one to invite"
            return {"kind": "not-understood", "subject": "Not done: MEETING", "problem": problem}
        zone = ZoneInfo(str(args.get("zone") or person.timezone))
        starts = to_utc(
            dt.date.fromisoformat(args["date"]), dt.time.fromisoformat(args["time"]), zone
        )
        mine = ZoneInfo(person.timezone)
        when = local_time(starts, mine)
        return {"kind": "meeting", "subject": "Meeting set", "when": when, "unit": unit}

    def _organizer(self, sender: str, event: ev.OrganizerCommand) -> Recorded:
        """EXCUSE or EXTEND: find the obligation meant, record the decision, confirm it."""
        args, name = dict(event.args), event.name
        who, wanted = str(args.get("participant", "")), str(args.get("obligation", ""))
        person = self.directory.person(who) if who else None
        instance = None
        ref = parse_window_ref(wanted)
        if person is not None:
            opened = [
                a for a in self.timeline
                if a.kind == "obligation" and a.item == ref.obligation
                and person.address in a.who and a.at <= self.now
                and (ref.number is None or a.occurrence == ref.number - 1)
            ]  # fmt: skip
            instance = opened[-1] if opened else None
        problem = event.error or (
            f"{who!r} is not a participant" if person is None
            else f"{person.name} has no open obligation {wanted!r}" if instance is None
            else ""
        )  # fmt: skip
        if problem or instance is None or person is None:
            reply = self._answer(event.organizer, {"kind": "not-understood",
                                                   "subject": f"Not done: {name}",
                                                   "problem": problem})  # fmt: skip
            return self._done("organizer-command", sender, "", f"{name}: {problem}", reply)
        title = self._title(instance.key)
        record = {"participant": person.address, "obligation": wanted,
                  "key": instance.key}  # fmt: skip
        if name == "EXTEND":
            day = dt.date.fromisoformat(str(args["until"]))
            until = to_utc(day, dt.time(23, 59), self.program.tz)
            record["until"] = until.isoformat()
            due = deadline(until, self.program.tz, self.program.tz).text
            note = f"Extended: {title} for {person.name}, now due {due}."
        else:
            note = f"Excused: {title} for {person.name}. No more reminders or flags about it."
        answer = {"kind": "noted", "subject": f"Done: {name} {title}", "note": note}
        reply = self._answer(event.organizer, answer)
        command = Command(event.organizer, name, record)
        return Recorded("organizer-command", self.processed, sender, "", f"{name} {instance.key}",
                        command=command, replies=(reply,))  # fmt: skip


def jsonable(args: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in dict(args or {}).items():
        out[name] = value.isoformat() if isinstance(value, dt.date) else value
    return out
