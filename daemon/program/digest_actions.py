"""When the organizers' weekly digest goes (pure): one a week at the program's send time in
the first organizer's zone, from the end of week 1 to a week after the program ends (the last
is the final summary, so titled), to every organizer. One more than three days late is
skipped: the next one says it all. What it says is decided when it is due (decide/digest.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from daemon.program.actions import Action, Spec
from daemon.program.instance import Program
from daemon.program.timespec import to_utc

STALE = dt.timedelta(days=3)
SPEC = Spec("digest", "{{ program.title }}: week {{ digest.week }} summary")
FINAL = Spec("digest", "{{ program.title }}: final summary")


def digest_actions(program: Program) -> list[Action]:
    if not program.organizers or not program.schedule.program.weekly_digest:
        return []
    tz = ZoneInfo(program.organizers[0].timezone)
    send_time = program.schedule.program.send_time
    out = []
    for week in range(1, program.weeks + 2):
        day = program.start + dt.timedelta(days=7 * week)
        at = to_utc(day, send_time, tz)
        final = week > program.weeks  # not "Week 6 summary" of a five-week program
        out.append(Action(
            at=at, key=f"{program.id}/digest/{week}", kind="email",
            recipients=tuple(o.email for o in program.organizers),
            title="Final summary" if final else f"Week {week} summary", item="digest",
            occurrence=week, spec=FINAL if final else SPEC, stale_at=at + STALE,
        ))  # fmt: skip
    return out
