"""The state of each obligation, from the evidence (pure): the same inputs always give the same
states.

    pending --answered--> met            (every required person answered in time)
    pending --due passed--> overdue
    overdue --answered--> met_late
    any     --excused--> excused

Who must answer: for `satisfied_by = "all"` ("both parties": an agreement signed by mentor and
mentee) everyone the obligation is for; for `"any"` (a small group met) one of them. An answer
is a check-in that counted for the obligation (a "no" never does). The due instant is the
planned one, or a later one an organizer set with EXTEND. States are computed as of an instant
by replaying the events in time order through the transition table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from daemon.ledger.records import Checkin, Command
from daemon.program.schedule import Obligation
from daemon.program.timeline import Action

State = Literal["pending", "met", "met_late", "overdue", "excused"]
Happening = Literal["answered", "due passed", "excused"]
DONE: frozenset[State] = frozenset({"met", "met_late", "excused"})

TRANSITIONS: dict[tuple[State, Happening], State] = {
    ("pending", "answered"): "met",
    ("pending", "due passed"): "overdue",
    ("overdue", "answered"): "met_late",
    ("pending", "excused"): "excused",
    ("overdue", "excused"): "excused",
    ("met", "excused"): "excused",
    ("met_late", "excused"): "excused",
}


@dataclass(frozen=True)
class ObligationState:
    key: str
    title: str
    who: tuple[str, ...]
    due_at: dt.datetime | None
    state: State
    answered_by: tuple[str, ...]  # who has a counting check-in (names no text)
    missing: tuple[str, ...]  # who still has to answer (for "all"; empty once met)
    since: dt.datetime | None  # when it reached this state


@dataclass(frozen=True)
class Adjustments:
    """What organizers decided: obligation keys excused (with when), and new due instants."""

    excused: dict[str, dt.datetime]
    extended: dict[str, dt.datetime]


NO_ADJUSTMENTS = Adjustments({}, {})


def adjustments(commands: Iterable[tuple[dt.datetime, Command]]) -> Adjustments:
    """The organizers' EXCUSE and EXTEND decisions, from the recorded commands in order."""
    excused: dict[str, dt.datetime] = {}
    extended: dict[str, dt.datetime] = {}
    for at, command in commands:
        key = command.args.get("key")
        if not isinstance(key, str):
            continue
        if command.name == "EXCUSE":
            excused.setdefault(key, at)
        elif command.name == "EXTEND" and isinstance(until := command.args.get("until"), str):
            extended[key] = dt.datetime.fromisoformat(until)
    return Adjustments(excused, extended)


def evaluate(
    instance: Action,
    obligation: Obligation,
    checkins: Iterable[tuple[dt.datetime, Checkin]],
    now: dt.datetime,
    adjustments: Adjustments = NO_ADJUSTMENTS,
) -> ObligationState:
    """The state of one obligation instance (an `obligation` action) as of `now`."""
    key, who = instance.key, instance.who
    due = adjustments.extended.get(key, instance.due_at)
    answers: dict[str, dt.datetime] = {}
    for at, checkin in sorted(checkins, key=lambda c: c[0]):
        if at <= now and key in checkin.obligations and checkin.participant in who:
            answers.setdefault(checkin.participant, at)
    needed = 1 if obligation.satisfied_by == "any" else len(who)
    complete_at = sorted(answers.values())[needed - 1] if len(answers) >= needed else None
    happenings: list[tuple[dt.datetime, int, Happening]] = []
    if complete_at is not None:
        happenings.append((complete_at, 0, "answered"))
    if due is not None and due < now:
        happenings.append((due, 1, "due passed"))
    if key in adjustments.excused and adjustments.excused[key] <= now:
        happenings.append((adjustments.excused[key], 2, "excused"))
    state: State = "pending"
    since: dt.datetime | None = instance.at
    for at, _, happening in sorted(happenings):
        after = TRANSITIONS.get((state, happening))
        if after is not None:
            state, since = after, at
    missing = () if state in DONE else tuple(p for p in who if p not in answers)
    return ObligationState(
        key, instance.title, who, due, state, tuple(p for p in who if p in answers), missing, since
    )


def evaluate_all(
    timeline: Iterable[Action],
    obligations: dict[str, Obligation],
    checkins: list[tuple[dt.datetime, Checkin]],
    now: dt.datetime,
    adjustments: Adjustments = NO_ADJUSTMENTS,
) -> dict[str, ObligationState]:
    """Every obligation instance that has opened by `now`, by key."""
    relevant: dict[str, list[tuple[dt.datetime, Checkin]]] = {}
    for at, checkin in checkins:
        for key in checkin.obligations:
            relevant.setdefault(key, []).append((at, checkin))
    return {
        a.key: evaluate(a, obligations[a.item], relevant.get(a.key, []), now, adjustments)
        for a in timeline
        if a.kind == "obligation" and a.at <= now and a.item in obligations
    }


def about_lateness(action: Action) -> bool:
    """An overdue notice to a participant or a flag to the organizers: mail that says an
    obligation is late (what a pause suspends, an EXTEND defers, and nobody gets about a
    window nobody was asked about)."""
    return action.kind == "flag" or action.template == "overdue"


def not_overdue_yet(action: Action, states: dict[str, ObligationState]) -> bool:
    """An overdue notice or a flag whose obligations are all still pending (an organizer
    extended the deadline): not now — decided again at every pass until it is overdue."""
    if not about_lateness(action):
        return False
    found = [states.get(key) for key in action.asks]
    return bool(found) and all(s is not None and s.state == "pending" for s in found)


def nothing_to_nudge(action: Action, states: dict[str, ObligationState]) -> str:
    """Why a request, reminder, overdue notice or flag about obligations must not go: every
    obligation it is about is met or excused, or (to a participant) they already answered
    their part. "" if it may go."""
    if not action.asks or action.kind not in ("email", "reminder", "flag"):
        return ""
    found = [states.get(key) for key in action.asks]
    if not found or any(s is None for s in found):
        return ""
    done = [s for s in found if s is not None]
    if all(s.state in DONE for s in done):
        return "already " + " and ".join(sorted({s.state for s in done}))
    mine = action.kind != "flag" and len(action.recipients) == 1
    if mine and all(s.state in DONE or action.recipients[0] in s.answered_by for s in done):
        return "already answered"
    return ""
