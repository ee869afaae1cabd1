"""The inbox part of the store: a message and all it means are recorded together with the
checkpoint; a message is known again by Message-ID or digest under a new UIDVALIDITY; a
crash between recording and moving leaves the move to do; an older RSVP never overrides a
newer one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.ledger.records import Bouncing, Checkin, Command, Intent, Recorded, Rsvp, Seen
from daemon.store.sqlite import Store

T0 = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state")
    yield opened
    opened.close()


def seen(uid: int, message_id: str | None = None, validity: int = 7) -> Seen:
    return Seen("INBOX", validity, uid, message_id, f"digest-{uid}-{message_id}")


def ack(key: str) -> Intent:
    return Intent(key, "ann@example.org", "<m1@x>", {"kind": "recorded", "subject": "Recorded"})


def test_a_checkin_is_recorded_with_its_acknowledgement_and_the_checkpoint(store: Store) -> None:
    checkin = Checkin("ann@example.org", "k1", ("o1",), "yes", {"progress": "good"}, "We met.")
    what = Recorded("checkin", "Processed", "ann@example.org", "ann@example.org", "met: yes",
                    checkin=checkin, replies=(ack("ack/1"),))  # fmt: skip
    store.record(seen(3, "<m1@x>"), what, T0)
    assert store.checkpoint("INBOX") == (7, 3)
    assert store.checkins() == [(T0, checkin)]
    assert store.intents() == [ack("ack/1")]  # to be composed by the pass
    assert store.unmoved("INBOX", 7) == [(3, "Processed")]
    store.mark_moved("INBOX", 7, [3], T0)
    assert store.unmoved("INBOX", 7) == []
    # the same UID again (a crash before the move was noted): nothing is recorded twice
    store.record(seen(3, "<m1@x>"), what, T0)
    assert len(store.checkins()) == 1 and len(store.intents()) == 1


def test_a_uidvalidity_reset_knows_mail_by_message_id_or_digest(store: Store) -> None:
    store.record(seen(5, "<m1@x>"), Recorded("unmatched", "Unmatched"), T0)
    store.record(seen(6, None), Recorded("auto-reply", "Processed"), T0)
    store.reset_checkpoint("INBOX", 8)
    assert store.checkpoint("INBOX") == (8, 0)
    assert store.known(seen(1, "<m1@x>", validity=8)) == "Unmatched"
    assert store.known(Seen("INBOX", 8, 2, None, "digest-6-None")) == "Processed"
    assert store.known(seen(3, "<new@x>", validity=8)) is None
    store.record(seen(1, "<m1@x>", validity=8), Recorded("duplicate", "Unmatched"), T0)
    assert store.checkpoint("INBOX") == (8, 1)
    assert store.unmoved("INBOX", 8) == [(1, "Unmatched")]
    assert store.inbox_counts() == {"unmatched": 1, "auto-reply": 1, "duplicate": 1}


def test_the_checkpoint_never_goes_back(store: Store) -> None:
    store.record(seen(9), Recorded("unmatched", "Unmatched"), T0)
    store.record(seen(4), Recorded("unmatched", "Unmatched"), T0)
    assert store.checkpoint("INBOX") == (7, 9)


def test_rsvps_keep_the_newest_sequence(store: Store) -> None:
    store.record(seen(1), Recorded("rsvp", "Processed", rsvp=Rsvp("u", "a@x", "ACCEPTED", 1)), T0)
    store.record(seen(2), Recorded("rsvp", "Processed", rsvp=Rsvp("u", "a@x", "DECLINED", 0)), T0)
    assert store.rsvps() == [Rsvp("u", "a@x", "ACCEPTED", 1)]
    store.record(seen(3), Recorded("rsvp", "Processed", rsvp=Rsvp("u", "a@x", "TENTATIVE", 1)), T0)
    assert store.rsvps() == [Rsvp("u", "a@x", "TENTATIVE", 1)]


def test_commands_and_bounces(store: Store) -> None:
    pause = Command("ann@example.org", "PAUSE", {"until": "2026-04-01"})
    store.record(seen(1), Recorded("command", "Processed", command=pause), T0)
    assert store.commands() == [(T0, pause)]
    bounce = Bouncing("bo@example.org", "5.1.1", "user unknown")
    store.record(seen(2), Recorded("bounce", "Processed", bounces=(bounce,)), T0)
    store.record(seen(3), Recorded("bounce", "Processed", bounces=(bounce,)), T0)
    assert store.bouncing() == {"bo@example.org": bounce}
    count = store.db.execute("SELECT count FROM bounces").fetchone()[0]
    assert count == 2
