"""What the organizers' weekly digest says (when it goes is planned: program/digest_actions.py).

It is decided when it is due, from the ledger as it is then: per pair or
group the obligations met, pending and overdue (and who still owes an answer), the RSVPs to
the next event, bounces, pauses, withdrawals and the count of unmatched mail. Never what
anybody wrote.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from daemon.program.instance import Program
from daemon.program.refs import command_links, key_parts, window_ref


def digest_context(program: Program, view: dict[str, Any], week: int) -> dict[str, Any]:
    """The `digest` part of the template context: units with their obligations' states."""
    names = {p.email: p.name for p in program.participants}
    units: dict[str, dict[str, Any]] = {}
    untracked = 0
    for o in view["obligations"]:
        if o["state"] == "untracked":
            untracked += 1
            continue
        unit = units.setdefault(o["key"].split("/")[-2], {"met": 0, "pending": 0, "overdue": 0,
                                                           "excused": 0, "owing": []})  # fmt: skip
        state = "met" if o["state"] == "met_late" else o["state"]
        unit[state] += 1
        if o["state"] == "overdue":
            unit["owing"].append(_owing(program, o, names))
    rows = [{"name": _unit_name(key, names), **counts} for key, counts in sorted(units.items())]
    partstats: dict[str, int] = {}
    for r in view["rsvps"]:
        partstats[r["partstat"].lower()] = partstats.get(r["partstat"].lower(), 0) + 1
    return {
        "week": week,
        "units": rows,
        "rsvps": partstats,
        "next_event": view.get("next_event"),
        "bouncing": [names.get(a, a) + f" <{a}>" for a in view["bouncing"]],
        # who is paused and who left, as `status` says it (the same view)
        "paused": sorted(names.get(p["participant"], p["participant"]) for p in view["paused"]),
        "withdrawn": sorted(
            names.get(w["participant"], w["participant"]) for w in view["withdrawn"]
        ),
        "unmatched": view["unmatched"],
        "refused": view["refused"],
        "checkins": len(view["checkins"]),
        "untracked": untracked,
    }


def _owing(program: Program, o: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """An overdue window: its title, who still owes it, its id for commands and ready-made
    EXCUSE / EXTEND replies."""
    ob_id, _, k = key_parts(o["key"])
    ob = next((x for x in program.schedule.obligations if x.id == ob_id), None)
    ref = window_ref(ob_id, k, ob is not None and ob.repeat is not None)
    member = (o["missing"] or o["who"] or [""])[0]
    due = dt.datetime.fromisoformat(o["due_at"]) if o["due_at"] else None
    links = command_links(program.sender.reply_base, member, ref, due, program.tz) if due else {}
    return {
        "title": o["title"],
        "who": ", ".join(names.get(p, p) for p in o["missing"]),
        "id": ref,
        **links,
    }


def _unit_name(key: str, names: dict[str, str]) -> str:
    kind, _, name = key.partition(":")
    return f"{kind.title()} {name}" if kind in ("group", "pair") else names.get(key, key)
