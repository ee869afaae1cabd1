"""What a pass decides, as of its instant, once replies are recorded: the plan as people's
commands change it (meetings they set, who paused or withdrew, the weekly digests), which
due sends go, which are held back and why (paused, withdrawn, bounced, already met or
excused), which wait (a flag whose deadline was extended), and the rows that record it all.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from daemon.config.load import Program
from daemon.decide.digest import digest_context
from daemon.decide.meetings import meeting_actions, meetings, with_meetings
from daemon.decide.sends import Decisions, Send, decide
from daemon.decide.standing import (
    Standing,
    all_paused,
    bounced,
    held_back,
    paused_now,
    standings,
    without_withdrawn,
)
from daemon.decide.states import (
    ObligationState,
    adjustments,
    evaluate_all,
    not_overdue_yet,
    nothing_to_nudge,
)
from daemon.mail.compose import Composer
from daemon.program.timeline import Action
from daemon.store.sqlite import EventVersion, OutboxRow, Store
from daemon.views.status import overview

log = logging.getLogger(__name__)


def as_replied(
    program: Program, store: Store, timeline: list[Action], composer: Composer, secret: bytes
) -> tuple[list[Action], Composer, dict[str, Standing]]:
    """The plan as people's commands change it: meetings they set (invitations and follow-up
    questions), and who paused or withdrew."""
    commands = store.commands()
    if found := meetings(program, timeline, commands):
        timeline = sorted(timeline + meeting_actions(program, timeline, found))
        composer = Composer(with_meetings(program, found), timeline, secret)
    zones: dict[str, dt.tzinfo] = {p.email: ZoneInfo(p.timezone) for p in program.participants}
    return timeline, composer, standings(commands, zones)


def decide_now(
    store: Store,
    timeline: list[Action],
    composer: Composer,
    standing: dict[str, Standing],
    at: dt.datetime,
) -> Decisions:
    program = composer.program
    hard_bounces = {a for a, b in store.bouncing().items() if b.status.startswith("5")}
    obligations = {o.id: o for o in program.schedule.obligations}
    decided = adjustments(store.commands())
    states = evaluate_all(timeline, obligations, store.checkins(), at, decided)
    return decide(
        without_withdrawn(timeline, standing), store.known_keys(), store.events(),
        composer.invite_hash, at,
        held_back=lambda action: (
            held_back(action, standing) or bounced(action, hard_bounces)
            or nothing_to_nudge(action, states)
        ),
        not_yet=lambda action: (
            not_overdue_yet(action, states) or paused_now(action, standing, at)
            or _suspended(action, states, standing, at)
        ),
    )  # fmt: skip


def _suspended(
    action: Action,
    states: dict[str, ObligationState],
    standing: dict[str, Standing],
    at: dt.datetime,
) -> bool:
    """An overdue notice or a flag about obligations whose missing answers are all owed by
    people on a pause: it waits for the pause to end (PAUSE suspends their obligations)."""
    if action.kind != "flag" and action.template != "overdue":
        return False
    found = [states.get(key) for key in action.asks]
    return bool(found) and all(s is not None and all_paused(s.missing, standing, at) for s in found)


def records(
    store: Store,
    composer: Composer,
    decisions: Decisions,
    at: dt.datetime,
    *,
    digests: list[Send],
    standing: dict[str, Standing],
) -> tuple[list[OutboxRow], list[EventVersion]]:
    """Digests (composed now, from the store as it is), what is not sent and why, and the
    cancellations."""
    rows: list[OutboxRow] = []
    versions: list[EventVersion] = []
    program = composer.program
    if digests:
        view = overview(program, store, at)
        for send in digests:
            context = digest_context(program, view, standing, send.action.occurrence)
            rows.append(composer.digest(send.action, context, at))
    for action in decisions.stale:
        # what fell due while its recipients had paused is skipped by design, not by mishap
        paused = bool(action.recipients) and all(
            (s := standing.get(r)) is not None and s.paused(action.at) for r in action.recipients
        )
        log.log(
            logging.INFO if paused else logging.WARNING,
            "skipping %s: due %s%s, no longer useful at %s",
            action.key, action.at, " (during a pause)" if paused else "", at,
        )  # fmt: skip
        rows.append(composer.skipped(action, at, f"stale: due {action.at:%Y-%m-%d %H:%M}Z"))
    for action, reason in decisions.held:
        log.info("not sending %s: %s", action.key, reason)
        rows.append(composer.skipped(action, at, f"held back: {reason}"))
    for version in decisions.cancels:
        row, cancelled = composer.cancel(version, at)
        rows.append(row)
        versions.append(cancelled)
    return rows, versions
