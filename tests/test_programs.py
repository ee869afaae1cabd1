"""The other shipped programs reproduce their seeds: counts, windows, forms, eligibility."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from pathlib import Path

import pytest

from daemon.config.load import Program, load_program
from daemon.errors import ConfigError
from daemon.program.timeline import Action, plan
from tests.conftest import ROOT, write


def _load(name: str) -> tuple[Program, list[Action]]:
    program = load_program(ROOT / "examples" / name / "config.toml")
    return program, plan(program)


def test_plci_obligations_per_pair() -> None:
    program, timeline = _load("plci-mentoring-year")
    pairs = program.pairs()
    assert len(pairs) >= 8
    counts = Counter((a.item, a.scope) for a in timeline if a.kind == "obligation")
    for pair in pairs:
        scope = f"pair:{pair}"
        assert counts["mentoring-agreement", scope] == 1
        assert counts["monthly-contact", scope] == 12
        assert counts["quarterly-evaluation", scope] == 4
    agreement = next(o for o in program.schedule.obligations if o.id == "mentoring-agreement")
    assert agreement.satisfied_by == "all" and agreement.who == "each_pair"


def test_plci_monthly_windows_cover_the_year_back_to_back() -> None:
    program, timeline = _load("plci-mentoring-year")
    first_pair = sorted(program.pairs())[0]
    windows = sorted(
        (a.at, a.due_at)
        for a in timeline
        if a.kind == "obligation"
        and a.item == "monthly-contact"
        and a.scope == f"pair:{first_pair}"
    )
    assert windows[0][0].astimezone(program.tz).date() == program.start
    for (_, due), (opens, _) in itertools.pairwise(windows):
        assert due is not None and opens - due == dt.timedelta(minutes=1)
    last_due = windows[-1][1]
    assert last_due is not None
    assert last_due.astimezone(program.tz).date() == program.end - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("years_library_experience", "3", "at least 5 years of library experience"),
        ("years_current_field", "1", "three years of experience in their current field"),
        ("mla_member", "no", "Missouri Library Association"),
        ("public_library", "no", "public library"),
    ],
)
def test_plci_eligibility(tmp_path: Path, column: str, value: str, message: str) -> None:
    source = ROOT / "examples" / "plci-mentoring-year"
    rows = (source / "roster.csv").read_text().splitlines()
    header = rows[0].split(",")
    mentor_row = next(i for i, r in enumerate(rows) if ",mentor," in r)
    cells = rows[mentor_row].split(",")
    cells[header.index(column)] = value
    rows[mentor_row] = ",".join(cells)
    write(tmp_path / "roster.csv", "\n".join(rows) + "\n")
    config = (source / "config.toml").read_text()
    write(tmp_path / "config.toml", config)
    with pytest.raises(ConfigError) as caught:
        load_program(tmp_path / "config.toml")
    [problem] = caught.value.problems
    assert problem.line == mentor_row + 1 and problem.file.endswith("roster.csv")
    assert "ineligible" in problem.message and message.lower() in problem.message.lower()


def test_career_monthly_meeting_form_is_the_seed_tool_with_private_fields() -> None:
    program, _timeline = _load("career-mentoring")
    form = next(f for f in program.schedule.forms if f.id == "monthly-meeting")
    assert [f.label for f in form.fields] == [
        "Progress made",
        "Challenges",
        "Specific topics of this meeting",
        "Key learnings from the meeting",
        "Follow up",
    ]
    assert any(f.private for f in form.fields) and any(not f.private for f in form.fields)
    tools = {o.id for o in program.schedule.obligations}
    assert {
        "mentoring-agreement",
        "first-meeting",
        "monthly-meeting",
        "program-evaluation",
    } <= tools
    agreement = next(f for f in program.schedule.forms if f.id == "mentoring-agreement")
    assert len(agreement.fields) >= 8


def test_acl_thank_you_note_within_two_days_of_the_final_meeting() -> None:
    program, timeline = _load("acl-mentoring")
    finals = {a.scope: a for a in timeline if a.kind == "invite" and a.item == "final-meeting"}
    notes = [a for a in timeline if a.kind == "obligation" and a.item == "thank-you-note"]
    mentees = {p.email: p for p in program.participants if p.role == "mentee"}
    assert {a.who[0] for a in notes} == set(mentees)
    for note in notes:
        final = finals[f"pair:{mentees[note.who[0]].pair}"]
        assert final.starts_at is not None and note.due_at is not None
        assert note.at <= final.starts_at
        assert dt.timedelta(days=2) <= note.due_at - final.starts_at < dt.timedelta(days=3)


def test_overdue_notice_never_before_the_deadline() -> None:
    # regression: a participant far east of the program zone (Manila vs Chicago) got the
    # overdue notice at 09:00 local the day after, which was before the Chicago deadline.
    _, timeline = _load("plci-mentoring-year")
    overdue = [a for a in timeline if "/overdue/" in a.key]
    assert overdue
    for action in overdue:
        assert action.due_at is not None and action.at >= action.due_at
    reminders = [a for a in timeline if "/reminder/" in a.key]
    assert all(a.due_at is not None and a.at < a.due_at for a in reminders)
