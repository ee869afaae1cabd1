"""`validate`: load everything, plan, and render every template for every recipient."""

from __future__ import annotations

from pathlib import Path

from daemon.errors import ConfigError, Problem
from daemon.mail.context import ContextBuilder
from daemon.mail.render import Renderer, TemplateProblem
from daemon.program.loader import Program, load_program
from daemon.program.planner import Action, Person, plan
from daemon.program.tomlsource import dotted


def validate(config_path: Path) -> tuple[Program, list[Action]]:
    """The loaded program and its timeline, or ConfigError with every problem."""
    program = load_program(config_path)
    timeline = plan(program)
    problems = check_templates(program, timeline)
    if problems:
        raise ConfigError(problems)
    return program, timeline


def check_templates(program: Program, timeline: list[Action]) -> list[Problem]:
    """Render each distinct (template, subject) once per recipient; report each failure once."""
    renderer = Renderer(program.template_dirs)
    builder = ContextBuilder(program, timeline)
    people: dict[str, Person] = {p.email: p for p in program.participants}
    people |= {o.email: o for o in program.organizers}
    problems: dict[tuple[str, str], Problem] = {}
    seen: set[tuple[str, str, str, str]] = set()
    source = program.schedule_source
    for action in timeline:
        if not action.template:
            continue
        for email in action.recipients:
            mark = (action.template, action.subject, action.item, email)
            if mark in seen:
                continue
            seen.add(mark)
            try:
                renderer.render(
                    action.template, action.subject, builder.build(action, people[email])
                )
            except TemplateProblem as exc:
                loc = _loc_of(program, action)
                problems.setdefault(
                    (exc.template, exc.detail),
                    Problem(
                        exc.template if exc.line else source.name,
                        exc.line or source.line(loc),
                        "" if exc.line else dotted(loc),
                        f"{exc.detail} (rendering {action.template!r} for {email})",
                        _hint(exc.detail),
                    ),
                )
    return list(problems.values())


def _loc_of(program: Program, action: Action) -> tuple[str | int, ...]:
    sch = program.schedule
    for kind in ("messages", "events", "obligations"):
        for i, item in enumerate(getattr(sch, kind)):
            if item.id == action.item:
                field = (
                    "template"
                    if kind == "messages"
                    else ("request" if kind == "obligations" else "id")
                )
                return (kind, i, field)
    return ()


def _hint(detail: str) -> str:
    if "not found" in detail:
        return "create NAME.md.j2 in your templates folder, or fix the template name"
    if "undefined" in detail:
        return "check the spelling; README 'Templates' lists every variable"
    return "fix the template; README 'Templates' explains the syntax"
