"""The SQLite store: the outbox (a UNIQUE send key per row), invite versions, what arrived in
the mailbox, small metadata. The only place with SQL.

WAL + synchronous=FULL: a committed state change survives a crash or a power loss. The file is
created 0600 inside a 0700 state directory. One connection, one writer; every method is one
short transaction; time is always a parameter.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from daemon.errors import StoreError
from daemon.store.migrations import STEPS
from daemon.store.outbox import OutboxStore
from daemon.store.reads import SnapshotStore
from daemon.store.versions import EventStore

DB_NAME = "mentormail.sqlite3"


class Store(OutboxStore, SnapshotStore, EventStore):
    def __init__(self, path: Path) -> None:
        """Open (creating) the store at `path`."""
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
