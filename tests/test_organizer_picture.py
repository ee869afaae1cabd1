"""The organizers' picture is true (issue 13.4): nothing is flagged that nobody was asked about
(mentormail started mid-program, or after the end), an ended program says so and sends
nothing, people who left are not named for windows opened after they left, a pause shows only
while it lasts, and `status --json` lists pauses and withdrawals."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from daemon.clock import Clock
from daemon.config.load import load_deployment
from daemon.decide.decision import decide, replan
from daemon.decide.digest import digest_context
from daemon.decide.overview import overview
from daemon.decide.tracking import ended, untracked
from daemon.ledger.records import Command
from daemon.ledger.snapshot import Snapshot
from daemon.program.instance import Program
from daemon.program.timeline import plan
from daemon.program.timespec import iso_z
from daemon.runtime.tick import run_tick
from daemon.store.sqlite import Store
from daemon.transport.smtp import SmtpTransport
from tests.conftest import ROOT
from tests.smtp_server import SmtpServer

CONFIG = ROOT / "config.example.toml"
UTC = dt.UTC


def _subjects(server: SmtpServer) -> list[str]:
    import email
    import email.policy

    return [
        str(email.message_from_bytes(r.content, policy=email.policy.default)["Subject"])
        for r in server.received
    ]


@pytest.mark.asyncio
async def test_a_fresh_start_after_the_end_sends_nothing_and_says_so(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime(2026, 12, 4, 9, tzinfo=UTC)
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(CONFIG)
        timeline = plan(deployment.program)
        assert "ended on" in ended(deployment.program, timeline, now)
        report = await run_tick(
            deployment, Clock.frozen(now), lambda: SmtpTransport(deployment.settings.smtp)
        )
    assert server.received == []  # no flag about obligations nobody was asked about
    assert report.outcomes["sent"] == 0 and report.skipped > 0
    store = Store.open(rehearsal / "state")
    try:
        snapshot = store.snapshot()
        rows = store.rows()
    finally:
        store.close()
    flags = [r for r in rows if r.kind == "flag"]
    assert flags and all(r.state == "skipped" and "never asked" in r.last_error for r in flags)
    view = overview(deployment.program, timeline, snapshot, now)
    states = Counter(o["state"] for o in view["obligations"])
    assert set(states) == {"untracked"}, states


def test_the_program_is_not_over_while_it_runs(pemento: Program) -> None:
    timeline = plan(pemento)
    during = dt.datetime.combine(pemento.start, dt.time(12), UTC) + dt.timedelta(days=20)
    assert ended(pemento, timeline, during) == ""


@pytest.mark.asyncio
async def test_started_mid_program_it_flags_only_what_it_asked(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PeMento started on the Friday of week 4: the weeks 2–3 meeting was never asked about
    (untracked, never flagged); weeks 4–5 and 6–7 were asked, nobody answered: flagged."""
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        deployment = load_deployment(CONFIG)
        program = deployment.program
        factory = lambda: SmtpTransport(deployment.settings.smtp)  # noqa: E731
        start = dt.datetime.combine(program.start, dt.time(18), UTC)
        at = start + dt.timedelta(days=25)
        end = dt.datetime.combine(program.end, dt.time(18), UTC) + dt.timedelta(days=14)
        while at <= end:  # one pass a day, as a timer would
            await run_tick(deployment, Clock.frozen(at), factory)
            at += dt.timedelta(days=1)
    flags = [s for s in _subjects(server) if s.startswith("Overdue") and "(" in s]
    titles = Counter(s.split(":", 1)[1].split("(")[0].strip() for s in flags)
    groups = {p.group for p in program.participants if p.group}
    assert "Small Group Meeting 1" not in titles
    assert titles["Small Group Meeting 2"] == len(groups)
    assert titles["Small Group Meeting 3"] == len(groups)
    store = Store.open(rehearsal / "state")
    try:
        snapshot = store.snapshot()
    finally:
        store.close()
    view = overview(program, plan(program), snapshot, end)
    by_title = {o["title"]: o["state"] for o in view["obligations"]}
    assert by_title["Small Group Meeting 1"] == "untracked"
    assert by_title["Small Group Meeting 2"] == "overdue"


def test_a_store_that_ran_from_the_start_tracks_everything(pemento: Program) -> None:
    timeline = plan(pemento)
    first = dt.datetime.combine(pemento.start, dt.time(0), UTC) - dt.timedelta(days=7)
    sent = frozenset(a.key for a in timeline if a.kind in ("email", "reminder"))
    snapshot = Snapshot(known=sent, first_pass=first)
    later = dt.datetime.combine(pemento.end, dt.time(0), UTC) + dt.timedelta(days=30)
    assert untracked(timeline, snapshot, later) == frozenset()
    # the same requests recorded as skipped (stale): nobody was asked about anything
    skipped = Snapshot(known=sent, skipped=sent, first_pass=later)
    opened = {a.key for a in timeline if a.kind == "obligation"}
    assert untracked(timeline, skipped, later) == opened


def _withdrawal(program: Program, who: str, at: dt.datetime) -> Snapshot:
    return Snapshot(commands=((at, Command(who, "WITHDRAW", {})),))


def test_who_left_is_not_named_for_windows_opened_after(pemento: Program) -> None:
    timeline = plan(pemento)
    windows = sorted(
        (a for a in timeline if a.kind == "obligation" and a.item.startswith("small-group")),
        key=lambda a: a.at,
    )
    first = windows[0]
    leaver = first.who[0]
    left_at = first.at + dt.timedelta(days=3)  # after the first window opened
    plan_now = replan(pemento, timeline, _withdrawal(pemento, leaver, left_at))
    mine = [
        a for a in plan_now.timeline if a.kind in ("obligation", "flag") and a.scope == first.scope
    ]
    for action in mine:
        window = next(w for w in windows if w.key in (action.key, *action.asks))
        assert (leaver in action.who) == (window.at < left_at), action.key
    later = dt.datetime.combine(pemento.end, dt.time(0), UTC) + dt.timedelta(days=30)
    decision = decide(plan_now, Snapshot(commands=_withdrawal(pemento, leaver, left_at).commands),
                      later)  # fmt: skip
    for state in decision.states.values():
        if state.since and state.key != first.key and leaver in state.who:
            window = next(w for w in windows if w.key == state.key)
            assert window.at < left_at


def test_a_pause_shows_only_while_it_lasts(pemento: Program) -> None:
    who = pemento.participants[0].email
    paused_at = dt.datetime.combine(pemento.start, dt.time(12), UTC)
    ends = pemento.start + dt.timedelta(days=5)  # PAUSE until that day
    snapshot = Snapshot(commands=((paused_at, Command(who, "PAUSE", {"until": ends.isoformat()})),))
    timeline = plan(pemento)
    view = overview(pemento, timeline, snapshot, paused_at + dt.timedelta(days=1))
    assert digest_context(pemento, view, 1)["paused"] == [pemento.participants[0].name]
    view = overview(pemento, timeline, snapshot, paused_at + dt.timedelta(days=6))
    assert digest_context(pemento, view, 2)["paused"] == []


def test_status_json_lists_pauses_and_withdrawals(pemento: Program) -> None:
    a, b = pemento.participants[0].email, pemento.participants[1].email
    t0 = dt.datetime.combine(pemento.start, dt.time(12), UTC)
    commands = (
        (t0, Command(a, "PAUSE", {"until": (pemento.start + dt.timedelta(days=10)).isoformat()})),
        (t0 + dt.timedelta(days=1), Command(b, "WITHDRAW", {})),
    )
    timeline = plan(pemento)
    view = overview(pemento, timeline, Snapshot(commands=commands), t0 + dt.timedelta(days=2))
    data = json.loads(json.dumps(view))
    assert [p["participant"] for p in data["paused"]] == [a]
    assert data["paused"][0]["until"] is not None
    assert data["withdrawn"] == [{"participant": b, "at": iso_z(t0 + dt.timedelta(days=1))}]
    later = overview(pemento, timeline, Snapshot(commands=commands), t0 + dt.timedelta(days=20))
    assert later["paused"] == [] and [w["participant"] for w in later["withdrawn"]] == [b]


def test_the_last_digest_is_the_final_summary(pemento: Program) -> None:
    # a seven-week program's eighth digest was "Week 8 summary", "at the end of week 8"
    import email
    import email.policy

    from daemon.decide.decision import Digest
    from daemon.mail.compose import Composer
    from daemon.mail.samples import SAMPLE_DIGEST

    timeline = plan(pemento)
    digests = [a for a in timeline if a.item == "digest"]
    assert [a.title for a in digests[-2:]] == [f"Week {pemento.weeks} summary", "Final summary"]
    composer = Composer(pemento, timeline, b"s" * 32)
    said = ("at the end of week 7:", "now that it has ended:")
    for action, words in zip(digests[-2:], said, strict=True):
        content = SAMPLE_DIGEST | {"week": action.occurrence}
        row = composer.digest(Digest(action, content), action.at)
        message = email.message_from_bytes(row.message, policy=email.policy.default)
        text = message.get_body(("plain",))
        assert text is not None and words in str(text.get_content())
    assert str(message["Subject"]) == f"{pemento.title}: final summary"
