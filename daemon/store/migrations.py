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
    # 3: what arrived in the mailbox, and what it meant
    """
    CREATE TABLE mailboxes (
        mailbox      TEXT PRIMARY KEY,
        uidvalidity  INTEGER NOT NULL,
        last_uid     INTEGER NOT NULL
    );
    CREATE TABLE inbox (
        id           INTEGER PRIMARY KEY,
        mailbox      TEXT NOT NULL,
        uidvalidity  INTEGER NOT NULL,
        uid          INTEGER NOT NULL,
        message_id   TEXT,
        digest       TEXT NOT NULL,
        received_at  TEXT NOT NULL,
        kind         TEXT NOT NULL,
        sender       TEXT NOT NULL DEFAULT '',
        participant  TEXT NOT NULL DEFAULT '',
        summary      TEXT NOT NULL DEFAULT '',
        folder       TEXT NOT NULL,
        moved_at     TEXT,
        UNIQUE (mailbox, uidvalidity, uid)
    );
    CREATE INDEX inbox_message ON inbox (message_id);
    CREATE INDEX inbox_digest ON inbox (digest);
    CREATE INDEX inbox_unmoved ON inbox (mailbox, uidvalidity) WHERE moved_at IS NULL;
    CREATE TABLE checkins (
        id           INTEGER PRIMARY KEY,
        inbox_id     INTEGER NOT NULL REFERENCES inbox (id),
        participant  TEXT NOT NULL,
        at           TEXT NOT NULL,
        answers      TEXT NOT NULL DEFAULT '',
        obligations  TEXT NOT NULL,
        answer       TEXT,
        fields       TEXT NOT NULL,
        text         TEXT NOT NULL
    );
    CREATE INDEX checkins_participant ON checkins (participant);
    CREATE TABLE rsvps (
        uid          TEXT NOT NULL,
        attendee     TEXT NOT NULL,
        partstat     TEXT NOT NULL,
        sequence     INTEGER NOT NULL,
        at           TEXT NOT NULL,
        inbox_id     INTEGER NOT NULL REFERENCES inbox (id),
        PRIMARY KEY (uid, attendee)
    );
    CREATE TABLE commands (
        id           INTEGER PRIMARY KEY,
        inbox_id     INTEGER NOT NULL REFERENCES inbox (id),
        participant  TEXT NOT NULL,
        name         TEXT NOT NULL,
        args         TEXT NOT NULL,
        at           TEXT NOT NULL
    );
    CREATE TABLE bounces (
        address      TEXT PRIMARY KEY,
        first_at     TEXT NOT NULL,
        last_at      TEXT NOT NULL,
        count        INTEGER NOT NULL,
        status       TEXT NOT NULL,
        diagnostic   TEXT NOT NULL
    );
    """,
    # 4: answers and notes recorded with the mail they answer, composed by the next pass
    """
    CREATE TABLE intents (
        id           INTEGER PRIMARY KEY,
        key          TEXT NOT NULL UNIQUE,
        kind         TEXT NOT NULL,
        recipient    TEXT NOT NULL,
        in_reply_to  TEXT NOT NULL,
        answer       TEXT NOT NULL,
        at           TEXT NOT NULL,
        inbox_id     INTEGER NOT NULL REFERENCES inbox (id)
    );
    """,
    # 5: commands waiting for their owner to confirm them
    """
    CREATE TABLE confirmations (
        key          TEXT PRIMARY KEY,
        participant  TEXT NOT NULL,
        name         TEXT NOT NULL,
        args         TEXT NOT NULL,
        asked_at     TEXT NOT NULL,
        outcome      TEXT NOT NULL DEFAULT '',
        answered_at  TEXT,
        inbox_id     INTEGER NOT NULL REFERENCES inbox (id)
    );
    """,
)
