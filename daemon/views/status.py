"""The organizers' picture as of an instant (`mentormail status`): every obligation that has
opened with its state and who answered, the check-ins (when, for what — never what they
said) and the RSVPs. Read-only over the plan and the store. JSON as ARCHITECTURE.md specifies;
the table groups obligations by pair or group, times in the first organizer's zone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from daemon.config.load import Program
from daemon.decide.states import ObligationState, adjustments, evaluate_all
from daemon.ledger.records import Rsvp
from daemon.program.timeline import Action, plan
from daemon.program.timespec import iso_z
from daemon.store.sqlite import Store


def overview(program: Program, store: Store, at: dt.datetime) -> dict[str, Any]:
    timeline = plan(program)
    obligations = {o.id: o for o in program.schedule.obligations}
    checkins = [(when, c) for when, c in store.checkins() if when <= at]
    decided = adjustments((when, c) for when, c in store.commands() if when <= at)
    states = evaluate_all(timeline, obligations, checkins, at, decided)
    events = {e.uid: e.attendee for e in store.events().values()}
    return {
        "at": iso_z(at),
        "program": program.id,
        "obligations": [_obligation(s) for s in sorted(states.values(), key=_order)],
        "checkins": [
            {
                "participant": c.participant,
                "at": iso_z(when),
                "obligations": list(c.obligations),
                "answer": c.answer,
            }
            for when, c in checkins
        ],
        "rsvps": [
            {"participant": events.get(r.uid, r.attendee), "uid": r.uid, "partstat": r.partstat}
            for r in store.rsvps()
        ],
        "next_event": _next_event(timeline, store.rsvps(), at),
        "bouncing": sorted(store.bouncing()),
        "unmatched": store.inbox_counts().get("unmatched", 0),
    }


def _next_event(
    timeline: list[Action], rsvps: list[Rsvp], at: dt.datetime
) -> dict[str, Any] | None:
    """The next event and how the people invited to it answered (one invitation each)."""
    upcoming = [a for a in timeline if a.kind == "invite" and a.starts_at and a.starts_at > at]
    if not upcoming:
        return None
    first = min(upcoming, key=lambda a: (a.starts_at, a.item))
    invited = {a.uid for a in upcoming if a.item == first.item and a.starts_at == first.starts_at}
    answers = {r.uid: r.partstat.lower() for r in rsvps if r.uid in invited}
    counts = {"accepted": 0, "declined": 0, "tentative": 0}
    for partstat in answers.values():
        counts[partstat] = counts.get(partstat, 0) + 1
    return {
        "title": first.title,
        "starts_at": iso_z(first.starts_at) if first.starts_at else None,
        **counts,
        "no_answer": len(invited) - len(answers),
    }


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
            lines += ["", unit or "(each person)"]
            current = unit
        due = dt.datetime.fromisoformat(o["due_at"]).astimezone(tz) if o["due_at"] else None
        who = ", ".join(names.get(p, p) for p in (o["answered_by"] or o["who"]))
        mark = "answered by" if o["answered_by"] else "for"
        lines.append(
            f"  {o['state']:<9} {o['title']:<34} due {due:%a %d %b} " if due else
            f"  {o['state']:<9} {o['title']:<34} "
        )  # fmt: skip
        lines[-1] += f"{mark} {who}"
    totals = (
        f"{len(view['checkins'])} check-ins, {len(view['rsvps'])} RSVPs, "
        f"{len(view['bouncing'])} bouncing addresses, {view['unmatched']} unmatched mails"
    )
    lines += ["", totals]
    return "\n".join(lines) + "\n"


def _obligation(s: ObligationState) -> dict[str, Any]:
    return {
        "key": s.key,
        "title": s.title,
        "who": list(s.who),
        "due_at": iso_z(s.due_at) if s.due_at else None,
        "state": s.state,
        "answered_by": list(s.answered_by),
        "missing": list(s.missing),
    }


def _order(s: ObligationState) -> tuple[str, dt.datetime, str]:
    unit = s.key.split("/")[-2] if s.key.count("/") >= 4 else ""
    return unit, s.due_at or dt.datetime.max.replace(tzinfo=dt.UTC), s.key
