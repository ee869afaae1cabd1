"""Roster checks: unique addresses, roles, options, pairs and groups, eligibility."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from daemon.config.deployment import Deployment
from daemon.config.roster import RosterEntry
from daemon.errors import Problem
from daemon.program.people import Participant
from daemon.program.schedule import EligibilityRule

Locator = Callable[[Participant, str, str, str], Problem]


def check_roster(deployment: Deployment) -> Iterator[Problem]:
    program = deployment.program
    info = program.schedule.program
    entry = {id(e.participant): e for e in deployment.roster_entries}

    def at(p: Participant, key: str, message: str, hint: str = "") -> Problem:
        e: RosterEntry = entry[id(p)]
        return Problem(e.file, e.line_of(key), key, message, hint)

    seen = _organizers(deployment)
    for e in deployment.roster_entries:
        for address in (e.participant.email, *e.participant.aliases):
            first = seen.setdefault(address.lower(), f"{e.file}:{e.line}")
            if first != f"{e.file}:{e.line}":
                yield Problem(
                    e.file, e.line_of("email"), "email", f"duplicate participant {address}",
                    f"already given at {first}; each address may appear once",
                )  # fmt: skip
    options = {o.id for o in program.schedule.options}
    for p in program.participants:
        if p.role not in info.roles:
            yield at(p, "role", f"unknown role {p.role!r}", f"use one of: {', '.join(info.roles)}")
        for opt in p.options:
            if opt not in options:
                known = ", ".join(sorted(options)) or "none"
                yield at(p, "options", f"unknown option {opt!r}", f"known options: {known}")
        if info.structure == "groups" and not p.group:
            yield at(
                p, "group", "no group", "this program works in small groups; give each a group"
            )
        if info.structure == "pairs" and not p.pair:
            yield at(
                p, "pair", "no pair", "this program works in pairs; give both partners a pair id"
            )
        for rule, message, hint in _ineligible(p, program.schedule.eligibility):
            yield at(p, f"attributes.{rule.attribute}", message, hint)
    yield from _units(deployment, at)


def _organizers(deployment: Deployment) -> dict[str, str]:
    """Each organizer's address (lower-cased), with where it is written ("FILE:LINE")."""
    source = deployment.config_source
    rows = source.data.get("organizers")
    written = [
        str(row.get("email", "")).strip().lower() if isinstance(row, dict) else ""
        for row in (rows if isinstance(rows, list) else [])
    ]
    where: dict[str, str] = {}
    for organizer in deployment.program.organizers:
        email = organizer.email.lower()
        line = source.line(("organizers", written.index(email), "email")) if email in written else 0
        where.setdefault(email, f"{source.name}:{line} (an organizer)" if line else "an organizer")
    return where


def _units(deployment: Deployment, at: Locator) -> Iterator[Problem]:
    program = deployment.program
    info = program.schedule.program
    for pair_id, members in program.pairs().items():
        if f"pair:{pair_id}" in deployment.dropped_units:
            continue  # the partner's own row was refused; that problem is reported already
        if len(members) == 1:
            yield at(members[0], "pair", f"pair {pair_id!r} has no partner",
                     "add the partner with the same pair id, or remove the pair id")  # fmt: skip
        elif len(members) > 2:
            yield at(
                members[2], "pair", f"pair {pair_id!r} has {len(members)} members", "a pair has two"
            )
        elif info.pair_roles and sorted(m.role for m in members) != sorted(info.pair_roles):
            roles = f"{members[0].role} + {members[1].role}"
            wanted = f"a pair is one {info.pair_roles[0]} and one {info.pair_roles[1]}"
            yield at(members[1], "pair", f"pair {pair_id!r} is {roles}", wanted)
    if info.structure == "groups":
        for group_id, members in program.groups().items():
            if len(members) == 1 and f"group:{group_id}" not in deployment.dropped_units:
                yield at(members[0], "group", f"group {group_id!r} has only one member",
                         "check the spelling of the group id")  # fmt: skip


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
                (f"add a {rule.attribute} column (or attribute)"),
            )
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if rule.min is not None and not number:
            yield rule, f"{rule.attribute} must be a number, not {value!r}", "write a number"
            continue
        ok = (
            value >= rule.min  # type: ignore[operator]
            if rule.min is not None
            else value == rule.equals
            if rule.equals is not None
            else str(value) in rule.one_of
        )
        if not ok:
            yield (
                rule,
                f"ineligible: {rule.message} (has {value!r})",
                ("check the roster, or remove the participant"),
            )
