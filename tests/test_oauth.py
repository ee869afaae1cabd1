"""OAuth2 end to end, against real servers on 127.0.0.1: an authorization server
(tests/oauth_server.py), Dovecot checking tokens with its oauth2 passdb (introspection), and
aiosmtpd taking AUTH XOAUTH2/OAUTHBEARER over STARTTLS. `mentormail login` through the device
code; a browser sign-in returning to 127.0.0.1; a full pass with OAuth2 on both servers; an
access token that dies early, renewed with nothing lost or sent twice; a revoked grant that
holds sending and reading with the documented messages and resumes after `login`; and no token
anywhere it should not be."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
import ssl
import stat
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
import pytest_asyncio
import trustme

from daemon.cli import main
from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.runtime.logs import quiet_protocol_libraries
from daemon.runtime.tick import TickReport, run_tick
from daemon.transport.connect import Servers
from daemon.transport.oauth.flows import browser_sign_in
from daemon.transport.oauth.grants import Grant, Grants
from tests.conftest import ROOT, authenticated, point_imap_at, until
from tests.dovecot import HOST, Account, Dovecot
from tests.oauth_server import CLIENT_ID, OAuthServer
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
AT = dt.datetime(2021, 7, 28, 0, tzinfo=dt.UTC)


@pytest.fixture
def auth() -> Iterator[OAuthServer]:
    with OAuthServer() as server:
        yield server


@pytest.fixture
def account(auth: OAuthServer) -> Iterator[Account]:
    """A mailbox on a Dovecot of its own that checks tokens with `auth`."""
    with Dovecot.started(oauth=auth) as server:
        yield server.new_account()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest_asyncio.fixture
async def smtp(
    auth: OAuthServer, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SmtpServer]:
    """aiosmtpd with STARTTLS (its certificate trusted through SSL_CERT_FILE, as a real CA
    would be) taking `auth`'s tokens."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    async with SmtpServer(starttls=context, oauth=auth) as server:
        yield server


@pytest.fixture
def configured(
    rehearsal: Path,
    auth: OAuthServer,
    account: Account,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The example config, signing in to both servers as the Dovecot user with OAuth2."""
    point_imap_at(account, monkeypatch)
    for key, value in {
        "OAUTH__PROVIDER": "custom", "OAUTH__CLIENT_ID": CLIENT_ID,
        "OAUTH__TOKEN_URL": auth.token_url, "OAUTH__DEVICE_URL": auth.device_url,
        "OAUTH__AUTHORIZE_URL": auth.authorize_url, "OAUTH__SCOPES": "mail offline_access",
        "SMTP__HOST": HOST, "SMTP__PORT": str(smtp.port), "SMTP__SECURITY": "starttls",
        "SMTP__AUTH": "oauth2", "SMTP__USERNAME": account.user,
        "IMAP__AUTH": "oauth2", "IMAP__PASSWORD": "",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"MENTORMAIL_{key}", value)
    return rehearsal / "state"


def signed_in(auth: OAuthServer, state: Path, user: str) -> Grant:
    """A grant as `mentormail login` leaves it (the server mints the tokens), whose access
    token it believes good for an hour, whatever the server's own lifetime."""
    response = {**auth.issue(user, ("mail", "offline_access")), "expires_in": 3600}
    grant = Grant(user, "custom", CLIENT_ID, auth.token_url, ("mail", "offline_access"),
                  str(response["refresh_token"]))  # fmt: skip
    grant = grant.with_token(response, dt.datetime.now(dt.UTC).timestamp())
    Grants(state).save(grant)
    return grant


async def tick(at: dt.datetime, *, read: bool = True) -> TickReport:
    """One pass as `mentormail tick` makes it: the mailbox opened first, then the pass."""
    deployment = load_deployment(CONFIG)
    servers = Servers(deployment)
    inbox = servers.imap() if read else None
    problem = ""
    try:
        if inbox is not None:
            await inbox.open()
    except Exception as error:  # as the CLI does: the pass goes on without the mailbox
        problem, inbox = str(error), None
    try:
        return await run_tick(deployment, Clock.frozen(at), servers.smtp, inbox=inbox,
                              mailbox_problem=problem)  # fmt: skip
    finally:
        if inbox is not None:
            await inbox.aclose()


def help_mail(n: int) -> bytes:
    return (
        f"{authenticated()}From: Olivia Brennan <olivia.brennan@example.org>\r\n"
        f"To: pemento-replies@example.org\r\nSubject: HELP\r\n"
        f"Message-ID: <oauth-help-{n}@mail.example.net>\r\n\r\nHELP\r\n"
    ).encode()


async def cli(*args: str) -> tuple[int, str]:
    """The command line in a thread (it runs its own event loop)."""
    import contextlib
    import io

    out = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out):
            return main(["-c", str(CONFIG), *args])

    code = await asyncio.to_thread(run)
    return code, out.getvalue()


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_login_with_the_device_code_then_both_servers_take_the_token(
    configured: Path, auth: OAuthServer, account: Account, smtp: SmtpServer
) -> None:
    async def approve() -> None:
        await until(lambda: bool(auth.pending_user_codes()), 20)
        [code] = auth.pending_user_codes()
        auth.approve(code, account.user)

    approving = asyncio.create_task(approve())
    code, out = await cli("login")
    await approving
    assert code == 0, out
    assert f"{auth.verification_uri}" in out and "enter the code" in out
    grant = Grants(configured).load(account.user)
    assert grant is not None and grant.refresh_token and grant.scopes
    path = Grants(configured).path(account.user)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert grant.access_token not in out and grant.refresh_token not in out
    lines = {line.split()[0]: line for line in out.splitlines() if line[:4] in ("smtp", "imap")}
    assert " ok " in lines["smtp"] and "with OAuth2" in lines["smtp"], out
    assert " ok " in lines["imap"] and "with OAuth2" in lines["imap"], out
    assert [user for _, user in smtp.oauth_logins] == [account.user]
    assert smtp.received == []  # `login` sends nothing


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_browser_sign_in_returns_to_127_0_0_1_with_pkce(
    configured: Path, auth: OAuthServer, account: Account
) -> None:
    auth.authorize_as = account.user
    settings = load_deployment(CONFIG).settings.oauth
    shown: list[str] = []
    signing = asyncio.create_task(browser_sign_in(settings, account.user, shown.append))
    await until(lambda: bool(shown), 10)
    url = next(w for w in shown[0].split() if w.startswith(auth.authorize_url))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["login_hint"] == account.user
    async with httpx2.AsyncClient() as browser:  # the person's browser: sign in, be redirected
        consent = await browser.get(url)
        assert consent.status_code == 302
        back = await browser.get(consent.headers["location"])
        assert "signed in" in back.text
    token = await asyncio.wait_for(signing, 10)
    assert auth.introspect(token["access_token"])["username"] == account.user
    assert token["refresh_token"]


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_a_pass_sends_and_reads_with_oauth2_and_renews_a_token_that_died_early(
    configured: Path, auth: OAuthServer, account: Account, smtp: SmtpServer
) -> None:
    grant = signed_in(auth, configured, account.user)  # it says an hour ...
    account.append(help_mail(1))
    first = await tick(AT)
    assert first.inbox is not None and first.inbox.recorded == {"command": 1}, first.summary()
    assert smtp.received and first.outcomes["sent"] == len(smtp.received)
    assert auth.refreshes == 0  # the first token was still alive
    auth.expire_access(account.user)  # ... but the server ends it early
    account.append(help_mail(2))
    sent_before = len(smtp.received)
    second = await tick(AT + dt.timedelta(hours=1))  # the HELP's answer, and week 1's due ones
    assert second.inbox is not None and second.inbox.recorded == {"command": 1}
    assert len(smtp.received) > sent_before, second.summary()
    assert auth.refreshes >= 1  # Dovecot refused it: renewed, and tried again
    renewed = Grants(configured).load(account.user)
    assert renewed is not None and renewed.access_token != grant.access_token
    grants = Grants(configured)  # the renewed one dies early too; this time SMTP finds out
    grants.save(dataclasses.replace(renewed, expires_at=renewed.expires_at + 3600))
    auth.expire_access(account.user)
    sent_before, refreshed = len(smtp.received), auth.refreshes
    third = await tick(AT + dt.timedelta(days=1), read=False)
    # both connections tried the dead token; it was renewed once
    assert smtp.oauth_failures >= 1 and auth.refreshes == refreshed + 1, third.summary()
    assert len(smtp.received) > sent_before and third.outcomes["sent"] > 0
    ids = Counter(m.message_id for m in smtp.received)
    assert max(ids.values()) == 1  # nothing sent twice
    assert all(m.login == account.user for m in smtp.received)


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_revoked_grant_holds_everything_says_so_and_resumes_after_login(
    configured: Path,
    auth: OAuthServer,
    account: Account,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_protocol_libraries()  # as the command line sets logging up
    auth.access_ttl = 1.0
    grant = signed_in(auth, configured, account.user)
    await asyncio.sleep(1.2)  # (the access token the grant holds is dead too)
    auth.revoke(account.user)
    account.append(help_mail(3))
    held = await tick(AT)
    assert smtp.received == []  # nothing went, nothing was marked sent or failed
    assert "mentormail login" in held.halted and "mentormail login" in held.inbox_error
    code, status = await cli("status", "--at", "2021-07-28T00:01Z")
    assert "Sending is held until" in status and "run `mentormail login`" in status
    assert "The mailbox has not been read since" in status
    code, doctor = await cli("doctor")
    assert code == 1 and "oauth" in doctor and "FAILED" in doctor
    assert "run `mentormail login`" in doctor

    async def approve() -> None:
        await until(lambda: bool(auth.pending_user_codes()), 20)
        auth.approve(auth.pending_user_codes()[0], account.user)

    approving = asyncio.create_task(approve())
    code, out = await cli("login")
    await approving
    assert code == 0, out
    resumed = await tick(AT + dt.timedelta(minutes=45))  # after the 5 minutes' hold
    assert resumed.inbox is not None and resumed.inbox.recorded == {"command": 1}
    assert resumed.outcomes["sent"] > 0, resumed.summary()
    for minutes in (50, 55):  # the next passes tell the organizers, once
        await tick(AT + dt.timedelta(minutes=minutes))
    subjects = Counter(m.content.split(b"Subject: ", 1)[1].split(b"\r\n")[0]
                       for m in smtp.received)  # fmt: skip
    assert subjects[b"Sending works again after a gap"] == 1
    ids = Counter(m.message_id for m in smtp.received)
    assert len(ids) == len(smtp.received)  # nothing sent twice
    # no token anywhere: the log (at DEBUG), the commands' output, the environment
    renewed = Grants(configured).load(account.user)
    assert renewed is not None
    secrets = {grant.access_token, grant.refresh_token, renewed.access_token,
               renewed.refresh_token}  # fmt: skip
    seen = caplog.text + status + doctor + out + json.dumps(dict(os.environ))
    assert not [s for s in secrets if s in seen]


def test_a_provider_fills_the_servers_and_limits(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Microsoft 365 from three lines: the hosts, STARTTLS, OAuth2, its limits, its id."""
    text = CONFIG.read_text()
    for section in ("[smtp]", "[imap]"):  # a config that leaves [smtp] and [imap] out
        start = text.index(f"\n{section}\n")
        end = text.index("\n[", start + 1)
        text = text[:start] + text[end:]
    text = text.replace('provider = ""', 'provider = "microsoft365"\nclient_id = "abc"')
    config = tmp_path / "m365.toml"
    roster = "examples/pemento-2021/roster.csv"
    config.write_text(text.replace(f'"{roster}"', f'"{ROOT / roster}"'))
    for name in [n for n in os.environ if n.startswith(("MENTORMAIL_SMTP", "MENTORMAIL_IMAP"))]:
        monkeypatch.delenv(name)
    settings = load_deployment(config).settings
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "smtp.office365.com", 587, "starttls",
    )  # fmt: skip
    assert settings.smtp.auth == settings.imap.auth == "oauth2"
    assert (settings.smtp.max_per_minute, settings.smtp.max_per_day) == (30, 10_000)
    assert settings.imap.host == "outlook.office365.com" and settings.imap.authserv_ids == ("*",)
    assert settings.smtp.username == "pemento@example.org"
    assert settings.imap.username == "pemento@example.org"
    assert "organizations" in settings.oauth.token_url
