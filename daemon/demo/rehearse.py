"""`mentormail demo`: a whole program — a shipped one, or the organizer's own config (its
schedule, roster and templates) — on a virtual clock, against the sandbox.

The real code paths run — `run_tick` plans, composes and sends over SMTP to the sink, and
reads the mailbox over IMAP — at virtual instants: every instant something is due, every
instant a simulated reply arrives, and at least every few hours. After each pass the
simulated participants read what they received and answer into the sandbox mailbox, dated
when they would have. A line per program week says what happened; the end shows the
organizers' view.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.config.load import load_deployment
from daemon.config.validate import validate
from daemon.demo.choose import Choice
from daemon.demo.personas import Outgoing, Person, cast, initiatives, respond
from daemon.demo.report import Week, summary
from daemon.demo.sandbox import Delivered, Sandbox
from daemon.errors import UserError
from daemon.program.timeline import plan
from daemon.runtime.tick import run_tick
from daemon.transport.imap import ImapInbox
from daemon.transport.smtp import SmtpTransport

STEP = dt.timedelta(hours=6)  # the longest the virtual clock jumps: replies are read within it
MARKER = ".mentormail-demo"


@dataclass
class Rehearsal:
    deployment: Deployment
    out: Path
    people: dict[str, Person]
    weeks: list[Week] = field(default_factory=list)
    end: dt.datetime | None = None


def prepare(out: Path) -> None:
    """An empty output folder, or one a previous demo made (cleared)."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise UserError(
                f"{out} is not empty and was not made by `mentormail demo`; "
                "choose another folder with --out"
            )
        for child in ("mail", "state", "imap-server.log"):
            target = out / child
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `mentormail demo`; safe to delete\n")


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These MENTORMAIL_* values and no others (nor systemd credentials) while loading."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.upper().startswith("MENTORMAIL_") or name == "CREDENTIALS_DIRECTORY":
            del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def program_mailbox(config: Path) -> str:
    """The address of the mailbox the config reads: the sandbox delivers only mail to it."""
    with environment({}):
        settings = load_deployment(config).settings
    return settings.imap.username or settings.sender.reply_to or settings.sender.address


def load(config: Path, out: Path, box: Sandbox) -> Deployment:
    """The program, validated (every template rendered), pointed at the sandbox: its servers,
    password sign-in, no sending limits, and a state folder in `out` (the organizer's own
    state, servers and credentials are never used)."""
    values = {"MENTORMAIL_STATE__PATH": str((out / "state").absolute())}
    for section, settings in box.settings().items():
        for key, value in settings.items():
            values[f"MENTORMAIL_{section.upper()}__{key.upper()}"] = str(value)
    with environment(values):
        return validate(config)[0]


async def rehearse(choice: Choice, out: Path, echo: Callable[[str], None]) -> Rehearsal:
    mailbox = program_mailbox(choice.config)
    prepare(out)
    echo(f"Rehearsing {choice.why}")
    async with Sandbox(out, mailbox) as box:
        deployment = load(choice.config, out, box)
        program, settings = deployment.program, deployment.settings
        people = {p.email: p for p in cast([(p.name, p.email) for p in program.participants])}
        run = Rehearsal(deployment, out, people)
        timeline = plan(program)
        start = dt.datetime.combine(program.start, dt.time(), program.tz)
        first, last = min(a.at for a in timeline), max(a.at for a in timeline)
        address = program.sender.reply_base
        queue: list[tuple[dt.datetime, int, Outgoing]] = []
        for person in people.values():
            for item in initiatives(person, start, address):
                heapq.heappush(queue, (item.at, len(queue), item))
        echo(f"{program.title}: {len(people)} simulated participants, "
             f"{first:%d %b %Y} to {last:%d %b %Y}, on a virtual clock\n")  # fmt: skip
        week = Week.of(first, start, program.weeks)
        at = first
        async with ImapInbox(settings.imap) as inbox:
            while True:
                while queue and queue[0][0] <= at:
                    _, _, item = heapq.heappop(queue)
                    if await box.deliver(item.raw, item.at):
                        week.acted(item)
                box.clock(at)
                seen = len(box.delivered)
                report = await run_tick(
                    deployment, Clock.frozen(at), lambda: SmtpTransport(settings.smtp),
                    inbox=inbox, timeline=timeline,
                )  # fmt: skip
                if report.inbox is not None:
                    week.read += sum(report.inbox.recorded.values())
                for delivered in box.delivered[seen:]:
                    week.count(delivered, program)
                    for item in _answers(people, delivered):
                        heapq.heappush(queue, (item.at, len(queue), item))
                upcoming = [t for t in (report.next_due, queue[0][0] if queue else None) if t]
                if at >= last and not queue:
                    break
                following = min([*upcoming, at + STEP])
                if Week.of(following, start, program.weeks).number != week.number:
                    echo(week.line())
                    run.weeks.append(week)
                    week = Week.of(following, start, program.weeks)
                at = following
        echo(week.line())
        run.weeks.append(week)
        run.end = at
        if box.lost:
            where = sorted({to for _, to in box.lost})
            echo(f"\n{len(box.lost)} messages from participants went to addresses mentormail "
                 f"does not read ({', '.join(where[:3])}): deliver them to {mailbox}")  # fmt: skip
    echo("")
    echo(summary(run.deployment, at))
    return run


def _answers(people: dict[str, Person], delivered: Delivered) -> list[Outgoing]:
    return [
        item
        for address in delivered.recipients
        if (person := people.get(address)) is not None
        for item in respond(person, delivered.message, delivered.at)
    ]
