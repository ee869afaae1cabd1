"""Two programs on one host, as deploy/mentormail-tick@.service runs them: each instance's
config, roster and passwords are handed over as systemd's LoadCredential= would (copies in a
credentials folder of its own, %d), its state is %S/mentormail/NAME, and its command line is
the unit's. Both passes run side by side against one SMTP server and one Dovecot holding
each program's mailbox: each sends only its own program's mail and reads only its own
mailbox; `status` and `doctor`, run by hand as the README says, see each program apart."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import AUTHSERV, ROOT, authenticated, mini_program
from tests.dovecot import Account, Dovecot
from tests.smtp_server import SmtpServer

UNIT = ROOT / "deploy" / "mentormail-tick@.service"
INSTALLED = "/opt/mentormail/bin/mentormail"
AT = "2026-03-04T16:00:00Z"  # Wednesday of week 1, 10:00 in Chicago: the check-in request is out
LATER = "2026-03-04T17:00:00Z"
AGREEMENT = """
[[obligations]]
id = "agreement"
title = "Mentoring agreement"
who = "each_pair"
weeks = [1, 2]
question = "Have you both signed the mentoring agreement?"
request = { send = { week = 1, day = "wednesday" } }
"""


@dataclass(frozen=True)
class Instance:
    name: str
    sender: str
    people: tuple[str, str]
    mailbox: Account
    etc: Path  # /etc/mentormail/NAME
    credentials: Path  # %d, as systemd fills it for this instance
    state: Path  # %S/mentormail/NAME


def _unit_lines(key: str) -> list[str]:
    text = UNIT.read_text(encoding="utf-8")
    return re.findall(rf"^{key}=(.*)$", text, re.MULTILINE)


def _install(tmp_path: Path, name: str, people: tuple[str, str], mailbox: Account) -> Instance:
    """What the README's deployment steps put in /etc/mentormail/NAME (under tmp_path)."""
    etc = tmp_path / "etc" / "mentormail" / name
    roster = [(f"{p.split('@')[0].title()} Person", p, "America/Chicago", r)
              for p, r in zip(people, ("mentor", "mentee"), strict=True)]  # fmt: skip
    config = mini_program(etc, roster, extra_schedule=AGREEMENT)
    text = config.read_text(encoding="utf-8")
    # a schedule of one's own is named by its absolute path (it is not a credential)
    text = text.replace('schedule = "schedule.toml"', f'schedule = "{etc / "schedule.toml"}"')
    text = text.replace('templates = "templates"', f'templates = "{etc / "templates"}"')
    text = text.replace('address = "mini@example.org"', f'address = "{name}@example.org"')
    text = text.replace("[program]\n", f'[program]\nid = "{name}"\n', 1)
    state = tmp_path / "var" / "lib" / "mentormail" / name
    text += f'\n[state]\npath = "{state}"\n'
    (etc / "config.toml").write_text(text, encoding="utf-8")
    for path in etc.rglob("*"):  # root's alone, as the README installs them
        path.chmod(0o700 if path.is_dir() else 0o600)
    secrets = etc / "credentials"
    secrets.mkdir(mode=0o700)
    (secrets / "MENTORMAIL_SMTP__PASSWORD").write_text("")  # the test server wants no login
    (secrets / "MENTORMAIL_IMAP__PASSWORD").write_text(mailbox.password + "\n")
    credentials = tmp_path / "run" / "credentials" / f"mentormail-tick@{name}.service"
    return Instance(name, f"{name}@example.org", people, mailbox, etc, credentials, state)


def _connect(instance: Instance, smtp_port: int, dovecot: Dovecot) -> None:
    """The servers: in the config file, as an organizer writes them."""
    config = instance.etc / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f"""
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
username = ""
max_per_minute = 0

[imap]
host = "127.0.0.1"
port = {dovecot.port}
security = "none"
username = "{instance.mailbox.user}"
authserv_ids = ["{AUTHSERV}"]
""",
        encoding="utf-8",
    )


def _load_credentials(instance: Instance, tmp_path: Path) -> None:
    """LoadCredential= and SetCredential= of the unit, for this instance: each file copied
    (a missing one without a default would stop systemd from starting the unit)."""
    folder = instance.credentials
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, mode=0o700)
    defaults = dict(v.split(":", 1) for v in _unit_lines("SetCredential"))
    for line in _unit_lines("LoadCredential"):
        name, source = line.split(":", 1)
        source = source.replace("%i", instance.name).replace("/etc/", f"{tmp_path}/etc/", 1)
        if Path(source).exists():
            shutil.copyfile(source, folder / name)
        else:
            assert name in defaults, f"systemd would refuse to start: {source} is missing"
            (folder / name).write_text(defaults[name].replace("\\x20", " "))
        (folder / name).chmod(0o400)


def _service_command(instance: Instance, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """ExecStart= and Environment= of the unit with its specifiers filled in, as systemd
    runs it for mentormail-tick@NAME.service (our mentormail for /opt's)."""
    [exec_start] = _unit_lines("ExecStart")
    here = str(Path(sys.executable).parent / "mentormail")
    argv = shlex.split(exec_start.replace("%d", str(instance.credentials)).replace(INSTALLED, here))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MENTORMAIL_") and k != "CREDENTIALS_DIRECTORY"}  # fmt: skip
    env["CREDENTIALS_DIRECTORY"] = str(instance.credentials)
    for line in _unit_lines("Environment"):
        key, value = line.split("=", 1)
        env[key] = value.replace("%S", str(tmp_path / "var" / "lib")).replace("%i", instance.name)
    return argv, env


async def _passes(instances: list[Instance], tmp_path: Path, at: str) -> None:
    """One pass of each program, side by side (two processes at once)."""
    started = []
    for instance in instances:
        _load_credentials(instance, tmp_path)
        argv, env = _service_command(instance, tmp_path)
        process = await asyncio.create_subprocess_exec(
            *argv, "--at", at, env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        started.append(process)
    for process in started:
        _, err = await process.communicate()
        assert process.returncode == 0, err.decode()[-2000:]


async def _by_hand(instance: Instance, *args: str) -> str:
    """`mentormail -c /etc/mentormail/NAME/config.toml ...` as root would run it, with the
    instance's credentials folder in /etc (README "Deployment")."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MENTORMAIL_") and k != "CREDENTIALS_DIRECTORY"}  # fmt: skip
    env["CREDENTIALS_DIRECTORY"] = str(instance.etc / "credentials")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", "-c", str(instance.etc / "config.toml"), *args,
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, (out + err).decode()[-2000:]
    return out.decode()


def _messages(server: SmtpServer, sender: str) -> list[EmailMessage]:
    return [
        email.message_from_bytes(r.content, policy=email.policy.default)
        for r in server.received
        if r.mail_from == sender
    ]


def _reply(request: EmailMessage, person: str) -> bytes:
    """The person's answer, through their provider to the address the request replies to."""
    return (
        authenticated()
        + f"From: {person}\r\nTo: {request['Reply-To']}\r\nSubject: Re: {request['Subject']}\r\n"
        f"Message-ID: <answer-{person}>\r\nIn-Reply-To: {request['Message-ID']}\r\n"
        "Date: Wed, 04 Mar 2026 10:30:00 -0600\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nYes, we both signed it.\r\n"
    ).encode()


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.timeout(180)
async def test_two_programs_side_by_side_each_with_its_own_mail_mailbox_and_state(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    alpha = _install(tmp_path, "alpha", ("ann@example.org", "bo@example.org"),
                     dovecot.new_account(password="alpha-Pa55word"))  # fmt: skip
    beta = _install(tmp_path, "beta", ("cy@example.net", "di@example.net"),
                    dovecot.new_account(password="beta-Pa55word"))  # fmt: skip
    instances = [alpha, beta]
    routes = {i.sender: i.mailbox for i in instances}
    async with SmtpServer(mailboxes=routes, authserv=AUTHSERV) as server:
        for instance in instances:
            _connect(instance, server.port, dovecot)
        await _passes(instances, tmp_path, AT)
        for instance, other in ((alpha, beta), (beta, alpha)):
            sent = [r for r in server.received if r.mail_from == instance.sender]
            assert sent, f"{instance.name} sent nothing"
            recipients = {a for r in sent for a in r.rcpt_tos}
            assert recipients <= {*instance.people, "olive@example.org"}
            assert not recipients & set(other.people)
            # each store is in its own state folder, as StateDirectory=mentormail/%i makes it
            assert (instance.state / "mentormail.sqlite3").is_file()
        assert len(server.received) == len(_messages(server, alpha.sender)) + len(
            _messages(server, beta.sender)
        )
        # one person of each program answers its check-in request; the answer is routed to
        # that program's mailbox alone
        for instance in instances:
            person = instance.people[0]
            [request] = [
                m for m in _messages(server, instance.sender)
                if m["To"].addresses[0].addr_spec == person and "please reply" in m["Subject"]
            ]  # fmt: skip
            assert request["Reply-To"].addresses[0].addr_spec.startswith(f"{instance.name}+")
            await asyncio.to_thread(instance.mailbox.deliver, _reply(request, person))
        assert len(alpha.mailbox.uids()) == len(beta.mailbox.uids()) == 1
        before = len(server.received)
        await _passes(instances, tmp_path, LATER)
        for instance in instances:
            assert instance.mailbox.uids() == []  # read and moved, by its own program
            assert len(instance.mailbox.uids("Processed")) == 1
            [ack] = [r for r in server.received[before:] if r.mail_from == instance.sender]
            assert ack.rcpt_tos == (instance.people[0],)  # "Recorded: ..." to the one who wrote
        # status and doctor by hand, per program: each sees its own check-in only
        for instance in instances:
            view = json.loads(await _by_hand(instance, "status", "--json"))
            assert [c["participant"] for c in view["checkins"]] == [instance.people[0]]
            assert {o["key"].split("/")[0] for o in view["obligations"]} == {instance.name}
        report = await _by_hand(alpha, "doctor")
        assert alpha.mailbox.user in report and beta.mailbox.user not in report
