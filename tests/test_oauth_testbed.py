"""The OAuth2 test bed itself: the authorization server (tests/oauth_server.py), Dovecot's
XOAUTH2/OAUTHBEARER (tests/dovecot.py) and the SMTP server's (tests/smtp_server.py), each
driven by plain clients (httpx, imaplib, smtplib, a raw socket), so a failing daemon test can
blame the daemon and not its test bed."""

from __future__ import annotations

import asyncio
import base64
import imaplib
import json
import secrets
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
import pytest_asyncio
import trustme

from tests.dovecot import HOST, Account, Dovecot
from tests.oauth_server import (
    CLIENT_ID,
    DEVICE_GRANT,
    OAuthServer,
    oauthbearer_response,
    pkce_challenge,
    xoauth2_response,
)
from tests.smtp_server import SmtpServer

REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture
def auth() -> Iterator[OAuthServer]:
    """A fresh authorization server with the defaults (1 h tokens, no poll interval)."""
    with OAuthServer() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    """A plain httpx client, as the daemon's authlib client is underneath."""
    with httpx2.Client(timeout=5) as client:
        yield client


def start_device_flow(http: httpx2.Client, auth: OAuthServer) -> dict[str, Any]:
    """POST /devicecode: the device_code, user_code... answer."""
    answer = http.post(auth.device_url, data={"client_id": CLIENT_ID, "scope": "mail offline"})
    assert answer.status_code == 200, answer.text
    codes: dict[str, Any] = answer.json()
    return codes


def poll(http: httpx2.Client, auth: OAuthServer, device_code: str) -> httpx2.Response:
    """One device-code token request, as a polling client sends it."""
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": CLIENT_ID}
    return http.post(auth.token_url, data=form)


def error_of(answer: httpx2.Response) -> str:
    """The RFC 6749 §5.2 `error` of a failed token response (checking it is one)."""
    assert answer.status_code in (400, 401), (answer.status_code, answer.text)
    assert answer.headers["content-type"] == "application/json"
    error: str = answer.json()["error"]
    return error


def refresh(http: httpx2.Client, auth: OAuthServer, token: str, **extra: str) -> httpx2.Response:
    """A refresh_token grant for the public client, plus any `extra` form fields."""
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": CLIENT_ID}
    return http.post(auth.token_url, data=form | extra)


def introspect(http: httpx2.Client, auth: OAuthServer, token: str) -> dict[str, Any]:
    """POST /introspect, as Dovecot and the SMTP server do."""
    answer = http.post(auth.introspect_url, data={"token": token})
    assert answer.status_code == 200, answer.text
    about: dict[str, Any] = answer.json()
    return about


# the authorization server


@pytest.mark.timeout(10)
def test_device_flow_waits_for_approval_then_issues_tokens(
    auth: OAuthServer, http: httpx2.Client
) -> None:
    codes = start_device_flow(http, auth)
    assert codes["verification_uri"] == f"{auth.url}/device"
    assert codes["expires_in"] == 600 and codes["interval"] == 0
    assert len(codes["user_code"]) == 9 and codes["user_code"][4] == "-"
    assert auth.pending_user_codes() == [codes["user_code"]]
    assert error_of(poll(http, auth, codes["device_code"])) == "authorization_pending"
    assert error_of(poll(http, auth, codes["device_code"])) == "authorization_pending"

    auth.approve(codes["user_code"].lower().replace("-", ""), "ana@example.org")
    assert auth.pending_user_codes() == []
    answer = poll(http, auth, codes["device_code"])
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == "mail offline" and tokens["refresh_token"]
    assert answer.headers["cache-control"] == "no-store"
    about = introspect(http, auth, tokens["access_token"])
    assert about["active"] is True and about["username"] == "ana@example.org"
    assert about["client_id"] == CLIENT_ID and about["scope"] == "mail offline"
    assert error_of(poll(http, auth, codes["device_code"])) == "invalid_grant"  # used up
    assert auth.token_requests == [DEVICE_GRANT] * 4
    assert http.get(codes["verification_uri"]).status_code == 200


@pytest.mark.timeout(10)
def test_device_flow_denied_expired_and_too_fast(http: httpx2.Client) -> None:
    with OAuthServer(interval=1, slow_down_step=1) as auth:
        # only `expired` lives 0.3 s: when all three did, a busy machine could take that long
        # over the polls of the other two, which then answered expired_token
        denied, hasty = start_device_flow(http, auth), start_device_flow(http, auth)
        auth.device_ttl = 0.3
        expired = start_device_flow(http, auth)
        assert expired["expires_in"] == 0.3 and denied["interval"] == 1
        auth.deny(denied["user_code"])
        assert error_of(poll(http, auth, denied["device_code"])) == "access_denied"
        assert error_of(poll(http, auth, hasty["device_code"])) == "authorization_pending"
        assert error_of(poll(http, auth, hasty["device_code"])) == "slow_down"
        time.sleep(0.35)
        assert error_of(poll(http, auth, expired["device_code"])) == "expired_token"
        assert auth.pending_user_codes() == [hasty["user_code"]]  # neither denied nor expired
        with pytest.raises(KeyError):
            auth.approve("NOPE-NOPE", "ana@example.org")


@pytest.mark.timeout(10)
def test_authorization_code_with_pkce(auth: OAuthServer, http: httpx2.Client) -> None:
    def authorize(verifier: str) -> tuple[str, str]:
        query = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "st4te",
            "scope": "mail offline",
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        answer = http.get(auth.authorize_url, params=query, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        back = parse_qs(location.query)
        assert back["state"] == ["st4te"]
        return back["code"][0], verifier

    def exchange(code: str, verifier: str, redirect_uri: str = REDIRECT) -> httpx2.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        }
        return http.post(auth.token_url, data=form)

    code, verifier = authorize(secrets.token_urlsafe(48))
    answer = exchange(code, verifier)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["scope"] == "mail offline"
    assert introspect(http, auth, tokens["access_token"])["username"] == "user@example.org"
    assert error_of(exchange(code, verifier)) == "invalid_grant"  # single use

    code, verifier = authorize(secrets.token_urlsafe(48))
    assert error_of(exchange(code, secrets.token_urlsafe(48))) == "invalid_grant"
    code, verifier = authorize(secrets.token_urlsafe(48))
    assert error_of(exchange(code, verifier, "http://127.0.0.1:9/other")) == "invalid_grant"

    auth.authorize_as = None  # the user declines on the consent page
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
             "state": "s", "code_challenge": pkce_challenge("v" * 43),
             "code_challenge_method": "S256"}  # fmt: skip
    answer = http.get(auth.authorize_url, params=query, follow_redirects=False)
    assert parse_qs(urlsplit(answer.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["s"],
    }
    no_pkce = {k: v for k, v in query.items() if not k.startswith("code_")}
    answer = http.get(auth.authorize_url, params=no_pkce, follow_redirects=False)
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_request"]


@pytest.mark.timeout(10)
def test_refresh_rotates_and_dies_with_revocation(auth: OAuthServer, http: httpx2.Client) -> None:
    first = auth.issue("ana@example.org", scopes=("mail", "offline"))
    answer = refresh(http, auth, first["refresh_token"])
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["refresh_token"] != first["refresh_token"]  # rotated, like Microsoft
    assert second["access_token"] != first["access_token"] and second["scope"] == "mail offline"
    narrower = refresh(http, auth, first["refresh_token"], scope="mail")  # the old one works
    assert narrower.status_code == 200 and narrower.json()["scope"] == "mail"
    assert error_of(refresh(http, auth, first["refresh_token"], scope="calendar")) == (
        "invalid_scope"
    )
    assert auth.refreshes == 2

    auth.revoke("ana@example.org")
    for token in (first, second):
        assert error_of(refresh(http, auth, token["refresh_token"])) == "invalid_grant"
        assert introspect(http, auth, token["access_token"]) == {"active": False}
    assert error_of(refresh(http, auth, "never-issued")) == "invalid_grant"
    assert error_of(http.post(auth.token_url, data={"grant_type": "password"})) == (
        "invalid_client"
    )
    form = {"grant_type": "password", "client_id": CLIENT_ID}
    assert error_of(http.post(auth.token_url, data=form)) == "unsupported_grant_type"
    assert auth.refreshes == 2

    auth.rotate = False  # like Google: the answer to a refresh carries no refresh_token
    kept = auth.issue("bo@example.org")
    answer = refresh(http, auth, kept["refresh_token"])
    assert answer.status_code == 200 and "refresh_token" not in answer.json()

    auth.fail_token("temporarily_unavailable", status=503)
    answer = refresh(http, auth, kept["refresh_token"])
    assert answer.status_code == 503 and answer.json()["error"] == "temporarily_unavailable"
    assert refresh(http, auth, kept["refresh_token"]).status_code == 200


@pytest.mark.timeout(10)
def test_confidential_client_must_authenticate(http: httpx2.Client) -> None:
    with OAuthServer(client_secret="s3cret") as auth:
        token = auth.issue("ana@example.org")["refresh_token"]
        public = refresh(http, auth, token)
        assert public.status_code == 400 and error_of(public) == "invalid_client"
        assert refresh(http, auth, token, client_secret="s3cret").status_code == 200
        form = {"grant_type": "refresh_token", "refresh_token": token}
        basic = http.post(auth.token_url, data=form, auth=(CLIENT_ID, "s3cret"))
        assert basic.status_code == 200, basic.text
        wrong = http.post(auth.token_url, data=form, auth=(CLIENT_ID, "guess"))
        assert wrong.status_code == 401 and error_of(wrong) == "invalid_client"
        assert wrong.headers["www-authenticate"].startswith("Basic")


@pytest.mark.timeout(10)
def test_introspection_sees_expiry(http: httpx2.Client) -> None:
    # compared as sets of threads, not counts: a thread of an earlier test that ends meanwhile
    # (an executor's worker shutting down) would make the count drop below the one at start
    threads = set(threading.enumerate())
    with OAuthServer(access_ttl=0.5) as auth:
        tokens = auth.issue("ana@example.org")
        assert tokens["expires_in"] == 0.5
        about = introspect(http, auth, tokens["access_token"])
        assert about["active"] is True and about["exp"] <= time.time() + 1
        time.sleep(0.6)
        assert introspect(http, auth, tokens["access_token"]) == {"active": False}
        assert introspect(http, auth, "never-issued") == {"active": False}
        assert auth.introspections == 3
        assert set(threading.enumerate()) - threads  # httpx keeps its connection open
    assert not set(threading.enumerate()) - threads  # stopping ended it and joined every thread


# Dovecot: AUTHENTICATE XOAUTH2 and OAUTHBEARER, checked against the introspection endpoint


@pytest.fixture
def oauth_dovecot() -> Iterator[tuple[OAuthServer, Dovecot]]:
    """An authorization server (1 s tokens) and a plain Dovecot that asks it about tokens."""
    with OAuthServer(access_ttl=1) as auth, Dovecot.started(tls=False, oauth=auth) as server:
        yield auth, server


def imap_authenticate(server: Dovecot, mechanism: str, initial: str) -> tuple[str, list[bytes]]:
    """AUTHENTICATE with stdlib imaplib (no SASL-IR: it waits for "+ "), answering any later
    challenge with an empty response: ("OK" or "NO", the challenges seen)."""
    challenges: list[bytes] = []

    def respond(challenge: bytes) -> bytes:
        challenges.append(challenge)
        return initial.encode() if len(challenges) == 1 else b""

    client = imaplib.IMAP4(HOST, server.port, timeout=10)
    try:
        typ, _ = client.authenticate(mechanism, respond)
    except imaplib.IMAP4.error:
        client.shutdown()
        return "NO", challenges
    client.logout()
    return typ, challenges


def sasl_ir(server: Dovecot, mechanism: str, initial: str) -> list[bytes]:
    """AUTHENTICATE with the initial response on the command line (SASL-IR, as aioimaplib's
    xoauth2() sends it) over a raw socket, answering a challenge with an empty line."""
    lines: list[bytes] = []
    with (
        socket.create_connection((HOST, server.port), timeout=5) as sock,
        sock.makefile("rb") as reader,
    ):
        assert reader.readline().startswith(b"* OK")
        encoded = base64.b64encode(initial.encode()).decode()
        sock.sendall(f"a1 AUTHENTICATE {mechanism} {encoded}\r\n".encode())
        for _ in range(5):
            line = reader.readline()
            lines.append(line)
            if line.startswith(b"+ "):
                sock.sendall(b"\r\n")
            elif line.startswith(b"a1 "):
                break
    return lines


@pytest.mark.timeout(15)
def test_dovecot_takes_live_tokens_and_passwords(
    oauth_dovecot: tuple[OAuthServer, Dovecot],
) -> None:
    auth, server = oauth_dovecot
    auth.access_ttl = 60
    account = server.new_account()
    token = auth.issue(account.user)["access_token"]
    assert imap_authenticate(server, "XOAUTH2", xoauth2_response(account.user, token)) == (
        "OK",
        [b""],
    )
    bearer = oauthbearer_response(account.user, token, port=server.port)
    assert imap_authenticate(server, "OAUTHBEARER", bearer)[0] == "OK"
    done = sasl_ir(server, "XOAUTH2", xoauth2_response(account.user, token))
    assert done[-1].startswith(b"a1 OK"), done
    assert auth.introspections == 3
    account.append(b"Subject: hi\r\n\r\nhello\r\n")  # PLAIN password login, same server
    assert account.uids() == [1]
    assert auth.introspections == 3  # passwords never reach the OAuth server


@pytest.mark.timeout(15)
def test_dovecot_rejects_expired_revoked_and_foreign_tokens(
    oauth_dovecot: tuple[OAuthServer, Dovecot],
) -> None:
    auth, server = oauth_dovecot
    account, other = server.new_account(), server.new_account()
    expired = auth.issue(account.user)["access_token"]  # lives 1 s
    auth.access_ttl = 60
    revoked = auth.issue(other.user)["access_token"]
    auth.revoke(other.user)
    foreign = auth.issue(other.user)["access_token"]  # live, but another user's
    time.sleep(1.05)

    typ, challenges = imap_authenticate(server, "XOAUTH2", xoauth2_response(account.user, expired))
    assert typ == "NO"
    assert json.loads(challenges[1]) == {"status": "401", "schemes": "bearer", "scope": "mail"}
    bearer = oauthbearer_response(other.user, revoked, port=server.port)
    typ, challenges = imap_authenticate(server, "OAUTHBEARER", bearer)
    assert typ == "NO" and json.loads(challenges[1]) == {"status": "invalid_token"}
    failed = sasl_ir(server, "XOAUTH2", xoauth2_response(account.user, foreign))
    assert failed[0].startswith(b"+ ") and failed[-1].startswith(b"a1 NO"), failed
    # no per-IP penalty: a good token right after three bad ones logs in at once
    began = time.monotonic()
    good = auth.issue(account.user)["access_token"]
    assert imap_authenticate(server, "XOAUTH2", xoauth2_response(account.user, good))[0] == "OK"
    # a penalty would hold it 8 s or more (three failures); a login takes ~0.1 s when calm,
    # and its Dovecot processes and HTTP round trip can take over 1 s on a loaded machine
    assert time.monotonic() - began < 4
    assert "Login: user=<" + account.user + ">, method=XOAUTH2" in server.log_text()


@pytest.mark.timeout(10)
def test_dovecot_without_oauth_offers_passwords_only(imap_account: Account) -> None:
    client = imaplib.IMAP4(HOST, imap_account.server.port, timeout=5)
    try:
        assert "AUTH=XOAUTH2" not in client.capabilities
        assert "AUTH=PLAIN" in client.capabilities
    finally:
        client.shutdown()


# SMTP: AUTH XOAUTH2 and OAUTHBEARER on aiosmtpd


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway CA for the SMTP server's STARTTLS (aiosmtpd offers AUTH only over TLS)."""
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """The SMTP server's TLS context: a certificate for 127.0.0.1."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A client TLS context trusting `ca`."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest_asyncio.fixture
async def oauth_smtp(auth: OAuthServer, server_tls: ssl.SSLContext) -> AsyncIterator[SmtpServer]:
    """An SMTP server taking `auth`'s tokens and the password of user "ana"."""
    async with SmtpServer(starttls=server_tls, users={"ana": "pw"}, oauth=auth) as server:
        yield server


def smtp_session(port: int, client_tls: ssl.SSLContext, talk: Callable[[smtplib.SMTP], Any]) -> Any:
    """Connect, STARTTLS, EHLO, run `talk` (blocking: call through asyncio.to_thread), QUIT."""
    with smtplib.SMTP(HOST, port, timeout=5) as client:
        client.starttls(context=client_tls)
        client.ehlo()
        return talk(client)


def sasl(
    mechanism: str, initial: str, *, inline: bool = True
) -> Callable[[smtplib.SMTP], tuple[int, list[bytes]]]:
    """A `talk` that authenticates (the initial response on the AUTH line unless `inline` is
    false) and answers any challenge with an empty line: (the final code, the challenges)."""
    challenges: list[bytes] = []

    def respond(challenge: bytes | None = None) -> str:
        if challenge is None:
            return initial
        challenges.append(challenge)
        return initial if len(challenges) == 1 and not inline else ""

    def talk(client: smtplib.SMTP) -> tuple[int, list[bytes]]:
        try:
            code, _ = client.auth(mechanism, respond, initial_response_ok=inline)
        except smtplib.SMTPAuthenticationError as error:
            code = error.smtp_code
        return code, challenges

    return talk


@pytest.mark.asyncio
@pytest.mark.timeout(10)
async def test_smtp_oauth_logins_then_send(
    auth: OAuthServer, oauth_smtp: SmtpServer, client_tls: ssl.SSLContext
) -> None:
    server = oauth_smtp
    token = auth.issue("ana@example.org")["access_token"]

    def login_and_send(client: smtplib.SMTP) -> None:
        assert client.esmtp_features["auth"].split() == [
            "LOGIN", "OAUTHBEARER", "PLAIN", "XOAUTH2",
        ]  # fmt: skip
        code, _ = client.auth("XOAUTH2", lambda _=None: xoauth2_response("ana@example.org", token))
        assert code == 235
        client.sendmail("ana@example.org", ["bo@example.org"], b"Subject: hi\r\n\r\nhello\r\n")

    await asyncio.to_thread(smtp_session, server.port, client_tls, login_and_send)
    assert [r.login for r in server.received] == ["ana@example.org"]

    bearer = oauthbearer_response("ana@example.org", token, port=server.port)
    for talk in (sasl("OAUTHBEARER", bearer), sasl("OAUTHBEARER", bearer, inline=False)):
        code, challenges = await asyncio.to_thread(smtp_session, server.port, client_tls, talk)
        assert code == 235
    assert challenges == [b""]  # without an initial response: an empty 334 asks for it
    assert (
        server.oauth_logins
        == [("XOAUTH2", "ana@example.org")] + [("OAUTHBEARER", "ana@example.org")] * 2
    )
    assert auth.introspections == 3

    def password(client: smtplib.SMTP) -> int:
        code, _ = client.login("ana", "pw")
        return code

    assert await asyncio.to_thread(smtp_session, server.port, client_tls, password) == 235
    assert server.oauth_failures == 0


@pytest.mark.asyncio
@pytest.mark.timeout(10)
async def test_smtp_oauth_rejects_like_gmail(
    auth: OAuthServer, oauth_smtp: SmtpServer, client_tls: ssl.SSLContext
) -> None:
    server = oauth_smtp
    revoked = auth.issue("ana@example.org")["access_token"]
    auth.revoke("ana@example.org")
    foreign = auth.issue("bo@example.org")["access_token"]
    attempts = [
        sasl("XOAUTH2", xoauth2_response("ana@example.org", revoked)),
        sasl("OAUTHBEARER", oauthbearer_response("ana@example.org", foreign)),
        sasl("XOAUTH2", xoauth2_response("ana@example.org", "never-issued"), inline=False),
    ]
    for talk in attempts:
        code, challenges = await asyncio.to_thread(smtp_session, server.port, client_tls, talk)
        assert code == 535
        assert json.loads(challenges[-1]) == {
            "status": "401",
            "schemes": "bearer",
            "scope": "https://mail.google.com/",
        }
    assert server.oauth_failures == 3 and server.oauth_logins == []

    fresh = auth.issue("ana@example.org")["access_token"]

    def rejected_then_retried(client: smtplib.SMTP) -> None:
        code, _ = sasl("XOAUTH2", xoauth2_response("ana@example.org", revoked))(client)
        assert code == 535
        code, _ = sasl("XOAUTH2", xoauth2_response("ana@example.org", fresh))(client)
        assert code == 235  # the same connection, a refreshed token
        client.sendmail("ana@example.org", ["bo@example.org"], b"Subject: hi\r\n\r\nhello\r\n")

    await asyncio.to_thread(smtp_session, server.port, client_tls, rejected_then_retried)
    assert [r.login for r in server.received] == ["ana@example.org"]
    assert server.oauth_failures == 4

    def malformed_then_aborted(client: smtplib.SMTP) -> list[int]:
        garbage = base64.b64encode(b"user=ana@example.org\x01auth=Basic x\x01\x01").decode()
        codes = [client.docmd("AUTH", f"XOAUTH2 {garbage}")[0]]
        bad = xoauth2_response("ana@example.org", revoked).encode()
        codes.append(client.docmd("AUTH", f"XOAUTH2 {base64.b64encode(bad).decode()}")[0])
        codes.append(client.docmd("*")[0])  # the client gives up after the JSON challenge
        return codes

    codes = await asyncio.to_thread(smtp_session, server.port, client_tls, malformed_then_aborted)
    assert codes == [501, 334, 501]


@pytest.mark.asyncio
@pytest.mark.timeout(10)
async def test_smtp_without_oauth_does_not_offer_it(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    def features(client: smtplib.SMTP) -> str:
        return client.esmtp_features["auth"]

    async with SmtpServer(starttls=server_tls, users={"ana": "pw"}) as server:
        offered = await asyncio.to_thread(smtp_session, server.port, client_tls, features)
    assert offered.split() == ["LOGIN", "PLAIN"]
