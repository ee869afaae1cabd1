"""Subjects stay within 78 characters: shortened cleanly when longer, `validate` warns with the
file and line, and no shipped schedule needs shortening."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.cli import main
from daemon.config.validate import validate
from daemon.decide.sends import Send
from daemon.errors import Problem
from daemon.mail.compose import Composer
from daemon.mail.subject import MAX_SUBJECT, shorten
from daemon.program.timeline import plan
from tests.conftest import EXAMPLES, ROOT, mini_program

LONG_TITLE = "The Extraordinarily Long-Named Interdisciplinary Mentoring Programme of 2026"

CASES = [
    ("Week 1", "Week 1"),
    ("x" * 78, "x" * 78),  # exactly the limit: kept
    (
        "Monthly meeting #3: review, learn, agree next steps (by Wednesday 6 January 2027)",
        "Monthly meeting #3: review, learn, agree next steps…",
    ),
    (
        "PeMento bonus reflection: Take a day and note (on paper or in a document) every time.",
        "PeMento bonus reflection: Take a day and note (on paper or in a document)…",
    ),
    (
        "Overdue: Small Group Meeting 1 (Grace Okafor, Sam Delgado, Ruth Nakamura, Olivia Brennan)",
        "Overdue: Small Group Meeting 1…",
    ),
    (  # a cut right after a colon or a dash does not leave it hanging
        "Welcome to the thirty-seventh annual gathering of all the mentors of 2026: welcome all",
        "Welcome to the thirty-seventh annual gathering of all the mentors of 2026…",
    ),
    (
        "Welcome to the thirty-seventh annual gathering of mentors and mentees — welcome all",
        "Welcome to the thirty-seventh annual gathering of mentors and mentees…",
    ),
    ("a" * 100, "a" * 77 + "…"),  # one word longer than the line: cut inside it
    ("Hi " + "b" * 90, "Hi " + "b" * 74 + "…"),
]


@pytest.mark.parametrize(("subject", "expected"), CASES)
def test_long_subjects_are_cut_at_a_word(subject: str, expected: str) -> None:
    assert shorten(subject) == expected
    assert len(shorten(subject)) <= MAX_SUBJECT


@given(st.text(alphabet=st.sampled_from("ab (),:—é"), max_size=200))
def test_a_shortened_subject_fits_and_begins_as_the_subject(subject: str) -> None:
    short = shorten(subject)
    assert len(short) <= MAX_SUBJECT
    assert short == subject or (short.endswith("…") and subject.startswith(short[:-1]))


@pytest.mark.parametrize("config", [*EXAMPLES, ROOT / "config.example.toml"], ids=str)
def test_no_shipped_subject_is_too_long(config: Path) -> None:
    warnings: list[Problem] = []
    validate(config, warnings)
    assert warnings == []


SCHEDULE = """
[[messages]]
id = "long"
title = "Long"
subject = "{{ program.title }}: everything you need to know about the weeks ahead"
template = "note"
send = { week = 1, day = "tuesday", time = 09:00:00 }
"""


def test_validate_warns_and_the_mail_goes_out_shortened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = [
        ("Ann Mentor", "ann@example.org", "America/Chicago", "mentor"),
        ("Bo Mentee", "bo@example.org", "Europe/Berlin", "mentee"),
    ]
    config = mini_program(tmp_path, people, extra_schedule=SCHEDULE)
    text = config.read_text().replace("[program]\n", f'[program]\ntitle = "{LONG_TITLE}"\n', 1)
    config.write_text(text)
    warnings: list[Problem] = []
    deployment, timeline = validate(config, warnings)
    where = {(Path(w.file).name, w.line, w.key) for w in warnings}
    subject_line = 1 + (tmp_path / "schedule.toml").read_text().splitlines().index(
        'subject = "{{ program.title }}: everything you need to know about the weeks ahead"'
    )
    assert ("schedule.toml", subject_line, "messages[1].subject") in where
    assert ("config.toml", 2, "program.title") in where  # the digest's built-in subject
    assert all("over 78" in w.message for w in warnings)

    action = next(a for a in timeline if a.item == "long")
    row, _ = Composer(deployment.program, timeline, bytes(32)).row(
        Send(action.key, action, 0), action.at
    )
    message = email.message_from_bytes(row.message, policy=email.policy.default)
    assert message["Subject"] == (
        "The Extraordinarily Long-Named Interdisciplinary Mentoring Programme of 2026…"
    )
    assert main(["-c", str(config), "validate"]) == 0
    out = capsys.readouterr().out
    assert f"schedule.toml:{subject_line}: messages[1].subject: the subject of 'Long'" in out
    assert out.count("warning: ") == len(warnings)


def test_a_flag_names_a_group_by_first_names() -> None:
    from daemon.config.load import load_program

    program = load_program(ROOT / "config.example.toml")
    timeline = plan(program)
    flag = next(a for a in timeline if a.kind == "flag")
    row, _ = Composer(program, timeline, bytes(32)).row(Send(flag.key, flag, 0), flag.at)
    message = email.message_from_bytes(row.message, policy=email.policy.default)
    subject = str(message["Subject"])
    assert subject.startswith("Overdue: Small Group Meeting 1 (") and subject.endswith(")")
    assert " and " in subject and len(subject) <= MAX_SUBJECT
