"""A long backlog never starves the mailbox: a delivery pass is bounded in time, and a reply
that arrives while 2,000 sends wait for the provider's limit (60 a minute, half an hour of
sending) is read within that bound, under `run`, against a real SMTP server and Dovecot."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.runtime.service import Service
from daemon.store.sqlite import Store
from daemon.transport.imap import ImapInbox
from daemon.transport.smtp import SmtpTransport
from tests.conftest import authenticated, mini_program, point_imap_at, until
from tests.dovecot import Account
from tests.smtp_server import SmtpServer

BACKLOG = 2000
BOUND = 2.0  # [smtp] pass_seconds
WEEK1 = dt.datetime(2026, 3, 2, 16, tzinfo=dt.UTC)  # the weekly mail is due for everyone


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_reply_is_read_within_the_pass_bound_while_a_backlog_waits(
    rehearsal: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [(f"Person {i}", f"p{i}@example.org", "UTC", "mentor") for i in range(BACKLOG)]
    config = mini_program(rehearsal, people, weeks=2, structure="individuals", digest=False)
    point_imap_at(imap_account, monkeypatch)
    monkeypatch.setenv("MENTORMAIL_SMTP__MAX_PER_MINUTE", "60")
    monkeypatch.setenv("MENTORMAIL_SMTP__PASS_SECONDS", str(BOUND))
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(config)
        settings = deployment.settings
        service = Service(
            deployment, lambda: SmtpTransport(settings.smtp),
            clock=Clock.starting_at(WEEK1), inbox_factory=lambda: ImapInbox(settings.imap),
        )  # fmt: skip
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        try:
            await until(lambda: len(server.received) >= 60, 60)  # the first minute's share
            await asyncio.sleep(0.5)  # now waiting for the provider's limit
            imap_account.deliver(
                authenticated().encode()
                + b"From: Person 7 <p7@example.org>\r\nTo: mini@example.org\r\n"
                b"Subject: HELP\r\nMessage-ID: <help-7@mail.example.net>\r\n\r\nHELP\r\n"
            )
            # the backlog takes half an hour at 60 a minute: a reply read within 30 s was read
            # by a pass that stopped at its bound, not after the backlog (how many seconds
            # depends on the machine's load, so that is not asserted more closely)
            await until(lambda: not imap_account.uids("INBOX"), 30)
        finally:
            stop.set()
            await asyncio.wait_for(running, 15)
    store = Store.open(rehearsal / "state")
    try:
        counts = store.counts()
        kinds = store.inbox_counts()
    finally:
        store.close()
    assert kinds == {"command": 1}  # read and recorded (and answered: a HELP)
    assert counts.get("pending", 0) >= BACKLOG - 200  # the backlog is still going out
