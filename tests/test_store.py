"""The SQLite store: unique keys, state transitions, crash recovery, permissions, the lock."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from daemon.errors import AlreadyRunning, StoreError
from daemon.ledger.records import Batch, EventVersion, Finish, OutboxRow
from daemon.store.lock import StateLock
from daemon.store.sqlite import Store

T0 = dt.datetime(2021, 7, 12, 16, tzinfo=dt.UTC)


def row(key: str, **kw: object) -> OutboxRow:
    fields: dict[str, object] = {
        "key": key,
        "action_key": key,
        "kind": "email",
        "title": "t",
        "recipients": ("a@example.org",),
        "message_id": f"<{key}@x>",
        "token": f"tok-{key}",
        "planned_at": T0,
        "deadline_at": T0 + dt.timedelta(days=5),
        "message": b"bytes",
    }
    fields.update(kw)
    return OutboxRow(**fields)  # type: ignore[arg-type]


def test_state_dir_and_file_are_private(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state")
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_keys_are_unique_and_enqueue_is_idempotent(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    assert store.enqueue([row("a"), row("b")], T0) == 2
    assert store.enqueue([row("a"), row("c")], T0) == 1
    assert store.snapshot().known == {"a", "b", "c"}
    assert [r.key for r in store.due(T0)] == ["a", "b", "c"]


def test_claim_finish_and_recover(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.enqueue([row("a"), row("b"), row("c")], T0)
    assert store.step(None, "a", T0) and not store.step(None, "a", T0)  # claimed once only
    store.step(Finish("a", "sent"), None, T0)
    assert store.step(None, "b", T0)
    later = T0 + dt.timedelta(minutes=5)
    store.step(None, "c", T0)
    store.step(Finish("c", "pending", "451 try later", later), None, T0)
    assert [r.key for r in store.due(T0)] == []
    assert [r.key for r in store.due(later)] == ["c"]
    # a crash left "b" claimed: it may have been delivered, so it becomes unknown
    store.close()
    store = Store.open(tmp_path)
    assert store.recover(later) == ["b"]
    assert store.counts() == {"sent": 1, "unknown": 1, "pending": 1}
    assert [f.key for f in store.snapshot().failures] == ["b"]
    store.apply(Batch(reported=("b",)), later)
    assert store.snapshot().failures == ()


def test_event_versions_saved_with_rows(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    version = EventVersion("uid-1", "k/1", "a@example.org", 0, "h0", "active", "{}")
    store.enqueue([row("k/1")], T0, [version])
    store.enqueue(
        [row("k/1/v1")],
        T0,
        [EventVersion("uid-1", "k/1", "a@example.org", 1, "h1", "active", "{}")],
    )
    assert store.events()["uid-1"].sequence == 1


def test_secret_is_created_once(tmp_path: Path) -> None:
    first = Store.open(tmp_path).secret("reply-token")
    assert len(first) == 32 and Store.open(tmp_path).secret("reply-token") == first


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.db.execute("PRAGMA user_version = 99")
    store.close()
    with pytest.raises(StoreError, match="newer mentormail"):
        Store.open(tmp_path)


def test_second_instance_is_refused(tmp_path: Path) -> None:
    with StateLock(tmp_path), pytest.raises(AlreadyRunning, match="another mentormail"):
        StateLock(tmp_path).__enter__()
    with StateLock(tmp_path):  # released on exit
        pass
