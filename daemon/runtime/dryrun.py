"""`mentormail tick --dry-run`: what a pass would send as of an instant — nothing sent, nothing
recorded. The store is opened read-only (none is created), the mailbox is not read, no server
is contacted. The same decision a pass makes (decide/decision.py) is composed, so the subjects
are the ones that would go; queued sends due by then are listed with them.
"""

from __future__ import annotations

import datetime as dt
import email.policy
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

from daemon.decide.decision import decide, replan
from daemon.ledger.records import OutboxRow
from daemon.ledger.snapshot import Snapshot
from daemon.mail.compose import Composer
from daemon.program.instance import Program
from daemon.program.timeline import Action
from daemon.store.sqlite import Store

UNSET_SECRET = bytes(32)  # no store yet: reply tokens are not shown, so any key will do


@dataclass(frozen=True)
class WouldSend:
    key: str
    kind: str
    recipients: tuple[str, ...]
    subject: str
    queued: bool  # already in the outbox (a retry or a send a pass left), else new


@dataclass(frozen=True)
class DryRun:
    at: dt.datetime
    sends: tuple[WouldSend, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (key, why) recorded as skipped, never sent
    revoked: tuple[tuple[str, str], ...] = ()  # queued sends that would be withdrawn
    held: str = ""  # why nothing would be sent now (a hold in force), with until when
    next_planned: dt.datetime | None = None
    store: bool = True  # False: no store yet (nothing has been sent from this state folder)

    def lines(self) -> list[str]:
        out = [f"dry run at {self.at:%Y-%m-%d %H:%M}Z: nothing is sent or recorded, and the "
               "mailbox is not read"]  # fmt: skip
        if not self.store:
            out.append("(no state yet: as the first pass would)")
        if self.held:
            out.append(f"sending is held: {self.held}; these would wait")
        out.append(f"{len(self.sends)} would be sent" + (":" if self.sends else ""))
        for send in self.sends:
            origin = "queued" if send.queued else "new"
            out.append(f"  {send.key}  ({send.kind}, {origin})")
            out.append(f"      to {', '.join(send.recipients)}: {send.subject}")
        if self.skipped:
            out.append(f"{len(self.skipped)} would be recorded as skipped, never sent:")
            out += [f"  {key}  ({why})" for key, why in self.skipped]
        if self.revoked:
            out.append(f"{len(self.revoked)} queued would no longer be sent:")
            out += [f"  {key}  ({why})" for key, why in self.revoked]
        if self.next_planned is not None:
            out.append(f"next planned send: {self.next_planned:%Y-%m-%d %H:%M}Z")
        return out


def dry_run(program: Program, timeline: list[Action], state_dir: Path, at: dt.datetime) -> DryRun:
    """What one pass at `at` would send, from the store as it is (read-only)."""
    store = Store.reader(state_dir)
    try:
        snapshot = store.snapshot() if store is not None else Snapshot()
        secret = _secret(store)
        queued = store.due(at, 10_000) if store is not None else []
        hold = store.hold() if store is not None else None
    finally:
        if store is not None:
            store.close()
    planned = replan(program, timeline, snapshot)
    decision = decide(planned, snapshot, at)
    composer = Composer(planned.program, planned.timeline, secret)
    gone = {key for key, _ in decision.revokes} | {e.key for e in decision.expiries}
    rows = [row for row in queued if row.key not in gone]
    new = [composer.row(send, at)[0] for send in decision.sends]
    new += [composer.digest(digest, at) for digest in decision.digests]
    new += [composer.cancel(version, at)[0] for version in decision.cancels]
    new += [composer.reply(intent, at) for intent in decision.answers]
    new += [composer.alert(failure, at) for failure in decision.alerts]
    held = ""
    if hold is not None and hold.until > at:
        held = f"until {hold.until:%Y-%m-%d %H:%M}Z: {hold.reason}"
    return DryRun(
        at=at,
        sends=tuple([_would(row, True) for row in rows] + [_would(row, False) for row in new]),
        skipped=tuple((s.action.key, s.reason) for s in decision.skips),
        revoked=tuple(decision.revokes),
        held=held,
        next_planned=decision.next_planned,
        store=store is not None,
    )


def _secret(store: Store | None) -> bytes:
    value = store.value("reply-token") if store is not None else None
    return bytes.fromhex(value) if value else UNSET_SECRET


def _would(row: OutboxRow, queued: bool) -> WouldSend:
    head = BytesHeaderParser(policy=email.policy.default).parsebytes(row.message)
    return WouldSend(row.key, row.kind, row.recipients, str(head["Subject"] or row.title), queued)
