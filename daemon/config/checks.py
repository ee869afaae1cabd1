"""Cross-reference checks on a loaded program: ids, windows, roster shape, eligibility.

Each check returns Problems with the file and line of the offending key; nothing raises here.
"""

from __future__ import annotations

from collections.abc import Iterator

from daemon.config.check_roster import check_roster
from daemon.config.check_timing import check_timing
from daemon.config.deployment import Deployment
from daemon.errors import Problem


def check_program(deployment: Deployment) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_ids(deployment)
    problems += _check_references(deployment)
    problems += check_timing(deployment)
    problems += check_roster(deployment)
    problems += _check_config(deployment)
    return problems


def _check_ids(deployment: Deployment) -> Iterator[Problem]:
    s = deployment.schedule_source
    sch = deployment.program.schedule
    for kind in ("options", "resources", "phases", "messages", "events", "obligations", "forms"):
        seen: dict[str, int] = {}
        for i, item in enumerate(getattr(sch, kind)):
            first = seen.setdefault(item.id, i)
            if first != i:
                where = f"{s.name}:{s.line((kind, first, 'id'))} ({kind}[{first}])"
                hint = f"already used at {where}; ids must be unique"
                yield s.problem((kind, i, "id"), f"duplicate id {item.id!r}", hint)


def _check_references(deployment: Deployment) -> Iterator[Problem]:
    s = deployment.schedule_source
    sch = deployment.program.schedule
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
        if e.first is not None and e.audience not in ("each_pair", "each_group"):
            yield s.problem(
                ("events", i, "audience"),
                f"a per-pair/group event (first = ...) needs audience each_pair or each_group, "
                f"not {e.audience!r}",
                "or give the event a fixed start, end and timezone",
            )
    per_unit = {e.id: e.audience for e in sch.events if e.first is not None}
    for i, o in enumerate(sch.obligations):
        yield from known(("obligations", i, "form"), o.form, forms, "form")
        if o.after_event and o.after_event not in per_unit:
            yield s.problem(
                ("obligations", i, "after_event"),
                f"{o.after_event!r} is not a per-pair or per-group event",
                "name an event with first = ... and audience each_pair or each_group",
            )
        yield from known(("obligations", i, "phase"), o.phase, phases, "phase")
        yield from role_of(("obligations", i, "who"), o.who)
        if o.request is not None and o.request.template == "":
            yield s.problem(("obligations", i, "request", "template"), "empty template name")
    units = {"groups": "each_group", "pairs": "each_pair"}
    wrong = {v for k, v in units.items() if k != sch.program.structure}
    for kind in ("messages", "events", "obligations"):
        for i, item in enumerate(getattr(sch, kind)):
            field = "who" if kind == "obligations" else "audience"
            if getattr(item, field) in wrong:
                yield s.problem(
                    (kind, i, field),
                    f"{getattr(item, field)} in a program of {sch.program.structure}",
                    "nobody would get it: use the program's own units, a role, or all",
                )
    if sch.program.pair_roles:
        for j, role in enumerate(sch.program.pair_roles):
            yield from known(("program", "pair_roles", j), role, roles, "role")
    for i, rule in enumerate(sch.eligibility):
        yield from known(("eligibility", i, "role"), rule.role, roles, "role")


def _check_config(deployment: Deployment) -> Iterator[Problem]:
    schedule = deployment.program.schedule
    for kind, known in (
        ("resources", {r.id for r in schedule.resources}),
        ("events", {e.id for e in schedule.events}),
    ):
        for key in getattr(deployment.settings.program, kind):
            if key not in known:
                yield deployment.config_problem(
                    ("program", kind, key),
                    f"unknown {kind[:-1]} {key!r}",
                    f"the schedule's {kind} are: {', '.join(sorted(known)) or 'none'}",
                )
