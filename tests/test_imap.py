"""The IMAP adapter against a real Dovecot (tests/dovecot.py): TLS and login failures named,
byte-exact batched FETCH that leaves mail unread, the UID SEARCH edge, MOVE and its fallback,
UIDVALIDITY, IDLE, a kicked connection, and reconnection with backoff."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from daemon.config.settings import ImapSettings
from daemon.errors import ImapError
from daemon.runtime.watch import MAX_BACKOFF, backoff, watch_inbox
from daemon.transport.imap import ImapInbox
from daemon.transport.imap_fetch import Fetched, fetch_plan, parse_fetch, parse_sizes, uid_set
from daemon.transport.imap_session import LOGOUT_TIMEOUT, mailbox_name, quote
from tests.conftest import idling
from tests.dovecot import HOST, Account, Dovecot, free_port


def message(n: int, subject: str = "") -> bytes:
    """A reply with the shapes that trip IMAP parsers: an unbalanced "(" in the Subject, 8-bit
    body bytes, a line that looks like a literal and one that starts with ")"."""
    return (
        f"From: Ana <ana@example.org>\r\nTo: mini@example.org\r\n"
        f"Subject: {subject or f'Re: (urgent {n}'}\r\nMessage-ID: <{n}.reply@example.org>\r\n"
        f"Content-Type: text/plain; charset=latin-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Yes, done {n}. Caf\xe9.\r\nA line ending like a literal {{12}}\r\n) and one in parens\r\n"
    ).encode("latin-1")


def secure(account: Account, security: str) -> tuple[Any, ssl.SSLContext]:
    return account.settings(security), account.server.client_context()


async def collect(inbox: ImapInbox, uids: list[int], max_bytes: int | None = None) -> list[Fetched]:
    return [m async for m in inbox.fetch(uids, max_bytes)]


def expand(uid_set: str) -> list[int]:
    """The UIDs of an IMAP sequence set ("3:5,9")."""
    out: list[int] = []
    for part in uid_set.split(","):
        first, _, last = part.partition(":")
        out += range(int(first), int(last or first) + 1)
    return out


@pytest.fixture(scope="module")
def dovecot_without_tls() -> Iterator[Dovecot]:
    """A server of its own: no STARTTLS, and its per-IP penalty for a bad password stays here."""
    with Dovecot.started(tls=False) as server:
        yield server


@pytest.mark.asyncio
async def test_open_selects_the_mailbox_and_creates_the_folders(imap_account: Account) -> None:
    settings = imap_account.settings(processed_mailbox="Traités")
    async with ImapInbox(settings) as inbox:
        assert inbox.uidvalidity == imap_account.uidvalidity()
        assert await inbox.uids_after(0) == []
    with imap_account.imap() as client:
        _, listed = client.list()
    names = b" ".join(line for line in listed if isinstance(line, bytes))
    assert b"Trait&AOk-s" in names and b"Unmatched" in names
    async with ImapInbox(settings) as inbox:  # a second time: the folders are already there
        assert inbox.uidvalidity == imap_account.uidvalidity()


@pytest.mark.asyncio
@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_tls_modes_log_in_over_tls(imap_account: Account, security: str) -> None:
    imap_account.append(message(1))
    settings, context = secure(imap_account, security)
    async with ImapInbox(settings, tls_context=context) as inbox:
        transport = inbox._session.protocol.transport
        assert transport.get_extra_info("ssl_object") is not None
        assert [m.raw for m in await collect(inbox, await inbox.uids_after(0))] == [message(1)]
    await ImapInbox(settings, tls_context=context).check()


@pytest.mark.asyncio
@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_an_untrusted_certificate_is_refused(imap_account: Account, security: str) -> None:
    settings = imap_account.settings(security)
    with pytest.raises(ImapError, match="certificate not trusted") as caught:
        await ImapInbox(settings, tls_context=ssl.create_default_context()).check()
    assert f"IMAP server {HOST}:{settings.port}" in str(caught.value)


@pytest.mark.asyncio
async def test_a_closed_port_is_named() -> None:
    port = free_port()
    settings = ImapSettings(host=HOST, port=port, security="none", username="ana")
    with pytest.raises(ImapError, match=rf"IMAP server {HOST}:{port}: connection refused"):
        await ImapInbox(settings).check()
    with pytest.raises(ImapError, match="connection refused"):
        async with ImapInbox(settings):
            pass


@pytest.mark.asyncio
async def test_a_wrong_password_is_named_without_the_password(
    dovecot_without_tls: Dovecot,
) -> None:
    account = dovecot_without_tls.new_account()
    settings = account.settings(password="not-the-password")
    with pytest.raises(ImapError) as caught:
        await ImapInbox(settings).check()
    text = str(caught.value)
    assert f"{HOST}:{settings.port}: login as {account.user!r} refused" in text
    assert "AUTHENTICATIONFAILED" in text and "not-the-password" not in text


@pytest.mark.asyncio
async def test_starttls_missing_is_refused_before_login(dovecot_without_tls: Dovecot) -> None:
    account = dovecot_without_tls.new_account()
    with pytest.raises(ImapError, match="does not offer STARTTLS; refusing"):
        await ImapInbox(account.settings("starttls")).check()
    assert f"user=<{account.user}>" not in dovecot_without_tls.log_text()


@pytest.mark.asyncio
async def test_a_server_that_never_greets_times_out() -> None:
    with socket.socket() as listener:  # the kernel completes the handshake; nobody answers
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        settings = ImapSettings(host=HOST, port=port, security="none", username="ana")
        with pytest.raises(ImapError, match=rf"{HOST}:{port}: connect: timed out after 0.3 s"):
            await ImapInbox(settings, timeout=0.3).check()


RUN: dict[str, Callable[[ImapInbox], Awaitable[object]]] = {
    "NOOP": lambda inbox: inbox.uids_after(0),
    "UID FETCH": lambda inbox: collect(inbox, [1]),
    "UID MOVE": lambda inbox: inbox.move([1], "Processed"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("command", RUN)
async def test_every_command_has_a_timeout(imap_account: Account, command: str) -> None:
    loop = asyncio.get_running_loop()
    imap_account.append(message(1))
    inbox = ImapInbox(imap_account.settings(), timeout=0.3)
    await inbox.open()
    try:
        with imap_account.frozen():
            with pytest.raises(ImapError, match=rf"\d: {command}: timed out after 0.3 s"):
                await RUN[command](inbox)
            started = loop.time()
            await inbox.aclose()  # no LOGOUT on a connection in an unknown state
            # a LOGOUT would wait LOGOUT_TIMEOUT (5 s) for the frozen server; closing takes a
            # turn of the loop, which a loaded machine can stretch past the 0.1 s this was
            assert loop.time() - started < LOGOUT_TIMEOUT / 5
    finally:
        await inbox.aclose()
    assert all("\\Seen" not in flags for flags in imap_account.flags().values())


@pytest.mark.asyncio
async def test_fetch_is_batched_byte_exact_and_leaves_mail_unread(imap_account: Account) -> None:
    sent = [message(n) for n in range(1, 121)]
    imap_account.append(*sent)
    async with ImapInbox(imap_account.settings()) as inbox:
        protocol = inbox._session.protocol
        fetch, batches = protocol.fetch, []

        def counting(*args: Any, **kw: Any) -> Any:
            batches.append((len(expand(args[0])), args[1]))
            return fetch(*args, **kw)

        protocol.fetch = counting
        uids = await inbox.uids_after(0)
        got = await collect(inbox, uids)
    sizes, bodies = "(UID RFC822.SIZE)", "(UID BODY.PEEK[])"
    assert batches == [(100, sizes), (50, bodies), (50, bodies), (20, sizes), (20, bodies)]
    assert uids == list(range(1, 121))
    assert [m.uid for m in got] == uids and [m.raw for m in got] == sent
    assert all("\\Seen" not in flags for flags in imap_account.flags().values())


@pytest.mark.asyncio
async def test_mail_delivered_by_an_mta_comes_back_as_stored(imap_account: Account) -> None:
    imap_account.deliver(b"Subject: bare LF\n\nline\n")
    async with ImapInbox(imap_account.settings()) as inbox:
        (got,) = await collect(inbox, [1, 99])  # 99 doesn't exist: skipped
    stored = imap_account.read()[1]
    assert got == Fetched(1, stored, len(stored))  # RFC822.SIZE is what the server stores


@pytest.mark.asyncio
async def test_uids_after_filters_the_star_range(imap_account: Account) -> None:
    imap_account.append(message(1), message(2), message(3))
    async with ImapInbox(imap_account.settings()) as inbox:
        assert await inbox.uids_after(0) == [1, 2, 3]
        assert await inbox.uids_after(2) == [3]
        assert await inbox.uids_after(3) == []  # "4:*" answers 3
        assert await inbox.uids_after(100) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("ignored", [(), ("MOVE",)], ids=["MOVE", "COPY+UID EXPUNGE"])
async def test_move_leaves_other_mail_alone(imap_account: Account, ignored: tuple[str]) -> None:
    imap_account.append(message(1), message(2), message(3))
    imap_account.append(message(4), flags="\\Deleted")  # another client's, not expunged yet
    async with ImapInbox(imap_account.settings(), ignore_capabilities=ignored) as inbox:
        await inbox.move([1, 2], "Processed")
        assert await inbox.uids_after(0) == [3, 4]
    assert imap_account.uids() == [3, 4]
    assert "\\Deleted" in imap_account.flags()[4]
    assert list(imap_account.read("Processed").values()) == [message(1), message(2)]


@pytest.mark.asyncio
async def test_without_uidplus_the_originals_stay_deleted(imap_account: Account) -> None:
    imap_account.append(message(1), message(2))
    settings = imap_account.settings(unmatched_mailbox="Réponses à voir")
    async with ImapInbox(settings, ignore_capabilities={"MOVE", "UIDPLUS"}) as inbox:
        await inbox.move([1], "Réponses à voir")
    assert imap_account.flags()[1] >= {"\\Deleted"} and "\\Deleted" not in imap_account.flags()[2]
    assert list(imap_account.read('"R&AOk-ponses &AOA- voir"').values()) == [message(1)]


@pytest.mark.asyncio
async def test_uidvalidity_is_reported_and_follows_a_reset(imap_account: Account) -> None:
    imap_account.append(message(1))
    async with ImapInbox(imap_account.settings()) as inbox:
        first = inbox.uidvalidity
        assert inbox.uidnext == 2
    imap_account.set_uidvalidity(first + 7)
    async with ImapInbox(imap_account.settings()) as inbox:
        assert inbox.uidvalidity == first + 7


@pytest.mark.asyncio
async def test_wait_for_new_wakes_on_mail_from_another_client(imap_account: Account) -> None:
    loop = asyncio.get_running_loop()
    async with ImapInbox(imap_account.settings()) as inbox:
        assert await inbox.uids_after(0) == []
        assert await inbox.wait_for_new(0.2) is False
        waiting = asyncio.ensure_future(inbox.wait_for_new(10))
        # the server is in IDLE before the mail comes (a sleep of 0.2 s was not always enough,
        # and mail that came first is found by the search before IDLE, not by IDLE)
        await idling(imap_account)
        await asyncio.to_thread(imap_account.append, message(1))
        started = loop.time()  # from the mail's arrival: a login and APPEND can take seconds
        assert await asyncio.wait_for(waiting, 5) is True
        assert loop.time() - started < 2
        assert await inbox.uids_after(0) == [1]
        assert await inbox.wait_for_new(0.2) is False  # IDLE can be used again


@pytest.mark.asyncio
async def test_wait_for_new_sees_mail_it_was_not_told_about(imap_account: Account) -> None:
    async with ImapInbox(imap_account.settings(), ignore_capabilities={"IDLE"}) as inbox:
        assert await inbox.uids_after(0) == []
        assert await inbox.wait_for_new(0.2) is False  # polls without IDLE
        imap_account.append(message(1))
        assert await asyncio.wait_for(inbox.wait_for_new(30), 2) is True


@pytest.mark.asyncio
async def test_a_kick_during_idle_raises_promptly(imap_account: Account) -> None:
    async with ImapInbox(imap_account.settings()) as inbox:
        waiting = asyncio.ensure_future(inbox.wait_for_new(30))
        await idling(imap_account)  # the kick lands during IDLE, not before it (a 0.2 s sleep)
        await asyncio.to_thread(imap_account.kick)
        with pytest.raises(ImapError, match=r"IMAP server .*: IDLE: "):
            await asyncio.wait_for(waiting, 2)
        with pytest.raises(ImapError, match="connection"):
            await inbox.uids_after(0)
    async with ImapInbox(imap_account.settings()) as inbox:  # a new connection works
        assert await inbox.uids_after(0) == []


@pytest.mark.asyncio
async def test_watch_inbox_reconnects_after_a_kick(imap_account: Account) -> None:
    imap_account.append(message(1))
    calls: list[list[int]] = []
    delays: list[float] = []
    kicked = asyncio.Event()

    async def on_mail(inbox: ImapInbox) -> None:
        calls.append(await inbox.uids_after(0))
        if len(calls) == 1:
            await asyncio.to_thread(imap_account.kick)
        if len(calls) == 2:
            kicked.set()

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    class Half:
        def random(self) -> float:
            return 0.5

    watching = asyncio.ensure_future(
        watch_inbox(
            lambda: ImapInbox(imap_account.settings()),
            on_mail,
            poll_seconds=10,
            rng=Half(),
            sleep=sleep,
        )
    )
    try:
        await asyncio.wait_for(kicked.wait(), 5)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    assert calls == [[1], [1]] and delays == [0.75]


@pytest.mark.parametrize(
    ("attempt", "draw", "seconds"),
    [
        (0, 0.9, 0.0),
        (1, 0.0, 0.5),
        (1, 0.999, 0.9995),
        (2, 0.5, 1.5),
        (5, 0.0, 8.0),
        (9, 0.0, 128.0),
        (10, 0.0, MAX_BACKOFF / 2),
        (10**6, 0.999, MAX_BACKOFF * 0.9995),
    ],
)
def test_backoff_doubles_with_jitter_up_to_a_cap(attempt: int, draw: float, seconds: float) -> None:
    class Fixed:
        def random(self) -> float:
            return draw

    assert backoff(attempt, Fixed()) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", '"INBOX"'),
        ("Traités", '"Trait&AOk-s"'),
        ("日本語", '"&ZeVnLIqe-"'),
        ("R&D", '"R&-D"'),
        ('a "b" \\c', r'"a \"b\" \\c"'),
    ],
)
def test_mailbox_names_are_modified_utf7_and_quoted(name: str, wire: str) -> None:
    assert mailbox_name(name) == wire


def test_line_breaks_cannot_reach_the_wire() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        quote("INBOX\r\nA1 DELETE INBOX")


def test_parse_fetch_pairs_uids_with_bodies() -> None:
    lines = [
        b"1 FETCH (UID 7 BODY[] {5}",
        bytearray(b"hello"),
        b")",
        b"2 FETCH (FLAGS (\\Seen))",  # unsolicited: another client read message 2
        b"3 FETCH (BODY[] {3}",
        b"(((",
        b" UID 9)",
    ]
    assert parse_fetch(lines) == [Fetched(7, b"hello"), Fetched(9, b"(((")]


def test_parse_sizes_keeps_only_the_asked_for() -> None:
    lines = [
        b"1 FETCH (UID 7 RFC822.SIZE 1234)",
        b"2 FETCH (RFC822.SIZE 99 UID 8)",
        b"3 FETCH (UID 30 FLAGS (\\Seen))",  # unsolicited
        b"4 FETCH (UID 31 RFC822.SIZE 5)",  # not asked for
    ]
    assert parse_sizes(lines, {7, 8, 30}) == {7: 1234, 8: 99}


MB = 1024 * 1024


@pytest.mark.parametrize(
    ("sizes", "limit", "expected"),
    [
        ({1: 10, 2: 10, 3: 10}, None, [([1, 2], True), ([3], True)]),  # batch of 2
        ({1: 10, 2: 11 * MB, 3: 10}, 10 * MB, [([1], True), ([2], False), ([3], True)]),
        ({1: 9 * MB, 2: 9 * MB, 3: 1}, 10 * MB, [([1], True), ([2, 3], True)]),  # 16 MB a FETCH
        ({1: 40 * MB}, None, [([1], True)]),  # no limit: a big one alone
        ({5: 11 * MB, 6: 11 * MB}, 10 * MB, [([5], False), ([6], False)]),
        ({}, 10 * MB, []),
    ],
)
def test_fetch_plan_bounds_each_fetch_and_skips_what_is_too_large(
    sizes: dict[int, int], limit: int | None, expected: list[tuple[list[int], bool]]
) -> None:
    assert fetch_plan(sizes, limit, 2) == expected


@pytest.mark.asyncio
async def test_mail_over_the_limit_is_not_downloaded(imap_account: Account) -> None:
    big = message(2) + b"x" * (2 * MB) + b"\r\n"
    imap_account.append(message(1), big, message(3))
    async with ImapInbox(imap_account.settings()) as inbox:
        protocol = inbox._session.protocol
        fetch, asked = protocol.fetch, []

        def recording(*args: Any, **kw: Any) -> Any:
            asked.append((args[0], args[1]))
            return fetch(*args, **kw)

        protocol.fetch = recording
        got = await collect(inbox, await inbox.uids_after(0), max_bytes=MB)
    assert [(m.uid, m.whole) for m in got] == [(1, True), (2, False), (3, True)]
    assert got[1].size == len(big) and got[1].raw == big.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert [a for a in asked if a[0] == "2"] == [("2", "(UID BODY.PEEK[HEADER])")]
    assert got[0].raw == message(1) and got[0].size == len(message(1))


@pytest.mark.parametrize(
    ("uids", "expected"),
    [([1], "1"), ([3, 4, 5, 9], "3:5,9"), ([1, 3, 5], "1,3,5"), ([7, 8, 10, 11, 12], "7:8,10:12")],
)
def test_uid_set_writes_ranges(uids: list[int], expected: str) -> None:
    assert uid_set(uids) == expected


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_big_move_is_one_command_with_qresync(imap_account: Account) -> None:
    """With QRESYNC the server reports moved mail as ranges (VANISHED), so 1,200 messages go
    in one MOVE without a line per message for aioimaplib to choke on (it can recurse on a
    reply of thousands of lines); every one arrives, none is left behind."""
    imap_account.append(*(message(n) for n in range(1200)))
    async with ImapInbox(imap_account.settings()) as inbox:
        assert inbox.supports("QRESYNC")
        uids = await inbox.uids_after(0)
        kept = uids[::7]  # not all contiguous: the set has ranges and gaps
        await inbox.move([u for u in uids if u not in kept], "Processed")
    assert imap_account.uids("INBOX") == kept
    assert len(imap_account.uids("Processed")) == 1200 - len(kept)
