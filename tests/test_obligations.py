"""Obligation states from evidence (pure, table-driven): any-member and both-parties
obligations, on time and late, excused and extended; and which nudges that silences."""

from __future__ import annotations

import datetime as dt

import pytest

from daemon.decide.states import (
    TRANSITIONS,
    Adjustments,
    evaluate,
    nothing_to_nudge,
)
from daemon.ledger.records import Checkin
from daemon.program.schedule import Obligation
from daemon.program.timeline import Action

ANN, BO = "ann@example.org", "bo@example.org"
OPENS = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
KEY = "p/obligation/agreement/pair:p1/0"
INSTANCE = Action(
    at=OPENS, key=KEY, kind="obligation", recipients=(ANN, BO), title="Agreement",
    item="agreement", due_at=DUE, who=(ANN, BO),
)  # fmt: skip


def obligation(satisfied_by: str) -> Obligation:
    return Obligation.model_validate(
        {"id": "agreement", "title": "Agreement", "weeks": [1, 2], "satisfied_by": satisfied_by}
    )


def answer(who: str, at: dt.datetime, key: str = KEY) -> tuple[dt.datetime, Checkin]:
    return at, Checkin(who, "", (key,), "yes", {}, "confidential words")


@pytest.mark.parametrize(
    ("rule", "answers", "now", "adjust", "expected"),
    [
        ("all", [], OPENS + DAY, None, ("pending", (), (ANN, BO))),
        ("all", [answer(ANN, OPENS + DAY)], OPENS + 2 * DAY, None, ("pending", (ANN,), (BO,))),
        ("all", [answer(ANN, OPENS + DAY), answer(BO, OPENS + 3 * DAY)], DUE, None,
         ("met", (ANN, BO), ())),
        ("all", [answer(ANN, OPENS + DAY)], DUE + DAY, None, ("overdue", (ANN,), (BO,))),
        ("all", [answer(ANN, OPENS + DAY), answer(BO, DUE + DAY)], DUE + 2 * DAY, None,
         ("met_late", (ANN, BO), ())),
        ("any", [answer(BO, OPENS + DAY)], OPENS + 2 * DAY, None, ("met", (BO,), ())),
        ("any", [answer(BO, OPENS + 5 * DAY)], OPENS + 2 * DAY, None, ("pending", (), (ANN, BO))),
        ("any", [answer(BO, OPENS + DAY, key="p/other")], DUE + DAY, None,
         ("overdue", (), (ANN, BO))),
        ("all", [], DUE + DAY, Adjustments({KEY: DUE + DAY / 2}, {}), ("excused", (), ())),
        ("all", [], DUE + DAY, Adjustments({}, {KEY: DUE + 7 * DAY}), ("pending", (), (ANN, BO))),
        ("all", [answer(ANN, DUE + DAY), answer(BO, DUE + DAY)], DUE + 2 * DAY,
         Adjustments({}, {KEY: DUE + 7 * DAY}), ("met", (ANN, BO), ())),
    ],
)  # fmt: skip
def test_states(
    rule: str,
    answers: list[tuple[dt.datetime, Checkin]],
    now: dt.datetime,
    adjust: Adjustments | None,
    expected: tuple[str, tuple[str, ...], tuple[str, ...]],
) -> None:
    args = (INSTANCE, obligation(rule), answers, now) + ((adjust,) if adjust else ())
    state = evaluate(*args)
    assert (state.state, state.answered_by, state.missing) == expected


def test_the_same_inputs_give_the_same_state_in_any_order() -> None:
    answers = [answer(BO, DUE + DAY), answer(ANN, OPENS + DAY)]
    forward = evaluate(INSTANCE, obligation("all"), answers, DUE + 3 * DAY)
    backward = evaluate(INSTANCE, obligation("all"), answers[::-1], DUE + 3 * DAY)
    assert forward == backward and forward.state == "met_late" and forward.since == DUE + DAY


def test_every_transition_leads_somewhere_known() -> None:
    states = {"pending", "met", "met_late", "overdue", "excused"}
    assert {a for a, _ in TRANSITIONS} <= states and set(TRANSITIONS.values()) <= states


def nudge(kind: str, to: tuple[str, ...]) -> Action:
    return Action(at=OPENS, key=f"k/{kind}", kind=kind, recipients=to, title="t", item="agreement",  # type: ignore[arg-type]
                  asks=(KEY,))  # fmt: skip


def test_nudges_stop_once_met_and_for_whoever_already_answered() -> None:
    half = {KEY: evaluate(INSTANCE, obligation("all"), [answer(ANN, OPENS)], OPENS + DAY)}
    assert nothing_to_nudge(nudge("reminder", (ANN,)), half) == "already answered"
    assert nothing_to_nudge(nudge("reminder", (BO,)), half) == ""
    assert nothing_to_nudge(nudge("flag", ("olive@example.org",)), half) == ""
    both = [answer(ANN, OPENS), answer(BO, OPENS)]
    done = {KEY: evaluate(INSTANCE, obligation("all"), both, OPENS + DAY)}
    assert nothing_to_nudge(nudge("flag", ("olive@example.org",)), done) == "already met"
    assert nothing_to_nudge(nudge("email", (BO,)), {}) == ""  # not open yet: nothing known
