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
from daemon.views.outbox import SHOWN, OutboxRead, outbox_view


def status_view(
    program: Program, timeline: list[Action], state_dir: Path, at: dt.datetime
) -> dict[str, Any]:
    """`status --json`'s data as of `at` (README, "status --json")."""
    store = Store.reader(state_dir)  # None: no store yet, and none is made
    if store is None:
        snapshot, read = Snapshot(), OutboxRead({}, 0, None)
    else:
        try:
            snapshot, read = store.snapshot(), _read(store, at)
        finally:
            store.close()
    view = overview(program, timeline, snapshot, at)
    later = [a.at for a in timeline if a.kind in SENDABLE and a.at > at and a.key not in
             snapshot.known]  # fmt: skip
    view["outbox"] = outbox_view(read, snapshot.hold, at, min(later, default=None))
    return view


def _read(store: Store, at: dt.datetime) -> OutboxRead:
    return OutboxRead(
        counts=store.counts(),
        due_now=store.due_count(at),
        next_attempt=store.next_attempt(),
        retrying=store.lines("pending", SHOWN, tried=True),
        failed=store.lines("failed", SHOWN),
        unknown=store.lines("unknown", SHOWN),
    )
