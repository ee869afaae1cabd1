"""`mentormail doctor` against real servers: aiosmtpd with STARTTLS and AUTH, and Dovecot over
implicit TLS, both trusted through the machine's CA bundle (SSL_CERT_FILE), as in production.
All ok exits 0 (and makes the folders); a wrong password, a closed port and a certificate the
machine cannot verify are each named, with the fix, and exit 1. No password is ever printed."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from daemon.cli import main
from tests.conftest import ROOT
from tests.dovecot import HOST, Account, Dovecot
from tests.smtp_server import SmtpServer

CONFIG = str(ROOT / "config.example.toml")
SMTP_PASSWORD = "smtp-Pa55-secret"


@pytest.fixture(scope="module")
def smtp_ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(context)
    return context


@pytest.fixture
def trusted(tmp_path: Path, smtp_ca: trustme.CA, dovecot: Dovecot) -> Path:
    """A CA bundle with both test CAs, which this machine then trusts (SSL_CERT_FILE)."""
    assert dovecot.ca is not None
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_bytes(smtp_ca.cert_pem.bytes() + dovecot.ca.cert_pem.bytes())
    return bundle


def _point(monkeypatch: pytest.MonkeyPatch, smtp_port: int, account: Account, **imap: str) -> None:
    settings = account.settings("tls")
    values = {
        "SMTP__HOST": HOST, "SMTP__PORT": str(smtp_port), "SMTP__SECURITY": "starttls",
        "SMTP__USERNAME": "ana", "SMTP__PASSWORD": SMTP_PASSWORD,
        "IMAP__HOST": HOST, "IMAP__PORT": str(settings.port), "IMAP__SECURITY": "tls",
        "IMAP__USERNAME": account.user, "IMAP__PASSWORD": account.password,
    } | {f"IMAP__{k.upper()}": v for k, v in imap.items()}  # fmt: skip
    for key, value in values.items():
        monkeypatch.setenv(f"MENTORMAIL_{key}", value)


@pytest.fixture
def env(rehearsal: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch


@pytest.mark.asyncio
async def test_all_ok_against_the_test_servers(
    env: pytest.MonkeyPatch, trusted: Path, smtp_ca: trustme.CA, imap_account: Account,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env.setenv("SSL_CERT_FILE", str(trusted))
    async with SmtpServer(starttls=_server_tls(smtp_ca), users={"ana": SMTP_PASSWORD}) as server:
        _point(env, server.port, imap_account)
        code, lines, out = await _in_thread(capsys)
        assert server.received == []  # doctor sends no mail
    assert code == 0, out
    assert all(" ok " in lines[name] for name in ("config", "state", "smtp", "imap")), out
    assert "11 participants" in lines["config"] and "every template rendered" in lines["config"]
    assert "TLS verified, logged in as ana" in lines["smtp"]
    assert "created Processed, Unmatched" in lines["imap"] and "IDLE" in lines["imap"]
    # the login is not an address here: mentormail cannot tell that mail to the sending
    # address (the invitations' ORGANIZER) reaches it, and says so
    assert "WARN" in lines["replies"] and "pemento@example.org" in lines["replies"], out
    assert out.rstrip().endswith("all checks passed, 1 warning")
    assert " ok " in lines["senders"] and "mx.example.org" in lines["senders"]
    env.setenv("MENTORMAIL_IMAP__AUTHSERV_IDS", "")  # nobody vouches: works, but warned
    code, lines, out = await _in_thread(capsys)  # the folders are there now
    assert "Processed, Unmatched exist" in lines["imap"]
    assert "WARN" in lines["senders"] and "trusted on their From header alone" in lines["senders"]
    assert "Microsoft 365: *" in out and out.rstrip().endswith(", 2 warnings")  # (smtp is gone)
    assert SMTP_PASSWORD not in out and imap_account.password not in out


@pytest.mark.asyncio
async def test_wrong_passwords_closed_port_and_untrusted_certificate(
    env: pytest.MonkeyPatch, smtp_ca: trustme.CA, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # its own Dovecot: a failed login penalises the next ones from 127.0.0.1 for seconds
    with Dovecot.started() as own:
        account = own.new_account()
        assert own.ca is not None
        bundle = Path(own.root) / "ca.pem"
        bundle.write_bytes(smtp_ca.cert_pem.bytes() + own.ca.cert_pem.bytes())
        env.setenv("SSL_CERT_FILE", str(bundle))
        async with SmtpServer(starttls=_server_tls(smtp_ca), users={"ana": "other"}) as server:
            _point(env, server.port, account, password="not-the-password")
            code, lines, out = await _in_thread(capsys)
        assert code == 1
        assert "FAILED" in lines["smtp"] and "login as 'ana' refused" in lines["smtp"]
        assert "FAILED" in lines["imap"] and "login as" in lines["imap"]
        assert out.count("fix:") == 3 and "MENTORMAIL_SMTP__PASSWORD" in out  # (and replies)
        assert "MENTORMAIL_IMAP__PASSWORD" in out and "2 checks failed" in out
        assert SMTP_PASSWORD not in out and "not-the-password" not in out

    closed = _closed_port()
    env.setenv("MENTORMAIL_SMTP__PORT", str(closed))
    env.setenv("MENTORMAIL_IMAP__HOST", "")
    code, lines, out = await _in_thread(capsys)
    assert code == 1 and "FAILED" in lines["smtp"], out
    assert f"{closed}" in lines["smtp"] and "check [smtp] host and port" in out
    assert "not configured" in lines["imap"]

    env.delenv("SSL_CERT_FILE")  # nothing on this machine vouches for the test CA now
    async with SmtpServer(
        starttls=_server_tls(trustme.CA()), users={"ana": SMTP_PASSWORD}
    ) as server:
        env.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        env.setenv("MENTORMAIL_SMTP__PASSWORD", SMTP_PASSWORD)
        code, lines, out = await _in_thread(capsys)
    assert code == 1 and "certificate not trusted" in lines["smtp"], out
    assert "install the CA that signed it" in out and "do not turn verification off" in out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port  # closed now: connections are refused


async def _in_thread(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str], str]:
    """The CLI runs its own event loop; the SMTP server lives in this one."""
    import asyncio

    code = await asyncio.to_thread(main, ["-c", CONFIG, "doctor"])
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line[0].isspace()}
    return code, lines, out


def test_the_state_check_says_whether_it_exists_and_whether_a_service_holds_it(
    rehearsal: Path,
) -> None:
    from daemon.config.load import load_deployment
    from daemon.doctor import state_check
    from daemon.store.lock import StateLock

    deployment = load_deployment(ROOT / "config.example.toml")
    check = state_check(deployment)
    assert check.ok and "does not exist yet" in check.detail
    with StateLock(rehearsal / "state"):
        held = state_check(deployment)
    assert held.ok and "a mentormail is running on it now" in held.detail
    free = state_check(deployment)
    assert free.ok and free.detail.endswith("is writable, its store checked")


def test_a_warning_is_shown_and_counted_but_is_not_a_failure() -> None:
    from daemon.doctor import Check, report

    checks = [Check("config", True, "fine"), Check("senders", True, "From only", "set it", True)]
    text = report(checks)
    assert "senders  WARN    From only\n" in text and "fix:    set it" in text
    assert text.endswith("all checks passed, 1 warning\n")
    text = report([*checks, Check("smtp", False, "down", "start it")])
    assert text.endswith("1 check failed, 1 warning\n")


@pytest.mark.parametrize(
    ("login", "reply_to", "host", "warned", "says"),
    [
        ("pemento@example.org", "", "imap.example.org", False, "which is read"),
        ("PEMENTO@example.org", "pemento+replies@example.org", "imap.example.org", False, ""),
        ("pemento@example.org", "pemento-replies@example.org", "imap.example.org", True,
         "pemento-replies@example.org (Reply-To)"),
        ("pemento-replies@example.org", "pemento-replies@example.org", "imap.example.org",
         True, "ORGANIZER calendars send RSVPs to"),
        ("pemento@example.org", "", "", True, "not read"),
    ],
)  # fmt: skip
def test_the_replies_check_says_where_rsvps_and_replies_go(
    *, rehearsal: Path, monkeypatch: pytest.MonkeyPatch,
    login: str, reply_to: str, host: str, warned: bool, says: str,
) -> None:  # fmt: skip
    from daemon.config.load import load_deployment
    from daemon.doctor.checks import routes_check

    for key, value in {"IMAP__USERNAME": login, "SENDER__REPLY_TO": reply_to,
                       "IMAP__HOST": host}.items():  # fmt: skip
        monkeypatch.setenv(f"MENTORMAIL_{key}", value)
    check = routes_check(load_deployment(ROOT / "config.example.toml"))
    assert check.ok and check.warning is warned and says in check.detail, check
