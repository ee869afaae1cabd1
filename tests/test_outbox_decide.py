"""What to send now: due and new, never twice, stale skipped, invite updates and cancels."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from daemon.decide.sends import due_sends as decide
from daemon.ledger.records import EventVersion
from daemon.program.instance import Program
from daemon.program.timeline import Action, plan

UTC = dt.UTC


def _hash(action: Action) -> str:
    return f"{action.starts_at}|{action.title}"


def _version(
    action: Action, sequence: int = 0, digest: str | None = None, **kw: str
) -> EventVersion:
    invite = json.dumps({"ends_at": action.ends_at.isoformat() if action.ends_at else ""})
    fields = {"status": "active", "invite": invite} | kw
    return EventVersion(
        action.uid, action.key, action.recipients[0], sequence, digest or _hash(action),
        fields["status"], fields["invite"],  # type: ignore[arg-type]
    )  # fmt: skip


def test_nothing_before_the_first_instant(pemento: Program) -> None:
    timeline = plan(pemento)
    assert not decide(timeline, set(), {}, _hash, timeline[0].at - dt.timedelta(seconds=1)).sends


def test_due_sends_once(pemento: Program) -> None:
    timeline = plan(pemento)
    now = dt.datetime(2021, 7, 12, 17, tzinfo=UTC)
    first = decide(timeline, set(), {}, _hash, now)
    due = {
        a.key for a in timeline if a.at <= now and a.kind in ("email", "invite", "reminder", "flag")
    }
    assert {s.key for s in first.sends} | {a.key for a in first.stale} == due
    again = decide(timeline, due, {}, _hash, now)
    assert not again.sends and not again.stale


def test_catch_up_skips_what_is_no_longer_useful(pemento: Program) -> None:
    timeline = plan(pemento)
    # down from before the program until 10 August: the kick-off call (12 July) is over, so its
    # invitation is stale; the week-4 call (2 August) is over too; week-7's is still useful.
    now = dt.datetime(2021, 8, 10, 20, tzinfo=UTC)
    out = decide(timeline, set(), {}, _hash, now)
    stale_items = {a.item for a in out.stale}
    sent_items = {s.action.item for s in out.sends}
    assert {"community-call-1", "community-call-2", "week-1", "daily-prompts-week-4"} <= stale_items
    assert "community-call-3" in sent_items and "weeks-5-6" in sent_items
    # an email is useful for 7 days: weeks-5-6 went out 9 August, still sent on the 10th
    assert all(s.action.stale_at is None or now < s.action.stale_at for s in out.sends)


def test_invite_update_and_cancel(pemento: Program) -> None:
    timeline = plan(pemento)
    invites = [a for a in timeline if a.kind == "invite"]
    now = dt.datetime(2021, 7, 10, tzinfo=UTC)
    sent = {a.key for a in invites if a.at <= now}
    first = invites[0]
    unchanged = {first.uid: _version(first)}
    assert not [
        s for s in decide(timeline, sent, unchanged, _hash, now).sends if s.action.kind == "invite"
    ]
    edited = {first.uid: _version(first, digest="old")}
    [update] = [
        s for s in decide(timeline, sent, edited, _hash, now).sends if s.action.kind == "invite"
    ]
    assert (update.key, update.sequence) == (f"{first.key}/v1", 1)
    gone = dataclasses.replace(_version(first), uid="removed-event@example.org")
    removed = {gone.uid: gone}
    out = decide(timeline, sent, removed, _hash, now)
    assert out.cancels == [gone]
    after = dt.datetime(2021, 9, 1, tzinfo=UTC)
    assert decide(timeline, sent, removed, _hash, after).cancels == []  # the event is over
