"""Cross-reference checks on a loaded program: ids, windows, roster shape, eligibility.

Each check returns Problems with the file and line of the offending key; nothing raises here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from daemon.errors import Problem
from daemon.program.model import EligibilityRule, Schedule
from daemon.program.roster import Participant
from daemon.program.timespec import WEEKDAYS

if TYPE_CHECKING:
    from daemon.program.loader import Program


def check_program(program: Program) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_ids(program)
    problems += _check_references(program)
    problems += _check_windows(program)
    problems += _check_roster(program)
    problems += _check_config(program)
    return problems


def _check_ids(program: Program) -> Iterator[Problem]:
    s = program.schedule_source
    sch = program.schedule
    for kind in ("options", "resources", "phases", "messages", "events", "obligations", "forms"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(sch, kind)):
            if item.id in seen:
                yield s.problem((kind, i, "id"), f"duplicate id {item.id!r}", "ids must be unique")
            seen.add(item.id)


def _check_references(program: Program) -> Iterator[Problem]:
    s = program.schedule_source
    sch = program.schedule
    phases = {p.id for p in sch.phases}
    options = {o.id for o in sch.options}
    obligations = {o.id for o in sch.obligations}
    forms = {f.id for f in sch.forms}
    resources = {r.id for r in sch.resources}
    roles = set(sch.program.roles)

    def known(
        loc: tuple[str | int, ...], value: str, valid: set[str], what: str
    ) -> Iterator[Problem]:
        if value and value not in valid:
            choices = ", ".join(sorted(valid)) or "none defined"
            yield s.problem(loc, f"unknown {what} {value!r}", f"known {what}s: {choices}")

    def role_of(loc: tuple[str | int, ...], audience: str) -> Iterator[Problem]:
        if audience.startswith("role:"):
            yield from known(loc, audience[5:], roles, "role")

    for i, m in enumerate(sch.messages):
        yield from known(("messages", i, "phase"), m.phase, phases, "phase")
        yield from known(("messages", i, "option"), m.option, options, "option")
        yield from role_of(("messages", i, "audience"), m.audience)
        for j, ask in enumerate(m.asks):
            yield from known(("messages", i, "asks", j), ask, obligations, "obligation")
        for j, res in enumerate(m.resources):
            yield from known(("messages", i, "resources", j), res, resources, "resource")
    for i, p in enumerate(sch.phases):
        for j, res in enumerate(p.resources):
            yield from known(("phases", i, "resources", j), res, resources, "resource")
    for i, e in enumerate(sch.events):
        yield from known(("events", i, "phase"), e.phase, phases, "phase")
        yield from role_of(("events", i, "audience"), e.audience)
    for i, o in enumerate(sch.obligations):
        yield from known(("obligations", i, "form"), o.form, forms, "form")
        yield from known(("obligations", i, "phase"), o.phase, phases, "phase")
        yield from role_of(("obligations", i, "who"), o.who)
    for i, r in enumerate(sch.resources):
        if r.file and not (program.schedule_dir / r.file).is_file():
            yield s.problem(("resources", i, "file"), f"no file {r.file!r} beside the schedule")
    if sch.program.pair_roles:
        for j, role in enumerate(sch.program.pair_roles):
            yield from known(("program", "pair_roles", j), role, roles, "role")
    for i, rule in enumerate(sch.eligibility):
        yield from known(("eligibility", i, "role"), rule.role, roles, "role")


def _check_windows(program: Program) -> Iterator[Problem]:
    from daemon.program.windows import event_span, obligation_windows, phase_span

    s = program.schedule_source
    first, end = program.start, program.end
    span = f"the program runs {first} to {end - dt.timedelta(days=1)}"
    info = program.schedule.program
    if info.start_weekday and WEEKDAYS[first.weekday()] != info.start_weekday:
        yield program.config_source.problem(
            ("program", "start"),
            f"{first} is a {WEEKDAYS[first.weekday()]}; "
            f"this program starts on a {info.start_weekday}",
            f"pick a {info.start_weekday}",
        )
    for i, phase in enumerate(program.schedule.phases):
        lo, hi = phase_span(phase, first)
        if hi < lo:
            yield s.problem(("phases", i), "phase ends before it starts")
        elif lo < first or hi >= end:
            yield s.problem(
                ("phases", i), f"phase {lo}–{hi} lies outside the program {first}–{end}"
            )
    for i, event in enumerate(program.schedule.events):
        begin, finish = event_span(event, first, program.tz)
        if finish <= begin:
            yield s.problem(
                ("events", i, "end"), "event ends before it starts", "end must be after start"
            )
    for i, ob in enumerate(program.schedule.obligations):
        for opens, due in obligation_windows(ob, first):
            if due <= opens:
                yield s.problem(
                    ("obligations", i), f"window closes ({due}) before it opens ({opens})"
                )
                break
            if opens.date() < first or due.date() >= end:
                yield s.problem(
                    ("obligations", i),
                    f"window {opens:%Y-%m-%d} to {due:%Y-%m-%d} lies outside the program; {span}",
                    "move the window inside the program, or lengthen the program (weeks or months)",
                )
                break


def _check_roster(program: Program) -> Iterator[Problem]:
    sch: Schedule = program.schedule
    entries = program.roster_entries
    info = sch.program
    where = {id(e.participant): e for e in entries}

    def at(p: Participant, key: str, message: str, hint: str = "") -> Problem:
        e = where[id(p)]
        return Problem(e.file, e.line, key, message, hint)

    addresses = Counter(
        a.lower() for e in entries for a in (e.participant.email, *e.participant.aliases)
    )
    addresses.update(o.email.lower() for o in program.organizers)
    reported: set[str] = set()
    for e in entries:
        for address in (e.participant.email, *e.participant.aliases):
            if addresses[address.lower()] > 1 and address.lower() not in reported:
                reported.add(address.lower())
                yield Problem(
                    e.file,
                    e.line,
                    "email",
                    f"duplicate participant {address}",
                    "each address may appear once in the roster and organizers",
                )
    options = {o.id for o in sch.options}
    for p in program.participants:
        if p.role not in info.roles:
            yield at(p, "role", f"unknown role {p.role!r}", f"use one of: {', '.join(info.roles)}")
        for opt in p.options:
            if opt not in options:
                yield at(
                    p,
                    "options",
                    f"unknown option {opt!r}",
                    f"known options: {', '.join(sorted(options)) or 'none'}",
                )
        if info.structure == "groups" and not p.group:
            yield at(
                p, "group", "no group", "this program works in small groups; give each a group"
            )
        if info.structure == "pairs" and not p.pair:
            yield at(
                p, "pair", "no pair", "this program works in pairs; give both partners a pair id"
            )
        yield from (
            at(p, f"attributes.{r.attribute}", msg, hint)
            for r, msg, hint in _ineligible(p, sch.eligibility)
        )
    for pair_id, members in program.pairs().items():
        if len(members) == 1:
            yield at(
                members[0],
                "pair",
                f"pair {pair_id!r} has no partner",
                "add the partner with the same pair id, or remove the pair id",
            )
        elif len(members) > 2:
            yield at(
                members[2], "pair", f"pair {pair_id!r} has {len(members)} members", "a pair has two"
            )
        elif info.pair_roles and sorted(m.role for m in members) != sorted(info.pair_roles):
            yield at(
                members[1],
                "pair",
                f"pair {pair_id!r} is {members[0].role} + {members[1].role}",
                f"a pair is one {info.pair_roles[0]} and one {info.pair_roles[1]}",
            )


def _ineligible(
    p: Participant, rules: Iterable[EligibilityRule]
) -> Iterator[tuple[EligibilityRule, str, str]]:
    for rule in rules:
        if rule.role and rule.role != p.role:
            continue
        value = p.attributes.get(rule.attribute)
        if value is None:
            yield (
                rule,
                f"ineligible: {rule.message} ({rule.attribute} not given)",
                f"add a {rule.attribute} column",
            )
            continue
        ok = True
        if rule.min is not None:
            ok = (
                isinstance(value, int | float) and not isinstance(value, bool) and value >= rule.min
            )
        elif rule.equals is not None:
            ok = value == rule.equals
        elif rule.one_of:
            ok = str(value) in rule.one_of
        if not ok:
            yield (
                rule,
                f"ineligible: {rule.message} (has {value!r})",
                "check the roster, or remove the participant",
            )


def _check_config(program: Program) -> Iterator[Problem]:
    known = {r.id for r in program.schedule.resources}
    for key in program.config.program.resources:
        if key not in known:
            yield program.config_source.problem(
                ("program", "resources", key),
                f"unknown resource {key!r}",
                f"the schedule's resources are: {', '.join(sorted(known)) or 'none'}",
            )
