"""What arrived in the program's mailbox: the checkpoint, one row per message seen, and what
each meant (a check-in, an RSVP, a command, a bounce).

The checkpoint is (mailbox, UIDVALIDITY, last UID). A message is recorded — with everything it
means and the answers to send (composed and queued by the next step of the pass) — in a
transaction that also advances the checkpoint (a batch of messages shares one), and only then
moved out of the mailbox; `unmoved` lists what a crash left to move. A message
is known again by its Message-ID (or, without one, by the digest of its bytes), so a
UIDVALIDITY reset neither skips nor re-records mail. Check-in text is stored here and nowhere
else: it never goes into logs, digests or `summary`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence

from daemon.ledger.records import (
    Bouncing,
    Checkin,
    Command,
    Intent,
    PendingCommand,
    Recorded,
    Rsvp,
    Seen,
    from_ts,
    ts,
)
from daemon.store.base import Base


class InboxStore(Base):
    def checkpoint(self, mailbox: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID recorded) of `mailbox`, if it was ever read."""
        row = self.db.execute(
            "SELECT uidvalidity, last_uid FROM mailboxes WHERE mailbox = ?", (mailbox,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def reset_checkpoint(self, mailbox: str, uidvalidity: int) -> None:
        """The mailbox's UIDVALIDITY changed: its UIDs start again (what was recorded under
        the old one is still known by Message-ID and digest)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO mailboxes (mailbox, uidvalidity, last_uid)"
                " VALUES (?, ?, 0)",
                (mailbox, uidvalidity),
            )

    def known(self, seen: Seen) -> str | None:
        """The folder a message already recorded (under any UID) was meant for, else None. The
        same message is the same bytes, or the same Message-ID from the same sender where that
        copy was not refused: a Message-ID alone is no proof (a sender may reuse one, and a
        forger who sent it first, refused, must not make the real one unread)."""
        row = self.db.execute(
            "SELECT folder FROM inbox WHERE digest = ? ORDER BY id LIMIT 1", (seen.digest,)
        ).fetchone()
        if row is None and seen.message_id:
            row = self.db.execute(
                "SELECT folder FROM inbox WHERE message_id = ? AND sender = ?"
                " AND kind != 'refused' ORDER BY id LIMIT 1",
                (seen.message_id, seen.sender),
            ).fetchone()
        return str(row[0]) if row else None

    def record(self, seen: Seen, what: Recorded, now: dt.datetime) -> None:
        """Record a message and all it means, its answers, and the checkpoint."""
        self.record_all([(seen, what)], now)

    def record_all(self, messages: Sequence[tuple[Seen, Recorded]], now: dt.datetime) -> None:
        """`record` for several messages in one transaction (one fsync for the batch)."""
        stamp = ts(now)
        with self.transaction() as db:
            for seen, what in messages:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO inbox (mailbox, uidvalidity, uid, message_id, digest,"
                    " received_at, kind, sender, participant, summary, folder)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        seen.mailbox, seen.uidvalidity, seen.uid, seen.message_id, seen.digest,
                        stamp, what.kind, what.sender or seen.sender, what.participant,
                        what.summary,
                        what.folder,
                    ),
                )  # fmt: skip
                if cursor.rowcount:
                    _effects(db, int(cursor.lastrowid or 0), what, stamp)
                _advance(db, seen)

    def unmoved(self, mailbox: str, uidvalidity: int) -> list[tuple[int, str]]:
        """(UID, folder) of recorded messages still to move out of the mailbox."""
        cursor = self.db.execute(
            "SELECT uid, folder FROM inbox WHERE mailbox = ? AND uidvalidity = ?"
            " AND moved_at IS NULL ORDER BY uid",
            (mailbox, uidvalidity),
        )
        return [(int(r[0]), str(r[1])) for r in cursor]

    def mark_moved(
        self, mailbox: str, uidvalidity: int, uids: Iterable[int], now: dt.datetime
    ) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE inbox SET moved_at = ? WHERE mailbox = ? AND uidvalidity = ? AND uid = ?",
                [(ts(now), mailbox, uidvalidity, uid) for uid in uids],
            )

    def inbox_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT kind, count(*) FROM inbox GROUP BY kind").fetchall())

    def rsvps(self) -> list[Rsvp]:
        cursor = self.db.execute("SELECT uid, attendee, partstat, sequence FROM rsvps ORDER BY 1")
        return [Rsvp(r[0], r[1], r[2], int(r[3])) for r in cursor]

    def checkins(self) -> list[tuple[dt.datetime, Checkin]]:
        """(when, check-in) in arrival order; the text is confidential."""
        cursor = self.db.execute(
            "SELECT participant, at, answers, obligations, answer, fields, text FROM checkins"
            " ORDER BY id"
        )
        out = []
        for r in cursor:
            checkin = Checkin(r[0], r[2], tuple(json.loads(r[3])), r[4], json.loads(r[5]), r[6])
            out.append((from_ts(r[1]), checkin))
        return out

    def commands(self) -> list[tuple[dt.datetime, Command]]:
        cursor = self.db.execute("SELECT participant, name, args, at FROM commands ORDER BY id")
        return [(from_ts(r[3]), Command(r[0], r[1], json.loads(r[2]))) for r in cursor]

    def bouncing(self) -> dict[str, Bouncing]:
        cursor = self.db.execute("SELECT address, status, diagnostic FROM bounces")
        return {r[0]: Bouncing(r[0], r[1], r[2]) for r in cursor}

    def confirmation(self, key: str) -> PendingCommand | None:
        """The command waiting for (or answered by) the confirmation request `key`."""
        row = self.db.execute(
            "SELECT key, participant, name, args, asked_at, outcome FROM confirmations"
            " WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return PendingCommand(row[0], row[1], row[2], json.loads(row[3]), from_ts(row[4]), row[5])

    def asked_since(self, owner: str, since: dt.datetime) -> int:
        """How many requests to confirm a command were sent to `owner` since `since`."""
        row = self.db.execute(
            "SELECT count(*) FROM confirmations WHERE participant = ? AND asked_at >= ?",
            (owner, ts(since)),
        ).fetchone()
        return int(row[0])

    def intents(self) -> list[Intent]:
        """Answers recorded with their mail and not yet queued in the outbox."""
        cursor = self.db.execute(
            "SELECT i.key, i.kind, i.recipient, i.in_reply_to, i.answer FROM intents i"
            " LEFT JOIN outbox o ON o.key = i.key WHERE o.key IS NULL ORDER BY i.id"
        )
        return [Intent(r[0], r[2], r[3], json.loads(r[4]), r[1]) for r in cursor]


def _advance(db: sqlite3.Connection, seen: Seen) -> None:
    db.execute(
        "INSERT INTO mailboxes (mailbox, uidvalidity, last_uid) VALUES (?, ?, ?)"
        " ON CONFLICT (mailbox) DO UPDATE SET last_uid = max(last_uid, excluded.last_uid)"
        " WHERE uidvalidity = excluded.uidvalidity",
        (seen.mailbox, seen.uidvalidity, seen.uid),
    )


def _effects(db: sqlite3.Connection, inbox_id: int, what: Recorded, stamp: str) -> None:
    if (c := what.checkin) is not None:
        db.execute(
            "INSERT INTO checkins (inbox_id, participant, at, answers, obligations, answer,"
            " fields, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                inbox_id, c.participant, stamp, c.answers, json.dumps(list(c.obligations)),
                c.answer, json.dumps(c.fields, sort_keys=True), c.text,
            ),
        )  # fmt: skip
    if (r := what.rsvp) is not None:
        db.execute(
            "INSERT INTO rsvps (uid, attendee, partstat, sequence, at, inbox_id)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (uid, attendee) DO UPDATE"
            " SET partstat = excluded.partstat, sequence = excluded.sequence, at = excluded.at,"
            " inbox_id = excluded.inbox_id WHERE excluded.sequence >= rsvps.sequence",
            (r.uid, r.attendee, r.partstat, r.sequence, stamp, inbox_id),
        )
    if (m := what.command) is not None:
        db.execute(
            "INSERT INTO commands (inbox_id, participant, name, args, at) VALUES (?, ?, ?, ?, ?)",
            (inbox_id, m.participant, m.name, json.dumps(m.args, sort_keys=True), stamp),
        )
    if (q := what.pending) is not None:
        db.execute(
            "INSERT OR IGNORE INTO confirmations (key, participant, name, args, asked_at,"
            " inbox_id) VALUES (?, ?, ?, ?, ?, ?)",
            (q.key, q.participant, q.name, json.dumps(q.args, sort_keys=True), stamp, inbox_id),
        )
    key, outcome = what.resolved
    if key:
        db.execute(
            "UPDATE confirmations SET outcome = ?, answered_at = ? WHERE key = ? AND outcome = ''",
            (outcome, stamp, key),
        )
    for intent in what.replies:
        db.execute(
            "INSERT OR IGNORE INTO intents (key, kind, recipient, in_reply_to, answer, at,"
            " inbox_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                intent.key, intent.kind, intent.to, intent.in_reply_to,
                json.dumps(intent.answer, sort_keys=True), stamp, inbox_id,
            ),
        )  # fmt: skip
    for b in what.bounces:
        db.execute(
            "INSERT INTO bounces (address, first_at, last_at, count, status, diagnostic)"
            " VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (address) DO UPDATE SET"
            " last_at = excluded.last_at, count = bounces.count + 1, status = excluded.status,"
            " diagnostic = excluded.diagnostic",
            (b.address, stamp, stamp, b.status, b.diagnostic),
        )
