"""The outbox in `status`: what is queued, whether sending is held (why, until when), what
failed, what is unknown (it may have gone: never sent again) and when the next send is due —
as data for `status --json` (fields in README, "status --json") and as text lines. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from daemon.ledger.outbox_lines import OutboxLine
from daemon.ledger.records import Hold
from daemon.program.timespec import iso_z

SHOWN = 50  # rows listed per kind (the counts are whole)

# how each kind of hold's reason begins (runtime/deliver.py writes them)
HOLDS = (
    ("mentormail login", "sign-in"),  # anywhere in the reason: the grant was withdrawn
    ("the provider asked to slow down", "provider-pause"),
    ("the daily limit", "daily-limit"),
    ("cannot use the SMTP server", "server-unusable"),
)


def hold_kind(reason: str) -> str:
    """`sign-in`, `provider-pause`, `daily-limit`, `server-unusable`, else `other`."""
    for text, kind in HOLDS:
        if reason.startswith(text) or (kind == "sign-in" and text in reason):
            return kind
    return "other"


@dataclass(frozen=True)
class OutboxRead:
    """What `status` reads of the outbox (the store's lists are cut at SHOWN rows)."""

    counts: Mapping[str, int]  # rows by state
    due_now: int
    next_attempt: dt.datetime | None  # the earliest a queued row may be tried
    retrying: Sequence[OutboxLine] = ()  # queued rows tried before
    failed: Sequence[OutboxLine] = ()
    unknown: Sequence[OutboxLine] = ()


def outbox_view(
    read: OutboxRead, hold: Hold | None, at: dt.datetime, next_planned: dt.datetime | None
) -> dict[str, Any]:
    counts = read.counts
    held = hold if hold is not None and hold.until > at else None
    next_try = read.next_attempt
    if next_try is not None and held is not None:
        next_try = max(next_try, held.until)
    return {
        "queued": counts.get("pending", 0),
        "due_now": read.due_now,
        "sending": counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "skipped": counts.get("skipped", 0),
        "failed": counts.get("failed", 0),
        "unknown": counts.get("unknown", 0),
        "held": {
            "kind": hold_kind(held.reason),
            "until": iso_z(held.until),
            "because": held.reason,
        }
        if held
        else None,
        "next_send_at": iso_z(next_try) if next_try else None,
        "next_planned_at": iso_z(next_planned) if next_planned else None,
        "retrying": [_line(line) for line in read.retrying[:SHOWN]],
        "failed_sends": [_line(line) for line in read.failed[:SHOWN]],
        "unknown_sends": [_line(line) for line in read.unknown[:SHOWN]],
    }


def _line(line: OutboxLine) -> dict[str, Any]:
    return {
        "key": line.key,
        "kind": line.kind,
        "title": line.title,
        "recipients": list(line.recipients),
        "attempts": line.attempts,
        "next_attempt_at": iso_z(line.next_attempt_at) if line.state == "pending" else None,
        "at": iso_z(line.updated_at),
        "error": line.last_error,
    }


def shown(value: str, tz: ZoneInfo, at: dt.datetime, *, time: bool = True) -> str:
    """An instant (ISO 8601) as `status` writes it, in `tz`: its day, its time of day with
    `time`, and its year when that is not the year of `at` (what status is as of)."""
    local = dt.datetime.fromisoformat(value).astimezone(tz)
    year = " %Y" if local.year != at.astimezone(tz).year else ""
    return local.strftime(f"%a %d %b{year}{' %H:%M' if time else ''}")


def outbox_text(view: Mapping[str, Any], tz: ZoneInfo, at: dt.datetime) -> list[str]:
    """The outbox part of `status` as of `at`, times in `tz`."""

    def when(value: str) -> str:
        return shown(value, tz, at)

    counts = (
        f"Outbox: {view['queued']} queued ({view['due_now']} due now), {view['sent']} sent, "
        f"{view['failed']} failed, {view['unknown']} unknown (sent or not: never sent again), "
        f"{view['skipped']} skipped"
    )
    lines = ["", counts]
    if held := view["held"]:
        lines.append(f"  held ({held['kind']}) until {when(held['until'])}, as said above")
    if view["next_send_at"]:
        lines.append(f"  next queued send: {when(view['next_send_at'])}")
    if view["next_planned_at"]:
        lines.append(f"  next planned send: {when(view['next_planned_at'])}")
    for name, rows in (
        ("retrying", view["retrying"]),
        ("failed", view["failed_sends"]),
        ("unknown", view["unknown_sends"]),
    ):
        for row in rows:
            then = when(row["next_attempt_at"]) if row["next_attempt_at"] else when(row["at"])
            lines.append(
                f"  {name:<8} {row['key']} to {', '.join(row['recipients'])} "
                f"({'retry ' if row['next_attempt_at'] else ''}{then}): {row['error']}"
            )
    return lines
