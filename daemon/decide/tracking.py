"""Which obligation windows mentormail actually asked about (pure).

An obligation is tracked only once the people it is for were asked: its check-in request or a
reminder about it was sent (or is queued to go). mentormail started on a fresh store after a
window's requests fell due — deployed mid-program, or a past program rehearsed for real — skips
those requests as stale, so nobody was asked: such a window is *untracked*. Nobody is told it
is overdue and no organizer is flagged about it; `status` lists it apart.

An obligation whose schedule asks nothing (no request, no reminder) is tracked when its window
opened after mentormail's first pass: before that, nobody was watching it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from daemon.decide.sends import SENDABLE
from daemon.decide.states import about_lateness
from daemon.ledger.snapshot import Snapshot
from daemon.program.instance import Program
from daemon.program.timeline import Action

ASKING = frozenset({"email", "reminder"})


def asks_about(action: Action) -> bool:
    """A check-in request or a reminder: mail that asks people for an obligation (an overdue
    notice tells them it is late; it asks nothing new)."""
    return action.kind in ASKING and bool(action.asks) and action.template != "overdue"


def untracked(timeline: Iterable[Action], snapshot: Snapshot, now: dt.datetime) -> frozenset[str]:
    """The keys of the obligation windows opened by `now` that nobody was asked about."""
    asked: set[str] = set()
    askable: dict[str, bool] = {}  # key -> every asking send is due by now
    opened: dict[str, dt.datetime] = {}
    for action in timeline:
        if action.kind == "obligation" and action.at <= now:
            opened[action.key] = action.at
        elif asks_about(action):
            sent = action.key in snapshot.known and action.key not in snapshot.skipped
            for key in action.asks:
                if sent:
                    asked.add(key)
                askable[key] = askable.get(key, True) and action.at <= now
    first = snapshot.first_pass
    out = set()
    for key, opens in opened.items():
        if key in asked:
            continue
        if key in askable:
            if askable[key]:  # every request and reminder fell due and none of them went
                out.add(key)
        elif first is None or opens < first:
            out.add(key)
    return frozenset(out)


def never_asked(action: Action, unasked: Callable[[], frozenset[str]]) -> str:
    """Why an overdue notice or a flag must not go: nobody was asked about what it is about
    (`unasked()`: the windows `untracked` finds, asked for only when it matters)."""
    if not about_lateness(action) or not action.asks:
        return ""
    keys = unasked()
    if all(key in keys for key in action.asks):
        return "never asked: its check-in request was not sent (mentormail started later)"
    return ""


def ended(program: Program, timeline: Iterable[Action], now: dt.datetime) -> str:
    """What to say when the program is over as of `now` (its last day has passed and nothing
    more is planned to go), else ""."""
    if now.astimezone(program.tz).date() <= program.end:
        return ""
    if any(a.at > now for a in timeline if a.kind in SENDABLE):
        return ""
    return (
        f"{program.title} ended on {program.end:%A %d %B %Y}: nothing is planned to go any more "
        "(flags about windows it asked about still go; nothing else is sent)"
    )
