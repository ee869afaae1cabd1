"""Reading the mailbox against a real Dovecot: each message is recorded once, then moved; a
message that cannot be understood does not stop the batch; a crash between recording and
moving loses nothing; a UIDVALIDITY reset re-reads without recording anything twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.clock import Clock
from daemon.ledger.records import Recorded, Seen
from daemon.runtime.read import message_id_of, read_mailbox
from daemon.store.sqlite import Store
from daemon.transport.imap import ImapInbox
from tests.dovecot import Account

T0 = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def mail(n: int, body: str = "hello", sender: str = "", hop: str = "") -> bytes:
    """Reply n (its Message-ID), from p<n>@example.org or `sender`, after a `hop` header."""
    return (
        f"{hop}From: {sender or f'p{n}@example.org'}\r\nTo: replies@example.org\r\n"
        f"Subject: reply {n}\r\nMessage-ID: <reply-{n}@example.org>\r\n\r\n{body}\r\n"
    ).encode()


def understand(raw: bytes, seen: Seen) -> Recorded:
    """A stand-in for the classifier: 'boom' raises, 'keep' is unmatched, the rest a check-in."""
    if b"boom" in raw:
        raise ValueError("cannot parse")
    if b"keep" in raw:
        return Recorded("unmatched", "Unmatched", summary="no token")
    return Recorded("checkin", "Processed", summary="check-in")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state")
    yield opened
    opened.close()


async def read(account: Account, store: Store, at: dt.datetime = T0) -> dict[str, int]:
    async with ImapInbox(account.settings()) as inbox:
        report = await read_mailbox(
            inbox, store, understand, Clock.frozen(at), mailbox="INBOX", unmatched="Unmatched"
        )
    return {"fetched": report.fetched, "moved": report.moved, **report.recorded}


@pytest.mark.asyncio
async def test_each_message_is_recorded_once_then_moved(
    imap_account: Account, store: Store
) -> None:
    imap_account.append(mail(1), mail(2, "keep this"), mail(3, "boom"), mail(4))
    assert await read(imap_account, store) == {
        "fetched": 4, "moved": 4, "checkin": 2, "unmatched": 1, "malformed": 1,
    }  # fmt: skip
    assert imap_account.uids("INBOX") == []
    assert len(imap_account.uids("Processed")) == 2 and len(imap_account.uids("Unmatched")) == 2
    assert all("\\Seen" not in f for f in imap_account.flags("Processed").values())
    imap_account.append(mail(5))
    assert await read(imap_account, store) == {"fetched": 1, "moved": 1, "checkin": 1}
    assert store.inbox_counts() == {"checkin": 3, "unmatched": 1, "malformed": 1}


@pytest.mark.asyncio
async def test_a_crash_before_the_move_leaves_only_the_move_to_do(
    imap_account: Account, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap_account.append(mail(1), mail(2))

    async def crash(self: ImapInbox, uids: list[int], folder: str) -> None:
        raise ConnectionResetError("killed before the move")

    with monkeypatch.context() as patched:
        patched.setattr(ImapInbox, "move", crash)
        with pytest.raises(ConnectionResetError):
            await read(imap_account, store)
    assert len(imap_account.uids("INBOX")) == 2  # recorded, not moved: still there, unread
    assert store.inbox_counts() == {"checkin": 2}
    assert await read(imap_account, store) == {"fetched": 0, "moved": 2}
    assert imap_account.uids("INBOX") == [] and store.inbox_counts() == {"checkin": 2}


@pytest.mark.asyncio
async def test_a_uidvalidity_reset_records_nothing_twice(
    imap_account: Account, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap_account.append(mail(1), mail(2))

    async def stay(self: ImapInbox, uids: list[int], folder: str) -> None:
        return None  # the mail stays in INBOX (as if moving had failed for good)

    monkeypatch.setattr(ImapInbox, "move", stay)
    await read(imap_account, store)
    imap_account.set_uidvalidity(4242)
    imap_account.append(mail(3))
    monkeypatch.undo()
    assert await read(imap_account, store) == {"fetched": 3, "moved": 3, "checkin": 1}
    checkpoint = store.checkpoint("INBOX")
    assert checkpoint is not None and checkpoint[0] == 4242 and checkpoint[1] >= 3
    assert store.inbox_counts() == {"checkin": 3, "duplicate": 2}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"Message-ID: <a@b>\r\n\r\nx", "<a@b>"),
        (b"message-id:\r\n <folded@b>\r\n\r\n", "<folded@b>"),
        (b"Subject: x\r\n\r\nMessage-ID: <in-body@b>\r\n", None),
        (b"Message-ID: <a\r\n@b>\r\n\r\n", None),
        (b"Message-ID: no-brackets@b\r\n\r\n", None),
    ],
)
def test_message_id_of(raw: bytes, expected: str | None) -> None:
    assert message_id_of(raw) == expected


@pytest.mark.asyncio
async def test_mail_over_the_limit_is_recorded_not_downloaded_and_kept(
    imap_account: Account, store: Store
) -> None:
    """Regression: a 20 MB reply was fetched whole before the 10 MB limit refused it."""
    imap_account.append(mail(1), mail(2, "x" * 300_000), mail(3))
    async with ImapInbox(imap_account.settings()) as inbox:
        report = await read_mailbox(
            inbox, store, understand, Clock.frozen(T0),
            mailbox="INBOX", unmatched="Unmatched", max_bytes=100_000,
        )  # fmt: skip
    assert report.recorded == {"checkin": 2, "malformed": 1}
    assert imap_account.uids("Unmatched") == [1]  # kept whole for a person to look at
    assert len(imap_account.read("Unmatched")[1]) > 300_000
    reply_2 = Seen("INBOX", 0, 0, "<reply-2@example.org>", "", "p2@example.org")
    assert store.known(reply_2) == "Unmatched"


def refusing(raw: bytes, seen: Seen) -> Recorded:
    """The classifier's verdict on a forged From: refused, as trust.refused decides."""
    if b"forged" in raw:
        return Recorded("refused", "Unmatched", seen.sender, summary="not vouched for")
    return understand(raw, seen)


@pytest.mark.asyncio
@pytest.mark.parametrize("apart", [False, True])  # in one batch, or in two passes
async def test_a_message_id_alone_does_not_make_a_mail_a_duplicate(
    imap_account: Account, store: Store, apart: bool
) -> None:
    # a Message-ID used by someone else, or first by a forger (refused), made the real mail
    # "duplicate": never read; the same mail again (another hop) still is one
    first = [
        mail(1),
        mail(2, "forged: WITHDRAW"),  # refused
        mail(3),
    ]
    later = [
        mail(1, "their own mail", sender="someone@example.net"),  # another sender, same ID
        mail(2, "the real reply"),  # after the forger's refused copy
        mail(3, hop="Received: by mx2\r\n"),  # the same mail
    ]
    counts: dict[str, int] = {}
    for group in [first + later] if not apart else [first, later]:
        imap_account.append(*group)
        async with ImapInbox(imap_account.settings()) as inbox:
            report = await read_mailbox(
                inbox, store, refusing, Clock.frozen(T0), mailbox="INBOX", unmatched="Unmatched"
            )
        for kind, n in report.recorded.items():
            counts[kind] = counts.get(kind, 0) + n
        counts["duplicate"] = counts.get("duplicate", 0) + report.duplicates
    assert counts == {"checkin": 4, "refused": 1, "duplicate": 1}


@pytest.mark.asyncio
async def test_the_event_loop_gets_a_turn_after_each_mail(
    imap_account: Account, store: Store
) -> None:
    # the mails of one FETCH come without I/O between them: classifying 50 costly ones held
    # the loop (the watchdog's pings, the connections) for the whole batch
    imap_account.append(mail(1), mail(2), mail(3))
    turns = 0
    at_each: list[int] = []

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    def counting(raw: bytes, seen: Seen) -> Recorded:
        at_each.append(turns)
        return understand(raw, seen)

    beside = asyncio.create_task(other_work())
    try:
        async with ImapInbox(imap_account.settings()) as inbox:
            await read_mailbox(
                inbox, store, counting, Clock.frozen(T0), mailbox="INBOX", unmatched="Unmatched"
            )
    finally:
        beside.cancel()
    assert len(at_each) == 3 and at_each[0] < at_each[1] < at_each[2]
