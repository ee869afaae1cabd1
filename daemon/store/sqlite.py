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
MARKER_NAME = "mentormail.store-id"  # this folder holds a store: never silently start over
FOLDER_FIX = (
    "make the folder and its files readable and writable by the user mentormail runs as (under "
    "systemd, StateDirectory= provides it), or set [state] path"
)


class Store(OutboxStore, SnapshotStore, EventStore):
    def __init__(self, path: Path, *, check: bool = True) -> None:
        """Open the store at `path` (see `open`). `check`: run SQLite's quick_check first."""
        self.path = path
        try:
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            if check:
                self._check()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the state file {path} cannot be used: {exc}; to bring back a backup: "
                "mentormail restore"
            ) from None

    @classmethod
    def open(cls, state_dir: Path, *, check: bool = True) -> Store:
        """The store of `state_dir`, created there (0600, in a 0700 folder) on first use. A
        folder that held a store (its marker says so) but whose state file is missing or
        empty is refused: starting over would send everything again."""
        db, marker = state_dir / DB_NAME, state_dir / MARKER_NAME
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if state_dir.stat().st_uid == os.geteuid():
                state_dir.chmod(0o700)  # an existing directory may have a wider mode
            empty = not db.exists() or db.stat().st_size == 0
            if empty and marker.exists():
                raise StoreError(
                    f"{state_dir} held mentormail's state ({marker.name} says so), but the "
                    f"state file {db.name} is {'empty' if db.exists() else 'missing'}: "
                    "starting over would send every message again. To bring back a backup: "
                    f"mentormail restore; to really start over, delete {marker}"
                )
            if empty:
                db.touch(mode=0o600)
            db.chmod(0o600)
            store = cls(db, check=check and not empty)
            identity = store.secret("store-id").hex()
            if not marker.exists():
                marker.write_text(identity + "\n")
                marker.chmod(0o600)
            elif marker.read_text().strip() != identity:
                store.close()
                raise StoreError(
                    f"{db} is not the state file of {state_dir} ({marker.name} names another): "
                    "put the right one back, or restore a backup with mentormail restore"
                )
        except OSError as exc:
            raise StoreError(
                f"cannot use the state folder {state_dir}: {reason(exc)}; {FOLDER_FIX}"
            ) from None
        return store

    @classmethod
    def reader(cls, state_dir: Path) -> Store | None:
        """The store of `state_dir` for reading, or None if there is none yet (nothing is
        created: `status` before the first pass)."""
        db = state_dir / DB_NAME
        if not db.exists() or db.stat().st_size == 0:
            return None
        try:
            store = cls.__new__(cls)
            store.path = db
            store.db = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
            store.db.execute("PRAGMA query_only=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the state file {db} cannot be read: {exc}") from None
        return store

    def close(self) -> None:
        self.db.close()

    def backup(self, path: Path) -> None:
        """A consistent copy of the whole store at `path` (0600), taken with SQLite's online
        backup while the store is in use."""
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        partial.touch(mode=0o600)
        target = sqlite3.connect(partial)
        try:
            self.db.backup(target)
        finally:
            target.close()
        partial.replace(path)

    def _check(self) -> None:
        """SQLite's quick_check: a damaged page is found at start, not in the middle of a pass."""
        found = [str(r[0]) for r in self.db.execute("PRAGMA quick_check(5)")]
        if found != ["ok"]:
            raise sqlite3.DatabaseError("damaged: " + "; ".join(found))

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


def reason(exc: OSError) -> str:
    """An OSError as one line: the file and what went wrong."""
    where = f"{exc.filename}: " if exc.filename else ""
    return where + (exc.strerror or str(exc))
