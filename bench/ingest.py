"""Benchmark: mentormail reads 5,000 replies from a private Dovecot, and in the same run a raw
baseline reads the same 5,000 from a second mailbox.

- mentormail: the shipped PeMento example ticked once as of 2021-07-28 (check-in requests with
  reply tokens go to a local aiosmtpd sink), then 5,000 replies land in its mailbox: check-in
  replies answering those requests (token in the address, In-Reply-To), HELP commands,
  out-of-office auto-replies and mail from strangers. One `run_tick` with the mailbox reads,
  classifies, records (a transaction each, with the checkpoint), answers and moves them all;
  `read` is the time spent in `read_mailbox` (fetch, classify, record, move), `tick` the
  whole pass including sending the ~4,000 answers.
- raw: aioimaplib, login, SELECT, UID SEARCH, fetch in batches of 50 with BODY.PEEK[], and
  `email.message_from_bytes` (compat32) on each message — nothing recorded, nothing moved.
Mail is seeded by writing Maildir files (IMAP APPEND runs at ~420/s). Needs Dovecot
(`apt-get install dovecot-imapd`). Prints human lines, then one JSON object on the last line.
Target: mentormail at least half the raw rate.

    .venv/bin/python bench/ingest.py [--replies N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email
import email.policy
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPLIES = 5000
AT = dt.datetime(2021, 7, 28, tzinfo=dt.UTC)
CONFIG = ROOT / "config.example.toml"
BATCH = 50


def replies(requests: list[Message], participants: list[str], n: int) -> list[bytes]:
    out = []
    for i in range(n):
        kind = i % 10
        mid = f"<bench-{i}@mail.example.net>"
        if kind < 6 and requests:  # a check-in reply to a request, quoting it
            request = requests[i % len(requests)]
            to, sender = str(request["Reply-To"]), str(request["To"])
            body = (
                f"Yes, our group met on Tuesday ({i}).\r\n\r\nOn Tue, Jul 27, 2021 at 9:00 AM"
                " PeMento <pemento@example.org> wrote:\r\n> Did your group meet?\r\n"
            )
            head = f"In-Reply-To: {request['Message-ID']}\r\nSubject: Re: {request['Subject']}\r\n"
        elif kind < 8:  # a command
            to, sender = "pemento-replies@example.org", participants[i % len(participants)]
            body, head = "HELP\r\n", "Subject: help\r\n"
        elif kind < 9:  # an out-of-office reply
            to, sender = "pemento-replies@example.org", participants[i % len(participants)]
            body = "I am away until Monday.\r\n"
            head = "Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
        else:  # a stranger
            to, sender = "pemento-replies@example.org", f"someone{i}@elsewhere.example"
            body, head = "Is this the library?\r\n", "Subject: question\r\n"
        out.append(
            (
                f"From: {sender}\r\nTo: {to}\r\nMessage-ID: {mid}\r\n{head}"
                "Date: Wed, 28 Jul 2021 09:00:00 -0400\r\nContent-Type: text/plain; charset=utf-8"
                f"\r\n\r\n{body}"
            ).encode()
        )
    return out


def seed(account: object, messages: list[bytes]) -> None:
    """Write the messages into the account's Maildir (created by a first login)."""
    with account.imap() as client:  # type: ignore[attr-defined]
        client.select("INBOX")  # Dovecot makes the Maildir on first use
    maildir = account.server.root / "home" / account.user / "Maildir"  # type: ignore[attr-defined]
    owner = maildir.stat()
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(exist_ok=True)
        os.chown(maildir / sub, owner.st_uid, owner.st_gid)
    for i, raw in enumerate(messages):
        path = maildir / "new" / f"{1600000000 + i}.M{i}P1.bench"
        path.write_bytes(raw)
        os.chown(path, owner.st_uid, owner.st_gid)


async def mentormail(settings: object, sink_port: int, state: Path, n: int) -> dict[str, object]:
    from daemon.config.load import load_program
    from daemon.runtime import tick as tick_module
    from daemon.transport.imap import ImapInbox
    from daemon.transport.smtp import SmtpTransport

    os.environ.update({
        "MENTORMAIL_STATE__PATH": str(state), "MENTORMAIL_SMTP__HOST": "127.0.0.1",
        "MENTORMAIL_SMTP__PORT": str(sink_port), "MENTORMAIL_SMTP__SECURITY": "none",
        "MENTORMAIL_SMTP__USERNAME": "", "MENTORMAIL_SMTP__MAX_PER_MINUTE": "0",
        "MENTORMAIL_IMAP__HOST": settings.host, "MENTORMAIL_IMAP__PORT": str(settings.port),  # type: ignore[attr-defined]
        "MENTORMAIL_IMAP__SECURITY": "none", "MENTORMAIL_IMAP__USERNAME": settings.username,  # type: ignore[attr-defined]
        "MENTORMAIL_IMAP__PASSWORD": settings.password.get_secret_value(),  # type: ignore[attr-defined]
    })  # fmt: skip
    program = load_program(CONFIG)
    read_s = [0.0]
    original = tick_module.read_mailbox

    async def timed(*args: object, **kwargs: object) -> object:
        began = time.perf_counter()
        try:
            return await original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            read_s[0] += time.perf_counter() - began

    tick_module.read_mailbox = timed  # type: ignore[assignment]
    began = time.perf_counter()
    async with ImapInbox(program.config.imap, fetch_timeout=600) as inbox:
        report = await tick_module.run_tick(
            program, CONFIG, AT + dt.timedelta(hours=1), lambda: SmtpTransport(program.config.smtp),
            inbox=inbox,
        )  # fmt: skip
    whole = time.perf_counter() - began
    assert report.inbox is not None, report.inbox_error
    return {
        "read_s": read_s[0], "tick_s": whole, "fetched": report.inbox.fetched,
        "recorded": dict(report.inbox.recorded), "answers_sent": report.outcomes.get("sent", 0),
    }  # fmt: skip


async def raw(settings: object, n: int) -> float:
    import aioimaplib

    began = time.perf_counter()
    client = aioimaplib.IMAP4(host=settings.host, port=settings.port, timeout=60)  # type: ignore[attr-defined]
    await client.wait_hello_from_server()
    await client.login(settings.username, settings.password.get_secret_value())  # type: ignore[attr-defined]
    await client.select("INBOX")
    found = await client.uid_search("ALL")
    uids = [int(u) for u in found.lines[0].split()]
    parsed = 0
    for start in range(0, len(uids), BATCH):
        batch = ",".join(map(str, uids[start : start + BATCH]))
        response = await client.uid("fetch", batch, "(BODY.PEEK[])")
        for line in response.lines:
            if isinstance(line, bytearray):
                email.message_from_bytes(bytes(line), policy=email.policy.compat32)
                parsed += 1
    elapsed = time.perf_counter() - began
    await client.logout()
    assert parsed == n, f"raw parsed {parsed} of {n}"
    return elapsed


async def run(n: int) -> dict[str, object]:
    from tests.dovecot import Dovecot
    from tests.smtp_server import SmtpServer

    temp = Path(tempfile.mkdtemp(prefix="mentormail-ingest-"))
    try:
        with Dovecot.started(tls=False) as server:
            ours, theirs = server.new_account(), server.new_account()
            async with SmtpServer() as sink:
                await first_tick(sink.port, temp / "state")
                sent = [
                    email.message_from_bytes(r.content, policy=email.policy.default)
                    for r in sink.received
                ]
                requests = [m for m in sent if str(m["Subject"]).startswith("Did your PeMento")]
                participants = sorted({str(m["To"]).split("<")[-1].strip(">") for m in sent})
                messages = replies(requests, participants, n)
                began = time.perf_counter()
                seed(ours, messages)
                seed(theirs, messages)
                seeded = time.perf_counter() - began
                raw_s = await raw(theirs.settings(), n)
                figures = await mentormail(ours.settings(), sink.port, temp / "state", n)
        return {"seed_s": seeded, "raw_s": raw_s, **figures}
    finally:
        shutil.rmtree(temp, ignore_errors=True)


async def first_tick(port: int, state: Path) -> None:
    """Tick the example once, without reading, so check-in requests with tokens exist."""
    from daemon.config.load import load_program
    from daemon.runtime.tick import run_tick
    from daemon.transport.smtp import SmtpTransport

    os.environ.update({
        "MENTORMAIL_STATE__PATH": str(state), "MENTORMAIL_SMTP__HOST": "127.0.0.1",
        "MENTORMAIL_SMTP__PORT": str(port), "MENTORMAIL_SMTP__SECURITY": "none",
        "MENTORMAIL_SMTP__USERNAME": "", "MENTORMAIL_SMTP__MAX_PER_MINUTE": "0",
        "MENTORMAIL_IMAP__HOST": "",
    })  # fmt: skip
    program = load_program(CONFIG)
    await run_tick(program, CONFIG, AT, lambda: SmtpTransport(program.config.smtp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=REPLIES)
    n = parser.parse_args().replies
    for name in [k for k in os.environ if k.startswith("MENTORMAIL_")]:
        del os.environ[name]
    if not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()):
        print("Dovecot is missing: apt-get install dovecot-imapd")
        sys.exit(2)
    figures = asyncio.run(run(n))
    read_rate = n / figures["read_s"]  # type: ignore[operator]
    raw_rate = n / figures["raw_s"]  # type: ignore[operator]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"seeded {n} replies into two mailboxes in {figures['seed_s']:.1f} s")
    print(f"mentormail: read, classified, recorded and moved {figures['fetched']} in"
          f" {figures['read_s']:.1f} s ({read_rate:.0f} msgs/s); whole tick with"
          f" {figures['answers_sent']} answers sent {figures['tick_s']:.1f} s;"
          f" {figures['recorded']}")  # fmt: skip
    raw_s = figures["raw_s"]
    print(f"raw aioimaplib fetch + stdlib parse: {n} in {raw_s:.1f} s ({raw_rate:.0f} msgs/s)")
    print(json.dumps({
        "messages": n, "mentormail_msgs_per_s": round(read_rate),
        "mentormail_tick_msgs_per_s": round(n / figures["tick_s"]),  # type: ignore[operator]
        "raw_msgs_per_s": round(raw_rate), "ratio": round(read_rate / raw_rate, 2),
        "target_ratio": 0.5, "peak_rss_mb": round(peak, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
