"""A private Dovecot IMAP server for tests, started from its own temporary configuration.

Each instance gets a directory under /tmp (0755: never under pytest's 0700 tmp_path, or logins
fail with "Temporary authentication failure"), its own `instance_name`, `base_dir`, `state_dir`
and log, and two free ports on 127.0.0.1: `port` (plain, offering STARTTLS when TLS is on) and
`tls_port` (implicit TLS), both with a trustme certificate for 127.0.0.1. A distro Dovecot, if
one runs, is never touched: nothing here shares its sockets, state or ports. Each user has a
passwd-file of its own, so a test adds a user, with an empty Maildir, in no time. Dovecot
refuses uid 0 for mail: as root the mail is owned by `nobody`; as anyone else everything runs as
that user. Stopping kills the process group (the master waits ~1 s for its
children on SIGTERM; tests don't need that).

    with Dovecot.started() as server:              # or the session `dovecot` fixture
        account = server.new_account()
        account.append(raw)                         # IMAP APPEND (stdlib imaplib)
        account.deliver(raw)                        # `doveadm save`, as an MTA would
        account.flags(), account.read(), account.uidvalidity()
        account.set_uidvalidity(n), account.kick(), with account.frozen(): ...
        account.connected(), account.idling()        # waiting for the server's side

With `oauth=` (a running tests.oauth_server.OAuthServer) the server also offers AUTHENTICATE
XOAUTH2 and OAUTHBEARER: Dovecot's oauth2 passdb POSTs each bearer token to the server's
introspection endpoint and accepts it when it is active and its `username` is the login name
(so mint tokens for `account.user`). Passwords keep working beside it; nothing is cached, so a
revoked or expired token fails at once.

    with OAuthServer() as auth, Dovecot.started(oauth=auth) as server:
        account = server.new_account()
        token = auth.issue(account.user)["access_token"]

`require_dovecot()` fails the test under CI (CI=true) and skips it elsewhere if Dovecot is missing.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trustme

from daemon.config.settings import ImapSettings

if TYPE_CHECKING:
    from tests.oauth_server import OAuthServer

HOST = "127.0.0.1"
# dovecot gets SIGTERM when the test process that started it dies, even killed (a run cut short
# by a timeout must leave no server behind); util-linux's setpriv, where there is one
_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
_FLAGS = re.compile(rb"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)")
_users = itertools.count(1)
_NOT_FOUND = 68  # doveadm's exit code when nothing matched (EX_NOUSER)
_START_ATTEMPTS = 3


def require_dovecot() -> tuple[str, str]:
    """Paths of `dovecot` and `doveadm`; a missing server fails under CI and skips elsewhere."""
    dovecot = shutil.which("dovecot", path=_SEARCH_PATH)
    doveadm = shutil.which("doveadm", path=_SEARCH_PATH)
    if dovecot and doveadm:
        return dovecot, doveadm
    hint = "install it: apt-get install dovecot-imapd (`make test` does this as root)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"Dovecot is not installed and CI needs it for the IMAP tests; {hint}")
    pytest.skip(f"Dovecot is not installed; {hint}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Account:
    """One mail user on one server, with helpers that talk to it as another client would."""

    server: Dovecot
    user: str
    password: str

    def settings(self, security: str = "none", **overrides: Any) -> ImapSettings:
        """Settings for the daemon: `none` and `starttls` use the plain port, `tls` the other."""
        port = self.server.tls_port if security == "tls" else self.server.port
        values: dict[str, Any] = {
            "host": HOST,
            "port": port,
            "security": security,
            "username": self.user,
            "password": self.password,
            "poll_seconds": 10,
        }
        return ImapSettings(**(values | overrides))

    @contextlib.contextmanager
    def imap(self) -> Iterator[imaplib.IMAP4]:
        """A logged-in stdlib client on the plain port (blocking: use asyncio.to_thread when
        the code under test must run meanwhile). Mailbox names go to the wire as given: quote
        and encode any that need it, e.g. '"Trait&AOk-s"' for Traités."""
        client = imaplib.IMAP4(HOST, self.server.port, timeout=10)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.logout()  # closes the socket whatever the server says

    def append(self, *messages: bytes, mailbox: str = "INBOX", flags: str = "") -> None:
        with self.imap() as client:
            for raw in messages:
                typ, data = client.append(mailbox, flags or None, None, raw)
                assert typ == "OK", data

    def deliver(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Deliver one message with `doveadm save`, as a local MTA would."""
        self.server.doveadm("save", "-u", self.user, "-m", mailbox, stdin=raw)

    def flags(self, mailbox: str = "INBOX") -> dict[int, frozenset[str]]:
        """UID -> flags, read-only (EXAMINE does not touch \\Recent or \\Seen)."""
        with self.imap() as client:
            typ, data = client.select(mailbox, readonly=True)
            assert typ == "OK", data
            typ, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
            assert typ == "OK", data
        found: dict[int, frozenset[str]] = {}
        for item in data:
            match = _FLAGS.search(item) if isinstance(item, bytes) else None
            if match:
                uid = int(match[1] or match[4])
                found[uid] = frozenset((match[2] or match[3] or b"").decode().split())
        return found

    def uids(self, mailbox: str = "INBOX") -> list[int]:
        return sorted(self.flags(mailbox))

    def read(self, mailbox: str = "INBOX") -> dict[int, bytes]:
        """UID -> the raw message, read-only."""
        with self.imap() as client:
            typ, data = client.select(mailbox, readonly=True)
            assert typ == "OK", data
            typ, data = client.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            assert typ == "OK", data
        found: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple):
                uid = re.search(rb"UID (\d+)", item[0])
                assert uid, item
                found[int(uid[1])] = item[1]
        return found

    def uidvalidity(self, mailbox: str = "INBOX") -> int:
        with self.imap() as client:
            typ, data = client.status(mailbox, "(UIDVALIDITY)")
            assert typ == "OK", data
        match = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
        assert match, data
        return int(match[1])

    def set_uidvalidity(self, value: int, mailbox: str = "INBOX") -> None:
        self.server.doveadm("mailbox", "update", "-u", self.user, "--uid-validity", str(value),
                            mailbox)  # fmt: skip

    def pids(self) -> list[int]:
        """The pids of this user's IMAP processes, as `doveadm who` lists them."""
        who = self.server.doveadm("who", "-1", self.user).splitlines()[1:]
        return [int(line.split()[2]) for line in who]

    def connected(self, seconds: float = 10.0) -> list[int]:
        """The pids of this user's IMAP processes once there is at least one, waiting up to
        `seconds` for one: a client that has just logged in may not be listed yet."""
        deadline = time.monotonic() + seconds
        while not (pids := self.pids()):
            assert time.monotonic() < deadline, f"{self.user} has no IMAP connection"
            time.sleep(0.05)
        return pids

    def idling(self) -> bool:
        """Whether one of this user's IMAP processes is in IDLE (Dovecot's verbose process
        title names the command it runs): a test that needs the server to be idling before it
        acts waits for this instead of sleeping."""
        for pid in self.pids():
            with contextlib.suppress(OSError):
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
                if title.rstrip(b"\0").endswith(b" IDLE]"):
                    return True
        return False

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Stop this user's IMAP processes (SIGSTOP) for a while: the connection stays up and
        nothing answers, as in a network partition."""
        pids = self.connected()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def kick(self, *, required: bool = True) -> None:
        """Drop every IMAP connection of this user, as `doveadm kick` does to a real one.

        doveadm exits 68 ("no users kicked") when the user has no connection at that moment,
        as while a client reconnects, or after Dovecot itself dropped the session (it does on a
        UIDVALIDITY change). With `required`, wait up to 10 s for a connection to kick; without,
        a user with no connection is left as it is."""
        deadline = time.monotonic() + 10.0
        while True:
            done = self.server.run_doveadm("kick", self.user)
            if done.returncode == 0:
                return
            if done.returncode == _NOT_FOUND and not required:
                return
            if done.returncode != _NOT_FOUND or time.monotonic() > deadline:
                raise RuntimeError(f"kick {self.user} failed ({done.returncode}): {done.stdout!r}")
            time.sleep(0.05)


class Dovecot:
    """One running Dovecot; see the module docstring."""

    def __init__(self, *, tls: bool = True, oauth: OAuthServer | None = None) -> None:
        self.binary, self.doveadm_binary = require_dovecot()
        self.oauth = oauth
        self.root = Path(tempfile.mkdtemp(prefix="mentormail-dovecot-", dir="/tmp"))
        self.root.chmod(0o755)
        self.port, self.tls_port = free_port(), free_port()
        self.ca: trustme.CA | None = trustme.CA() if tls else None
        self.config = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    @classmethod
    @contextlib.contextmanager
    def started(cls, *, tls: bool = True, oauth: OAuthServer | None = None) -> Iterator[Dovecot]:
        server = cls(tls=tls, oauth=oauth)
        try:
            server.start()
            yield server
        finally:
            server.stop()

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's throwaway CA."""
        assert self.ca is not None, "this server was started without TLS"
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def new_account(self, password: str = "s3cret-Pa55word") -> Account:
        """A new user with an empty mailbox. Each user has a passwd-file of its own: Dovecot
        looks a shared one up again at most once a second, a new one at once."""
        user = f"user{next(_users)}"
        (self.root / "passwd" / user).write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        return Account(self, user, password)

    def run_doveadm(
        self, *args: str, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        command = [self.doveadm_binary, "-c", str(self.config), *args]
        return subprocess.run(command, input=stdin, capture_output=True, timeout=20, check=False)

    def doveadm(self, *args: str, stdin: bytes | None = None) -> str:
        done = self.run_doveadm(*args, stdin=stdin)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.decode().strip()}")
        return done.stdout.decode()

    def start(self) -> None:
        """Start Dovecot and wait for its own greeting. free_port() lets its port go before
        Dovecot binds it, so another process (another test worker's server, a client's
        ephemeral port) may take it meanwhile: Dovecot then fails with "Address already in
        use" and is started again on new ports; and the greeting names this instance, so a
        server of someone else's on the same port is never taken for this one."""
        for attempt in range(1, _START_ATTEMPTS + 1):
            if self._launch():
                return
            self._kill()
            if attempt == _START_ATTEMPTS or b"Address already in use" not in self._log_bytes():
                log = self.log_text()
                self.stop()
                raise RuntimeError(f"Dovecot did not start; its log:\n{log}")
            self.port, self.tls_port = free_port(), free_port()
            self._write_config()

    def _launch(self) -> bool:
        """Start the master; True once this instance greets on `port`, False if it exits or
        does not greet within 30 s (a loaded machine can take seconds to start it)."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [*_DIE_WITH_PARENT, self.binary, "-F", "-c", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        greeting = f"{self._greeting()}\r\n".encode()
        deadline = time.monotonic() + 30
        while self._process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1) as s:
                s.settimeout(2)
                if s.makefile("rb").readline().endswith(greeting):
                    return True
            time.sleep(0.02)
        return False

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)
        self._process = None

    def _greeting(self) -> str:
        return f"mentormail test {self.root.name} ready."

    def _log_bytes(self) -> bytes:
        return self.log.read_bytes() if self.log.exists() else b""

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    def _write_config(self) -> None:
        root, home = self.root, self.root / "home"
        home.mkdir(exist_ok=True)  # written again when ports change (start)
        (root / "passwd").mkdir(exist_ok=True)
        if os.geteuid() == 0:  # Dovecot refuses uid 0 for mail
            mail_user, mail_group = "nobody", "nogroup"
            shutil.chown(home, mail_user, mail_group)
            users = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
        else:
            mail_user = pwd.getpwuid(os.geteuid()).pw_name
            mail_group = grp.getgrgid(os.getegid()).gr_name
            users = (
                f"default_internal_user = {mail_user}\ndefault_login_user = {mail_user}\n"
                f"default_internal_group = {mail_group}\n"
                f"service auth-worker {{\n  user = {mail_user}\n}}\n"
                "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
            )
        tls = "ssl = no\n"
        if self.ca is not None:
            cert = self.ca.issue_cert(HOST, "localhost")
            cert.private_key_pem.write_to_path(str(root / "key.pem"))
            cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
            tls = f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n"
        mechanisms, only_passwords, oauth = "plain login", "", ""
        if self.oauth is not None:  # each passdb sees only its own mechanisms
            mechanisms += " xoauth2 oauthbearer"
            only_passwords = "\n  mechanisms = plain login"
            # no per-IP penalty after a failed login (Dovecot's documented switch: auth cannot
            # reach anvil's penalty socket), so a client that retries with a refreshed token
            # right after a rejected one is not held back for seconds
            oauth = (
                "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n"
                + self._oauth_passdb()
            )
        self.config.write_text(
            f"""
instance_name = mentormail-test-{root.name}
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log}
listen = {HOST}
protocols = imap
{tls}
{users}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
auth_cache_size = 0
mail_location = maildir:~/Maildir
mail_fsync = never
# each imap process's title names the command it runs (Account.idling)
verbose_proctitle = yes
login_greeting = {self._greeting()}
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file{only_passwords}
  args = scheme=PLAIN username_format=%u {root}/passwd/%u
}}
{oauth}userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.tls_port if self.ca is not None else 0}
    ssl = yes
  }}
}}
"""
        )

    def _oauth_passdb(self) -> str:
        """The oauth2 passdb (and its args file): every token is POSTed (`token=...`) to the
        test server's introspection endpoint; `active` must be true and `username` the login."""
        assert self.oauth is not None and self.oauth.url, "start the OAuthServer first"
        args = self.root / "oauth2.conf.ext"
        args.write_text(
            f"introspection_mode = post\n"
            f"introspection_url = {self.oauth.introspect_url}\n"
            "force_introspection = yes\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
            "timeout_msecs = 5000\n"
        )
        return (
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {args}\n}}\n"
        )
