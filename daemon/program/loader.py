"""Load a config file and everything it names into one validated Program, or report every
problem at once (ConfigError)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.bundled import bundled, schedule_names
from daemon.config import Config, parse_config, resolve
from daemon.errors import ConfigError, Problem
from daemon.program import roster as roster_mod
from daemon.program.model import Schedule
from daemon.program.repair import validate_repairing
from daemon.program.roster import Organizer, Participant, RosterEntry
from daemon.program.timespec import zone
from daemon.program.tomlsource import TomlSource, load_toml


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
    """A bundled schedule by id, or a schedule file (or folder holding schedule.toml) by path."""
    if "/" not in name and not name.endswith(".toml"):
        return bundled("schedules") / name / "schedule.toml"
    path = resolve(config_path, name)
    return path / "schedule.toml" if path.is_dir() else path


def load_program(config_path: Path) -> Program:
    """Parse and validate; raises ConfigError listing every problem found."""
    from daemon.program.checks import check_program

    config_source = load_toml(config_path)
    config, problems = parse_config(config_source)
    if config is None:
        raise ConfigError(problems + _unchecked_parts(config_path, config_source.data))
    spath = schedule_path(config_path, config.program.schedule)
    if not spath.is_file():
        problems.append(
            config_source.problem(
                ("program", "schedule"),
                f"no schedule {config.program.schedule!r} ({spath})",
                "use a shipped schedule (" + ", ".join(schedule_names()) + ") or a path",
            )
        )
        raise ConfigError(problems)
    schedule_source = load_toml(spath)
    schedule, schedule_problems = _parse_schedule(schedule_source)
    problems += schedule_problems
    entries, roster_problems = _load_roster(config_path, config_source, config)
    problems += roster_problems
    if schedule is None:
        raise ConfigError(problems)
    templates = [resolve(config_path, config.program.templates)] if config.program.templates else []
    if (spath.parent / "templates").is_dir():
        templates.append(spath.parent / "templates")
    templates += [bundled("templates") / schedule.program.id, bundled("templates") / "common"]
    program = Program(
        id=config.program.id or schedule.program.id,
        title=config.program.title or schedule.program.title,
        config=config,
        config_source=config_source,
        schedule=schedule,
        schedule_source=schedule_source,
        start=config.program.start,
        tz=zone(config.program.timezone),
        participants=tuple(e.participant for e in entries),
        organizers=tuple(config.organizers),
        template_dirs=tuple(templates),
        schedule_dir=spath.parent,
        roster_entries=tuple(entries),
        resource_urls={r.id: r.url for r in schedule.resources} | config.program.resources,
    )
    problems += check_program(program)
    return program if not problems else _fail(program, problems)


def _parse_schedule(source: TomlSource) -> tuple[Schedule | None, list[Problem]]:
    return validate_repairing(
        Schedule.model_validate,
        source.data,
        lambda loc, kind, msg, hint: source.problem(
            loc, "unknown key" if kind == "extra_forbidden" else msg, hint
        ),
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
            problems += roster_mod.load_file(resolve(config_path, file))[1]
        except ConfigError as exc:
            problems += exc.problems
    return problems


def _fail(program: Program, problems: list[Problem]) -> Program:
    """Raise with every problem, template problems included (templates render regardless)."""
    from daemon.program.planner import plan
    from daemon.program.validate import check_templates

    problems += check_templates(program, plan(program))
    raise ConfigError(problems)


def _load_roster(
    config_path: Path, source: TomlSource, config: Config
) -> tuple[list[RosterEntry], list[Problem]]:
    roster = config.roster
    if roster.file and roster.participants:
        return [], [
            source.problem(
                ("roster",),
                "give either roster.file or [[roster.participants]], not both",
                "keep the roster in one place",
            )
        ]
    if roster.file:
        path = resolve(config_path, roster.file)
        if not path.is_file():
            return [], [
                source.problem(("roster", "file"), f"no roster file {path}", "check the path")
            ]
        try:
            return roster_mod.load_file(path)
        except ConfigError as exc:
            return [], list(exc.problems)
    if not roster.participants:
        return [], [
            source.problem(
                ("roster",),
                "no participants",
                "add roster.file = 'roster.csv' or [[roster.participants]] tables",
            )
        ]
    return roster_mod.load_inline(source, roster.participants, ("roster", "participants"))
