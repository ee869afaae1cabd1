"""A participant's STATUS answer: what is still open for them, what their check-ins counted for,
their next events — every time in their own zone. Pure, over the timeline and the recorded
check-ins and commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from daemon.decide.standing import standings
from daemon.ledger.records import Checkin, Command
from daemon.program.instance import Program
from daemon.program.time_text import deadline
from daemon.program.timeline import Action
from daemon.program.timespec import local_date, local_time

HORIZON = dt.timedelta(days=45)  # open obligations shown: due within this, or already open
EVENTS = 3  # next events shown


def status_answer(
    program: Program,
    timeline: list[Action],
    who: str,
    now: dt.datetime,
    *,
    checkins: Iterable[tuple[dt.datetime, Checkin]],
    commands: Iterable[tuple[dt.datetime, Command]],
) -> dict[str, Any]:
    person = next((p for p in program.participants if p.email == who), None)
    tz = ZoneInfo(person.timezone) if person else program.tz
    counted = {key for _, c in checkins if c.participant == who for key in c.obligations}
    open_items, done = [], []
    for action in timeline:
        if action.kind != "obligation" or who not in action.who:
            continue
        title = action.title + (f" {action.occurrence + 1}" if action.occurrence else "")
        if action.key in counted:
            done.append(title)
        elif action.at <= now + HORIZON and (action.due_at is None or action.due_at >= now):
            due = (
                deadline(action.due_at, tz, program.tz, now.astimezone(tz).date()).text
                if action.due_at
                else "no date"
            )
            open_items.append({"title": title, "due": due})
    events = [
        {"title": a.title, "when": local_time(a.starts_at, tz)}
        for a in timeline
        if a.kind == "invite" and who in a.recipients and a.starts_at and a.starts_at > now
    ][:EVENTS]
    zones: dict[str, dt.tzinfo] = {who: tz}
    standing = standings(commands, zones).get(who)
    paused = standing is not None and standing.paused(now)
    until = standing.paused_until if standing and paused else None
    return {
        "kind": "status",
        "subject": f"Your status in {program.title}",
        "as_of": local_date(now, tz),
        "open": open_items,
        "done": done,
        "events": events,
        "paused_until": local_date(until, tz) if until else ("you reply RESUME" if paused else ""),
    }
