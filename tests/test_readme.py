"""The README's worked example is a program that validates and plans as the README says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daemon.cli import main
from tests.conftest import ROOT

EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", re.DOTALL)


def test_the_worked_example_validates_and_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = EXAMPLE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {name for name, _ in files} == {
        "schedule.toml", "templates/welcome.md.j2", "roster.csv", "config.toml",
    }  # fmt: skip
    for name, text in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    config = str(tmp_path / "config.toml")
    assert main(["-c", config, "validate"]) == 0
    assert "Spring Mentoring: 2 participants" in capsys.readouterr().out
    assert main(["-c", config, "plan"]) == 0
    plan = capsys.readouterr().out
    for line in ("Check-in: Mentoring agreement", "Reminder: Mentoring agreement",
                 "Overdue: Mentoring agreement", "Flag: Mentoring agreement",
                 "Kickoff call", "Mentoring meeting", "Welcome"):  # fmt: skip
        assert line in plan, line
