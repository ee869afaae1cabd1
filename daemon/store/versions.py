"""Invite versions: per UID the SEQUENCE, content hash and status last sent."""

from __future__ import annotations

import sqlite3

from daemon.ledger.records import EventVersion
from daemon.store.base import Base


class EventStore(Base):
    def events(self) -> dict[str, EventVersion]:
        return read_events(self.db)


def read_events(db: sqlite3.Connection, uid: str | None = None) -> dict[str, EventVersion]:
    """Invite versions by UID (all, or the one of `uid`)."""
    query = "SELECT uid, invite_key, attendee, sequence, content_hash, status, invite FROM events"
    cursor = db.execute(query + " WHERE uid = ?", (uid,)) if uid else db.execute(query)
    return {r[0]: EventVersion(*r) for r in cursor}


def save_event(db: sqlite3.Connection, version: EventVersion, stamp: str) -> None:
    """Record the version of an invite being enqueued (inside the caller's transaction)."""
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
