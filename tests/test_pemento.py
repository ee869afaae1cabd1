"""PeMento as shipped: the seed's community calls, small-group windows and weekly content."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from daemon.cli import main
from daemon.program.instance import Program
from tests.conftest import ROOT

CALLS = {
    "community-call-1": ("2021-07-12T19:00:00Z", "2021-07-12T20:00:00Z"),
    "community-call-2": ("2021-08-02T18:00:00Z", "2021-08-02T19:00:00Z"),
    "community-call-3": ("2021-08-23T19:00:00Z", "2021-08-23T20:00:00Z"),
}


@pytest.fixture(scope="module")
def plan_items() -> list[dict[str, Any]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["-c", str(ROOT / "config.example.toml"), "plan", "--json"]) == 0
    items: list[dict[str, Any]] = json.loads(out.getvalue())
    return items


def test_three_community_calls_for_every_participant(
    plan_items: list[dict[str, Any]], pemento: Program
) -> None:
    everyone = {p.email for p in pemento.participants}
    for event_id, (starts, ends) in CALLS.items():
        invites = [i for i in plan_items if i["kind"] == "invite" and i["item"] == event_id]
        assert {r for i in invites for r in i["recipients"]} == everyone
        assert len(invites) == len(everyone)
        for invite in invites:
            assert (invite["starts_at"], invite["ends_at"]) == (starts, ends)
            assert invite["uid"] and invite["key"]
            assert invite["at"] < starts


def test_three_small_group_obligations_per_group(
    plan_items: list[dict[str, Any]], pemento: Program
) -> None:
    obligations = [i for i in plan_items if i["kind"] == "obligation"]
    per_group = Counter(i["scope"] for i in obligations)
    assert per_group == {f"group:{g}": 3 for g in pemento.groups()}
    windows = {(i["item"], i["opens_at"], i["due_at"]) for i in obligations}
    # Weeks 2-3, 4-5, 6-7 of a program starting Monday 12 July 2021, in Pacific time.
    assert windows == {
        ("small-group-meeting-1", "2021-07-19T07:00:00Z", "2021-08-02T06:59:00Z"),
        ("small-group-meeting-2", "2021-08-02T07:00:00Z", "2021-08-16T06:59:00Z"),
        ("small-group-meeting-3", "2021-08-16T07:00:00Z", "2021-08-30T06:59:00Z"),
    }
    for item in obligations:
        assert sorted(item["who"]) == sorted(p.email for p in pemento.groups()[item["scope"][6:]])
        assert item["at"] == item["opens_at"]


def test_weekly_mail_covers_every_phase_of_the_guide(pemento: Program) -> None:
    titles = [p.title for p in pemento.schedule.phases]
    assert titles[:5] == [
        "Week 1: Getting Started",
        "Weeks 2 and 3: Warming Up",
        "Week 4: Checking In",
        "Weeks 5 and 6: Moving Forward",
        "Week 7: Finalizing Plans",
    ]
    phases_mailed = {m.phase for m in pemento.schedule.messages if m.template == "weekly"}
    assert phases_mailed == {p.id for p in pemento.schedule.phases if p.id != "bonus-daily"}


def test_daily_prompts_only_for_those_who_opted_in(
    plan_items: list[dict[str, Any]], pemento: Program
) -> None:
    daily = [i for i in plan_items if i["item"].startswith("daily-prompts-week-")]
    opted = {p.email for p in pemento.participants if "daily-prompts" in p.options}
    assert opted and {r for i in daily for r in i["recipients"]} == opted
    # four prompts a day in each of weeks 1, 4 and 7, where the guide points to them
    assert len(daily) == 12 * len(opted)
    assert {i["item"] for i in daily} == {f"daily-prompts-week-{w}" for w in (1, 4, 7)}


def test_plan_for_one_participant_is_in_their_zone(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "-c",
            str(ROOT / "config.example.toml"),
            "plan",
            "--participant",
            "olivia.brennan@example.org",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "All times in Australia/Sydney." in out
    # The kick-off call, Monday 12 July 12:00 PDT, is Tuesday 05:00 in Sydney.
    assert "[event Tue Jul 13 05:00 AEST]" in out
    assert "Week 1" in out and "Week 7" in out


def test_week_two_and_three_emails_do_not_repeat_each_other(pemento: Program) -> None:
    from daemon.mail.context import ContextBuilder
    from daemon.mail.render import Renderer
    from daemon.program.timeline import plan

    timeline = plan(pemento)
    builder, renderer = ContextBuilder(pemento, timeline), Renderer(pemento.templates)
    dana = pemento.participants[0]

    def text(item: str) -> str:
        action = next(a for a in timeline if a.item == item and a.recipients == (dana.email,))
        return renderer.render(action.template, action.subject, builder.build(action, dana)).text

    week2, week3 = text("weeks-2-3"), text("week-3-later-reflection")
    assert "Earlier Reflection" in week2 and "Later Reflection" not in week2
    assert "Later Reflection" in week3 and "Norms are components of a social contract" not in week3
    assert "Norms are components of a social contract" in week2  # the seed's text, restored
