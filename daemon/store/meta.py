"""Small named values in the store: secrets, the hold on sending, counters."""

from __future__ import annotations

import datetime as dt
import secrets

from daemon.ledger.records import Hold, from_ts, ts
from daemon.store.base import Base


class MetaStore(Base):
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

    def value(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def set_value(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def count(self, name: str, change: int | None = None) -> int:
        """A small persistent counter: add `change` (None: reset to 0) and return the value."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            value = 0 if change is None else int(row[0] if row else 0) + change
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))
        return value
