"""Read the program's mailbox once: fetch what is new, record what each message means, then
move it to the processed or the unmatched folder.

Per message: fetched with BODY.PEEK[] (it stays unread), understood (pure), recorded with its
effects, its answers and the checkpoint — a batch of messages in one transaction — and only
then moved. A crash before the record leaves the mail untouched for the next pass; a crash
after it leaves a move to do, which the next pass does first. A message the store already
knows (after a UIDVALIDITY reset, or a second copy) is not recorded again, only moved.
Understanding a message never stops the batch: whatever it raises is recorded as
`malformed` and the mail goes to the unmatched folder, kept for a person to look at. So is a
message over `max_bytes`, which is never downloaded: only its header is fetched, to know it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from daemon.clock import Clock
from daemon.ledger.records import Recorded, Seen

log = logging.getLogger(__name__)

BATCH = 50  # messages recorded in one transaction (then moved)
HEADER_LIMIT = 64 * 1024  # the Message-ID is looked for in the first bytes only
_FROM = re.compile(rb"^From:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE | re.IGNORECASE)
_MESSAGE_ID = re.compile(
    rb"(?im)^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>)"
)

Understand = Callable[[bytes, Seen], Recorded]


class Store(Protocol):
    """What reading needs of the store (daemon.store.sqlite.Store)."""

    def checkpoint(self, mailbox: str) -> tuple[int, int] | None: ...

    def reset_checkpoint(self, mailbox: str, uidvalidity: int) -> None: ...

    def known(self, seen: Seen) -> str | None: ...

    def record_all(self, messages: Sequence[tuple[Seen, Recorded]], now: dt.datetime) -> None: ...

    def unmoved(self, mailbox: str, uidvalidity: int) -> list[tuple[int, str]]: ...

    def mark_moved(
        self, mailbox: str, uidvalidity: int, uids: Iterable[int], now: dt.datetime
    ) -> None: ...


class Fetched(Protocol):
    @property
    def uid(self) -> int: ...

    @property
    def raw(self) -> bytes: ...

    @property
    def size(self) -> int: ...

    @property
    def whole(self) -> bool: ...


class Mailbox(Protocol):
    """What reading needs of an IMAP connection (daemon.transport.imap.ImapInbox)."""

    uidvalidity: int

    async def uids_after(self, uid: int) -> list[int]: ...

    def fetch(
        self, uids: Sequence[int], max_bytes: int | None = None
    ) -> AsyncIterator[Fetched]: ...

    async def move(self, uids: Sequence[int], folder: str) -> None: ...


@dataclass
class ReadReport:
    fetched: int = 0
    recorded: Counter[str] = field(default_factory=Counter)  # by kind
    duplicates: int = 0
    moved: int = 0
    uidvalidity_changed: bool = False

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.recorded.items()))
        return f"read {self.fetched} ({kinds or 'nothing new'}), moved {self.moved}"


async def read_mailbox(
    inbox: Mailbox,
    store: Store,
    understand: Understand,
    clock: Clock,
    *,
    mailbox: str,
    unmatched: str,
    max_bytes: int | None = None,
) -> ReadReport:
    """One pass over `mailbox` (already selected by `inbox`); see the module docstring."""
    report = ReadReport()
    validity = inbox.uidvalidity
    checkpoint = store.checkpoint(mailbox)
    if checkpoint is None or checkpoint[0] != validity:
        if checkpoint is not None:
            report.uidvalidity_changed = True
            log.warning(
                "the UIDVALIDITY of %s changed (%d -> %d): reading it all again; mail already"
                " recorded is known again (its bytes, or its Message-ID and sender) and not"
                " recorded twice",
                mailbox, checkpoint[0], validity,
            )  # fmt: skip
        store.reset_checkpoint(mailbox, validity)
        last = 0
    else:
        last = checkpoint[1]
    report.moved += await move_recorded(inbox, store, mailbox, clock)  # a crash's leftovers
    uids = await inbox.uids_after(last)
    batch: list[tuple[Seen, Recorded]] = []
    in_batch: dict[tuple[str, ...], str] = {}  # this batch's messages (_marks) -> folder
    async for fetched in inbox.fetch(uids, max_bytes):
        report.fetched += 1
        raw = fetched.raw
        head = _head(raw)
        seen = Seen(
            mailbox, validity, fetched.uid, _message_id_in(head), _digest(raw), _sender_in(head)
        )
        known = (in_batch.get(m) for m in _marks(seen))
        folder = next((f for f in known if f), None) or store.known(seen)
        if folder is not None:
            batch.append((seen, Recorded("duplicate", folder)))
            report.duplicates += 1
        elif not fetched.whole:
            what = too_large(fetched.size, max_bytes or 0, unmatched)
            batch.append((seen, what))
            in_batch |= dict.fromkeys(_marks(seen, what), what.folder)
            report.recorded[what.kind] += 1
            log.warning("mail %d: %s", seen.uid, what.summary)
        else:
            what = _understood(understand, raw, seen, unmatched)
            batch.append((seen, what))
            in_batch |= dict.fromkeys(_marks(seen, what), what.folder)
            report.recorded[what.kind] += 1
            log.info(
                "mail %d: %s%s", seen.uid, what.kind, f" ({what.summary})" * bool(what.summary)
            )
            # a batch's mails come without I/O between them: let the loop breathe after each
            # (the watchdog's pings, the connections), as a costly mail can take a second
            await asyncio.sleep(0)
        if len(batch) >= BATCH:
            store.record_all(batch, clock.now())
            batch, in_batch = [], {}
    if batch:
        store.record_all(batch, clock.now())
    report.moved += await move_recorded(inbox, store, mailbox, clock)
    return report


def too_large(size: int, limit: int, unmatched: str) -> Recorded:
    mb = 1024 * 1024
    return Recorded(
        "malformed",
        unmatched,
        summary=f"{size / mb:.1f} MB, over the {limit / mb:g} MB limit: not downloaded",
    )


def message_id_of(raw: bytes) -> str | None:
    """The message's own Message-ID (a well-formed one), read from its header only."""
    return _message_id_in(_head(raw))


def _message_id_in(head: bytes) -> str | None:
    found = _MESSAGE_ID.search(head)
    return found[1].decode("ascii") if found else None


def _sender_in(head: bytes) -> str:
    """Its one From address, lower case, as the classifier reads it; "" when not one."""
    from daemon.inbound.parse import addresses  # here: a pass without a mailbox loads none of it

    values = [v.decode("ascii", "surrogateescape") for v in _FROM.findall(head)]
    found = addresses(values)
    return found[0] if len(found) == 1 else ""


def _head(raw: bytes) -> bytes:
    """The header of a message (of its first HEADER_LIMIT bytes)."""
    return raw[:HEADER_LIMIT].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]


def _marks(seen: Seen, what: Recorded | None = None) -> list[tuple[str, ...]]:
    """What makes a message of this batch the same as an earlier one (as Store.known): its
    bytes, or its Message-ID and sender, unless that copy was refused."""
    marks: list[tuple[str, ...]] = [("digest", seen.digest)]
    if seen.message_id and (what is None or what.kind != "refused"):
        marks.append(("id", seen.message_id, seen.sender))
    return marks


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _understood(understand: Understand, raw: bytes, seen: Seen, unmatched: str) -> Recorded:
    try:
        return understand(raw, seen)
    except Exception as exc:  # one bad message never stops the batch
        log.exception("mail %d could not be understood; kept in %s", seen.uid, unmatched)
        return Recorded("malformed", unmatched, summary=f"could not be read: {type(exc).__name__}")


async def move_recorded(inbox: Mailbox, store: Store, mailbox: str, clock: Clock) -> int:
    """Move what was recorded and is still in the mailbox, folder by folder."""
    validity = inbox.uidvalidity
    by_folder: dict[str, list[int]] = {}
    for uid, folder in store.unmoved(mailbox, validity):
        by_folder.setdefault(folder, []).append(uid)
    for folder, uids in sorted(by_folder.items()):
        await inbox.move(uids, folder)
        store.mark_moved(mailbox, validity, uids, clock.now())
    return sum(len(uids) for uids in by_folder.values())
