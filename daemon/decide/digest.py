"""What the organizers' weekly digest says (when it goes is planned: program/digest_actions.py).

It is decided when it is due, from the ledger as it is then: per pair or
group the obligations met, pending and overdue (and who still owes an answer), the RSVPs to
the next event, bounces, pauses, withdrawals and the count of unmatched mail. Never what
anybody wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daemon.decide.standing import Standing
from daemon.program.instance import Program


def digest_context(
    program: Program, view: dict[str, Any], standing: Mapping[str, Standing], week: int
) -> dict[str, Any]:
    """The `digest` part of the template context: units with their obligations' states."""
    names = {p.email: p.name for p in program.participants}
    units: dict[str, dict[str, Any]] = {}
    for o in view["obligations"]:
        unit = units.setdefault(o["key"].split("/")[-2], {"met": 0, "pending": 0, "overdue": 0,
                                                           "excused": 0, "owing": []})  # fmt: skip
        state = "met" if o["state"] == "met_late" else o["state"]
        unit[state] += 1
        if o["state"] == "overdue":
            who = ", ".join(names.get(p, p) for p in o["missing"])
            unit["owing"].append(f"{o['title']} ({who})")
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
        "paused": sorted(
            names.get(w, w) for w, s in standing.items() if s.paused_at and not s.withdrawn_at
        ),
        "withdrawn": sorted(names.get(w, w) for w, s in standing.items() if s.withdrawn_at),
        "unmatched": view["unmatched"],
        "refused": view["refused"],
        "checkins": len(view["checkins"]),
    }


def _unit_name(key: str, names: dict[str, str]) -> str:
    kind, _, name = key.partition(":")
    return f"{kind.title()} {name}" if kind in ("group", "pair") else names.get(key, key)
