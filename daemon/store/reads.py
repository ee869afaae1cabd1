"""Reading the ledger once for a pass (one read transaction, so every part is of one instant),
and the look-ups the classifier makes of what was sent."""

from __future__ import annotations

import datetime as dt
import json

from daemon.ledger.records import EventVersion, Failure, Pending, from_ts, ts
from daemon.ledger.snapshot import Snapshot
from daemon.store.inbox import InboxStore
from daemon.store.meta import MetaStore
from daemon.store.versions import read_events

RESTORED_WINDOW = "restored-window"  # meta, after a restore: "backup instant|restore instant"
OUTAGE = "outage"  # meta, while the SMTP server cannot be used: "since|why"
MAILBOX_PROBLEM = "mailbox-problem"  # meta, while the mailbox cannot be read: "since|why"
FIRST_PASS = "first-pass"  # meta: the instant of the first pass on this store
OUTAGE_OVER = "outage-over"  # meta, the last outage once sending worked: "since|until|why"


class SnapshotStore(InboxStore, MetaStore):
    def snapshot(self) -> Snapshot:
        """The whole ledger a pass decides from (messages themselves are not read)."""
        self.db.execute("BEGIN")
        try:
            rows = self.db.execute("SELECT key, state = 'skipped' FROM outbox").fetchall()
            known = frozenset(row[0] for row in rows)
            skipped = frozenset(row[0] for row in rows if row[1])
            pending = self.db.execute(
                "SELECT key, action_key, kind, title, recipients, message_id, deadline_at,"
                " attempts, last_error FROM outbox WHERE state = 'pending' ORDER BY id"
            )
            queued = tuple(
                Pending(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], from_ts(r[6]),
                        int(r[7]), r[8])
                for r in pending
            )  # fmt: skip
            failed = self.db.execute(
                "SELECT key, kind, title, recipients, state, last_error, message_id, attempts"
                " FROM outbox WHERE reported_at IS NULL AND state IN ('failed', 'unknown')"
                " ORDER BY id"
            )
            failures = tuple(
                Failure(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6], int(r[7]))
                for r in failed
            )
            counts = self.inbox_counts()
            return Snapshot(
                known=known,
                skipped=skipped,
                events=read_events(self.db),
                checkins=tuple(self.checkins()),
                commands=tuple(self.commands()),
                rsvps=tuple(self.rsvps()),
                bouncing=self.bouncing(),
                pending=queued,
                failures=failures,
                intents=tuple(self.intents()),
                hold=self.hold(),
                unmatched=counts.get("unmatched", 0),
                refused=counts.get("refused", 0),
                restored=_window(self.value(RESTORED_WINDOW)),
                outage=_outage(self.value(OUTAGE_OVER)),
                mailbox_problem=_since(self.value(MAILBOX_PROBLEM)),
                first_pass=_instant(self.value(FIRST_PASS)),
            )
        finally:
            self.db.execute("COMMIT")

    def note_first_pass(self, now: dt.datetime) -> dt.datetime:
        """When mentormail first ran a pass on this store: kept once (for a store older than
        this record, the first send it planned)."""
        if (known := _instant(self.value(FIRST_PASS))) is not None:
            return known
        row = self.db.execute(
            "SELECT MIN(planned_at) FROM outbox WHERE state != 'skipped'"
        ).fetchone()
        first = min(now, from_ts(row[0])) if row and row[0] else now
        self.set_value(FIRST_PASS, ts(first))
        return first

    def sent(self, column: str, value: str) -> tuple[str, str, tuple[str, ...], str] | None:
        """(key, kind, recipients, action key) of the send whose `column` ("token" or
        "message_id") is `value`, if any."""
        if column not in ("token", "message_id"):
            raise ValueError(f"not a look-up column: {column}")
        row = self.db.execute(
            f"SELECT key, kind, recipients, action_key FROM outbox WHERE {column} = ?", (value,)
        ).fetchone()
        return (row[0], row[1], tuple(json.loads(row[2])), row[3]) if row else None

    def invite_version(self, uid: str) -> EventVersion | None:
        """The version of the invitation with this UID last queued, if any."""
        return read_events(self.db, uid).get(uid)


def _since(value: str | None) -> tuple[dt.datetime, str] | None:
    since, _, why = (value or "").partition("|")
    return (from_ts(since), why) if since and why else None


def _outage(value: str | None) -> tuple[dt.datetime, dt.datetime, str] | None:
    parts = (value or "").split("|", 2)
    return (from_ts(parts[0]), from_ts(parts[1]), parts[2]) if len(parts) == 3 else None


def _window(value: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    if not value or "|" not in value:
        return None
    backup, restored = value.split("|", 1)
    return from_ts(backup), from_ts(restored)


def _instant(value: str | None) -> dt.datetime | None:
    return from_ts(value) if value else None
