"""Load a config file and everything it names into one validated Program, or report every
problem at once (ConfigError)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.config.bundled import bundled, schedule_names
from daemon.config.repair import validate_repairing
from daemon.config.settings import Config, config_problem, parse_config, resolve
from daemon.config.tomlfile import TomlSource, load_toml
from daemon.errors import ConfigError, Problem
from daemon.program import roster as roster_mod
from daemon.program.roster import Organizer, Participant, Roster, RosterEntry
from daemon.program.schedule import Schedule
from daemon.program.timespec import zone


@dataclass(frozen=True)
class Program:
    """One program instance: the schedule, its start, its people, where its files are."""

    id: str
    title: str
    config: Config
    config_source: TomlSource
    schedule: Schedule
    schedule_source: TomlSource
    start: dt.date
    tz: ZoneInfo
    participants: tuple[Participant, ...]
    organizers: tuple[Organizer, ...]
    template_dirs: tuple[Path, ...]
    schedule_dir: Path
    roster_entries: tuple[RosterEntry, ...] = ()
    resource_urls: dict[str, str] = field(default_factory=dict)
    stand_ins: frozenset[tuple[str | int, ...]] = frozenset()
    dropped_units: frozenset[str] = frozenset()

    def config_problem(self, loc: tuple[str | int, ...], message: str, hint: str = "") -> Problem:
        return config_problem(self.config_source, loc, message, hint)

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


def schedule_path(config_path: Path, name: str) -> Path:
    """A schedule file, or a folder holding schedule.toml, relative to the config; else a
    shipped schedule of that id."""
    path = resolve(config_path, name)
    if path.is_dir():
        return path / "schedule.toml"
    if path.is_file() or "/" in name or name.endswith(".toml"):
        return path
    return bundled("schedules") / name / "schedule.toml"


def load_program(config_path: Path) -> Program:
    """Parse and validate; raises ConfigError listing every problem found."""
    program, problems = load(config_path)
    if program is None or problems:
        raise ConfigError(problems)
    return program


def load(config_path: Path) -> tuple[Program | None, list[Problem]]:
    """The program and every problem found in its config, schedule and roster (templates are
    checked by `validate`). The program is None when too much is broken to build one."""
    from daemon.config.checks import check_program

    config_source = load_toml(config_path)
    config, problems, stand_ins = parse_config(config_source)
    if config is None:
        return None, problems + _unchecked_parts(config_path, config_source.data)
    spath = schedule_path(config_path, config.program.schedule)
    if not spath.is_file():
        problems.append(
            config_problem(
                config_source,
                ("program", "schedule"),
                f"no schedule {config.program.schedule!r} ({spath})",
                "use a shipped schedule (" + ", ".join(schedule_names()) + ") or a path",
            )
        )
        return None, problems + _unchecked_parts(config_path, config_source.data)
    schedule_source = load_toml(spath)
    schedule, schedule_problems = _parse_schedule(schedule_source)
    problems += schedule_problems
    roster = _load_roster(config_path, config_source, config)
    problems += roster.problems
    if schedule is None:
        return None, problems
    templates = [bundled("templates") / schedule.program.id, bundled("templates") / "common"]
    if (spath.parent / "templates").is_dir():
        templates.insert(0, spath.parent / "templates")
    if config.program.templates:
        own = resolve(config_path, config.program.templates)
        templates.insert(0, own)
        if not own.is_dir():
            problems.append(
                config_problem(config_source, ("program", "templates"), f"no folder {own}",
                               "create it, or remove program.templates to use the shipped ones")
            )  # fmt: skip
    program = Program(
        id=config.program.id or schedule.program.id,
        title=config.program.title or schedule.program.title,
        config=config,
        config_source=config_source,
        schedule=_with_overrides(schedule, config),
        schedule_source=schedule_source,
        start=config.program.start,
        tz=zone(config.program.timezone),
        participants=tuple(e.participant for e in roster.entries),
        organizers=tuple(config.organizers),
        template_dirs=tuple(templates),
        schedule_dir=spath.parent,
        roster_entries=tuple(roster.entries),
        resource_urls={r.id: r.url for r in schedule.resources} | config.program.resources,
        stand_ins=stand_ins,
        dropped_units=roster.dropped_units,
    )
    problems += check_program(program)
    return program, problems


def _with_overrides(schedule: Schedule, config: Config) -> Schedule:
    """The schedule with the config's event links and places ([program.events.ID])."""
    if not config.program.events:
        return schedule
    events = tuple(
        e.model_copy(update=config.program.events[e.id].model_dump(exclude_unset=True))
        if e.id in config.program.events
        else e
        for e in schedule.events
    )
    return schedule.model_copy(update={"events": events})


def _parse_schedule(source: TomlSource) -> tuple[Schedule | None, list[Problem]]:
    return validate_repairing(
        Schedule.model_validate,
        source.data,
        lambda loc, kind, msg, hint: source.problem(loc, msg, hint),
    )


def _unchecked_parts(config_path: Path, data: dict[str, Any]) -> list[Problem]:
    """When the config itself is unusable, still check the schedule and roster files it names,
    so one run reports as much as it can."""
    problems: list[Problem] = []
    program, roster = data.get("program"), data.get("roster")
    name = program.get("schedule") if isinstance(program, dict) else None
    if isinstance(name, str) and name:
        spath = schedule_path(config_path, name)
        if spath.is_file():
            try:
                problems += _parse_schedule(load_toml(spath))[1]
            except ConfigError as exc:
                problems += exc.problems
    file = roster.get("file") if isinstance(roster, dict) else None
    if isinstance(file, str) and file and resolve(config_path, file).is_file():
        try:
            problems += roster_mod.load_file(resolve(config_path, file)).problems
        except ConfigError as exc:
            problems += exc.problems
    return problems


def _load_roster(config_path: Path, source: TomlSource, config: Config) -> Roster:
    roster = config.roster
    if roster.file and roster.participants:
        hint = "keep the roster in one place"
        message = "give either roster.file or [[roster.participants]], not both"
        return Roster(problems=[source.problem(("roster",), message, hint)])
    if roster.file:
        path = resolve(config_path, roster.file)
        if not path.is_file():
            problem = config_problem(
                source, ("roster", "file"), f"no roster file {path}", "check the path"
            )
            return Roster(problems=[problem])
        try:
            return roster_mod.load_file(path)
        except ConfigError as exc:
            return Roster(problems=list(exc.problems))
    if not roster.participants:
        hint = "add roster.file = 'roster.csv' or [[roster.participants]] tables"
        return Roster(problems=[source.problem(("roster",), "no participants", hint)])
    return roster_mod.load_inline(source, roster.participants, ("roster", "participants"))
