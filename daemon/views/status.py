"""`mentormail status`: the organizers' picture (decide/overview.py) as JSON, as
ARCHITECTURE.md specifies, or as a table grouping obligations by pair or group, times in the
first organizer's zone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from daemon.program.instance import Program
from daemon.views.outbox import outbox_text, shown


def overview_json(view: dict[str, Any]) -> str:
    return json.dumps(view, indent=1)


def overview_table(program: Program, view: dict[str, Any]) -> str:
    tz = ZoneInfo(program.organizers[0].timezone) if program.organizers else program.tz
    at = dt.datetime.fromisoformat(view["at"]).astimezone(tz)
    lines = [f"{program.title} — status on {at:%a %d %b %Y %H:%M} {tz.key}", ""]
    counts: dict[str, int] = {}
    for o in view["obligations"]:
        counts[o["state"]] = counts.get(o["state"], 0) + 1
    lines.append(
        "  ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing open yet"
    )
    names = {p.email: p.name for p in program.participants}
    current = None
    for o in view["obligations"]:
        unit = o["key"].split("/")[-2] if o["key"].count("/") >= 4 else ""
        if unit != current:
            person = f"{names[unit]} <{unit}>" if unit in names else unit
            lines += ["", person or "(each person)"]
            current = unit
        who = ", ".join(names.get(p, p) for p in (o["answered_by"] or o["who"]))
        mark = "answered by" if o["answered_by"] else "for"
        due = o["due_at"]
        lines.append(
            f"  {o['state']:<9} {o['title']:<34} due {shown(due, tz, at, time=False)} " if due else
            f"  {o['state']:<9} {o['title']:<34} "
        )  # fmt: skip
        lines[-1] += f"{mark} {who}"
    totals = (
        f"{len(view['checkins'])} check-ins, {len(view['rsvps'])} RSVPs, "
        f"{len(view['bouncing'])} bouncing addresses, {view['unmatched']} unmatched mails, "
        f"{view['refused']} refused (sender not vouched for)"
    )
    lines += ["", totals]
    if "untracked" in counts:
        lines.append(
            "untracked: its check-in requests fell due before mentormail started, so nobody "
            "was asked; it is never flagged."
        )
    for paused in view.get("paused", []):
        until = paused["until"]
        end = (
            f"until {shown(until, tz, at, time=False)}"
            if until else "until RESUME"
        )  # fmt: skip
        lines.append(f"Paused: {names.get(paused['participant'], paused['participant'])} {end}")
    for left in view.get("withdrawn", []):
        when = shown(left["at"], tz, at, time=False)
        lines.append(f"Withdrew: {names.get(left['participant'], left['participant'])} on {when}")
    service = view["service"]
    if service["sending_held_until"]:
        until = shown(service["sending_held_until"], tz, at)
        lines.append(f"Sending is held until {until}: "
                     f"{service['sending_held_because']}")  # fmt: skip
    if service["mailbox_problem"]:
        since = shown(service["mailbox_problem_since"], tz, at)
        lines.append(f"The mailbox has not been read since {since}: "
                     f"{service['mailbox_problem']}")  # fmt: skip
    if "outbox" in view:
        lines += outbox_text(view["outbox"], tz, at)
    return "\n".join(lines) + "\n"
