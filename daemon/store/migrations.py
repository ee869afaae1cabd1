"""Schema migrations, applied in order; PRAGMA user_version records how far a store has come.

Never edit a released step: add a new one. Each step runs in one transaction.
"""

from __future__ import annotations

STEPS: tuple[str, ...] = (
    # 1: the outbox and invite versions
    """
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        key             TEXT NOT NULL UNIQUE,
        action_key      TEXT NOT NULL,
        kind            TEXT NOT NULL,
        title           TEXT NOT NULL,
        recipients      TEXT NOT NULL,
        message_id      TEXT NOT NULL UNIQUE,
        token           TEXT NOT NULL UNIQUE,
        planned_at      TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN
                            ('pending', 'sending', 'sent', 'unknown', 'failed', 'skipped')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        deadline_at     TEXT NOT NULL,
        last_error      TEXT NOT NULL DEFAULT '',
        message         BLOB NOT NULL,
        event_uid       TEXT,
        sequence        INTEGER,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        sent_at         TEXT,
        reported_at     TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
    CREATE TABLE events (
        uid           TEXT PRIMARY KEY,
        invite_key    TEXT NOT NULL UNIQUE,
        attendee      TEXT NOT NULL,
        sequence      INTEGER NOT NULL,
        content_hash  TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
        invite        TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: find an invite's unsent older versions quickly (they are skipped when a newer one comes)
    """
    CREATE INDEX outbox_event ON outbox (event_uid, sequence) WHERE event_uid IS NOT NULL;
    """,
)
