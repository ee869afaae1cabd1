"""The outbox: one row per send key (UNIQUE), its state, attempts and outcome.

A pass writes what it decided with `apply` (new rows, the invite versions they send, queued
rows revoked or expired, failures reported — in transactions of a bounded size), then delivery
claims and finishes rows with `steps`: several claims and outcomes in one transaction, each
stamped with its own instant.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence

from daemon.ledger.outbox_lines import OutboxLine
from daemon.ledger.records import (
    COLUMNS,
    Batch,
    EventVersion,
    Finish,
    OutboxRow,
    State,
    from_ts,
    row_of,
    ts,
)
from daemon.store.base import Base
from daemon.store.versions import save_event


class OutboxStore(Base):
    def apply(self, batch: Batch, now: dt.datetime) -> int:
        """Write what a pass decided, in one transaction; returns how many rows were new."""
        stamp = ts(now)
        with self.transaction() as db:
            for version in batch.versions:
                save_event(db, version, stamp)
            inserted = insert_rows(db, batch.rows, stamp)
            for key, reason in batch.revoked:
                db.execute(
                    "UPDATE outbox SET state = 'skipped', last_error = ?, updated_at = ?"
                    " WHERE key = ? AND state = 'pending'",
                    (f"held back: {reason}", stamp, key),
                )
            for done in batch.finished:
                self._finish(db, done, now)
            db.executemany(
                "UPDATE outbox SET reported_at = ? WHERE key = ?",
                [(stamp, key) for key in batch.reported],
            )
        return inserted

    def enqueue(
        self, rows: Iterable[OutboxRow], now: dt.datetime, events: Iterable[EventVersion] = ()
    ) -> int:
        """Insert rows whose key is new, and the invite versions they send; how many were new."""
        return self.apply(Batch(rows=tuple(rows), versions=tuple(events)), now)

    def due(self, now: dt.datetime, limit: int = 1000) -> list[OutboxRow]:
        """Pending rows whose next attempt is due, oldest plan first. An invite never has two
        versions pending: enqueueing a newer one skips the older (see `enqueue`)."""
        cursor = self.db.execute(
            f"SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY planned_at, key LIMIT ?",
            (ts(now), limit),
        )
        return [row_of(r) for r in cursor]

    def sends_since(self, since: dt.datetime) -> list[dt.datetime]:
        """When each message that may have reached the server since `since` went, oldest first
        (sent or unknown: both count against a provider's daily limit)."""
        cursor = self.db.execute(
            "SELECT COALESCE(sent_at, updated_at) AS at FROM outbox"
            " WHERE state IN ('sent', 'unknown', 'sending') AND at > ? ORDER BY at",
            (ts(since),),
        )
        return [from_ts(r[0]) for r in cursor]

    def next_attempt(self) -> dt.datetime | None:
        """When the earliest pending row may be tried (now or later), if any."""
        row = self.db.execute(
            "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'"
        ).fetchone()
        return from_ts(row[0]) if row and row[0] else None

    def step(self, done: Finish | None, claim: str | None, now: dt.datetime) -> bool:
        """In one transaction: record `done` (a claimed send's outcome) and claim the row
        `claim` (pending -> sending). True if the claim was made."""
        return self.steps([(done, claim)], now)[0]

    def steps(
        self,
        requests: Sequence[tuple[Finish | None, str | None]],
        now: dt.datetime,
        give_up_at: dt.datetime | None = None,
    ) -> list[bool]:
        """`step` for several sends in one transaction (one fsync for all), as of `now`: a
        claim on a row's first attempt also brings its deadline to `give_up_at` at the
        latest. Each outcome keeps the instant it happened (`Finish.at`)."""
        if all(done is None and claim is None for done, claim in requests):
            return [False] * len(requests)
        claimed = []
        stamp, limit = ts(now), ts(give_up_at) if give_up_at else None
        with self.transaction() as db:
            for done, claim in requests:
                if done is not None:
                    self._finish(db, done, done.at or now)
                if claim is None:
                    claimed.append(False)
                    continue
                cursor = db.execute(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?,"
                    " deadline_at = CASE WHEN attempts = 0 AND ? IS NOT NULL"
                    " THEN min(deadline_at, ?) ELSE deadline_at END"
                    " WHERE key = ? AND state = 'pending'",
                    (stamp, limit, limit, claim),
                )
                claimed.append(cursor.rowcount == 1)
        return claimed

    def give_back(self, keys: Sequence[str], now: dt.datetime) -> list[bool]:
        """Claimed rows that were never sent (the pass stopped first) go back to pending, and
        the claim does not count as an attempt."""
        with self.transaction() as db:
            return [
                db.execute(
                    "UPDATE outbox SET state = 'pending', attempts = attempts - 1, updated_at = ?"
                    " WHERE key = ? AND state = 'sending'",
                    (ts(now), key),
                ).rowcount
                == 1
                for key in keys
            ]

    @staticmethod
    def _finish(db: sqlite3.Connection, done: Finish, now: dt.datetime) -> None:
        retry = ts(done.retry_at) if done.retry_at else None
        db.execute(
            "UPDATE outbox SET state = ?, last_error = ?, updated_at = ?,"
            " next_attempt_at = COALESCE(?, next_attempt_at),"
            " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE key = ?",
            (done.state, done.error, ts(now), retry, done.state, ts(now), done.key),
        )

    def recover(self, now: dt.datetime) -> list[str]:
        """After a crash: a send claimed but never finished may have been delivered, so it is
        `unknown` (reported to the organizers, never re-sent blindly)."""
        why = "interrupted while sending; it may or may not have been delivered"
        return self.mark_unknown(("sending",), why, now)

    def mark_unknown(self, states: Sequence[State], why: str, now: dt.datetime) -> list[str]:
        """Every send in one of `states` becomes `unknown`, for `why`; their keys."""
        marks = ",".join("?" * len(states))
        with self.transaction() as db:
            keys = [r[0] for r in db.execute(
                f"SELECT key FROM outbox WHERE state IN ({marks})", tuple(states)
            )]  # fmt: skip
            db.execute(
                f"UPDATE outbox SET state = 'unknown', updated_at = ?, last_error = ?"
                f" WHERE state IN ({marks})",
                (ts(now), why, *states),
            )
        return keys

    def rows(self, state: State | None = None) -> list[OutboxRow]:
        query = f"SELECT {COLUMNS} FROM outbox"
        cursor = (
            self.db.execute(query + " WHERE state = ? ORDER BY id", (state,))
            if state
            else self.db.execute(query + " ORDER BY id")
        )
        return [row_of(r) for r in cursor]

    def lines(self, state: State, limit: int, *, tried: bool = False) -> list[OutboxLine]:
        """Up to `limit` rows in `state` without their messages: pending ones oldest plan
        first, others latest change first; `tried`: only those tried before (a retry waits)."""
        more = " AND (attempts > 0 OR last_error != '')" if tried else ""
        order = "planned_at, key" if state == "pending" else "updated_at DESC, key"
        cursor = self.db.execute(
            "SELECT key, kind, title, recipients, state, attempts, next_attempt_at, updated_at,"
            f" last_error FROM outbox WHERE state = ?{more} ORDER BY {order} LIMIT ?",
            (state, limit),
        )
        return [
            OutboxLine(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], int(r[5]),
                       from_ts(r[6]), from_ts(r[7]), r[8] or "")
            for r in cursor
        ]  # fmt: skip

    def due_count(self, now: dt.datetime) -> int:
        """How many pending rows may be tried at `now`."""
        row = self.db.execute(
            "SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?",
            (ts(now),),
        ).fetchone()
        return int(row[0])

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())


def insert_rows(db: sqlite3.Connection, rows: Iterable[OutboxRow], stamp: str) -> int:
    """Insert rows whose key is new (inside the caller's transaction); how many were new."""
    inserted = 0
    for r in rows:
        cursor = db.execute(
            "INSERT OR IGNORE INTO outbox (key, action_key, kind, title, recipients,"
            " message_id, token, planned_at, state, attempts, next_attempt_at, deadline_at,"
            " last_error, message, event_uid, sequence, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.key, r.action_key, r.kind, r.title, json.dumps(r.recipients),
                r.message_id, r.token, ts(r.planned_at), r.state,
                ts(r.next_attempt_at or r.planned_at), ts(r.deadline_at), r.last_error,
                r.message, r.event_uid, r.sequence,
                stamp, stamp,
            ),
        )  # fmt: skip
        inserted += cursor.rowcount
        if cursor.rowcount and r.event_uid and r.sequence:
            # a newer version (update or cancel) makes an unsent older one pointless, and it
            # must never reach the calendar after the newer one
            db.execute(
                "UPDATE outbox SET state = 'skipped', updated_at = ?, last_error = ?"
                " WHERE event_uid = ? AND sequence < ? AND state = 'pending'",
                (stamp, f"superseded by sequence {r.sequence}", r.event_uid, r.sequence),
            )
    return inserted
