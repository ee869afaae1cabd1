"""Obligation scenarios end to end — real SMTP out, real Dovecot in, `tick --at` through the
shipped PLCI year with replies appended as the participants: an agreement answered by the
mentee only stays open and is flagged; a skipped month is flagged for that month only; each
quarterly evaluation is requested; `status --json` shows the same picture."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
from email.message import EmailMessage
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.config.load import load_deployment
from daemon.mail.message import domain_of, message_id
from daemon.runtime.logs import quiet_protocol_libraries
from daemon.runtime.tick import run_tick
from daemon.store.sqlite import Store
from daemon.transport.imap import ImapInbox
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT, authenticated, point_imap_at
from tests.dovecot import Account
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "examples" / "plci-mentoring-year" / "config.toml"
PID = "plci-mentoring-year"
RUTH, KAYLA = "ruth.adler@example.org", "kayla.brooks@example.org"
PAIR = "pair:pair-01"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture
def plci(rehearsal: Path, imap_account: Account, monkeypatch: pytest.MonkeyPatch) -> Account:
    point_imap_at(imap_account, monkeypatch)
    return imap_account


async def tick(deployment: Deployment, when: dt.datetime) -> None:
    settings = deployment.settings
    async with ImapInbox(settings.imap) as inbox:
        await run_tick(
            deployment, Clock.frozen(when), lambda: SmtpTransport(settings.smtp), inbox=inbox
        )


def sent(server: SmtpServer, key: str, domain: str) -> EmailMessage | None:
    wanted = message_id(key, domain)
    for r in server.received:
        if r.message_id == wanted:
            return email.message_from_bytes(r.content, policy=email.policy.default)  # type: ignore[return-value]
    return None


def answer(request: EmailMessage, sender: str, text: str, n: int) -> bytes:
    return (
        authenticated()
        + f"From: {sender}\r\nTo: {request['Reply-To']}\r\nSubject: Re: {request['Subject']}\r\n"
        f"Message-ID: <plci-{n}@mail.example.net>\r\nIn-Reply-To: {request['Message-ID']}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\n"
        f"On Mon, Jan 12, 2026 at 9:00 AM PLCI wrote:\r\n> please reply\r\n"
    ).encode()


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_plci_agreement_months_and_quarters(
    plci: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(CONFIG)
        program = deployment.program
        domain = domain_of(program.sender.address)

        def request(item: str, k: int, who: str) -> EmailMessage:
            found = sent(server, f"{PID}/request/{item}/{PAIR}/{k}/{who}", domain)
            assert found is not None, f"no request {item} {k} to {who}"
            return found

        def flagged(item: str, k: int) -> bool:
            return sent(server, f"{PID}/flag/{item}/{PAIR}/{k}", domain) is not None

        await tick(deployment, at("2026-01-12T16:00"))
        plci.append(
            answer(request("mentoring-agreement", 0, KAYLA), KAYLA, "Yes, I agree and signed.", 1),
            answer(request("monthly-contact", 0, KAYLA), KAYLA, "Yes, we met on Friday.", 2),
        )
        for when in ("2026-01-13T16:00", "2026-02-05T16:00", "2026-02-16T16:00",
                     "2026-03-08T16:00", "2026-03-16T16:00"):  # fmt: skip
            await tick(deployment, at(when))
        plci.append(answer(request("monthly-contact", 2, RUTH), RUTH, "Yes, twice this month.", 3))
        for when in ("2026-03-17T16:00", "2026-03-23T16:00", "2026-04-10T16:00"):
            await tick(deployment, at(when))

        assert flagged("mentoring-agreement", 0)  # the mentee answered, the mentor did not
        assert not flagged("monthly-contact", 0)  # met in January
        assert flagged("monthly-contact", 1)  # February skipped: flagged
        assert not flagged("monthly-contact", 2)  # met in March
        assert request("quarterly-evaluation", 0, RUTH) and request(
            "quarterly-evaluation", 0, KAYLA
        )
        flag = sent(server, f"{PID}/flag/mentoring-agreement/{PAIR}/0", domain)
        assert flag is not None
        assert "Ruth Adler" in flag.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        capsys.readouterr()
        assert main(["-c", str(CONFIG), "status", "--json", "--at", "2026-04-10T16:00Z"]) == 0
        view = json.loads(capsys.readouterr().out)
        mine = {
            o["key"].split("/", 2)[2]: o for o in view["obligations"] if f"/{PAIR}/" in o["key"]
        }
        agreement = mine[f"mentoring-agreement/{PAIR}/0"]
        assert agreement["state"] == "overdue" and agreement["missing"] == [RUTH]
        assert agreement["answered_by"] == [KAYLA]
        states = [mine[f"monthly-contact/{PAIR}/{k}"]["state"] for k in range(3)]
        assert states == ["met", "overdue", "met"]
        assert mine[f"quarterly-evaluation/{PAIR}/0"]["state"] == "overdue"


CAREER = ROOT / "examples" / "career-mentoring" / "config.toml"


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_career_meeting_tool_fields_are_read_and_private_ones_stay_private(
    plci: Account,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_protocol_libraries()
    daniel, pid, pair = "daniel.okafor@example.org", "career-mentoring", "pair:p1"
    secret = "Zanzibar-pelican-4417"  # planted in private fields only
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(CAREER)
        program = deployment.program
        domain = domain_of(program.sender.address)

        async def career_tick(when: str) -> None:
            await tick(deployment, at(when))

        await career_tick("2026-10-07T15:00")
        request = sent(server, f"{pid}/request/monthly-meeting/{pair}/0/{daniel}", domain)
        assert request is not None
        body = (
            "Yes, we met on Monday.\r\n\r\n"
            "- Progress made: drafted my development plan\r\n"
            f"- Challenges: {secret} scheduling\r\n"
            "- Specific topics of this meeting: budgets\r\n"
            f"- Key learnings from the meeting: {secret}\r\n"
            "- Follow up: share the plan with my manager\r\n"
        )
        plci.append(answer(request, daniel, body, 10))
        before = len(server.received)
        await career_tick("2026-10-07T16:00")
        for when in ("2026-10-14T16:00", "2026-11-09T16:00"):  # reminders, digests, the next month
            await career_tick(when)

        store = Store.open(deployment.state_dir)
        try:
            [(_, checkin)] = store.checkins()
        finally:
            store.close()
        assert checkin.fields == {
            "progress": "drafted my development plan", "challenges": f"{secret} scheduling",
            "topics": "budgets", "key-learnings": secret,
            "follow-up": "share the plan with my manager",
        }  # fmt: skip
        assert checkin.answer == "yes" and checkin.obligations == (
            f"{pid}/obligation/monthly-meeting/{pair}/0",
        )
        [ack] = [
            email.message_from_bytes(r.content, policy=email.policy.default)
            for r in server.received[before:] if str(r.rcpt_tos) == str((daniel,))
            and "Recorded" in r.content.decode(errors="replace")
        ]  # fmt: skip
        ack_text = ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Key learnings from the meeting" in ack_text and secret not in ack_text
        organizers = {o.email for o in program.organizers}
        to_organizers = [r for r in server.received if organizers & set(r.rcpt_tos)]
        assert to_organizers  # digests went out
        assert all(secret.encode() not in r.content for r in server.received)
        capsys.readouterr()
        for args in (["status", "--json"], ["status"]):
            assert main(["-c", str(CAREER), *args, "--at", "2026-11-09T16:00Z"]) == 0
        assert secret not in capsys.readouterr().out
        assert secret not in caplog.text


ACL = ROOT / "examples" / "acl-mentoring" / "config.toml"


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_acl_thank_you_note_within_two_days_is_tracked(
    plci: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pid, joshua = "acl-mentoring", "joshua.bennett@example.org"
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(ACL)
        program = deployment.program
        domain = domain_of(program.sender.address)
        other = next(
            p.email for p in program.participants if p.role == "mentee" and p.email != joshua
        )

        async def acl_tick(when: str) -> None:
            await tick(deployment, at(when))

        await acl_tick("2026-07-24T15:00")
        key = f"{pid}/request/thank-you-note/{joshua}/0/{joshua}"
        request = sent(server, key, domain)
        assert request is not None
        plci.append(answer(request, joshua, "Yes, I mailed my thank-you card today.", 20))
        for when in ("2026-07-24T16:00", "2026-07-26T15:00", "2026-07-27T15:00"):
            await acl_tick(when)
        overdue = "{pid}/overdue/thank-you-note/{who}/0/{who}"
        assert sent(server, overdue.format(pid=pid, who=joshua), domain) is None
        assert sent(server, overdue.format(pid=pid, who=other), domain) is not None
        capsys.readouterr()
        assert main(["-c", str(ACL), "status", "--json", "--at", "2026-07-27T15:00Z"]) == 0
        states = {o["key"]: o["state"] for o in json.loads(capsys.readouterr().out)["obligations"]}
        assert states[f"{pid}/obligation/thank-you-note/{joshua}/0"] == "met"
        assert states[f"{pid}/obligation/thank-you-note/{other}/0"] == "overdue"


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_pause_shifts_reminders_and_resume_brings_them_back(
    plci: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(CONFIG)
        program = deployment.program
        domain = domain_of(program.sender.address)
        base = program.sender.reply_to

        await tick(deployment, at("2026-01-12T16:00"))
        pause = (authenticated() + f"From: {KAYLA}\r\nTo: {base}\r\nSubject: PAUSE until 2026-02-03\r\n"
                 "Message-ID: <pause-1@mail.example.net>\r\n\r\nAway for a while.\r\n")  # fmt: skip
        plci.append(pause.encode())
        for when in ("2026-01-13T16:00", "2026-01-25T16:00", "2026-01-31T16:00"):
            await tick(deployment, at(when))
        assert sent(server, f"{PID}/reminder/mentoring-agreement/{PAIR}/0/7d/{RUTH}", domain)
        assert not sent(server, f"{PID}/reminder/mentoring-agreement/{PAIR}/0/7d/{KAYLA}", domain)
        assert not sent(server, f"{PID}/reminder/monthly-contact/{PAIR}/0/4d/{KAYLA}", domain)
        await tick(deployment, at("2026-02-03T16:00"))  # the pause is over: still-useful ones go
        assert sent(server, f"{PID}/reminder/monthly-contact/{PAIR}/0/4d/{KAYLA}", domain)
        # the agreement's reminders were due by 2 February: too late now, skipped as stale
        assert not sent(server, f"{PID}/reminder/mentoring-agreement/{PAIR}/0/7d/{KAYLA}", domain)


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_pause_suspends_the_flag_about_what_the_paused_person_owes(
    plci: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(CONFIG)
        program = deployment.program
        domain = domain_of(program.sender.address)
        base = program.sender.reply_to
        flag = f"{PID}/flag/mentoring-agreement/{PAIR}/0"
        await tick(deployment, at("2026-01-12T16:00"))
        ruths = sent(server, f"{PID}/request/mentoring-agreement/{PAIR}/0/{RUTH}", domain)
        assert ruths is not None
        pause = (authenticated() + f"From: {KAYLA}\r\nTo: {base}\r\nSubject: PAUSE until 2026-02-10\r\n"
                 "Message-ID: <pause-2@mail.example.net>\r\n\r\nOn leave.\r\n")  # fmt: skip
        plci.append(answer(ruths, RUTH, "Yes, I agree.", 30), pause.encode())
        for when in ("2026-01-13T16:00", "2026-02-05T16:00"):
            await tick(deployment, at(when))
        assert sent(server, flag, domain) is None  # only Kayla owes it, and she is away
        await tick(deployment, at("2026-02-11T16:00"))  # back, and still not answered
        assert server.message_ids().count(message_id(flag, domain)) == 1
