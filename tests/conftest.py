"""Shared test helpers: the repository's paths and a loader for programs written in a test."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.config.load import Program, load_program
from tests.dovecot import Account, Dovecot

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*/config.toml"))


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """`main()` sets logging up as the command line does (levels, a stderr handler, the
    excepthook); each test gets the process's logging back as it found it, so a test that ran
    `--log-level DEBUG` does not make every later test log (and slow down) at DEBUG."""
    import logging
    import sys

    root = logging.getLogger()
    names = ("aioimaplib", "aiosmtplib", "mail.log", "apscheduler", "mail-parser-reply")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers, level, hook = list(root.handlers), root.level, sys.excepthook
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        if handler.get_name() == "mentormail-stderr":
            root.removeHandler(handler)
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)
    sys.excepthook = hook
    logging.captureWarnings(False)


@pytest.fixture(autouse=True)
def _fresh_vobject_zones() -> None:
    """vobject keeps every VTIMEZONE it has read in a process-wide registry keyed by TZID and
    reuses it for later calendars; our VTIMEZONEs cover only their event's years, so a zone
    read for 2026 would be applied to a 2021 event. Each test starts with an empty registry."""
    import vobject.icalendar

    getattr(vobject.icalendar, "__tzidMap").clear()


async def until(condition: Callable[[], object], seconds: float) -> float:
    """Wait for `condition()` to be true, polling; the seconds it took (fails after `seconds`)."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"not within {seconds} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - began


async def idling(account: Account, seconds: float = 20.0) -> None:
    """Wait until one of `account`'s IMAP connections is in IDLE on the server's side (the
    blocking look runs in a thread, so the client under test goes on meanwhile)."""
    began = time.monotonic()
    while not await asyncio.to_thread(account.idling):
        if time.monotonic() - began > seconds:
            raise AssertionError(f"{account.user} not in IDLE within {seconds} s")
        await asyncio.sleep(0.02)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def rehearsal_env(state: Path) -> dict[str, str]:
    """Environment overrides pointing any config at a local plain SMTP sink and a fresh state
    folder (the port is added once the sink is up)."""
    return {
        "MENTORMAIL_STATE__PATH": str(state),
        "MENTORMAIL_SMTP__HOST": "127.0.0.1",
        "MENTORMAIL_SMTP__SECURITY": "none",
        "MENTORMAIL_SMTP__USERNAME": "",
        "MENTORMAIL_SMTP__MAX_PER_MINUTE": "0",
        "MENTORMAIL_IMAP__HOST": "",  # tests that read replies point it at their Dovecot
    }


@pytest.fixture
def rehearsal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The test's environment set up by `rehearsal_env`; returns tmp_path."""
    for name, value in rehearsal_env(tmp_path / "state").items():
        monkeypatch.setenv(name, value)
    return tmp_path


@pytest.fixture
def pemento() -> Program:
    return load_program(ROOT / "config.example.toml")


MINI_SCHEDULE = """
[program]
id = "mini"
title = "Mini"
structure = "{structure}"
roles = ["mentor", "mentee"]
weeks = {weeks}
{digest}
[[messages]]
id = "weekly"
title = "Weekly"
subject = "Week {{{{ week }}}}"
template = "note"
send = {{ week = 1, day = "monday", time = 09:00:00 }}
repeat = {{ every = "week", count = {weeks} }}
{stale}"""


def mini_program(
    tmp_path: Path,
    people: list[tuple[str, str, str, str]],
    *,
    start: str = "2026-03-02",
    weeks: int = 8,
    structure: str = "pairs",
    extra_schedule: str = "",
    stale_days: int = 7,
    digest: bool = True,
    timezone: str = "America/Chicago",
) -> Path:
    """A small program in tmp_path: people are (name, email, timezone, role) in pair p1, p2..."""
    write(
        tmp_path / "schedule.toml",
        MINI_SCHEDULE.format(
            structure=structure,
            weeks=weeks,
            stale=f"stale_after_days = {stale_days}\n" if stale_days != 7 else "",
            digest="" if digest else "weekly_digest = false\n",
        )
        + extra_schedule,
    )
    write(
        tmp_path / "templates" / "note.md.j2", "Hi {{ recipient.first_name }}, week {{ week }}.\n"
    )
    rows = ["name,email,timezone,role,pair,group"]
    for i, (name, email, tz, role) in enumerate(people):
        unit = f"p{i // 2 + 1}"
        pair, group = (unit, "") if structure == "pairs" else ("", unit)
        rows.append(f"{name},{email},{tz},{role},{pair},{group}")
    write(tmp_path / "roster.csv", "\n".join(rows) + "\n")
    return write(
        tmp_path / "config.toml",
        f"""
        [program]
        schedule = "schedule.toml"
        start = {start}
        timezone = "{timezone}"
        templates = "templates"

        [sender]
        name = "Mini Program"
        address = "mini@example.org"

        [[organizers]]
        name = "Olive Organizer"
        email = "olive@example.org"
        timezone = "America/Chicago"

        [roster]
        file = "roster.csv"
        """,
    )


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot for the whole session: `port` (plain, offers STARTTLS), `tls_port`
    (implicit TLS), `client_context()` trusting its certificate. See tests/dovecot.py."""
    with Dovecot.started() as server:
        yield server


@pytest.fixture
def imap_account(dovecot: Dovecot) -> Account:
    """A new user with an empty mailbox on the session's Dovecot: `settings(security)` for
    ImapInbox, `append`/`deliver` to seed mail, `flags`/`read`/`uids` to look as another client."""
    return dovecot.new_account()


AUTHSERV = "mx.test.example"  # the tests' receiving server, as `point_imap_at` configures it


def authenticated(domain: str = "example.org") -> str:
    """The header our receiving server adds to mail from `domain` that passed DMARC."""
    return f"Authentication-Results: {AUTHSERV}; dmarc=pass (p=none) header.from={domain}\r\n"


def point_imap_at(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point any config's [imap] at this Dovecot account (plain, its own login), whose
    receiving server is AUTHSERV (mail carrying `authenticated()` is vouched for)."""
    settings = account.settings()
    for key, value in {
        "HOST": settings.host, "PORT": str(settings.port), "SECURITY": "none",
        "USERNAME": settings.username, "PASSWORD": account.password,
        "AUTHSERV_IDS": AUTHSERV,
    }.items():  # fmt: skip
        monkeypatch.setenv(f"MENTORMAIL_IMAP__{key}", value)
