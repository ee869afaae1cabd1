"""Benchmark: one tick sends 10,000 participants their week-1 email and a calendar invite over
SMTP to a local aiosmtpd sink, and in the same run two baselines to the same sink.

- mentormail: a schedule written to a temp dir (one weekly message to all at week 1 Monday
  09:00 and one fixed event whose invite goes out at the same instant; everyone in one zone, so
  every send is due at once). The schedule model sends an invite as its own email (templated
  text + HTML + iMIP REQUEST + .ics), so a tick sends 2 x PARTICIPANTS messages, half of them
  carrying an invite. `daemon.runtime.tick.run_tick` runs once as of that instant, exactly as
  `mentormail tick` does, with the production defaults (`[smtp] connections`, the pass bound)
  and no rate limit; wall time covers plan + decide + compose + enqueue + deliver. A backlog
  this big is composed by the pass's composing child process while the pass delivers (as in
  production); the peak RSS reported is the tick process's plus the child's. The steps are
  timed by wrapping the functions tick.py calls (composing and delivering overlap, so their
  times add up to more than the wall time).
- raw: aiosmtplib sending the same number of pre-built messages (one composed email and one
  composed invite, alternating) over 8 connections reused for the whole burst.
- mailmerge: the `mailmerge` CLI (PyPI; not a project dependency: `pip install mailmerge`)
  sending PARTICIPANTS templated emails without invites; it opens a connection per message.
  Stopped after MAILMERGE_BUDGET_S, in which case the count it reached is reported.

The sink (aiosmtpd, own process, counts messages and bytes without parsing) reports its CPU
time, so a saturated sink shows up as sink_cpu_share near 1. Prints human lines, then one JSON
object on the last line. Targets (ratios in the same run): >= 1.5x mailmerge, >= 0.5x raw,
peak RSS < 300 MB.

    .venv/bin/python bench/send.py                      # the benchmark
    .venv/bin/python bench/send.py --profile            # mentormail part under cProfile only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARTICIPANTS = 10_000
CONNECTIONS = 8  # the raw baseline's
HOST = "127.0.0.1"
START = dt.date(2026, 3, 2)  # a Monday
ZONE = "America/New_York"
SENDER = "bench@example.org"
TARGET_PEAK_MB = 300
MAILMERGE_BUDGET_S = 90.0
CHILD_TIMEOUT_S = 240.0
SPAWN = mp.get_context("spawn")

SCHEDULE = f"""\
[program]
id = "bench-send"
title = "Bench Mentoring"
organization = "Bench Library Association"
structure = "individuals"
roles = ["peer"]
weeks = 2
start_weekday = "monday"
send_time = 09:00:00

[[resources]]
id = "workbook"
title = "Program workbook"
url = "https://example.org/bench/workbook"
description = "Worksheets for every week of the program."

[[phases]]
id = "week-1"
title = "Week 1: Getting Started"
weeks = [1, 1]
summary = "This week is about getting to know the program and setting your first goal."
tasks = [
  "Read the program workbook's introduction",
  "Write down three things you hope to learn",
  "Add the kickoff call to your calendar",
  "Introduce yourself on the program's list",
]
resources = ["workbook"]

[[phases.sections]]
title = "Earlier Reflection"
note = "Take fifteen minutes early in the week for these."
items = [
  "What made you sign up for this program?",
  "Which skill would make the biggest difference in your work this year?",
]

[[phases.sections]]
title = "Later Reflection"
items = [
  "What surprised you this week?",
  "What will you try before the next call?",
]

[[messages]]
id = "week-1"
title = "Week 1: Getting Started"
subject = "Bench Mentoring week 1: Getting Started"
template = "weekly"
phase = "week-1"
send = {{ week = 1, day = "monday", time = 09:00:00 }}

[[events]]
id = "kickoff-call"
title = "Kickoff call"
description = "Meet the organizers and the other participants; bring one question."
start = 2026-03-04T12:00:00
end = 2026-03-04T13:00:00
timezone = "{ZONE}"
url = "https://example.org/bench/kickoff-call"
invite = {{ week = 1, day = "monday", time = 09:00:00 }}
"""

# the schedule's own weekly template (the shipped layout and partials wrap it)
WEEKLY = """\
Hi {{ recipient.first_name }},

## {{ phase.title }} ({{ phase.first_day }} – {{ phase.last_day }})

{{ phase.summary }}

**To do**

{% for task in phase.tasks %}
- [ ] {{ task }}
{% endfor %}

{% for section in phase.sections %}
**{{ section.title }}**

{% if section.note %}
{{ section.note }}

{% endif %}
{% for item in section.items %}
- {{ item }}
{% endfor %}

{% endfor %}
{% include "_resources.md.j2" %}
{% include "_upcoming.md.j2" %}
{% include "_footer.md.j2" %}
"""

MAILMERGE_TEMPLATE = """\
TO: {{email}}
SUBJECT: Bench Mentoring week 1: Getting Started
FROM: Bench Organizers <bench@example.org>

Hi {{name}},

Week 1: Getting Started ({{first_day}} - {{last_day}})

This week is about getting to know the program and setting your first goal.

To do
- Read the program workbook's introduction
- Write down three things you hope to learn
- Add the kickoff call to your calendar
- Introduce yourself on the program's list

Earlier Reflection
Take fifteen minutes early in the week for these.
- What made you sign up for this program?
- Which skill would make the biggest difference in your work this year?

Later Reflection
- What surprised you this week?
- What will you try before the next call?

Program workbook: https://example.org/bench/workbook

---
Bench Mentoring - Bench Organizers
Reply to this email to reach the organizers.
"""


# --- the sink (own process) ------------------------------------------------------------------


def sink_main(conn: Connection) -> None:
    """aiosmtpd on 127.0.0.1:<free port>; answers each request on `conn` with
    (messages, bytes, cpu seconds) until told "stop" or the pipe closes."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Count:
        messages = 0
        size = 0

        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            self.messages += 1
            self.size += len(envelope.original_content or b"")
            return "250 2.0.0 OK"

    count = Count()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(count, hostname="sink", loop=loop), HOST, 0)
    )
    conn.send(server.sockets[0].getsockname()[1])

    def on_request() -> None:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            request = "stop"
        if request == "stop":
            loop.stop()
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send((count.messages, count.size, usage.ru_utime + usage.ru_stime))

    loop.add_reader(conn.fileno(), on_request)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.close()


class Sink:
    def __init__(self) -> None:
        self.conn, child = SPAWN.Pipe()
        self.process = SPAWN.Process(target=sink_main, args=(child,), daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(30):
            raise RuntimeError("the SMTP sink did not start")
        self.port: int = self.conn.recv()

    def stats(self) -> tuple[int, int, float]:
        self.conn.send("stats")
        if not self.conn.poll(30):
            raise RuntimeError("the SMTP sink stopped answering")
        messages, size, cpu = self.conn.recv()
        return messages, size, cpu

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        stop(self.process)
        self.conn.close()


def stop(process: BaseProcess) -> None:
    process.join(5)
    if process.is_alive():
        process.terminate()
        process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)


class Phase:
    """Sink counters over one measured phase."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.messages, self.size, self.cpu = sink.stats()
        self.began = time.perf_counter()

    def end(self) -> dict[str, float]:
        wall = time.perf_counter() - self.began
        messages, size, cpu = self.sink.stats()
        count = messages - self.messages
        return {
            "received": count,
            "bytes_per_msg": (size - self.size) / count if count else 0.0,
            "sink_cpu_share": (cpu - self.cpu) / wall if wall else 0.0,
        }


# --- mentormail (own process) ----------------------------------------------------------------


def write_program(directory: Path, port: int, participants: int) -> Path:
    (directory / "schedule" / "templates").mkdir(parents=True)
    (directory / "schedule" / "schedule.toml").write_text(SCHEDULE)
    (directory / "schedule" / "templates" / "weekly.md.j2").write_text(WEEKLY)
    with (directory / "roster.csv").open("w") as roster:
        roster.write("name,email,timezone,role\n")
        for i in range(participants):
            roster.write(f"Person {i} Example,person{i}@example.org,{ZONE},peer\n")
    config = directory / "config.toml"
    config.write_text(
        f"""\
[program]
schedule = "schedule/schedule.toml"
start = {START.isoformat()}
timezone = "{ZONE}"

[sender]
name = "Bench Organizers"
address = "{SENDER}"
reply_to = "bench-replies@example.org"

[[organizers]]
name = "Olive Organizer"
email = "olive@example.org"
timezone = "{ZONE}"

[smtp]
host = "{HOST}"
port = {port}
security = "none"
username = ""
timeout_seconds = 60
max_per_minute = 0
max_per_day = 0

[imap]
host = "{HOST}"
security = "none"

[state]
path = "state"

[roster]
file = "roster.csv"
"""
    )
    return config


def due_instant() -> dt.datetime:
    return dt.datetime.combine(START, dt.time(9), ZoneInfo(ZONE)).astimezone(dt.UTC)


def mentormail_main(conn: Connection, config_path: str, profile_path: str) -> None:
    """Load the program, then time one tick; send the figures back on `conn`."""
    import cProfile
    import gc

    from daemon.clock import Clock
    from daemon.config.load import load_deployment
    from daemon.runtime import collector, tick
    from daemon.transport.smtp import SmtpTransport

    collector.tune()  # as `mentormail tick` does at start-up
    timings: Counter[str] = Counter()

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[name] += time.perf_counter() - began

        return wrapper

    def timed_async(
        name: str, function: Callable[..., Coroutine[Any, Any, Any]]
    ) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                timings[name] += time.perf_counter() - began

        return wrapper

    setattr(tick, "plan", timed("plan", tick.plan))  # noqa: B010 - the bench's process only
    setattr(tick, "decide", timed("decide", tick.decide))  # noqa: B010
    setattr(tick, "enqueue", timed_async("compose_and_enqueue", tick.enqueue))  # noqa: B010
    setattr(tick, "deliver", timed_async("deliver", tick.deliver))  # noqa: B010

    deployment = load_deployment(Path(config_path))
    at = due_instant()
    profiler = cProfile.Profile() if profile_path else None
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    smtp = deployment.settings.smtp
    report = asyncio.run(
        tick.run_tick(deployment, Clock.starting_at(at), lambda: SmtpTransport(smtp))
    )
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_path)
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the composer
    samples = {}
    with contextlib.closing(sqlite3.connect(deployment.state_dir / "mentormail.sqlite3")) as db:
        counts = dict(db.execute("SELECT kind, count(*) FROM outbox GROUP BY kind").fetchall())
        for kind in ("email", "invite"):
            row = db.execute("SELECT message FROM outbox WHERE kind = ? LIMIT 1", (kind,))
            found = row.fetchone()
            samples[kind] = bytes(found[0]) if found else b""
    conn.send(
        {
            "wall_s": wall,
            "sent": report.outcomes.get("sent", 0),
            "outcomes": dict(report.outcomes),
            "enqueued": report.enqueued,
            "bounded": report.bounded,
            "timings": dict(timings),
            "counts": counts,
            "peak_rss_mb": peak,
            "composer_peak_rss_mb": child,
            "rss_before_tick_mb": rss_before,
            "samples": samples,
        }
    )


def run_mentormail(directory: Path, port: int, participants: int, profile: str) -> dict[str, Any]:
    config = write_program(directory, port, participants)
    conn, child = SPAWN.Pipe()
    process = SPAWN.Process(target=mentormail_main, args=(child, str(config), profile))
    process.start()
    child.close()
    try:
        if not conn.poll(CHILD_TIMEOUT_S):
            raise RuntimeError(f"the mentormail tick did not finish in {CHILD_TIMEOUT_S:.0f} s")
        result: dict[str, Any] = conn.recv()
        return result
    except EOFError:
        raise RuntimeError("the mentormail process died; see its traceback above") from None
    finally:
        stop(process)
        conn.close()


# --- baselines -------------------------------------------------------------------------------


async def raw_burst(port: int, messages: list[bytes], count: int) -> float:
    """`count` pre-built messages over CONNECTIONS aiosmtplib connections; wall seconds."""
    import aiosmtplib

    clients = [
        aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False) for _ in range(CONNECTIONS)
    ]
    numbers = iter(range(count))  # shared by the workers: every number is sent once

    async def worker(client: aiosmtplib.SMTP) -> None:
        for i in numbers:
            await client.sendmail(SENDER, [f"person{i}@example.org"], messages[i % len(messages)])

    began = time.perf_counter()
    await asyncio.gather(*(c.connect() for c in clients))
    try:
        await asyncio.gather(*(worker(c) for c in clients))
        return time.perf_counter() - began
    finally:
        for client in clients:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()


def run_mailmerge(directory: Path, port: int, count: int) -> float | None:
    """The mailmerge CLI sending `count` emails; wall seconds, None if it is not installed.
    Stopped after MAILMERGE_BUDGET_S (the caller counts what the sink received)."""
    command = Path(sys.executable).parent / "mailmerge"
    if not command.exists():
        return None
    (directory / "template.txt").write_text(MAILMERGE_TEMPLATE)
    with (directory / "database.csv").open("w") as database:
        database.write("email,name,first_day,last_day\n")
        for i in range(count):
            database.write(f"person{i}@example.org,Person {i},Monday March 2,Sunday March 8\n")
    (directory / "server.conf").write_text(
        f"[smtp_server]\nhost = {HOST}\nport = {port}\nratelimit = 0\n"
    )
    args = [str(command), "--no-dry-run", "--no-limit", "--output-format", "raw"]
    args += ["--template", "template.txt", "--database", "database.csv"]
    args += ["--config", "server.conf"]
    began = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=directory, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    try:
        code = process.wait(MAILMERGE_BUDGET_S)
        if code:
            print(f"mailmerge exited with {code}")
    except subprocess.TimeoutExpired:
        print(f"mailmerge stopped after {MAILMERGE_BUDGET_S:.0f} s")
    finally:
        elapsed = time.perf_counter() - began
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
    return elapsed


# --- main ------------------------------------------------------------------------------------


def print_profile(path: str) -> None:
    import pstats

    stats = pstats.Stats(path)
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    rows = []
    for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(file).name}:{line}({name})" if line else name
        rows.append((own, cumulative, calls, where))
    print(f"profile: {total:.2f} s profiled")
    print("  own%   cum%     calls  function  (top 25 by own time)")
    for own, cumulative, calls, where in sorted(rows, reverse=True)[:25]:
        print(f"{100 * own / total:6.1f} {100 * cumulative / total:6.1f} {calls:9d}  {where}")
    print("  cum%   own%     calls  function  (top 40 by cumulative time)")
    for own, cumulative, calls, where in sorted(rows, key=lambda r: -r[1])[:40]:
        print(f"{100 * cumulative / total:6.1f} {100 * own / total:6.1f} {calls:9d}  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=PARTICIPANTS)
    parser.add_argument("--profile", action="store_true", help="profile mentormail only")
    options = parser.parse_args()
    n = options.participants
    for name in [k for k in os.environ if k.startswith("MENTORMAIL_")]:
        del os.environ[name]  # the bench's config must not be overridden
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # run finally:

    with tempfile.TemporaryDirectory(prefix="mentormail-bench-") as temp:
        directory = Path(temp)
        sink = Sink()
        try:
            (directory / "mentormail").mkdir()
            profile = str(directory / "tick.prof") if options.profile else ""
            phase = Phase(sink)
            mm = run_mentormail(directory / "mentormail", sink.port, n, profile)
            mm_sink = phase.end()
            if options.profile:
                print_profile(profile)
                return
            sent = mm["sent"]
            samples = [mm["samples"][k] for k in ("email", "invite") if mm["samples"][k]]

            phase = Phase(sink)
            raw_wall = asyncio.run(raw_burst(sink.port, samples, sent))
            raw_sink = phase.end()

            (directory / "mailmerge").mkdir()
            phase = Phase(sink)
            mailmerge_wall = run_mailmerge(directory / "mailmerge", sink.port, n)
            mailmerge_sink = phase.end()
        finally:
            sink.close()

    wall = mm["wall_s"]
    timings, counts = mm["timings"], mm["counts"]
    rate = sent / wall
    raw_rate = raw_sink["received"] / raw_wall
    mailmerge_count = int(mailmerge_sink["received"])
    mailmerge_rate = mailmerge_count / mailmerge_wall if mailmerge_wall else None
    peak = mm["peak_rss_mb"] + mm["composer_peak_rss_mb"]  # both processes at their peaks
    compose_s = timings.get("compose_and_enqueue", 0.0)
    print(
        f"mentormail: {sent} messages ({counts.get('email', 0)} emails + {counts.get('invite', 0)}"
        f" invite emails) to {n} participants in one tick: {wall:.1f} s, {rate:.0f} msgs/s,"
        f" peak RSS {mm['peak_rss_mb']:.0f} MB + composing child {mm['composer_peak_rss_mb']:.0f}"
        f" MB; outcomes {mm['outcomes']}"
        + (" (stopped at the pass bound)" if mm["bounded"] else "")
    )
    print(
        f"  plan {timings.get('plan', 0):.2f} s, decide {timings.get('decide', 0):.2f} s,"
        f" compose + enqueue {compose_s:.2f} s, deliver {timings.get('deliver', 0):.2f} s"
        f" (overlapping); sink got {mm_sink['received']}"
        f" ({mm_sink['bytes_per_msg']:.0f} B/msg, sink CPU {100 * mm_sink['sink_cpu_share']:.0f}%)"
    )
    print(
        f"raw aiosmtplib, {CONNECTIONS} connections, pre-built bytes: {raw_sink['received']}"
        f" messages in {raw_wall:.1f} s, {raw_rate:.0f} msgs/s"
        f" (sink CPU {100 * raw_sink['sink_cpu_share']:.0f}%)"
    )
    if mailmerge_rate is None:
        print("mailmerge: not installed (.venv/bin/pip install mailmerge); skipped")
    else:
        print(
            f"mailmerge CLI: {mailmerge_count} messages in {mailmerge_wall:.1f} s,"
            f" {mailmerge_rate:.0f} msgs/s (sink CPU {100 * mailmerge_sink['sink_cpu_share']:.0f}%)"
        )
    if mm_sink["received"] != sent or raw_sink["received"] != sent:
        print("WARNING: the sink's counts differ from the messages sent")
    print(
        json.dumps(
            {
                "participants": n,
                "messages": sent,
                "invites": counts.get("invite", 0),
                "mentormail_wall_s": round(wall, 2),
                "mentormail_msgs_per_s": round(rate),
                "plan_s": round(timings.get("plan", 0), 2),
                "decide_s": round(timings.get("decide", 0), 2),
                "compose_and_enqueue_s": round(compose_s, 2),
                "deliver_s": round(timings.get("deliver", 0), 2),
                "avg_message_bytes": round(mm_sink["bytes_per_msg"]),
                "peak_rss_mb": round(peak, 1),
                "rss_before_tick_mb": round(mm["rss_before_tick_mb"], 1),
                "raw_aiosmtplib_8conn_msgs_per_s": round(raw_rate),
                "raw_messages": raw_sink["received"],
                "mailmerge_msgs_per_s": round(mailmerge_rate) if mailmerge_rate else None,
                "mailmerge_messages": mailmerge_count,
                "sink_cpu_share": {
                    "mentormail": round(mm_sink["sink_cpu_share"], 2),
                    "raw": round(raw_sink["sink_cpu_share"], 2),
                    "mailmerge": round(mailmerge_sink["sink_cpu_share"], 2),
                },
                "target_peak_mb": TARGET_PEAK_MB,
                "ratio_vs_mailmerge": round(rate / mailmerge_rate, 2) if mailmerge_rate else None,
                "ratio_vs_raw": round(rate / raw_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
