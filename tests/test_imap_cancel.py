"""A stop is never lost inside an IMAP command (regression: the service could hang on stop).

`ImapSession.call` races each command against "connection lost" and, once the command is done,
cancels and awaits the race it no longer needs. A cancellation of the caller arriving during
that last await was swallowed, so the mailbox watcher went on to its next IDLE (330 s) and the
service waited for it at SIGTERM. Every instant the cancellation can arrive at is tried."""

from __future__ import annotations

import asyncio

import pytest

from daemon.config.settings import ImapSettings
from daemon.transport.imap_session import ImapSession


@pytest.mark.asyncio
@pytest.mark.parametrize("hops", range(8))
async def test_a_cancellation_during_a_command_always_propagates(hops: int) -> None:
    session = ImapSession(ImapSettings(host="127.0.0.1"))
    caller: asyncio.Task[str] | None = None

    async def command() -> str:
        loop = asyncio.get_running_loop()

        def later(n: int) -> None:  # the cancel lands `hops` loop turns after the reply
            if n:
                loop.call_soon(later, n - 1)
            elif caller is not None:
                caller.cancel()

        loop.call_soon(later, hops)
        return "OK"

    async def use() -> str:
        result = await session.call("NOOP", command())
        await asyncio.sleep(5)  # the next command: a caller that went on would wait here
        return result

    caller = asyncio.create_task(use())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(caller, 2)
