"""The organizers' picture as of an instant, as data: every obligation that has opened with its
state and who answered, the check-ins (when, for what — never what they said), the RSVPs and
how the next event's invitees answered, bouncing addresses and unmatched mail. Pure, over the
timeline and a ledger snapshot; `status` shows it (views/status.py), the digest sums it up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from daemon.decide.standing import Standing, after_leaving, standings
from daemon.decide.states import DONE, ObligationState, adjustments, evaluate_all
from daemon.decide.tracking import untracked
from daemon.ledger.records import Rsvp
from daemon.ledger.snapshot import Snapshot
from daemon.program.instance import Program
from daemon.program.timeline import Action
from daemon.program.timespec import iso_z, zone


def overview(
    program: Program, timeline: list[Action], snapshot: Snapshot, at: dt.datetime
) -> dict[str, Any]:
    obligations = {o.id: o for o in program.schedule.obligations}
    zones: dict[str, dt.tzinfo] = {p.email: zone(p.timezone) for p in program.participants}
    standing = standings(((when, c) for when, c in snapshot.commands if when <= at), zones)
    timeline = after_leaving(timeline, standing)  # who left is not named in later windows
    checkins = [(when, c) for when, c in snapshot.checkins if when <= at]
    decided = adjustments((when, c) for when, c in snapshot.commands if when <= at)
    states = evaluate_all(timeline, obligations, checkins, at, decided)
    unasked = untracked(timeline, snapshot, at)
    events = {e.uid: e.attendee for e in snapshot.events.values()}
    return {
        "at": iso_z(at),
        "program": program.id,
        "obligations": [
            _obligation(s, s.key in unasked) for s in sorted(states.values(), key=_order)
        ],
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
            for r in snapshot.rsvps
        ],
        "next_event": _next_event(timeline, snapshot.rsvps, at),
        "bouncing": sorted(snapshot.bouncing),
        "unmatched": snapshot.unmatched,
        "refused": snapshot.refused,
        "service": _service(snapshot, at),
        **_standing(standing, at),
    }


def _standing(standing: Mapping[str, Standing], at: dt.datetime) -> dict[str, Any]:
    """Who is on a pause right now (since when, until when: null until RESUME) and who left."""
    return {
        "paused": [
            {
                "participant": who,
                "since": iso_z(s.paused_at) if s.paused_at else None,
                "until": iso_z(s.paused_until) if s.paused_until else None,
            }
            for who, s in sorted(standing.items())
            if s.paused(at)
        ],
        "withdrawn": [
            {"participant": who, "at": iso_z(s.withdrawn_at)}
            for who, s in sorted(standing.items())
            if s.withdrawn_at is not None
        ],
    }


def _service(snapshot: Snapshot, at: dt.datetime) -> dict[str, Any]:
    """What keeps the service from sending or reading, as of `at`, and why."""
    hold = snapshot.hold if snapshot.hold is not None and snapshot.hold.until > at else None
    problem = snapshot.mailbox_problem
    return {
        "sending_held_until": iso_z(hold.until) if hold else None,
        "sending_held_because": hold.reason if hold else "",
        "mailbox_problem_since": iso_z(problem[0]) if problem else None,
        "mailbox_problem": problem[1] if problem else "",
    }


def _next_event(
    timeline: list[Action], rsvps: tuple[Rsvp, ...], at: dt.datetime
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


def _obligation(s: ObligationState, unasked: bool) -> dict[str, Any]:
    """One window; "untracked" when nobody was asked about it and nobody answered it either
    (mentormail started after its requests were due): it is never overdue nor flagged."""
    return {
        "key": s.key,
        "title": s.title,
        "who": list(s.who),
        "due_at": iso_z(s.due_at) if s.due_at else None,
        "state": "untracked" if unasked and s.state not in DONE else s.state,
        "answered_by": list(s.answered_by),
        "missing": list(s.missing),
    }


def _order(s: ObligationState) -> tuple[str, dt.datetime, str]:
    unit = s.key.split("/")[-2] if s.key.count("/") >= 4 else ""
    return unit, s.due_at or dt.datetime.max.replace(tzinfo=dt.UTC), s.key
