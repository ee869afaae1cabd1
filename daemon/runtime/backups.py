"""Backups of the store, and bringing one back.

A pass takes a backup when the last is a day old: a consistent copy of the whole store (SQLite's
online backup), `backups/mentormail-YYYYMMDDTHHMMSSZ.sqlite3` in the state folder, mode 0600;
the newest KEEP are kept. Each knows the instant it was taken.

`mentormail restore` puts one back, under the state lock. The store it replaces is kept aside
(`replaced/`), never deleted. The restored store knows everything up to its backup, nothing
after: mail read after it was already moved out of the mailbox (move it back to have it read
again), and sends that fell due after it may have gone. Those are never sent again: the store
notes the window (backup, restore], and the next pass records every planned send due in it
that the store does not know as `unknown` — not sent, and the organizers told which. So is
every send the backup shows still queued: it may have gone after the backup was taken.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import StoreError, UserError
from daemon.ledger.records import from_ts, ts
from daemon.store.reads import RESTORED_WINDOW
from daemon.store.sqlite import DB_NAME, MARKER_NAME, Store

log = logging.getLogger(__name__)

EVERY = dt.timedelta(hours=23)  # daily, give or take the time a pass starts at
KEEP = 7
FOLDER = "backups"
BACKUP_AT = "backup-at"  # meta: when the store's newest backup was taken (in the copy too)
QUEUED = "queued when the restored backup was taken; it may have gone after, so not sent again"


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: dt.datetime


def backup_if_due(store: Store, state_dir: Path, now: dt.datetime) -> Path | None:
    """Take a backup if the last one is older than EVERY; keep the newest KEEP."""
    last = store.value(BACKUP_AT)
    if last is not None and now - from_ts(last) < EVERY:
        return None
    folder = state_dir / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"mentormail-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.sqlite3"
    store.set_value(BACKUP_AT, ts(now))  # in the copy too: it says when it was taken
    store.backup(path)
    for old in sorted(folder.glob("mentormail-*.sqlite3"))[:-KEEP]:
        old.unlink()
    log.info("backup of the store taken: %s", path)
    return path


def backups(state_dir: Path) -> list[Backup]:
    """The backups in the state folder, newest first."""
    found = []
    for path in sorted((state_dir / FOLDER).glob("mentormail-*.sqlite3"), reverse=True):
        stamp = path.stem.removeprefix("mentormail-")
        try:
            taken = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        found.append(Backup(path, taken))
    return found


def restore(state_dir: Path, backup: Path, now: dt.datetime) -> Backup:
    """Put `backup` in place of the store of `state_dir` (the caller holds the lock)."""
    if not backup.is_file():
        raise UserError(f"no backup {backup}; `mentormail restore --list` shows them")
    marker = state_dir / MARKER_NAME
    candidate = state_dir / (DB_NAME + ".restoring")  # the backup itself is never changed
    shutil.copyfile(backup, candidate)
    candidate.chmod(0o600)
    try:
        checked = Store(candidate)  # quick_check and migrations: a damaged copy stops here
        try:
            identity, taken = checked.secret("store-id").hex(), checked.value(BACKUP_AT)
        finally:
            checked.close()
        if marker.exists() and marker.read_text().strip() != identity:
            raise UserError(f"{backup} is a backup of another state folder's store")
        if taken is None:
            raise UserError(f"{backup} is not a backup mentormail took (it says not when)")
    except (StoreError, UserError) as error:
        candidate.unlink(missing_ok=True)
        raise UserError(f"{backup} cannot be restored: {error}") from None
    aside = state_dir / "replaced" / f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    aside.mkdir(mode=0o700, parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        current = state_dir / (DB_NAME + suffix)
        if current.exists():
            current.replace(aside / current.name)
    candidate.replace(state_dir / DB_NAME)
    store = Store.open(state_dir)
    try:
        store.set_value(RESTORED_WINDOW, f"{taken}|{ts(now)}")
        queued = store.mark_unknown(("pending", "sending"), QUEUED, now)
        if queued:
            log.warning("%d sends queued when the backup was taken are recorded unknown: "
                        "they may have gone since", len(queued))  # fmt: skip
    finally:
        store.close()
    log.warning("the store of %s was restored from %s; the one it replaced is in %s",
                state_dir, backup, aside)  # fmt: skip
    return Backup(backup, from_ts(taken))
