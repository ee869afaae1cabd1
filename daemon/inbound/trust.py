"""Who may do what by mail (pure): proof of the mailbox before anything changes.

A From header proves nothing. Two things do: the program's receiving server vouching for the
sender's domain (`Authentication-Results`, see authentication.py), and a reply sent to the
reply token of a message we sent to that very address (nobody else received the token).

- When the server is configured (`[imap] authserv_ids`) and does not vouch for the sender,
  mail without such a token is refused: kept in the unmatched folder, never recorded, never
  answered.
- Check-ins, RSVPs, HELP and STATUS need no more than that.
- Commands that change something — PAUSE, RESUME, WITHDRAW, MEETING, and the organizers'
  EXCUSE and EXTEND — take effect at once only from an authenticated sender. From anyone
  else they wait: the owner of the address is asked, at that address, to confirm (a reply to
  that request that says yes; it expires after CONFIRM_DAYS). Nothing changes without it: the
  owner of an address someone forged often answers "That wasn't me. Who sent this?", which
  is no yes (it carried the command out); such a reply leaves the request open. An address
  is asked at most MAX_ASKED_A_DAY times a day: more commands in its name are refused unasked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from daemon.inbound import events as ev
from daemon.inbound.authentication import Verdict
from daemon.ledger.records import Command, PendingCommand, Rsvp

CHANGES = frozenset({"PAUSE", "RESUME", "WITHDRAW", "MEETING", "EXCUSE", "EXTEND"})
CONFIRM_DAYS = 7
# requests to confirm one address is sent in a day, at most: each forged command would mail its
# victim one, and a forger could send thousands; past these the command is refused unasked
MAX_ASKED_A_DAY = 3
_WHAT = {
    "PAUSE": "pause your reminders",
    "RESUME": "turn your reminders back on",
    "WITHDRAW": "leave the program",
    "MEETING": "set your meeting",
    "EXCUSE": "excuse an obligation",
    "EXTEND": "extend a deadline",
}
FROM_PEOPLE = (ev.CheckIn, Command, ev.OrganizerCommand, Rsvp, ev.StaleRsvp, ev.Counter)


def refused(event: ev.Event, verdict: Verdict, proved: bool) -> bool:
    """Mail from a person our receiving server does not vouch for, without a token either."""
    return (
        verdict.checked
        and not verdict.authenticated
        and not proved
        and isinstance(event, FROM_PEOPLE)
    )


def needs_confirmation(event: ev.Event, verdict: Verdict) -> bool:
    """A command that changes something, from a sender not authenticated."""
    if verdict.authenticated:
        return False
    if isinstance(event, Command):
        return event.name in CHANGES and not event.error
    return isinstance(event, ev.OrganizerCommand) and not event.error


def request(key: str, owner: str, event: Command | ev.OrganizerCommand, args: dict[str, Any],
            now: dt.datetime) -> tuple[PendingCommand, dict[str, Any]]:  # fmt: skip
    """The command waiting, and what the request to confirm it says (an `answer`)."""
    written = " ".join([event.name, *(str(v) for v in args.values())])
    until = now + dt.timedelta(days=CONFIRM_DAYS)
    answer = {
        "kind": "confirm",
        "subject": f"Please confirm: {_WHAT[event.name]}",
        "what": _WHAT[event.name],
        "command": written,
        "until": f"{until:%A %d %B %Y}",
    }
    return PendingCommand(key, owner, event.name, args, now), answer


def outcome(pending: PendingCommand | None, answer: str | None, now: dt.datetime) -> str:
    """What a reply to a request does: "confirmed" (a yes), "declined" (a no), "unclear"
    (neither: the request stays open), "expired", or why nothing."""
    if pending is None:
        return "unknown"
    if pending.outcome:
        return f"already {pending.outcome}"
    asked = pending.asked_at or now
    if now > asked + dt.timedelta(days=CONFIRM_DAYS):
        return "expired"
    return {"yes": "confirmed", "no": "declined"}.get(answer or "", "unclear")
