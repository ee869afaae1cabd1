"""`mentormail status`: the organizers' picture and the outbox, read from the store without
changing or creating anything (read-only, no lock: safe while the service runs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from daemon.decide.overview import overview
from daemon.decide.sends import SENDABLE
from daemon.ledger.snapshot import Snapshot
from daemon.program.instance import Program
from daemon.program.timeline import Action
from daemon.store.sqlite import Store
from daemon.views.outbox import outbox_view


def status_view(
    program: Program, timeline: list[Action], state_dir: Path, at: dt.datetime
) -> dict[str, Any]:
    """`status --json`'s data as of `at` (README, "status --json")."""
    store = Store.reader(state_dir)  # None: no store yet, and none is made
    try:
        snapshot = store.snapshot() if store is not None else Snapshot()
        lines = store.lines(("pending", "failed", "unknown")) if store is not None else []
        counts = store.counts() if store is not None else {}
    finally:
        if store is not None:
            store.close()
    view = overview(program, timeline, snapshot, at)
    later = [a.at for a in timeline if a.kind in SENDABLE and a.at > at and a.key not in
             snapshot.known]  # fmt: skip
    view["outbox"] = outbox_view(lines, counts, snapshot.hold, at, min(later, default=None))
    return view
