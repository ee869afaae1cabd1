"""What the demo prints: a line per program week as the virtual clock passes it, and at the end
the organizers' view — `status` as of the last instant, what was flagged to them, who paused
or withdrew — and where the sent mail is."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from daemon.config.deployment import Deployment
from daemon.decide.overview import overview
from daemon.demo.personas import Outgoing
from daemon.demo.sandbox import Delivered
from daemon.program.instance import Program
from daemon.program.timeline import plan
from daemon.store.sqlite import Store
from daemon.views.status import overview_table


@dataclass
class Week:
    """One program week of the rehearsal (0: before the program starts)."""

    number: int
    first_day: dt.date
    length: int  # the program's weeks
    sent: Counter[str] = field(default_factory=Counter)
    read: int = 0
    events: list[str] = field(default_factory=list)
    topics: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (what, topic): who

    def acted(self, item: Outgoing) -> None:
        """A simulated participant did something: RSVPs and answers are grouped by topic."""
        if item.topic:
            self.topics.setdefault((item.what, _short(item.topic)), []).append(item.who)
        else:
            self.events.append(f"{item.who} {item.what}")

    @classmethod
    def of(cls, at: dt.datetime, start: dt.datetime, length: int) -> Week:
        days = (at.astimezone(start.tzinfo).date() - start.date()).days
        number = min(max(0, days // 7 + 1), length + 1)  # after the end: one line for all
        first = start.date() + dt.timedelta(weeks=number - 1) if number else at.date()
        return cls(number, first, length)

    def count(self, delivered: Delivered, program: Program) -> None:
        organizers = {o.email for o in program.organizers}
        message = delivered.message
        subject = str(message["Subject"] or "")
        if set(delivered.recipients) & organizers:
            kind = "flag" if subject.startswith("Overdue:") else "to organizers"
            if kind == "flag":
                self.events.append(
                    f"flagged to the organizers: {subject.removeprefix('Overdue: ')}"
                )
        elif any(p.get_content_type() == "text/calendar" for p in message.walk()):
            kind = "invitation"
        elif message["Auto-Submitted"] == "auto-replied":
            kind = "answer"
        else:
            kind = "email"
        self.sent[kind] += 1

    def line(self) -> str:
        name = (
            "before the start" if not self.number
            else f"week {self.number}" if self.number <= self.length else "after the end"
        )  # fmt: skip
        parts = [_count(self.sent[k], k) for k in ("email", "invitation", "answer") if self.sent[k]]
        parts.append(_count(self.read, "reply", "replies") + " read")
        if self.sent["to organizers"]:
            parts.append(f"{self.sent['to organizers']} to the organizers")
        if self.sent["flag"]:
            parts.append(_count(self.sent["flag"], "flag"))
        lines = [f"{name:<16} {self.first_day:%d %b}  " + " · ".join(parts)]
        for (what, topic), who in self.topics.items():
            lines.append(f"{'':<24}{what} “{topic}”: {', '.join(who)}")
        lines += [f"{'':<24}{event}" for event in self.events]
        return "\n".join(lines)


def summary(deployment: Deployment, at: dt.datetime) -> str:
    program, state = deployment.program, deployment.state_dir
    store = Store.open(state)
    try:
        snapshot = store.snapshot()
        names = {p.email: p.name for p in program.participants}
        flags = [_flag(r.title, r.key, names) for r in store.rows("sent") if "/flag/" in r.key]
        counts = store.counts()
    finally:
        store.close()
    table = overview_table(program, overview(program, plan(program), snapshot, at))
    out = state.parent
    lines = ["The organizers' view at the end (what `mentormail status` shows):", "", table]
    lines.append(f"Flagged to the organizers ({len(flags)}):")
    lines += [f"  {title}" for title in flags] or ["  nothing"]
    mail = out / "mail"
    lines += [
        "",
        f"{counts.get('sent', 0)} messages sent, each kept as an .eml file in {mail}/",
        "Open any of them in a mail client (Thunderbird: File > Open > Saved Message; on a "
        "desktop: xdg-open FILE), or read them as text. The state store is in "
        f"{state}/; run `mentormail demo` again to start over.",
    ]
    return "\n".join(lines)


def _flag(title: str, key: str, names: dict[str, str]) -> str:
    """ "Flag: Small Group Meeting 1" and its key's unit: "Small Group Meeting 1 — owls"; of a
    person's own obligation, their name: "Monthly reflection #1 — Ann Lee"."""
    parts = key.split("/")
    units = [p.partition(":")[2] for p in parts if ":" in p]
    units += [names.get(p, p) for p in parts if "@" in p]
    return title.removeprefix("Flag: ") + (f" — {units[0]}" if units else "")


def _short(topic: str) -> str:
    """A subject without its long tail ("… is due Sunday, August 1, 2021, 11:59 PM MST")."""
    return topic.split(" is due ", maxsplit=1)[0]


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
