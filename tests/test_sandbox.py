"""The demo's sandbox mailbox starts whatever its random password looks like (regression: a
password starting with "-" was read by the IMAP server's command line as an option, and one
demo in 64 failed to start)."""

from __future__ import annotations

import datetime as dt
import imaplib
from pathlib import Path

import pytest

from daemon.demo.sandbox import HOST, Sandbox


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_password_that_looks_like_an_option_still_logs_in(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    box.password = "-dash-first"
    async with box:
        await box.append(b"From: a@example.org\r\nSubject: hi\r\n\r\nhi\r\n",
                         dt.datetime(2026, 1, 5, tzinfo=dt.UTC))  # fmt: skip
        client = imaplib.IMAP4(HOST, box.imap_port)
        try:
            assert client.login(box.mailbox, box.password)[0] == "OK"
            assert client.select("INBOX")[0] == "OK"
        finally:
            client.logout()
