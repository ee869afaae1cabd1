"""`mentormail doctor`: will this deployment work? Each check is run for real — the templates
rendered for every participant, the state folder written, the SMTP server connected to,
secured and logged in to (no mail is sent), the mailbox opened and its folders made — and
reported as ok, warning (it works, but not as safely as it could) or failed, with the fix in
an organizer's words. Every network check is
bounded, so a port that swallows packets cannot hang it. Passwords never appear in a report:
the transports' messages name the user, never the secret.
"""

from __future__ import annotations

import asyncio
import os
import tempfile

from daemon.config.deployment import Deployment
from daemon.config.replies import chosen, unread_obligations
from daemon.doctor.grants import grant_checks
from daemon.doctor.result import Check
from daemon.errors import AlreadyRunning, StoreError, TransportError
from daemon.program.timeline import Action
from daemon.store.lock import StateLock
from daemon.store.sqlite import Store
from daemon.transport.connect import Servers
from daemon.transport.imap import ImapInbox

LIMIT = 20.0  # seconds for each network check, whatever the configured timeouts


def config_check(deployment: Deployment, timeline: list[Action]) -> Check:
    """The config, schedule, roster and templates, as `validate` found them (it raises on any
    problem, so reaching this means every template rendered for every participant)."""
    program = deployment.program
    return Check(
        "config",
        True,
        f"{deployment.config_path}: {program.title}, {len(program.participants)} participants, "
        f"{len(program.organizers)} organizers, {len(timeline)} planned items; every template "
        "rendered for every recipient",
    )


def state_check(deployment: Deployment) -> Check:
    directory = deployment.state_dir.absolute()
    if not directory.exists():  # made by the service (systemd's StateDirectory=, or mentormail)
        parent = next(p for p in directory.parents if p.exists())
        if os.access(parent, os.W_OK):
            return Check("state", True, f"{directory} does not exist yet: made at the first start")
        return Check(
            "state", False, f"{directory} does not exist and {parent} is not writable",
            "under systemd, StateDirectory= makes it; otherwise create it for the user "
            "mentormail runs as, or set [state] path",
        )  # fmt: skip
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
    except OSError as error:
        return Check(
            "state", False, f"{directory}: {error.strerror or error}",
            "make the folder writable by the user mentormail runs as, or set [state] path "
            "(under systemd, StateDirectory= provides it)",
        )  # fmt: skip
    try:
        with StateLock(directory):
            store = Store.open(directory)  # SQLite's quick_check, and the store's own checks
            store.close()
            running = ""
    except AlreadyRunning:
        running = "; a mentormail is running on it now"
    except StoreError as error:
        return Check("state", False, str(error), "mentormail restore --list shows the backups")
    return Check("state", True, f"{directory} is writable, its store checked{running}")


def routes_check(deployment: Deployment) -> Check:
    """Whether replies and RSVPs can reach the mailbox that is read: calendars send RSVPs to
    the invitations' ORGANIZER (the sending address), replies go to Reply-To (reply_to, or the
    sending address, with a +token), and some people reply to From."""
    s, program = deployment.settings, deployment.program
    unread = unread_obligations(deployment)
    if unread:  # the same rule as `validate`'s: only an empty MENTORMAIL_IMAP__HOST gets here
        where = f"{unread.file}:{unread.line}" if unread.line else unread.file
        ok = chosen(deployment, unread)
        return Check("replies", ok, f"{where}: {unread.message}", unread.hint, warning=ok)
    if not s.imap.host:
        asks = bool(program.schedule.events)
        return Check(
            "replies", True, "[imap] host is empty: replies, commands and RSVPs are not read",
            "set [imap] to the mailbox of the sending address" if asks else "", warning=asks,
        )  # fmt: skip
    read = s.imap.username.lower()
    wanted = {s.sender.address.lower(): "the sending address (From:, and the ORGANIZER "
              "calendars send RSVPs to)"}  # fmt: skip
    if s.sender.reply_to:
        wanted.setdefault(str(s.sender.reply_to).lower(), "Reply-To")
    astray = [f"{a} ({why})" for a, why in wanted.items() if _mailbox_of(a) != _mailbox_of(read)]
    where = f"{s.imap.mailbox} of {s.imap.username or 'the login'} on {s.imap.host}"
    if not astray:
        return Check("replies", True, f"replies and RSVPs go to {read}, which is read ({where})")
    return Check(
        "replies", True,
        f"mentormail reads {where}; mail to {'; '.join(astray)} must reach that mailbox too",
        "make those addresses aliases of the mailbox read (or forward them to it), or leave "
        "[sender] reply_to empty so that replies go to the sending address",
        warning=True,
    )  # fmt: skip


def _mailbox_of(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if domain else address


def senders_check(deployment: Deployment) -> Check:
    """Whether senders are vouched for by the program's receiving server (README "Security")."""
    settings = deployment.settings.imap
    if not settings.host:
        return Check("senders", True, "replies are not read: nobody can command by mail")
    if not settings.authserv_ids:
        return Check(
            "senders", True,
            "[imap] authserv_ids is empty: senders are trusted on their From header alone, "
            "so mail without a reply token is accepted from anyone, and every command that "
            "changes something is confirmed by mail first",
            "set [imap] authserv_ids to the authserv-id your receiving server writes in "
            "Authentication-Results (Google Workspace: mx.google.com; Microsoft 365: *; "
            "your own server: its host name); see README \"Security\"",
            warning=True,
        )  # fmt: skip
    ids = ", ".join(settings.authserv_ids)
    return Check(
        "senders", True,
        f"vouched for by the Authentication-Results of {ids}; mail from anyone it does not "
        "vouch for is refused unless it answers one of our messages",
    )  # fmt: skip


async def smtp_check(servers: Servers) -> Check:
    settings = servers.settings.smtp
    where = f"{settings.host}:{settings.port} ({settings.security})"
    login = f", logged in as {settings.username}" if settings.username else ", no login"
    login += " with OAuth2" if settings.username and settings.auth == "oauth2" else ""
    try:
        async with asyncio.timeout(LIMIT):
            await servers.smtp().check()
    except TransportError as error:
        return Check("smtp", False, str(error), _fix("smtp", str(error), settings.port))
    except TimeoutError:
        return Check(
            "smtp",
            False,
            f"{where}: no answer in {LIMIT:g} s",
            _fix("smtp", "timed out", settings.port),
        )
    tls = ", TLS verified" if settings.security != "none" else ""
    return Check("smtp", True, f"{where}: connected{tls}{login}; no mail sent")


async def imap_check(servers: Servers) -> Check:
    settings = servers.settings.imap
    if not settings.host:
        return Check("imap", True, "not configured ([imap] host is empty): replies are not read")
    where = f"{settings.host}:{settings.port} ({settings.security})"
    where += " with OAuth2" if settings.auth == "oauth2" else ""
    inbox = servers.imap()
    try:
        async with asyncio.timeout(LIMIT):
            await inbox.open()
            notes = _imap_notes(inbox)
    except TransportError as error:
        return Check("imap", False, str(error), _fix("imap", str(error), settings.port))
    except TimeoutError:
        return Check(
            "imap",
            False,
            f"{where}: no answer in {LIMIT:g} s",
            _fix("imap", "timed out", settings.port),
        )
    finally:
        await inbox.aclose()
    return Check("imap", True, f"{where}: logged in, {settings.mailbox} selected; {notes}")


def _imap_notes(inbox: ImapInbox) -> str:
    s = inbox.settings
    folders = [f for f in (s.processed_mailbox, s.unmatched_mailbox) if f]
    made = [f for f in folders if f in inbox.created]
    parts = [f"created {', '.join(made)}"] if made else []
    if kept := [f for f in folders if f not in made]:
        parts.append(f"{', '.join(kept)} exist{'s' if len(kept) == 1 else ''}")
    parts.append("IDLE: replies are read within seconds" if inbox.supports("IDLE")
                 else f"no IDLE: the mailbox is polled every {s.poll_seconds} s")  # fmt: skip
    if not inbox.supports("MOVE"):
        parts.append("no MOVE: COPY then delete is used")
    return "; ".join(parts)


def _fix(section: str, problem: str, port: int) -> str:
    """What to do about a transport failure, by what its message says."""
    text = problem.lower()
    variable = f"MENTORMAIL_{section.upper()}__PASSWORD"
    if "not trusted" in text or "certificate" in text:
        return (
            "the server's certificate is not trusted by this machine: make sure "
            f"[{section}] host is the name on the certificate, or install the CA that signed "
            "it (Debian: copy it to /usr/local/share/ca-certificates/ and run "
            "update-ca-certificates); do not turn verification off"
        )
    if "handshake" in text or "starttls" in text or "without tls" in text:
        usual = "tls for ports 465 and 993, starttls for 587 and 143"
        return f"check [{section}] security matches the server ({usual})"
    if "login" in text or "authentication" in text or "auth" in text:
        return (
            f"check [{section}] username and the password ({variable}, or the credential file "
            "systemd loads with LoadCredential=)"
        )
    if "name or service not known" in text or "name resolution" in text or "nodename" in text:
        return f"the host name does not resolve: check [{section}] host (and this machine's DNS)"
    if any(word in text for word in ("refused", "connect", "timed out", "no answer", "reset")):
        return (
            f"nothing answers at that address: check [{section}] host and port ({port}), and "
            "that the firewall lets this machine reach it"
        )
    return f"check the [{section}] settings against your mail provider's instructions"


async def diagnose(deployment: Deployment, timeline: list[Action]) -> list[Check]:
    """Every check, in order; the network ones run side by side."""
    checks = [config_check(deployment, timeline), state_check(deployment)]
    checks += [routes_check(deployment), senders_check(deployment)]
    servers = Servers(deployment)
    if servers.tokens is not None:
        checks += await grant_checks(deployment, servers.tokens)
    checks += await asyncio.gather(smtp_check(servers), imap_check(servers))
    return checks
