"""The hostile corpus, end to end against Dovecot and aiosmtpd: forged From with and without
forged Authentication-Results, genuine mail our receiving server vouches for, mail that proves
its sender with a reply token and mail that borrows someone else's, forged and genuine bounces
(DSN and Exchange NDR, returned headers and VERP), and Markdown, HTML and header payloads in
every field a participant controls. Each message in tests/data/hostile has its expected
outcome in expected.json: what it is recorded as, who is answered, and what it changes."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import sqlite3
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.runtime.tick import run_tick
from daemon.transport.imap import ImapInbox
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT, point_imap_at
from tests.dovecot import Account
from tests.smtp_server import SmtpServer

CORPUS = ROOT / "tests" / "data" / "hostile"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
AT = dt.datetime(2021, 7, 28, 0, tzinfo=dt.UTC)
PEOPLE = {
    "olivia": "olivia.brennan@example.org",
    "dana": "dana.whitfield@example.org",
    "tomasz": "tomasz.nowak@example.org",
}
_PLACEHOLDER = re.compile(rb"%%(REPLY|MSGID|HEADERS):([a-z]+)%%")


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 30


def _filled(raw: bytes, ours: dict[str, EmailMessage], headers: dict[str, bytes]) -> bytes:
    """A corpus message with the tokens, Message-IDs and headers of what we sent."""

    def fill(found: re.Match[bytes]) -> bytes:
        what, who = found[1].decode(), found[2].decode()
        if what == "HEADERS":
            return headers[who]
        field = "Reply-To" if what == "REPLY" else "Message-ID"
        return str(ours[who][field]).encode()

    return _PLACEHOLDER.sub(fill, raw)


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_hostile_corpus_end_to_end(
    rehearsal: Path,
    imap_account: Account,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_imap_at(imap_account, monkeypatch)
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(ROOT / "config.example.toml")
        settings = deployment.settings

        async def tick(at: dt.datetime) -> None:
            async with ImapInbox(settings.imap) as inbox:
                await run_tick(
                    deployment, Clock.frozen(at), lambda: SmtpTransport(settings.smtp),
                    inbox=inbox,
                )  # fmt: skip

        await tick(AT)
        ours: dict[str, EmailMessage] = {}
        headers: dict[str, bytes] = {}
        for received in server.received:  # the latest message to each person
            for who, address in PEOPLE.items():
                if address in received.rcpt_tos:
                    message = email.message_from_bytes(
                        received.content, policy=email.policy.default
                    )
                    assert isinstance(message, EmailMessage)
                    ours[who] = message
                    headers[who] = received.content.split(b"\r\n\r\n", 1)[0]
        assert set(ours) == set(PEOPLE)
        for name in sorted(EXPECTED):
            imap_account.append(_filled((CORPUS / name).read_bytes(), ours, headers))
        before = len(server.received)
        await tick(AT + dt.timedelta(hours=1))
        answers = server.received[before:]
    assert imap_account.uids("INBOX") == []  # every message read and moved
    capsys.readouterr()  # refused and unmatched are counted apart
    assert main(["-c", str(ROOT / "config.example.toml"), "status", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    kinds_expected = [e["kind"] for e in EXPECTED.values()]
    assert view["refused"] == kinds_expected.count("refused") > 0
    assert view["unmatched"] == kinds_expected.count("unmatched") > 0

    db = sqlite3.connect(rehearsal / "state" / "mentormail.sqlite3")
    try:
        kinds = {r[0]: (r[1], r[2]) for r in db.execute("SELECT message_id, kind, id FROM inbox")}
        intents: dict[int, set[str]] = {}
        for inbox_id, recipient in db.execute("SELECT inbox_id, recipient FROM intents"):
            intents.setdefault(inbox_id, set()).add(recipient or "organizers")
        commands = {
            (r[0], r[1])
            for r in db.execute("SELECT participant, name FROM commands")
            if r[1] not in ("HELP", "STATUS")  # (recorded, they change nothing)
        }
        bounces = {r[0] for r in db.execute("SELECT address FROM bounces")}
        confirmations = {r[0] for r in db.execute("SELECT participant FROM confirmations")}
    finally:
        db.close()
    wrong = []
    for n, name in enumerate(sorted(EXPECTED), start=1):
        expected = EXPECTED[name]
        kind, inbox_id = kinds[f"<hostile-{n:02d}@mail.example.net>"]
        answered = sorted(intents.get(inbox_id, set()))
        if kind != expected["kind"] or answered != sorted(expected["answered"]):
            wrong.append(f"{name}: {kind}, answered {answered}; expected {expected}")
    assert not wrong, "\n".join(wrong)
    assert commands == {tuple(e["command"]) for e in EXPECTED.values() if "command" in e}
    assert bounces == {e["bounce"] for e in EXPECTED.values() if "bounce" in e}
    assert confirmations == {e["confirm"] for e in EXPECTED.values() if "confirm" in e}
    for received in answers:  # nothing from outside became a link, an image or a header
        message = email.message_from_bytes(received.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage) and message["Bcc"] is None
        html = message.get_body(("html",))
        tags = re.findall(r"<[a-zA-Z][^>]*>", str(html.get_content()) if html else "")
        assert not [t for t in tags if "evil.example" in t], received.rcpt_tos
