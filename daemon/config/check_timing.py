"""Timing checks: the start date, phases, events, invitations, messages and obligation windows
must make sense against the program's span."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from daemon.config.deployment import Deployment
from daemon.errors import Problem
from daemon.program.obligation_actions import event_window
from daemon.program.timespec import WEEKDAYS
from daemon.program.windows import event_span, obligation_windows, occurrence_date, phase_span

SLACK = dt.timedelta(weeks=8)  # messages may go out this long before or after the program


def check_timing(deployment: Deployment) -> Iterator[Problem]:
    program = deployment.program
    s = deployment.schedule_source
    first, end = program.start, program.end
    span = f"the program runs {first} to {end - dt.timedelta(days=1)}"
    info = program.schedule.program
    weekday = WEEKDAYS[first.weekday()]
    # a broken start date (reported as such) has a stand-in: what is dated in the schedule
    # is not compared with it, or a typo in the date would also report every dated item
    dated = ("program", "start") not in deployment.stand_ins
    if dated and info.start_weekday not in (None, weekday):
        yield deployment.config_problem(
            ("program", "start"),
            f"{first} is a {weekday}; this program starts on a {info.start_weekday}",
            f"pick a {info.start_weekday}",
        )
    for i, phase in enumerate(program.schedule.phases):
        lo, hi = phase_span(phase, first)
        if hi < lo:
            yield s.problem(("phases", i), "phase ends before it starts")
        elif lo < first or hi >= end:
            yield s.problem(("phases", i), f"phase {lo} to {hi} lies outside the program; {span}")
    for i, message in enumerate(program.schedule.messages):
        day = message.send.local_date(first)
        if (dated or message.send.date is None) and not first - SLACK <= day <= end + SLACK:
            yield s.problem(
                ("messages", i, "send"),
                f"sent on {day}, more than 8 weeks away from the program; {span}",
                "check the week or date",
            )
    yield from _check_events(deployment, span, dated)
    events = {e.id: e for e in program.schedule.events}
    for i, ob in enumerate(program.schedule.obligations):
        if ob.after_event:
            anchor = events.get(ob.after_event)
            found = (
                event_window(program, ob, anchor, program.participants[0])
                if anchor and program.participants
                else None
            )
            windows = [found] if found else []
        else:
            windows = obligation_windows(ob, first, end)
        for k, (opens, due) in enumerate(windows):
            if due <= opens:
                yield s.problem(
                    ("obligations", i), f"window closes ({due}) before it opens ({opens})"
                )
                break
            if opens.date() < first or due.date() >= end:
                yield s.problem(
                    ("obligations", i),
                    f"window {opens:%Y-%m-%d} to {due:%Y-%m-%d} lies outside the program; {span}",
                    _outside_fix(ob.last_window, opens.date() < first or opens.date() >= end),
                )
                break
            request = ob.request
            if request is not None:
                if request.send is None:
                    asked = opens.date() + dt.timedelta(days=request.after_open_days)
                    fix = "lower after_open_days"
                else:
                    asked = occurrence_date(request.send, first, ob.repeat, k)
                    fix = "send the request earlier"
                if asked > due.date():
                    yield s.problem(
                        ("obligations", i, "request"),
                        f"the check-in request ({asked}) would go out after the due date "
                        f"({due:%Y-%m-%d})",
                        fix,
                    )
                    break


def _check_events(deployment: Deployment, span: str, dated: bool) -> Iterator[Problem]:
    """Each event ends after it starts, is invited to before it and happens near the program
    (what is dated is not compared with a stand-in start)."""
    program, s = deployment.program, deployment.schedule_source
    first, end = program.start, program.end
    for i, event in enumerate(program.schedule.events):
        begin, finish = event_span(event, first, program.tz)
        if finish <= begin:
            yield s.problem(
                ("events", i, "end"), "event ends before it starts", "end must be after start"
            )
        if not dated and (event.start is not None or event.invite.date is not None):
            continue
        invited = event.invite.local_date(first)
        if invited > begin.astimezone(program.tz).date():
            yield s.problem(
                ("events", i, "invite"),
                f"the invitation ({invited}) would go out after the event "
                f"({begin.astimezone(program.tz):%Y-%m-%d})",
                "invite before the event, e.g. invite = { offset_days = -7 }",
            )
        if not first - SLACK <= begin.astimezone(program.tz).date() <= end + SLACK:
            yield s.problem(("events", i), f"the event is far outside the program; {span}")


def _outside_fix(last_window: str, opens_outside: bool) -> str:
    """How to bring a window inside the program: one that only runs past the end may be
    clipped there (`last_window = "clip"`); one that opens outside it must move."""
    fix = "move the window inside the program, or lengthen the program (weeks or months)"
    if last_window == "whole" and not opens_outside:
        return f'set last_window = "clip" to end this window with the program; or {fix}'
    if opens_outside:
        return f"{fix}; with a repeat, a lower count"
    return fix
