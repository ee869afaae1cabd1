"""The SQLite store: outbox rows with a UNIQUE send key, invite versions, small metadata.

WAL + synchronous=FULL: a committed state change survives a crash or a power loss. The file is
created 0600 inside a 0700 state directory. Every method is one short transaction; time is
always a parameter.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.errors import UserError
from daemon.store.migrations import STEPS
from daemon.store.records import (
    COLUMNS,
    EventVersion,
    Finish,
    Hold,
    OutboxRow,
    State,
    from_ts,
    row_of,
    ts,
)

__all__ = [
    "EventVersion", "Finish", "Hold", "OutboxRow", "State", "Store", "StoreError", "from_ts", "ts",
]  # fmt: skip

DB_NAME = "mentormail.sqlite3"


class StoreError(UserError):
    """The state file cannot be opened or is from a newer mentormail."""


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        fresh = not path.exists()
        if fresh:
            path.touch(mode=0o600)
        path.chmod(0o600)
        try:
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the state file {path}: {exc}") from None

    @classmethod
    def open(cls, state_dir: Path) -> Store:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if state_dir.stat().st_uid == os.geteuid():
            state_dir.chmod(0o700)  # an existing directory may have been made with a wider mode
        return cls(state_dir / DB_NAME)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(STEPS):
            raise StoreError(
                f"{self.path} was written by a newer mentormail (schema {version}); upgrade"
            )
        for number, script in enumerate(STEPS[version:], start=version + 1):
            with self.transaction() as db:
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # --- metadata ------------------------------------------------------------------------------

    def secret(self, name: str) -> bytes:
        """A random secret created on first use and kept (e.g. the reply-token key)."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            if row is None:
                value = secrets.token_hex(32)
                db.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (name, value))
                return bytes.fromhex(value)
        return bytes.fromhex(row[0])

    def hold(self) -> Hold | None:
        """The stop on all sending (a provider pause, an unusable server, a daily limit)."""
        rows = dict(self.db.execute("SELECT name, value FROM meta WHERE name LIKE 'hold-%'"))
        if "hold-until" not in rows:
            return None
        return Hold(from_ts(rows["hold-until"]), rows.get("hold-reason", ""))

    def set_hold(self, until: dt.datetime, reason: str) -> None:
        """Send nothing before `until`; a later hold extends an earlier one, never shortens it."""
        current = self.hold()
        if current is not None and current.until >= until:
            return
        with self.transaction() as db:
            for name, value in (("hold-until", ts(until)), ("hold-reason", reason)):
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def count(self, name: str, change: int | None = None) -> int:
        """A small persistent counter: add `change` (None: reset to 0) and return the value."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            value = 0 if change is None else int(row[0] if row else 0) + change
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))
        return value

    # --- outbox --------------------------------------------------------------------------------

    def known_keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM outbox")}

    def enqueue(
        self,
        rows: Iterable[OutboxRow],
        now: dt.datetime,
        events: Iterable[EventVersion] = (),
    ) -> int:
        """Insert rows whose key is new, and the invite versions they send, in one transaction;
        returns how many rows were inserted."""
        stamp = ts(now)
        inserted = 0
        with self.transaction() as db:
            for version in events:
                self._save_event(db, version, stamp)
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
                    # a newer version (update or cancel) makes an unsent older one pointless,
                    # and it must never reach the calendar after the newer one
                    db.execute(
                        "UPDATE outbox SET state = 'skipped', updated_at = ?, last_error = ?"
                        " WHERE event_uid = ? AND sequence < ? AND state = 'pending'",
                        (stamp, f"superseded by sequence {r.sequence}", r.event_uid, r.sequence),
                    )
        return inserted

    def due(self, now: dt.datetime, limit: int = 1000) -> list[OutboxRow]:
        """Pending rows whose next attempt is due, oldest plan first. An invite never has two
        versions pending: enqueueing a newer one skips the older (see `enqueue`)."""
        cursor = self.db.execute(
            f"SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY planned_at, key LIMIT ?",
            (ts(now), limit),
        )
        return [row_of(r) for r in cursor]

    def expire(self, now: dt.datetime) -> list[OutboxRow]:
        """Pending rows past their deadline end: `failed` if they were tried (the organizers
        hear of it), `skipped` if never tried (the catch-up policy: too late to be useful)."""
        with self.transaction() as db:
            cursor = db.execute(
                f"SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND deadline_at <= ?",
                (ts(now),),
            )
            expired = [row_of(r) for r in cursor]
            for r in expired:
                tried = r.attempts > 0
                error = f"not delivered by its deadline {r.deadline_at:%Y-%m-%d %H:%M}Z"
                error += f"; last error: {r.last_error}" if tried and r.last_error else ""
                state: State = "failed" if tried else "skipped"
                self._finish(db, Finish(r.key, state, error if tried else "stale: " + error), now)
        return expired

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

    def claim(self, key: str, now: dt.datetime) -> bool:
        """pending -> sending, committed before any byte goes to the server."""
        return self.step(None, key, now)

    def step(
        self,
        done: Finish | None,
        claim: str | None,
        now: dt.datetime,
        give_up_at: dt.datetime | None = None,
    ) -> bool:
        """In one transaction: record `done` (a claimed send's outcome) and claim the row
        `claim` (pending -> sending; on its first attempt its deadline becomes no later than
        `give_up_at`). True if the claim was made."""
        if done is None and claim is None:
            return False
        with self.transaction() as db:
            if done is not None:
                self._finish(db, done, now)
            if claim is None:
                return False
            limit = ts(give_up_at) if give_up_at else None
            cursor = db.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?,"
                " deadline_at = CASE WHEN attempts = 0 AND ? IS NOT NULL"
                " THEN min(deadline_at, ?) ELSE deadline_at END"
                " WHERE key = ? AND state = 'pending'",
                (ts(now), limit, limit, claim),
            )
        return cursor.rowcount == 1

    def finish(
        self,
        key: str,
        state: State,
        now: dt.datetime,
        *,
        error: str = "",
        retry_at: dt.datetime | None = None,
    ) -> None:
        """Record the outcome of a claimed send (or skip a pending one)."""
        with self.transaction() as db:
            self._finish(db, Finish(key, state, error, retry_at), now)

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
        with self.transaction() as db:
            keys = [r[0] for r in db.execute("SELECT key FROM outbox WHERE state = 'sending'")]
            db.execute(
                "UPDATE outbox SET state = 'unknown', updated_at = ?,"
                " last_error = 'interrupted while sending; it may or may not have been delivered'"
                " WHERE state = 'sending'",
                (ts(now),),
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

    def unreported(self, states: tuple[State, ...]) -> list[OutboxRow]:
        marks = ", ".join("?" for _ in states)
        cursor = self.db.execute(
            f"SELECT {COLUMNS} FROM outbox WHERE reported_at IS NULL AND state IN ({marks})"
            " ORDER BY id",
            states,
        )
        return [row_of(r) for r in cursor]

    def mark_reported(self, keys: Iterable[str], now: dt.datetime) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE outbox SET reported_at = ? WHERE key = ?", [(ts(now), k) for k in keys]
            )

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())

    # --- invite versions -----------------------------------------------------------------------

    def events(self) -> dict[str, EventVersion]:
        cursor = self.db.execute(
            "SELECT uid, invite_key, attendee, sequence, content_hash, status, invite FROM events"
        )
        return {r[0]: EventVersion(*r) for r in cursor}

    @staticmethod
    def _save_event(db: sqlite3.Connection, version: EventVersion, stamp: str) -> None:
        db.execute(
            "INSERT INTO events (uid, invite_key, attendee, sequence, content_hash, status,"
            " invite, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE"
            " SET sequence = excluded.sequence, content_hash = excluded.content_hash,"
            " status = excluded.status, invite = excluded.invite,"
            " updated_at = excluded.updated_at",
            (
                version.uid, version.invite_key, version.attendee, version.sequence,
                version.content_hash, version.status, version.invite, stamp,
            ),
        )  # fmt: skip
