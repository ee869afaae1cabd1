"""Presenting a timeline: the JSON of ARCHITECTURE.md and a readable table grouped by week."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from daemon.program.instance import Program
from daemon.program.timeline import Action
from daemon.program.timespec import iso_z

_OPTIONAL = ("uid", "starts_at", "ends_at", "opens_at", "due_at", "who")


def action_json(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": action.kind,
        "key": action.key,
        "at": iso_z(action.at),
        "recipients": list(action.recipients),
        "title": action.title,
        "item": action.item,
    }
    if action.scope:
        out["scope"] = action.scope
    if action.asks:
        out["asks"] = list(action.asks)
    for name in _OPTIONAL:
        value = getattr(action, name)
        if isinstance(value, tuple):
            if value:
                out[name] = list(value)
        elif isinstance(value, str):
            if value:
                out[name] = value
        elif value is not None:
            out[name] = iso_z(value)
    return out


def plan_json(timeline: list[Action]) -> str:
    return json.dumps([action_json(a) for a in timeline], indent=1)


def filter_participant(timeline: list[Action], addresses: set[str]) -> list[Action]:
    """What one person receives, and the obligations they hold."""
    wanted = {a.lower() for a in addresses}
    return [
        a
        for a in timeline
        if wanted & {r.lower() for r in a.recipients}
        or (a.kind == "obligation" and wanted & {w.lower() for w in a.who})
    ]


def plan_table(program: Program, timeline: list[Action], tz: ZoneInfo, heading: str) -> str:
    """A week-by-week table in `tz`. Sends of one item to many people (each at their own local
    time) are one row: the first instant, the number of recipients and the spread of instants."""
    lines = [f"{program.title} — {heading}", f"All times in {tz.key}.", ""]
    weeks: dict[int, dict[tuple[str, str, int, str], list[Action]]] = {}
    for action in timeline:
        # weeks as the reader lives them: by the local date where the table is shown
        week = max(0, (action.at.astimezone(tz).date() - program.start).days // 7 + 1)
        weeks.setdefault(week, {}).setdefault(
            (action.kind, action.item, action.occurrence, action.title), []
        ).append(action)
    last_week = program.weeks
    for week, rows in sorted(weeks.items()):
        label = (
            "Before the program"
            if week == 0
            else f"After the program (week {week})"
            if week > last_week
            else f"Week {week}"
        )
        lines += [label, "-" * len(label)]
        for group in sorted(rows.values(), key=lambda g: (g[0].at, g[0].key)):
            lines.append(_row(group, tz))
        lines.append("")
    return "\n".join(lines)


def _row(group: list[Action], tz: ZoneInfo) -> str:
    first = group[0]
    when = f"{first.at.astimezone(tz):%a %b %d %H:%M %Z}"
    about = first.kind == "obligation"
    people = sorted({r for a in group for r in (a.who if about else a.recipients)})
    who = ", ".join(people) if len(people) <= 2 else f"{len(people)} people"
    if first.kind == "flag":
        who = (
            f"the organizers, about {len(group)} {_unit(first)}s"
            if len(group) > 1
            else (f"the organizers, about {', '.join(first.who)}")
        )
    elif about and len(group) > 1:  # each their own: not "6 people in 6 participants"
        shared = len(group) < len(people)
        who += f" in {len(group)} {_unit(first)}s" if shared else ", each their own"
    spread = ""
    last = max(a.at for a in group)
    if last != first.at:
        spread = f" (each at their local time, until {last.astimezone(tz):%a %H:%M})"
    detail = ""
    if first.kind == "invite" and first.starts_at:
        detail = f" [event {first.starts_at.astimezone(tz):%a %b %d %H:%M %Z}]"
    elif first.due_at and first.kind == "obligation":
        detail = f" [due {first.due_at.astimezone(tz):%a %b %d %H:%M %Z}]"
    return f"  {when}  {first.kind:<10} {first.title}{detail} → {who}{spread}"


def _unit(action: Action) -> str:
    return action.scope.split(":")[0] if ":" in action.scope else "participant"
