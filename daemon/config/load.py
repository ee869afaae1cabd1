"""Load a config file and everything it names — the schedule, the roster, the templates and the
resource files — into one validated Deployment (the pure Program plus the settings and where
everything came from), or report every problem at once (ConfigError). The only place, with
`settings`, that reads the program's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon.config import roster as roster_mod
from daemon.config.bundled import bundled, schedule_names
from daemon.config.checks import check_program
from daemon.config.deployment import Deployment
from daemon.config.repair import validate_repairing
from daemon.config.roster import Roster
from daemon.config.settings import Config, config_problem, parse_config, resolve
from daemon.config.tomlfile import TomlSource, load_toml, salvage
from daemon.errors import ConfigError, Problem
from daemon.program.instance import Program, ResourceFile, TemplateFile
from daemon.program.people import Sender
from daemon.program.schedule import Schedule
from daemon.program.timespec import zone

TEMPLATE_SUFFIX = ".j2"


def schedule_path(config_path: Path, name: str) -> Path:
    """A schedule file, or a folder holding schedule.toml, relative to the config; else a
    shipped schedule of that id."""
    path = resolve(config_path, name)
    if path.is_dir():
        return path / "schedule.toml"
    if path.is_file() or "/" in name or name.endswith(".toml"):
        return path
    return bundled("schedules") / name / "schedule.toml"


def load_deployment(config_path: Path) -> Deployment:
    """Parse and validate; raises ConfigError listing every problem found (templates are
    rendered by `validate`, not here)."""
    deployment, problems = load(config_path)
    if deployment is None or problems:
        raise ConfigError(problems)
    return deployment


def load_program(config_path: Path) -> Program:
    """`load_deployment(config_path).program`."""
    return load_deployment(config_path).program


def load(config_path: Path) -> tuple[Deployment | None, list[Problem]]:
    """The deployment and every problem found in its config, schedule and roster (templates
    are checked by `validate`). None when too much is broken to build one."""
    try:
        config_source = load_toml(config_path)
    except ConfigError as exc:  # e.g. a syntax error: still check the roster and schedule
        return None, [*exc.problems, *_unchecked_parts(config_path, salvage(config_path))]
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
    template_dirs = [bundled("templates") / schedule.program.id, bundled("templates") / "common"]
    if (spath.parent / "templates").is_dir():
        template_dirs.insert(0, spath.parent / "templates")
    if config.program.templates:
        own = resolve(config_path, config.program.templates)
        template_dirs.insert(0, own)
        if not own.is_dir():
            problems.append(
                config_problem(config_source, ("program", "templates"), f"no folder {own}",
                               "create it, or remove program.templates to use the shipped ones")
            )  # fmt: skip
    templates, template_problems = read_templates(template_dirs)
    problems += template_problems
    files, file_problems = _read_files(schedule, spath.parent, schedule_source)
    problems += file_problems
    sender = config.sender
    program = Program(
        id=config.program.id or schedule.program.id,
        title=config.program.title or schedule.program.title,
        schedule=_with_overrides(schedule, config),
        start=config.program.start,
        tz=zone(config.program.timezone),
        participants=tuple(e.participant for e in roster.entries),
        organizers=tuple(config.organizers),
        sender=Sender(sender.name, str(sender.address), str(sender.reply_to or "")),
        templates=templates,
        files=files,
        resource_urls={r.id: r.url for r in schedule.resources} | config.program.resources,
    )
    deployment = Deployment(
        program=program,
        settings=config,
        config_path=config_path,
        config_source=config_source,
        schedule_source=schedule_source,
        schedule_dir=spath.parent,
        template_dirs=tuple(template_dirs),
        roster_entries=tuple(roster.entries),
        stand_ins=stand_ins,
        dropped_units=roster.dropped_units,
    )
    problems += check_program(deployment)
    return deployment, problems


def read_templates(dirs: list[Path]) -> tuple[dict[str, TemplateFile], list[Problem]]:
    """Every template file in `dirs`, by its name relative to its folder; the first folder
    holding a name wins (an organizer's own templates override the shipped ones)."""
    found: dict[str, TemplateFile] = {}
    problems: list[Problem] = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*" + TEMPLATE_SUFFIX)):
            name = path.relative_to(folder).as_posix()
            if name in found or not path.is_file():
                continue
            try:
                found[name] = TemplateFile(str(path), path.read_bytes().decode("utf-8"))
            except UnicodeDecodeError as exc:
                hint = "save it as UTF-8"
                problems.append(Problem(str(path), 0, "", f"not UTF-8 text ({exc.reason})", hint))
            except OSError as exc:
                problems.append(Problem(str(path), 0, "", f"cannot read it: {exc.strerror}"))
    return found, problems


def _read_files(
    schedule: Schedule, folder: Path, source: TomlSource
) -> tuple[dict[str, ResourceFile], list[Problem]]:
    """The resource files shipped beside the schedule, read once."""
    files: dict[str, ResourceFile] = {}
    problems: list[Problem] = []
    for i, resource in enumerate(schedule.resources):
        if not resource.file:
            continue
        path = folder / resource.file
        if not path.is_file():
            problems.append(
                source.problem(
                    ("resources", i, "file"), f"no file {resource.file!r} beside the schedule"
                )
            )
            continue
        try:
            files[resource.id] = ResourceFile(path.name, path.read_bytes())
        except OSError as exc:
            problems.append(
                source.problem(("resources", i, "file"), f"cannot read {path}: {exc.strerror}")
            )
    return files, problems


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
        model=Schedule,
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
