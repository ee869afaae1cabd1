"""The IMAP adapter: new replies in the program's mailbox, read without side effects, then moved.

    async with ImapInbox(settings) as inbox:        # connect, TLS, login, folders, SELECT
        uids = await inbox.uids_after(checkpoint)   # for key (mailbox, inbox.uidvalidity, uid)
        async for message in inbox.fetch(uids):     # raw RFC 5322 bytes, exactly as stored
            ...record it...
        await inbox.move(done, settings.processed_mailbox)
        await inbox.wait_for_new(settings.poll_seconds)

The rules (research: protocol-reliability.md §4):
- UIDs count only with UIDVALIDITY: `uidvalidity` is read at SELECT; if it differs from the one
  stored with the checkpoint, every stored UID of the mailbox is void.
- `UID SEARCH UID n:*` always returns the highest UID, even one below n: it is filtered. A NOOP
  goes first, or Dovecot may not show a message another connection just delivered.
- FETCH uses `BODY.PEEK[]` (never `BODY[]` or RFC822, which set \\Seen), `batch_size` UIDs per
  command: aioimaplib can hang for good on one large FETCH. `RFC822.SIZE` is fetched first:
  a message over `max_bytes` is never downloaded (only its header, to know it again), and a
  batch of bodies stays under FETCH_BYTES (imap_fetch.py), so memory is bounded whatever arrives.
- Nothing is flagged or deleted except by `move`: `UID MOVE` when the server has MOVE, else
  `UID COPY` + `UID STORE +FLAGS.SILENT (\\Deleted)` + `UID EXPUNGE` (UIDPLUS). A bare EXPUNGE
  would also remove other clients' \\Deleted mail: without UIDPLUS the originals stay, \\Deleted.
- `wait_for_new` IDLEs (re-issued every IDLE_SECONDS, under the 29 minutes of RFC 2177) until
  the server reports EXISTS or RECENT; without IDLE it sleeps, then asks. It looks for mail
  past the last `uids_after` first: aioimaplib drops an EXISTS that comes during a FETCH.
- Any failure raises ImapError and leaves the connection unusable: drop the inbox, open a new
  one. `watch_inbox` does that, with `backoff` between attempts.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import ssl
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from daemon.config.settings import ImapSettings
from daemon.errors import ImapError
from daemon.transport.imap_fetch import Fetched, fetch_plan, parse_fetch, parse_sizes, uid_set
from daemon.transport.imap_session import DEFAULT_TIMEOUT, ImapSession, mailbox_name
from daemon.transport.oauth.sasl import Bearer

__all__ = ["Fetched", "ImapError", "ImapInbox"]

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # UIDs per FETCH command
SIZE_BATCH = 100  # UIDs per FETCH of sizes (one short line each)
MOVE_SIZE = 100  # UIDs per MOVE or COPY: the reply has a line per message (see above) ...
MOVE_SIZE_QRESYNC = 2000  # ... unless QRESYNC reports them in ranges (VANISHED 3:52,60)
FETCH_TIMEOUT = 300.0  # one FETCH batch, start to end (the server may send up to 50 big messages)
IDLE_SECONDS = 24 * 60.0  # re-issue IDLE well before the 29 minutes servers allow

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_NEWS = re.compile(rb"^\d+ (?:EXISTS|RECENT)\b")  # aioimaplib strips the leading "* "


class ImapInbox:
    """One connection to `settings.mailbox`; see the module docstring. Open it with `async with`
    (or `open`); after any ImapError it is unusable."""

    def __init__(
        self,
        settings: ImapSettings,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        fetch_timeout: float = FETCH_TIMEOUT,
        batch_size: int = BATCH_SIZE,
        ignore_capabilities: Collection[str] = (),  # e.g. {"MOVE"}, to use the fallback
        bearer: Bearer | None = None,  # access tokens, for `auth = "oauth2"`
    ) -> None:
        self.settings, self._fetch_timeout, self._batch = settings, fetch_timeout, batch_size
        self._options: dict[str, Any] = {
            "tls_context": tls_context,
            "timeout": timeout,
            "ignore_capabilities": ignore_capabilities,
            "bearer": bearer,
        }
        self._session = ImapSession(settings, **self._options)
        self.uidvalidity = 0
        self.uidnext: int | None = None  # as reported by SELECT, if it was
        self.created: list[str] = []  # the folders `open` had to create
        self._highest = 0  # the highest UID the caller has been told about

    async def __aenter__(self) -> ImapInbox:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Connect, secure, log in, create the processed and unmatched folders, SELECT."""
        session, s = self._session, self._session.settings
        try:
            await session.open()
            for folder in dict.fromkeys((s.processed_mailbox, s.unmatched_mailbox)):
                if folder and await self._ensure_folder(folder):
                    self.created.append(folder)
            if session.has("QRESYNC"):  # moved mail is reported in ranges, not a line each
                await session.ok("ENABLE", session.protocol.simple_command("ENABLE", "QRESYNC"))
            name = mailbox_name(s.mailbox)
            response = await session.ok(f"SELECT {s.mailbox}", session.protocol.select(name))
        except ValueError as exc:  # a mailbox name with a line break
            session.abort()
            raise session.error(str(exc)) from None
        except BaseException:
            session.abort()
            raise
        text = b"\n".join(bytes(line) for line in response.lines)
        if not (validity := _UIDVALIDITY.search(text)):
            session.abort()
            raise session.error(f"SELECT {s.mailbox}: no UIDVALIDITY in the reply")
        self.uidvalidity = int(validity[1])
        uidnext = _UIDNEXT.search(text)
        self.uidnext = int(uidnext[1]) if uidnext else None
        self._highest = self.uidnext - 1 if self.uidnext else 0
        log.info("IMAP %s selected (UIDVALIDITY %d)", s.mailbox, self.uidvalidity)

    async def check(self) -> None:
        """Connect, secure, log in, EXAMINE the mailbox (read-only) and log out on a connection
        of its own; raise ImapError saying what went wrong. For `doctor`."""
        session = ImapSession(self.settings, **self._options)
        try:
            await session.open()
            name = self.settings.mailbox
            await session.ok(
                f"EXAMINE {name}", session.protocol.simple_command("EXAMINE", mailbox_name(name))
            )
        finally:
            await session.close()

    async def aclose(self) -> None:
        """Log out (bounded) and close; safe to call twice or after an error."""
        await self._session.close()

    async def uids_after(self, uid: int) -> list[int]:
        """The UIDs in the mailbox above `uid`, ascending."""
        session = self._session
        await session.ok("NOOP", session.protocol.simple_command("NOOP"))
        found = await self._search_above(max(uid, 0))
        self._highest = max(self._highest, uid, *found)
        return found

    async def fetch(
        self, uids: Sequence[int], max_bytes: int | None = None
    ) -> AsyncIterator[Fetched]:
        """Each message still present, ascending by UID; unread mail stays unread. Sizes come
        first: one over `max_bytes` is yielded with its header only (`whole` False). A UID
        that is gone (moved or expunged meanwhile) is skipped."""
        wanted = sorted(set(uids))
        for start in range(0, len(wanted), SIZE_BATCH):
            sizes = await self._sizes(wanted[start : start + SIZE_BATCH])
            for batch, whole in fetch_plan(sizes, max_bytes, self._batch):
                item = "BODY.PEEK[]" if whole else "BODY.PEEK[HEADER]"
                for message in await self._collect(batch, item):
                    yield Fetched(message.uid, message.raw, sizes.get(message.uid, -1), whole)

    async def _sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """RFC822.SIZE of each of `uids` still present."""
        if not uids:
            return {}
        session = self._session
        command = session.protocol.fetch(
            uid_set(uids), "(UID RFC822.SIZE)", by_uid=True, timeout=session.timeout
        )
        response = await session.ok("UID FETCH", command)
        return parse_sizes(response.lines[:-1], set(uids))

    async def _collect(self, uids: Sequence[int], item: str) -> list[Fetched]:
        if not uids:
            return []
        session = self._session
        command = session.protocol.fetch(
            uid_set(uids), f"(UID {item})", by_uid=True, timeout=session.timeout
        )
        response = await session.ok("UID FETCH", command, timeout=self._fetch_timeout)
        return parse_fetch(response.lines[:-1])

    async def move(self, uids: Sequence[int], folder: str) -> None:
        """Move these messages to `folder`; see the module docstring for servers without MOVE."""
        session, name, wanted = self._session, mailbox_name(folder), sorted(set(uids))
        size = MOVE_SIZE_QRESYNC if session.has("QRESYNC") else MOVE_SIZE
        for start in range(0, len(wanted), size):
            batch = uid_set(wanted[start : start + size])
            protocol = session.protocol
            if session.has("MOVE"):
                await session.ok("UID MOVE", protocol.move(batch, name, by_uid=True))
                continue
            await session.ok("UID COPY", protocol.copy(batch, name, by_uid=True))
            flag = protocol.store(batch, "+FLAGS.SILENT", r"(\Deleted)", by_uid=True)
            await session.ok("UID STORE", flag)
            if session.has("UIDPLUS"):
                await session.ok("UID EXPUNGE", protocol.expunge(batch, by_uid=True))
            else:
                log.warning("IMAP server has neither MOVE nor UIDPLUS: copied %s to %s and "
                            "left the originals \\Deleted for a mail client to expunge",
                            batch, folder)  # fmt: skip

    async def wait_for_new(self, timeout: float) -> bool:
        """True as soon as mail arrives past the last `uids_after` (or SELECT); False once
        `timeout` seconds pass without any."""
        session = self._session
        await session.ok("NOOP", session.protocol.simple_command("NOOP"))
        if await self._search_above(self._highest):
            return True
        if not session.has("IDLE"):
            await session.sleep(timeout)
            await session.ok("NOOP", session.protocol.simple_command("NOOP"))
            return bool(await self._search_above(self._highest))
        rounds = max(1, math.ceil(timeout / IDLE_SECONDS))
        for _ in range(rounds):
            if await self._idle(timeout / rounds):
                return True
        return False

    async def _search_above(self, uid: int) -> list[int]:
        session = self._session
        search = session.protocol.search("UID", f"{uid + 1}:*", charset=None, by_uid=True)
        response = await session.ok("UID SEARCH", search)
        found = {int(t) for line in response.lines[:-1] for t in bytes(line).split() if t.isdigit()}
        return sorted(n for n in found if n > uid)  # "n:*" includes the highest UID, even < n

    def supports(self, capability: str) -> bool:
        """Whether the server offered `capability` (IDLE, MOVE, UIDPLUS…) after login."""
        return self._session.has(capability)

    async def _ensure_folder(self, folder: str) -> bool:
        """Create `folder` unless it exists; True if it had to be created."""
        session, name = self._session, mailbox_name(folder)
        listed = await session.ok(
            f"LIST {folder}", session.protocol.simple_command("LIST", '""', name)
        )
        if len(listed.lines) > 1:
            return False
        await session.ok(f"CREATE {folder}", session.protocol.simple_command("CREATE", name))
        await session.call(
            f"SUBSCRIBE {folder}", session.protocol.simple_command("SUBSCRIBE", name)
        )
        log.info("IMAP folder %s created", folder)
        return True

    async def _idle(self, seconds: float) -> bool:
        """One IDLE: True when the server reports new mail, False after `seconds`."""
        session, protocol = self._session, self._session.protocol
        queue: asyncio.Queue[list[bytes]] = protocol.idle_queue
        while not queue.empty():
            queue.get_nowait()
        idle = asyncio.ensure_future(protocol.idle())
        try:
            if not await session.call("IDLE", _started(idle, protocol)):
                reason = idle.exception() or idle.result().result
                raise session.error(f"IDLE refused: {reason}")
            command = protocol.pending_sync_command  # the IdleCommand, to read what's left
            news = await session.call(
                "IDLE", _watch(queue, seconds), timeout=seconds + session.timeout
            )
            protocol.idle_done()
            await session.ok("IDLE", idle)
        finally:
            if not idle.done():
                idle.cancel()
                await asyncio.gather(idle, return_exceptions=True)
        late = [line for lines in _drain(queue) for line in lines]
        late += getattr(command, "buffer", [])  # read after the last flush to the queue
        return news or any(_NEWS.match(bytes(line)) for line in late)


async def _started(idle: asyncio.Future[Any], protocol: Any) -> bool:
    """Wait for the server's "+ idling" (True) or its refusal of IDLE (False)."""
    ack = asyncio.ensure_future(protocol.wait_for_idle_response())
    try:
        await asyncio.wait({idle, ack}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ack.cancel()
        await asyncio.gather(ack, return_exceptions=True)
    return not idle.done()


async def _watch(queue: asyncio.Queue[list[bytes]], seconds: float) -> bool:
    """Read what the server says during IDLE: True on EXISTS/RECENT, False after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                for line in map(bytes, await queue.get()):
                    if _NEWS.match(line):
                        return True
                    if line.startswith(b"BYE"):
                        raise ConnectionResetError(
                            f"the server said {line.decode(errors='replace')}"
                        )
    except TimeoutError:
        return False


def _drain(queue: asyncio.Queue[list[bytes]]) -> list[list[bytes]]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
