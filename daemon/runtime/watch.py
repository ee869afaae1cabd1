"""Keep reading the inbox whatever the network does: reconnect after any IMAP failure, with
jittered exponential backoff.

`watch_inbox` opens an inbox, hands it to `on_mail`, waits for new mail (IDLE, or at most
`poll_seconds`, because IDLE notifications can be lost) and hands it over again, forever. An
ImapError, from the inbox or from `on_mail`, drops the connection (aioimaplib's state after a
failure can't be trusted) and a new one is opened after `backoff(attempt)`: 1 s doubling to
5 minutes, so a server that is down or refuses the password is not hammered (repeated bad logins
get accounts locked). A success resets the count. Any other exception propagates: it is the
caller's bug or its store's failure, not the network's.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, Protocol

from daemon.errors import ImapError

if TYPE_CHECKING:
    from daemon.transport.imap import ImapInbox

log = logging.getLogger(__name__)

FIRST_BACKOFF, MAX_BACKOFF = 1.0, 300.0


class Rng(Protocol):
    def random(self) -> float: ...


def backoff(attempt: int, rng: Rng) -> float:
    """Seconds to wait before reconnection attempt `attempt` (1, 2, ...; 0 waits nothing): 1 s
    doubling to a 5-minute cap, at a random point of the upper half ("equal jitter"), so clients
    that lost the same server don't return in step yet never retry much sooner than planned."""
    if attempt <= 0:
        return 0.0
    ceiling = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** min(attempt - 1, 32))
    return ceiling / 2 * (1 + rng.random())


async def watch_inbox(
    connect: Callable[[], ImapInbox],
    on_mail: Callable[[ImapInbox], Awaitable[None]],
    *,
    poll_seconds: float,
    rng: Rng | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    alive: Callable[[], None] = lambda: None,
    failed: Callable[[ImapError], None] = lambda error: None,
) -> NoReturn:
    """Forever (cancel the task to stop): open `connect()`, call `on_mail(inbox)`, wait for new
    mail (at most `poll_seconds`: IDLE notifications can be lost) and call it again. On an
    ImapError, from the inbox or from `on_mail`, drop the connection, wait `backoff` and start
    over; any other exception propagates. `alive` is called whenever the loop gets somewhere
    (for the service's watchdog), `failed` with each ImapError."""
    rng = rng if rng is not None else random.Random()
    attempt = 0
    while True:
        try:
            async with connect() as inbox:
                alive()
                await on_mail(inbox)
                attempt = 0
                while True:
                    alive()
                    await inbox.wait_for_new(poll_seconds)
                    alive()
                    await on_mail(inbox)
        except ImapError as error:
            attempt += 1
            delay = backoff(attempt, rng)
            log.warning("IMAP: %s; reconnecting in %.1f s (attempt %d)", error, delay, attempt)
            failed(error)
            alive()
            await sleep(delay)
