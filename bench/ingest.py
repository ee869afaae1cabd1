"""Benchmark: mentormail reads 5,000 replies from a private Dovecot, and in the same run two
baselines read the same 5,000 from mailboxes of their own.

- mentormail: the shipped PeMento example ticked once as of 2021-07-28 (check-in requests with
  reply tokens go to a local aiosmtpd sink), then 5,000 replies land in its mailbox: check-in
  replies answering those requests (token in the address, In-Reply-To), HELP commands,
  out-of-office auto-replies and mail from strangers. One `run_tick` with the mailbox reads,
  classifies and records (a transaction per batch of 50, with the checkpoint) and moves the
  mail, then composes and queues the ~4,000 answers, and sends them. The rate is over the time
  in `read_mailbox` (fetch, classify, record, move) plus composing and queuing the answers;
  `tick` is the whole pass, sending included.
- classify-only: the same fetch (aioimaplib, batches of 50, BODY.PEEK[]) and mentormail's own
  classifier on each message — MIME parse, the reply token and references looked up in the
  same store, reply-text extraction, commands, form fields — recording, answering and moving
  nothing. Target: mentormail at least half this rate.
- raw: the fetch and the stdlib parser alone (`email.message_from_bytes`), for scale.
Mail is seeded by writing Maildir files (IMAP APPEND runs at ~420/s). Needs Dovecot
(`apt-get install dovecot-imapd`). Prints human lines, then one JSON object on the last line.

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
from collections.abc import AsyncIterator
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


def environment(state: Path, sink_port: int, imap: object | None) -> None:
    os.environ.update({
        "MENTORMAIL_STATE__PATH": str(state), "MENTORMAIL_SMTP__HOST": "127.0.0.1",
        "MENTORMAIL_SMTP__PORT": str(sink_port), "MENTORMAIL_SMTP__SECURITY": "none",
        "MENTORMAIL_SMTP__USERNAME": "", "MENTORMAIL_SMTP__MAX_PER_MINUTE": "0",
        "MENTORMAIL_IMAP__HOST": "",
    })  # fmt: skip
    if imap is not None:
        os.environ.update({
            "MENTORMAIL_IMAP__HOST": imap.host, "MENTORMAIL_IMAP__PORT": str(imap.port),  # type: ignore[attr-defined]
            "MENTORMAIL_IMAP__SECURITY": "none", "MENTORMAIL_IMAP__USERNAME": imap.username,  # type: ignore[attr-defined]
            "MENTORMAIL_IMAP__PASSWORD": imap.password.get_secret_value(),  # type: ignore[attr-defined]
        })  # fmt: skip


async def mentormail(settings: object, sink_port: int, state: Path) -> dict[str, object]:
    from daemon.clock import Clock
    from daemon.config.load import load_deployment
    from daemon.runtime import tick as tick_module
    from daemon.transport.imap import ImapInbox
    from daemon.transport.smtp import SmtpTransport

    environment(state, sink_port, settings)
    deployment = load_deployment(CONFIG)
    timings = {"read": 0.0, "enqueue": 0.0}
    read, enqueue = tick_module.read_mailbox, tick_module.enqueue

    async def timed_read(*args: object, **kwargs: object) -> object:
        began = time.perf_counter()
        try:
            return await read(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            timings["read"] += time.perf_counter() - began

    async def timed_enqueue(*args: object, **kwargs: object) -> object:
        began = time.perf_counter()
        try:
            return await enqueue(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            timings["enqueue"] += time.perf_counter() - began

    tick_module.read_mailbox = timed_read  # type: ignore[assignment]
    tick_module.enqueue = timed_enqueue  # type: ignore[assignment]
    smtp = deployment.settings.smtp
    began = time.perf_counter()
    async with ImapInbox(deployment.settings.imap, fetch_timeout=600) as inbox:
        report = await tick_module.run_tick(
            deployment, Clock.starting_at(AT + dt.timedelta(hours=1)),
            lambda: SmtpTransport(smtp), inbox=inbox,
        )  # fmt: skip
    whole = time.perf_counter() - began
    assert report.inbox is not None, report.inbox_error
    return {
        "read_s": timings["read"], "answer_s": timings["enqueue"], "tick_s": whole,
        "fetched": report.inbox.fetched, "recorded": dict(report.inbox.recorded),
        "answers": report.answers, "answers_sent": report.outcomes.get("sent", 0),
    }  # fmt: skip


async def fetch_all(settings: object) -> AsyncIterator[bytes]:
    """Every message of the INBOX, as the raw baseline and mentormail fetch them."""
    import aioimaplib

    client = aioimaplib.IMAP4(host=settings.host, port=settings.port, timeout=60)  # type: ignore[attr-defined]
    await client.wait_hello_from_server()
    await client.login(settings.username, settings.password.get_secret_value())  # type: ignore[attr-defined]
    await client.select("INBOX")
    found = await client.uid_search("ALL")
    uids = [int(u) for u in found.lines[0].split()]
    for start in range(0, len(uids), BATCH):
        batch = ",".join(map(str, uids[start : start + BATCH]))
        response = await client.uid("fetch", batch, "(BODY.PEEK[])")
        for line in response.lines:
            if isinstance(line, bytearray):
                yield bytes(line)
    await client.logout()


async def raw(settings: object, n: int) -> float:
    began = time.perf_counter()
    parsed = 0
    async for message in fetch_all(settings):
        email.message_from_bytes(message, policy=email.policy.compat32)
        parsed += 1
    elapsed = time.perf_counter() - began
    assert parsed == n, f"raw parsed {parsed} of {n}"
    return elapsed


async def classify_only(settings: object, state: Path, n: int) -> tuple[float, dict[str, int]]:
    """Fetch and classify, looking up tokens in mentormail's store, keeping nothing."""
    from daemon.config.load import load_deployment
    from daemon.inbound import classify
    from daemon.inbound.directory import ProgramDirectory
    from daemon.program.timeline import plan
    from daemon.store.sqlite import Store

    environment(state, 25, None)  # (no mail is sent here)
    program = load_deployment(CONFIG).program
    store = Store.open(state)
    try:
        directory = ProgramDirectory(program, store, plan(program))
        kinds: dict[str, int] = {}
        began = time.perf_counter()
        async for message in fetch_all(settings):
            kind = type(classify(message, directory).event).__name__
            kinds[kind] = kinds.get(kind, 0) + 1
        elapsed = time.perf_counter() - began
    finally:
        store.close()
    assert sum(kinds.values()) == n, f"classified {sum(kinds.values())} of {n}"
    return elapsed, kinds


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
                classify_s, kinds = await classify_only(theirs.settings(), temp / "state", n)
                figures = await mentormail(ours.settings(), sink.port, temp / "state")
        return {"seed_s": seeded, "raw_s": raw_s, "classify_s": classify_s, "kinds": kinds,
                **figures}  # fmt: skip
    finally:
        shutil.rmtree(temp, ignore_errors=True)


async def first_tick(port: int, state: Path) -> None:
    """Tick the example once, without reading, so check-in requests with tokens exist."""
    from daemon.clock import Clock
    from daemon.config.load import load_deployment
    from daemon.runtime.tick import run_tick
    from daemon.transport.smtp import SmtpTransport

    environment(state, port, None)
    deployment = load_deployment(CONFIG)
    smtp = deployment.settings.smtp
    await run_tick(deployment, Clock.frozen(AT), lambda: SmtpTransport(smtp))


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
    ours_s = figures["read_s"] + figures["answer_s"]  # type: ignore[operator]
    ours = n / ours_s
    classify_rate = n / figures["classify_s"]  # type: ignore[operator]
    raw_rate = n / figures["raw_s"]  # type: ignore[operator]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"seeded {n} replies into two mailboxes in {figures['seed_s']:.1f} s")
    print(f"mentormail: read, classified, recorded and moved {figures['fetched']} in"
          f" {figures['read_s']:.1f} s, then composed and queued {figures['answers']} answers in"
          f" {figures['answer_s']:.1f} s: {ours:.0f} msgs/s; the whole tick, with"
          f" {figures['answers_sent']} answers sent, {figures['tick_s']:.1f} s;"
          f" {figures['recorded']}")  # fmt: skip
    print(
        f"classify-only (fetch + mentormail's classifier, nothing kept): {n} in"
        f" {figures['classify_s']:.1f} s ({classify_rate:.0f} msgs/s); {figures['kinds']}"
    )
    print(f"raw aioimaplib fetch + stdlib parse: {n} in {figures['raw_s']:.1f} s"
          f" ({raw_rate:.0f} msgs/s)")  # fmt: skip
    print(json.dumps({
        "messages": n, "mentormail_msgs_per_s": round(ours),
        "mentormail_tick_msgs_per_s": round(n / figures["tick_s"]),  # type: ignore[operator]
        "classify_only_msgs_per_s": round(classify_rate), "raw_msgs_per_s": round(raw_rate),
        "ratio_vs_classify_only": round(ours / classify_rate, 2), "target_ratio": 0.5,
        "ratio_vs_raw": round(ours / raw_rate, 2), "peak_rss_mb": round(peak, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
