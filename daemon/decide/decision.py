"""What a pass decides, as of its instant, from the timeline and one ledger snapshot (pure: no
store, no composer, no clock — the same inputs always give the same decision).

First the plan as people's commands change it (`replan`): the meetings they set, who paused or
withdrew. Then (`decide`) every action of the pass:
- sends: planned emails, invitations (new, or updated when the event changed), reminders,
  overdue notices and flags that are due and not yet queued;
- skips: due sends that are not useful any more (stale, the catch-up policy) or must not go
  (the people left, bounced, or already did what it asks about), recorded so, never sent;
- digests (with what they say), answers and notes recorded with arriving mail, alerts about
  failed or unknown sends, cancellations of invitations no longer planned;
- revokes: queued sends that must not go any more (what they ask about was met meanwhile, the
  people left or bounced); expiries: queued sends past their deadline;
- the obligation states, and when the next planned send falls due.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from daemon.decide.digest import digest_context
from daemon.decide.meetings import meeting_actions, meetings, with_meetings
from daemon.decide.notices import outage_notice
from daemon.decide.overview import overview
from daemon.decide.sends import SENDABLE, Send, due_sends
from daemon.decide.standing import (
    Standing,
    after_leaving,
    all_paused,
    bounced,
    held_back,
    paused_now,
    standings,
    without_withdrawn,
)
from daemon.decide.states import (
    ObligationState,
    about_lateness,
    adjustments,
    evaluate_all,
    not_overdue_yet,
    nothing_to_nudge,
)
from daemon.decide.tracking import never_asked, untracked
from daemon.ledger.records import EventVersion, Failure, Intent, Pending
from daemon.ledger.snapshot import Snapshot
from daemon.program.calendar_text import invite_hash
from daemon.program.instance import Program
from daemon.program.timeline import Action


@dataclass(frozen=True)
class Replanned:
    """The program and timeline as commands change them (with the meetings people set), and
    where each participant stands (paused, withdrawn)."""

    program: Program
    timeline: list[Action]
    standing: Mapping[str, Standing]


@dataclass(frozen=True)
class Skip:
    """A due send recorded as skipped: `stale` (no longer useful), else held back (`reason`);
    or, after a restore, as `unknown`: it may have gone before (never sent again)."""

    action: Action
    reason: str
    stale: bool = False
    paused: bool = False  # it fell due while its recipients had paused: skipped by design
    state: Literal["skipped", "unknown"] = "skipped"


@dataclass(frozen=True)
class Digest:
    action: Action
    content: dict[str, Any]


@dataclass(frozen=True)
class Expiry:
    """A queued send past its deadline: failed if it was tried, else skipped as stale."""

    key: str
    state: Literal["failed", "skipped"]
    error: str


@dataclass(frozen=True)
class Decision:
    sends: tuple[Send, ...] = ()
    skips: tuple[Skip, ...] = ()
    digests: tuple[Digest, ...] = ()
    answers: tuple[Intent, ...] = ()
    alerts: tuple[Failure, ...] = ()  # to tell the organizers of
    reported: tuple[str, ...] = ()  # failures now dealt with (alerts about alerts never go)
    cancels: tuple[EventVersion, ...] = ()
    revokes: tuple[tuple[str, str], ...] = ()  # (queued key, why it must not go)
    expiries: tuple[Expiry, ...] = ()
    states: Mapping[str, ObligationState] = field(default_factory=dict)
    next_planned: dt.datetime | None = None  # the next planned send after the instant

    @property
    def work(self) -> int:
        """How many rows this decision adds or changes in the outbox."""
        return (
            len(self.sends) + len(self.skips) + len(self.digests) + len(self.answers)
            + len(self.alerts) + len(self.cancels) + len(self.revokes) + len(self.expiries)
        )  # fmt: skip


def replan(program: Program, timeline: list[Action], snapshot: Snapshot) -> Replanned:
    """The plan as people's commands change it: meetings they set (invitations and follow-up
    questions), and who paused or withdrew."""
    if found := meetings(program, timeline, snapshot.commands):
        timeline = sorted(timeline + meeting_actions(program, timeline, found))
        program = with_meetings(program, found)
    zones: dict[str, dt.tzinfo] = {p.email: ZoneInfo(p.timezone) for p in program.participants}
    standing = standings(snapshot.commands, zones)
    return Replanned(program, after_leaving(timeline, standing), standing)


def decide(plan: Replanned, snapshot: Snapshot, now: dt.datetime) -> Decision:
    program, timeline, standing = plan.program, plan.timeline, plan.standing
    hard_bounces = {a for a, b in snapshot.bouncing.items() if b.status.startswith("5")}
    obligations = {o.id: o for o in program.schedule.obligations}
    states = evaluate_all(
        timeline, obligations, list(snapshot.checkins), now, adjustments(snapshot.commands)
    )
    # which windows nobody was asked about: a scan of the whole timeline, made only once a
    # flag or an overdue notice is due (most passes have none)
    unasked = functools.cache(lambda: untracked(timeline, snapshot, now))

    def must_not_go(action: Action) -> str:
        return (
            held_back(action, standing) or bounced(action, hard_bounces)
            or nothing_to_nudge(action, states) or never_asked(action, unasked)
        )  # fmt: skip

    due = due_sends(
        without_withdrawn(timeline, standing), snapshot.known, snapshot.events,
        lambda action: invite_hash(program, action), now,
        held_back=must_not_go,
        not_yet=lambda action: (
            not_overdue_yet(action, states) or paused_now(action, standing, now)
            or _suspended(action, states, standing, now)
        ),
    )  # fmt: skip
    sends, maybe_sent = _after_restore(due.sends, snapshot.restored)
    digests = [s for s in sends if s.action.item == "digest"]
    skips = [
        Skip(action, f"stale: due {action.at:%Y-%m-%d %H:%M}Z", True, _paused(action, standing))
        for action in due.stale
    ]
    skips += [Skip(action, f"held back: {reason}") for action, reason in due.held]
    skips += maybe_sent
    expiries = [_expiry(row) for row in snapshot.pending if row.deadline_at <= now]
    gone = {e.key for e in expiries}
    by_key = {a.key: a for a in timeline}
    revokes = [
        (row.key, reason)
        for row in snapshot.pending
        if row.key not in gone
        and (action := by_key.get(row.action_key)) is not None
        and (reason := must_not_go(action))
    ]
    failures = [*snapshot.failures, *(_failure(row, e) for row, e in _failed(snapshot, expiries))]
    view = overview(program, timeline, snapshot, now) if digests else None
    later = (a.at for a in timeline if a.kind in SENDABLE and a.at > now)
    return Decision(
        sends=tuple(s for s in sends if s.action.item != "digest"),
        skips=tuple(skips),
        digests=tuple(
            Digest(s.action, digest_context(program, view, s.action.occurrence))
            for s in digests
            if view is not None
        ),
        answers=(
            *snapshot.intents,
            *_restore_notice(program, maybe_sent, snapshot),
            *outage_notice(program, snapshot),
        ),
        alerts=tuple(f for f in failures if f.kind != "alert"),
        reported=tuple(f.key for f in failures),
        cancels=tuple(due.cancels),
        revokes=tuple(revokes),
        expiries=tuple(expiries),
        states=states,
        next_planned=next(later, None),
    )


def _suspended(
    action: Action,
    states: Mapping[str, ObligationState],
    standing: Mapping[str, Standing],
    at: dt.datetime,
) -> bool:
    """An overdue notice or a flag about obligations whose missing answers are all owed by
    people on a pause: it waits for the pause to end (PAUSE suspends their obligations)."""
    if not about_lateness(action):
        return False
    found = [states.get(key) for key in action.asks]
    return bool(found) and all(s is not None and all_paused(s.missing, standing, at) for s in found)


def _paused(action: Action, standing: Mapping[str, Standing]) -> bool:
    """Every recipient had paused when it fell due."""
    return bool(action.recipients) and all(
        (s := standing.get(r)) is not None and s.paused(action.at) for r in action.recipients
    )


def _expiry(row: Pending) -> Expiry:
    error = f"not delivered by its deadline {row.deadline_at:%Y-%m-%d %H:%M}Z"
    if not row.attempts:
        return Expiry(row.key, "skipped", "stale: " + error)
    if row.last_error:
        error += f"; last error: {row.last_error}"
    return Expiry(row.key, "failed", error)


def _failed(snapshot: Snapshot, expiries: list[Expiry]) -> list[tuple[Pending, Expiry]]:
    rows = {row.key: row for row in snapshot.pending}
    return [(rows[e.key], e) for e in expiries if e.state == "failed"]


def _failure(row: Pending, expiry: Expiry) -> Failure:
    return Failure(
        row.key, row.kind, row.title, row.recipients, "failed", expiry.error, row.message_id,
        row.attempts,
    )  # fmt: skip


def _after_restore(
    sends: list[Send], restored: tuple[dt.datetime, dt.datetime] | None
) -> tuple[list[Send], list[Skip]]:
    """Sends that fell due between a restored backup and its restore may have gone before it:
    they are recorded as unknown, never sent again."""
    if restored is None:
        return sends, []
    taken, restored_at = restored
    maybe = [s for s in sends if taken < s.action.at <= restored_at and not s.sequence]
    reason = f"due after the backup of {taken:%Y-%m-%d %H:%M}Z that was restored: it may have gone"
    return [s for s in sends if s not in maybe], [
        Skip(s.action, reason, state="unknown") for s in maybe
    ]


def _restore_notice(program: Program, maybe: list[Skip], snapshot: Snapshot) -> list[Intent]:
    """One note to the organizers about the sends a restore leaves unknown."""
    if not maybe or snapshot.restored is None:
        return []
    taken, restored_at = snapshot.restored
    key = f"{program.id}/notice/restore/{restored_at:%Y%m%dT%H%M%SZ}"
    if key in snapshot.known:
        return []
    lines = [
        f"The store was restored from its backup of {taken:%Y-%m-%d %H:%M} UTC. These "
        f"{len(maybe)} messages fell due after that backup and may or may not have been sent "
        "before: they are not sent again. Check with the people concerned if it matters.",
        *(f"{s.action.title} to {', '.join(s.action.recipients)}" for s in maybe[:100]),
    ]
    if len(maybe) > 100:
        lines.append(f"… and {len(maybe) - 100} more")
    answer = {"kind": "notice", "subject": "After the restore: messages that may have gone",
              "lines": lines}  # fmt: skip
    return [Intent(key, "", "", answer, "notice")]
