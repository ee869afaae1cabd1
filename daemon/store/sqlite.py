"""The SQLite store: outbox rows with a UNIQUE send key, invite versions, small metadata.

WAL + synchronous=FULL: a committed state change survives a crash or a power loss. The file is
created 0600 inside a 0700 state directory. Every method is one short transaction; time is
always a parameter.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from daemon.errors import UserError
from daemon.ledger.records import EventVersion, Finish, Hold, OutboxRow, State, from_ts, ts
from daemon.store.inbox import InboxStore
from daemon.store.invites import EventStore
from daemon.store.meta import MetaStore
from daemon.store.migrations import STEPS
from daemon.store.outbox import OutboxStore

__all__ = [
    "EventVersion", "Finish", "Hold", "OutboxRow", "State", "Store", "StoreError", "from_ts", "ts",
]  # fmt: skip

DB_NAME = "mentormail.sqlite3"


class StoreError(UserError):
    """The state file cannot be opened or is from a newer mentormail."""


class Store(OutboxStore, InboxStore, EventStore, MetaStore):
    def __init__(self, path: Path, *, any_thread: bool = False) -> None:
        """Open (creating) the store at `path`. `any_thread`: the connection may be used from
        another thread than this one (one thread at a time, e.g. a commit thread)."""
        self.path = path
        fresh = not path.exists()
        if fresh:
            path.touch(mode=0o600)
        path.chmod(0o600)
        try:
            self.db = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=not any_thread
            )
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

    def writer(self) -> Store:
        """A second connection to the same file, for a commit thread."""
        return Store(self.path, any_thread=True)

    def close(self) -> None:
        self.db.close()

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
