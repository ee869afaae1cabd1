"""Notes to the organizers about the service itself (pure): after sending could not be done
at all for a while — a server that refused the login, a withdrawn OAuth2 sign-in, TLS — one
note once it works again, saying for how long and why. Keyed by the outage's start, so it is
sent once however many passes see it."""

from __future__ import annotations

import datetime as dt

from daemon.ledger.records import Intent
from daemon.ledger.snapshot import Snapshot
from daemon.program.instance import Program

WORTH_TELLING = dt.timedelta(minutes=30)  # a shorter gap is the ordinary retrying of mail


def outage_notice(program: Program, snapshot: Snapshot) -> list[Intent]:
    if snapshot.outage is None:
        return []
    since, until, why = snapshot.outage
    key = f"{program.id}/notice/outage/{since:%Y%m%dT%H%M%SZ}"
    if until - since < WORTH_TELLING or key in snapshot.known:
        return []
    hours = (until - since).total_seconds() / 3600
    lasted = f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"
    lines = [
        f"From {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC ({lasted}) mentormail "
        "could not send any mail, because:",
        why,
        "It works again. Nothing was lost: what fell due meanwhile has gone out since, "
        "except what was no longer useful by then (`mentormail status` lists what was "
        "skipped).",
    ]
    answer = {"kind": "notice", "subject": "Sending works again after a gap", "lines": lines}
    return [Intent(key, "", "", answer, "notice")]
