"""Where participants stand after PAUSE, RESUME and WITHDRAW, and what that holds back."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from daemon.decide.standing import (
    Standing,
    bounced,
    held_back,
    paused_now,
    standings,
    without_withdrawn,
)
from daemon.ledger.records import Command
from daemon.program.timeline import Action

ANN, BO = "ann@example.org", "bo@example.org"
SYDNEY = ZoneInfo("Australia/Sydney")
T = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def cmd(at: dt.datetime, name: str, who: str = ANN, **args: str) -> tuple[dt.datetime, Command]:
    return at, Command(who, name, dict(args))


def action(kind: str, at: dt.datetime, *to: str) -> Action:
    return Action(at=at, key=f"k/{kind}/{at:%d%H}", kind=kind, recipients=to, title="t", item="i")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        ([], {}),
        ([cmd(T, "PAUSE")], {ANN: Standing(paused_at=T)}),
        # "until" is the start of that day where the participant lives (Sydney: UTC+11)
        (
            [cmd(T, "PAUSE", until="2026-03-10")],
            {ANN: Standing(paused_at=T, paused_until=dt.datetime(2026, 3, 9, 13, tzinfo=dt.UTC))},
        ),
        ([cmd(T, "PAUSE"), cmd(T + DAY, "RESUME")], {ANN: Standing()}),
        ([cmd(T, "WITHDRAW"), cmd(T + DAY, "RESUME")], {ANN: Standing(withdrawn_at=T)}),
        ([cmd(T, "PAUSE", until="not a date")], {ANN: Standing(paused_at=T)}),
    ],
)
def test_standings(
    commands: list[tuple[dt.datetime, Command]], expected: dict[str, Standing]
) -> None:
    assert standings(commands, {ANN: SYDNEY}) == expected


def test_a_pause_defers_emails_and_reminders_while_it_lasts() -> None:
    standing = standings([cmd(T, "PAUSE", until="2026-03-10")], {ANN: dt.UTC})
    due = action("reminder", T + DAY, ANN)
    assert paused_now(due, standing, T + DAY)  # waits
    assert not paused_now(due, standing, dt.datetime(2026, 3, 10, tzinfo=dt.UTC))  # then goes
    assert paused_now(action("email", T + DAY, ANN), standing, T + 2 * DAY)
    assert not paused_now(action("invite", T + DAY, ANN), standing, T + DAY)  # events stay
    assert not paused_now(action("email", T + DAY, BO), standing, T + DAY)
    assert not paused_now(action("email", T + DAY, ANN, BO), standing, T + DAY)  # Bo takes part
    resumed = standings([cmd(T, "PAUSE"), cmd(T + DAY, "RESUME")], {})
    assert not paused_now(due, resumed, T + 2 * DAY)
    assert held_back(due, standing) == ""  # a pause never skips: it shifts


def test_withdrawal_stops_sends_and_unplans_invitations() -> None:
    standing = standings([cmd(T, "WITHDRAW")], {})
    assert held_back(action("email", T + DAY, ANN), standing) == f"{ANN} withdrew"
    assert held_back(action("flag", T + DAY, ANN, BO), standing) == ""  # Bo still takes part
    timeline = [action("invite", T + DAY, ANN), action("invite", T + DAY, BO)]
    assert [a.recipients for a in without_withdrawn(timeline, standing)] == [(BO,)]


def test_a_hard_bounce_stops_sends_to_that_address_only() -> None:
    assert bounced(action("email", T, BO), {BO}) == f"{BO} bounced"
    assert bounced(action("email", T, ANN), {BO}) == ""
    assert bounced(action("flag", T, BO), {BO}) == ""  # organizers always hear
