"""The template context for one recipient of one action: who, what, when (in their zone)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any
from zoneinfo import ZoneInfo

from daemon.mail.common import organizers_recipient, person_context, program_context
from daemon.mail.inert import Inert
from daemon.program.actions import planned_day
from daemon.program.instance import Program
from daemon.program.people import Participant, first_name_of, names_and
from daemon.program.refs import command_links, window_ref
from daemon.program.time_text import day_text, deadline, opening_day, week_of
from daemon.program.timeline import Action, Person
from daemon.program.timespec import local_time, zone
from daemon.program.windows import phase_span

UPCOMING_DAYS = 14


class ContextBuilder:
    """Builds contexts for one program's timeline; indexes obligations once."""

    def __init__(self, program: Program, timeline: list[Action]) -> None:
        self.program = program
        self.phases = {p.id: p for p in program.schedule.phases}
        self.obligations = {o.id: o for o in program.schedule.obligations}
        self.forms = {f.id: f for f in program.schedule.forms}
        self.resources = {r.id: r for r in program.schedule.resources}
        self.messages = {m.id: m for m in program.schedule.messages}
        self.events = {e.id: e for e in program.schedule.events}
        self.by_key = {a.key: a for a in timeline if a.kind == "obligation"}
        self.due_by_person: dict[str, list[Action]] = defaultdict(list)
        for a in timeline:
            if a.kind == "obligation":
                for who in a.who:
                    self.due_by_person[who].append(a)
        for items in self.due_by_person.values():
            items.sort(key=lambda a: a.due_at or a.at)
        self.groups = program.groups()
        self.names = {p.email: p.name for p in program.participants}
        self.pairs = program.pairs()
        self.organizers = {o.email for o in program.organizers}
        # parts every context shares (templates cannot change them: an immutable sandbox)
        self._program_context: dict[str, Any] | None = None
        self._phase_contexts: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        self._obligation_contexts: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
        self._windows: dict[str, dict[str, Any]] = {}  # by key: what no reader changes
        self._recipients: dict[str, dict[str, Any]] = {}  # by address ("": the organizers)

    def build(
        self, action: Action, person: Person, only: Collection[str] | None = None
    ) -> dict[str, Any]:
        """The context of `action` for `person`; with `only`, just those of its top-level names
        (what a template reads, shape.py: `validate` builds a thousand of them)."""
        tz = zone(person.timezone)
        program = self.program
        to_organizers = action.kind == "flag" or (
            len(action.recipients) > 1 and set(action.recipients) <= self.organizers
        )
        today = action.at.astimezone(tz).date()
        parts: dict[str, Callable[[], Any]] = {
            "program": self._program,
            "recipient": lambda: self._recipient(person, to_organizers),
            "sent_at": lambda: local_time(action.at, tz),
            "week": lambda: week_of(program.start, planned_day(action, tz, program.tz)),
            "occurrence": lambda: action.occurrence,
            "title": lambda: action.title,
            "group": lambda: self._group(person) if isinstance(person, Participant) else None,
            "partner": lambda: self._partner(person) if isinstance(person, Participant) else None,
            "phase": lambda: self._phase_of(action),
            "event": lambda: self._event(action, tz) if action.kind == "invite" else None,
            "obligation": lambda: self._obligation_of(action, tz, today),
            "resources": lambda: self._resources_of(action),
            "upcoming": lambda: self._upcoming(person.email, action.at, tz, today),
        }
        return {name: part() for name, part in parts.items() if only is None or name in only}

    def _recipient(self, person: Person, to_organizers: bool) -> dict[str, Any]:
        """Who a mail greets (made once for each: contexts share it)."""
        key = "" if to_organizers else person.email
        if key not in self._recipients:
            self._recipients[key] = (
                organizers_recipient(self.program) if to_organizers else person_context(person)
            )
        return self._recipients[key]

    def _program(self) -> dict[str, Any]:
        if self._program_context is None:
            self._program_context = program_context(self.program)
        return self._program_context

    def _phase_of(self, action: Action) -> dict[str, Any] | None:
        phase_id = action.phase or self._message_phase(action)
        if phase_id not in self.phases:
            return None
        message = self.messages.get(action.item) if action.kind == "email" else None
        only = message.sections if message else ()
        if (phase_id, only) not in self._phase_contexts:
            self._phase_contexts[phase_id, only] = self._phase(phase_id, only)
        return self._phase_contexts[phase_id, only]

    def _resources_of(self, action: Action) -> list[dict[str, str]]:
        phase_id = action.phase or self._message_phase(action)
        found = self._resources(self.phases[phase_id].resources) if phase_id in self.phases else []
        if action.item in self.messages:
            found += self._resources(self.messages[action.item].resources)
        return found

    def _obligation_of(self, action: Action, tz: ZoneInfo, today: dt.date) -> Any:
        """The window `action` asks about, as of `today` in `tz` (the same for each of the
        people it concerns, and for each organizer flagged about it: made once)."""
        if not action.asks or action.asks[0] not in self.by_key:
            return None
        key = (action.asks[0], tz.key, today)
        if key not in self._obligation_contexts:
            self._obligation_contexts[key] = self._obligation(self.by_key[key[0]], tz, today)
        return self._obligation_contexts[key]

    def _message_phase(self, action: Action) -> str:
        message = self.messages.get(action.item)
        return message.phase if message else ""

    def _group(self, person: Participant) -> dict[str, Any] | None:
        if not person.group:
            return None
        members = self.groups.get(person.group, ())
        return {
            "id": person.group,
            "members": [person_context(m) for m in members],
            "others": [person_context(m) for m in members if m.email != person.email],
        }

    def _partner(self, person: Participant) -> dict[str, Any] | None:
        others = [m for m in self.pairs.get(person.pair, ()) if m.email != person.email]
        return person_context(others[0]) if person.pair and others else None

    def _phase(self, phase_id: str, only: tuple[str, ...] = ()) -> dict[str, Any]:
        """The phase; `only` keeps the sections whose title starts with one of its entries."""
        phase = self.phases[phase_id]
        first, last = phase_span(phase, self.program.start)
        return {
            "id": phase.id,
            "title": phase.title,
            "summary": phase.summary,
            "tasks": list(phase.tasks),
            "sections": [s for s in phase.sections if not only or s.title.startswith(only)],
            "first_day": f"{first:%A, %B} {first.day}",
            "last_day": f"{last:%A, %B} {last.day}",
        }

    def _resources(self, ids: tuple[str, ...]) -> list[dict[str, str]]:
        """The named resources (unknown ids are reported by validate, and skipped here)."""
        return [
            {
                "id": r.id,
                "title": r.title,
                "url": self.program.resource_urls.get(r.id, r.url),
                "description": r.description,
            }
            for r in (self.resources[i] for i in ids if i in self.resources)
        ]

    def _event(self, action: Action, tz: ZoneInfo) -> dict[str, Any]:
        event = self.events[action.item]
        assert action.starts_at is not None and action.ends_at is not None
        return {
            "title": event.title,
            "description": event.description,
            "starts": local_time(action.starts_at, tz),
            "ends": local_time(action.ends_at, tz),
            "location": event.location,
            "url": event.url,
            "repeat": event.repeat.model_dump() if event.repeat else None,
        }

    def _obligation(self, ob_action: Action, tz: ZoneInfo, today: dt.date) -> dict[str, Any]:
        """The window as `today` in `tz` reads it: its dates, and what is the same for everyone
        (made once for each window)."""
        assert ob_action.opens_at is not None and ob_action.due_at is not None
        if ob_action.key not in self._windows:
            self._windows[ob_action.key] = self._window(ob_action)
        due = deadline(ob_action.due_at, tz, self.program.tz, today)
        return {
            **self._windows[ob_action.key],
            "opens": day_text(opening_day(ob_action.opens_at, tz, self.program.tz), today),
            "due": due.text,
            "due_date": due.day,
        }

    def _window(self, ob_action: Action) -> dict[str, Any]:
        ob = self.obligations[ob_action.item]
        assert ob_action.due_at is not None
        form = self.forms.get(ob.form)
        names = [self.names.get(email, email) for email in ob_action.who]
        ref = window_ref(ob.id, ob_action.occurrence, ob.repeat is not None)
        mailbox = self.program.sender.reply_base
        member = ob_action.who[0] if ob_action.who else ""
        links = command_links(mailbox, member, ref, ob_action.due_at, self.program.tz)
        return {
            "title": ob_action.title,
            "id": ref,
            "commands": links,
            "description": ob.description,
            "question": ob.question,
            "require_yes": ob.require_yes,
            "satisfied_by": ob.satisfied_by,
            "who_names": Inert(", ".join(names)),
            "who_first_names": Inert(names_and([first_name_of(n) or n for n in names])),
            "who": [
                {"name": Inert(n), "email": e} for n, e in zip(names, ob_action.who, strict=False)
            ],
            "form": None
            if form is None
            else {
                "title": form.title,
                "intro": form.intro,
                "fields": [
                    {
                        "id": f.id,
                        "label": f.label,
                        "kind": f.kind,
                        "private": f.private,
                        "required": f.required,
                    }
                    for f in form.fields
                ],
            },
        }

    def _upcoming(
        self, email: str, at: dt.datetime, tz: ZoneInfo, today: dt.date
    ) -> list[dict[str, str]]:
        items = self.due_by_person.get(email, [])
        dues = [a.due_at or a.at for a in items]
        start = bisect_left(dues, at)
        horizon = at + dt.timedelta(days=UPCOMING_DAYS)
        return [
            {"title": a.title, "due": deadline(a.due_at or a.at, tz, self.program.tz, today).text}
            for a in items[start:]
            if (a.opens_at or a.at) <= horizon
        ][:5]
