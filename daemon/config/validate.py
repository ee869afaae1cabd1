"""`validate`: load everything, plan, and render every template for every recipient and
every occurrence (StrictUndefined), so a broken template fails here, not in an inbox. A subject
that renders longer than mail clients show (mail/subject.py) is a warning: it goes out
shortened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from daemon.config.deployment import Deployment
from daemon.config.load import load
from daemon.config.replies import check_replies_readable
from daemon.config.tomlfile import dotted
from daemon.errors import ConfigError, Problem, TemplateProblem
from daemon.mail.common import (
    alert_context,
    answer_context,
    cancel_context,
    digest_context_for,
)
from daemon.mail.context import ContextBuilder
from daemon.mail.kinds import Canonical
from daemon.mail.render import Rendered, Renderer
from daemon.mail.samples import SAMPLE_ANSWERS, SAMPLE_DIGEST, SAMPLE_FAILURE
from daemon.mail.shape import ITEM, Uses
from daemon.mail.subject import MAX_SUBJECT
from daemon.program.actions import Action, Person, Spec
from daemon.program.instance import Program
from daemon.program.timeline import plan


def validate(
    config_path: Path, warnings: list[Problem] | None = None
) -> tuple[Deployment, list[Action]]:
    """The loaded deployment and its timeline, or ConfigError with every problem; what works
    but reads badly (a subject too long) is added to `warnings`."""
    deployment, problems = load(config_path)
    if deployment is None:
        raise ConfigError(problems)
    timeline = plan(deployment.program)
    problems += check_templates(deployment, timeline, warnings)
    problems += check_replies_readable(deployment)
    if problems:
        raise ConfigError(problems)
    return deployment, timeline


def check_templates(
    deployment: Deployment, timeline: list[Action], warnings: list[Problem] | None = None
) -> list[Problem]:
    """Render each send once per recipient and occurrence; report each failure once, and each
    item whose subject is too long once (in `warnings`)."""
    program = deployment.program
    renderer = Renderer.of(program.templates)  # shared with the first pass of `run`
    people: dict[str, Person] = {p.email: p for p in program.participants}
    people |= {o.email: o for o in program.organizers}
    phases = {p.id for p in program.schedule.phases}
    problems: dict[tuple[str, ...], Problem] = {}
    long: dict[tuple[str, str], Problem] = {}
    seen: set[tuple[str, str, str, int, str]] = set()
    check = _Checker(renderer, ContextBuilder(program, timeline))
    for action in [*timeline, *_unaddressed(program, timeline)]:
        if not action.template or (action.phase and action.phase not in phases):
            continue  # an unknown phase is reported as such; its template cannot render
        if action.item == "digest":
            continue  # composed from the store when due: rendered below with a sample
        for email in action.recipients:
            mark = (action.template, action.subject, action.item, action.occurrence, email)
            if mark in seen:
                continue
            seen.add(mark)
            try:
                rendered = check(action, people[email])
                if rendered.long_subject:
                    long.setdefault(
                        (action.item, action.kind), _long_subject(deployment, action, rendered)
                    )
            except TemplateProblem as exc:
                where = (action.item, "subject") if exc.in_subject else (exc.template,)
                problems.setdefault((*where, exc.detail), _problem(deployment, action, exc, email))
    runtime = (
        ("alert", "Delivery {{ failed.state }}: {{ failed.title }}",
         alert_context(program, SAMPLE_FAILURE)),
        ("invite-cancel", "Cancelled: {{ event.title }}",
         cancel_context(program, "Sam Sample", "An event", still_in_program=False)),
        *(("answer", "{{ answer.subject }}", answer_context(program, None, "s@example.org", a))
          for a in SAMPLE_ANSWERS),
        ("digest", "{{ program.title }}: week {{ digest.week }} summary",
         digest_context_for(program, SAMPLE_DIGEST)),
    )  # fmt: skip
    for name, subject, context in runtime:
        try:
            rendered = check.sample(name, subject, context)
        except TemplateProblem as exc:
            key = (exc.template, exc.detail)
            problems.setdefault(
                key, Problem(exc.template, exc.line, "", exc.detail, _hint(exc.detail))
            )
            continue
        if rendered.long_subject:  # a built-in subject: the program's title made it long
            long.setdefault(
                (name, ""),
                deployment.config_problem(
                    ("program", "title"), *_too_long(rendered, f"the {name} mail")
                ),
            )
    if warnings is not None:
        warnings += long.values()
    return list(problems.values())


class _Checker:
    """Renders one template for one recipient as `validate` needs: the first time each
    template is met, whole (as sent); then its subject every time, and its text once for each
    kind of context it meets (shape.py: a context that differs only in what is printed renders
    alike). Raises TemplateProblem."""

    def __init__(self, renderer: Renderer, builder: ContextBuilder) -> None:
        self.renderer, self.builder = renderer, builder
        self.whole: set[str] = set()
        self.checked: set[Hashable] = set()
        self.canonical = Canonical()
        self.subjects: dict[tuple[str, tuple[Hashable, ...]], Rendered] = {}

    def __call__(self, action: Action, person: Person) -> Rendered:
        name, subject = action.template, action.subject
        if name not in self.whole:
            return self.sample(name, subject, self.builder.build(action, person))
        uses = self.renderer.uses(name, subject)
        context = self.builder.build(action, person, uses.roots if uses else None)
        rendered = self._subject(name, subject, context)
        kind = (name, uses, self.canonical(context, uses)) if uses else None  # keys of one uses
        if kind is None or kind not in self.checked:
            self.checked.add(kind)
            self.renderer.check_text(name, context)
        return rendered

    def sample(self, name: str, subject: str, context: dict[str, Any]) -> Rendered:
        """One context rendered as it comes: whole the first time the template is met, then
        its subject and text (a run-time mail's samples, every kind of answer)."""
        if name in self.whole:
            return self.renderer.check(name, subject, context)
        self.whole.add(name)
        return self.renderer.render(name, subject, context)

    def _subject(self, name: str, subject: str, context: dict[str, Any]) -> Rendered:
        """The subject, rendered once for each set of values it prints (when all it does is
        print them: the same values, the same subject)."""
        heading = self.renderer.subject_uses(subject)
        printed = _printed(context, heading) if heading else None
        if printed is None:
            return self.renderer.subject(name, subject, context)
        if (subject, printed) not in self.subjects:
            self.subjects[subject, printed] = self.renderer.subject(name, subject, context)
        return self.subjects[subject, printed]


def _printed(context: dict[str, Any], uses: Uses) -> tuple[Hashable, ...] | None:
    """The values a template that only prints finds at its paths; None when it does more
    than print, or a value is not plainly there (rendering says what is wrong)."""
    if uses.exact or uses.tested:
        return None
    found: list[Hashable] = []
    for path in sorted(uses.referenced):
        value: Any = context
        for step in path:
            if step == ITEM or not isinstance(value, dict) or step not in value:  # ITEM: each
                return None
            value = value[step]
        if not (isinstance(value, str | int | None) or type(value) is dt.date):
            return None  # equal values of other kinds may print differently (zones, -0.0)
        found.append((type(value), value))
    return tuple(found)


def _long_subject(deployment: Deployment, action: Action, rendered: Rendered) -> Problem:
    loc = _subject_loc(deployment.program, action)
    source = deployment.schedule_source
    message, hint = _too_long(rendered, f"{action.title!r}")
    return Problem(source.name, source.line(loc), dotted(loc), message, hint)


def _too_long(rendered: Rendered, what: str) -> tuple[str, str]:
    full = rendered.long_subject
    return (
        f"the subject of {what} is {len(full)} characters, over {MAX_SUBJECT} (mail clients "
        f"cut it): {full!r}; it goes out as {rendered.subject!r}",
        "make it shorter, or the titles it includes",
    )


def _subject_loc(program: Program, action: Action) -> tuple[str | int, ...]:
    """Where an action's subject comes from: a message's or a request's `subject`, else the
    title of the item that built-in subjects (reminders, flags, invitations) name."""
    loc = _loc_of(program, action)
    if not loc:
        return loc
    if loc[0] == "messages":
        return (*loc[:2], "subject")
    if loc[0] == "obligations" and action.kind == "email":
        return (*loc[:2], "request", "subject")
    return (*loc[:2], "title")


def _unaddressed(program: Program, timeline: list[Action]) -> list[Action]:
    """Messages nobody gets yet (no one opted in, an empty role): rendered for the first
    participant anyway, so their templates are checked too."""
    if not program.participants:
        return []
    planned = {a.item for a in timeline if a.kind == "email"}
    stand_in = (program.participants[0].email,)
    at = dt.datetime.combine(program.start, dt.time(12), program.tz)
    return [
        Action(
            at=at,
            key=f"validate/{m.id}",
            kind="email",
            recipients=stand_in,
            title=m.title,
            item=m.id,
            spec=Spec(m.template, m.subject, m.phase),
        )
        for m in program.schedule.messages
        if m.id not in planned
    ]


def _problem(deployment: Deployment, action: Action, exc: TemplateProblem, email: str) -> Problem:
    source = deployment.schedule_source
    if exc.in_subject:  # the schedule's `subject` (or the title a built-in subject names)
        loc = _subject_loc(deployment.program, action)
        return Problem(
            source.name,
            source.line(loc),
            dotted(loc),
            f"{exc.detail} (rendering the subject for {email})",
            _hint(exc.detail),
        )
    loc = _loc_of(deployment.program, action)
    return Problem(
        exc.template if exc.line else source.name,
        exc.line or source.line(loc),
        "" if exc.line else dotted(loc),
        f"{exc.detail} (rendering {action.template!r} for {email})",
        _hint(exc.detail),
    )


def _loc_of(program: Program, action: Action) -> tuple[str | int, ...]:
    sch = program.schedule
    for kind in ("messages", "events", "obligations"):
        for i, item in enumerate(getattr(sch, kind)):
            if item.id == action.item:
                field = {"messages": "template", "obligations": "request"}.get(kind, "id")
                return (kind, i, field)
    return ()


def _hint(detail: str) -> str:
    if "not found" in detail:
        return "create NAME.md.j2 in your templates folder, or fix the template name"
    if "undefined" in detail:
        return "check the spelling; README 'Templates' lists every variable"
    return "fix the template; README 'Templates' explains the syntax"
