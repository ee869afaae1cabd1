"""One program instance, as the pure core sees it: the schedule, its start, its people, who its
mail is from, and the template and resource files it uses — already read, so nothing here (or
anywhere in the core) touches a file. `config.load` builds it; it holds no settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from daemon.program.people import Organizer, Participant, Sender
from daemon.program.schedule import Schedule


@dataclass(frozen=True)
class TemplateFile:
    """A template's text and the file it was read from (named in error messages)."""

    path: str
    text: str


@dataclass(frozen=True)
class ResourceFile:
    """A file shipped beside the schedule, attached to the messages naming its resource."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Program:
    id: str
    title: str
    schedule: Schedule
    start: dt.date
    tz: ZoneInfo
    participants: tuple[Participant, ...]
    organizers: tuple[Organizer, ...]
    sender: Sender
    templates: Mapping[str, TemplateFile] = field(default_factory=dict)  # by file name
    files: Mapping[str, ResourceFile] = field(default_factory=dict)  # by resource id
    resource_urls: Mapping[str, str] = field(default_factory=dict)

    @property
    def end(self) -> dt.date:
        """The first day after the program."""
        return self.schedule.program.end(self.start)

    @property
    def weeks(self) -> int:
        """The program's length in weeks, a started week counting as one."""
        return -(-(self.end - self.start).days // 7)

    def groups(self) -> dict[str, tuple[Participant, ...]]:
        return _by(self.participants, "group")

    def pairs(self) -> dict[str, tuple[Participant, ...]]:
        return _by(self.participants, "pair")

    def participant(self, email: str) -> Participant | None:
        wanted = email.lower()
        return next((p for p in self.participants if p.email.lower() == wanted), None)


def _by(people: tuple[Participant, ...], attr: str) -> dict[str, tuple[Participant, ...]]:
    out: dict[str, list[Participant]] = {}
    for person in people:
        key = getattr(person, attr)
        if key:
            out.setdefault(key, []).append(person)
    return {k: tuple(v) for k, v in out.items()}
