"""Regressions from the review of issue 2: inputs that crashed or misled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config.validate import validate
from daemon.errors import ConfigError
from tests.conftest import ROOT, write

EXAMPLE = ROOT / "config.example.toml"
ROSTER = ROOT / "examples" / "pemento-2021" / "roster.csv"


def _copy(tmp_path: Path, config_text: str | None = None, roster: bytes | None = None) -> Path:
    (tmp_path / "roster.csv").write_bytes(roster if roster is not None else ROSTER.read_bytes())
    text = config_text or EXAMPLE.read_text()
    return write(
        tmp_path / "config.toml", text.replace("examples/pemento-2021/roster.csv", "roster.csv")
    )


def test_latin1_roster_is_a_problem_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin = ROSTER.read_text().replace("Luis Ortega", "Luís Ortega").encode("latin-1")
    assert main(["-c", str(_copy(tmp_path, roster=latin)), "validate"]) == 2
    err = capsys.readouterr().err
    assert "roster.csv:3: not UTF-8 text" in err and "CSV UTF-8" in err


def test_bom_in_config_and_roster(tmp_path: Path) -> None:
    config = _copy(tmp_path, roster=b"\xef\xbb\xbf" + ROSTER.read_bytes())
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    program = validate(config)[0].program
    assert len(program.participants) == 11


def test_credentials_directory_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(EXAMPLE))
    with pytest.raises(ConfigError) as caught:
        validate(EXAMPLE)
    assert any(p.file == "CREDENTIALS_DIRECTORY" for p in caught.value.problems)


def test_unreadable_environment_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MENTORMAIL_ORGANIZERS", "x")
    assert main(["-c", str(EXAMPLE), "validate"]) == 2
    assert "MENTORMAIL_* variable cannot be read" in capsys.readouterr().err


def test_broken_required_keys_still_let_the_roster_be_checked(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace(
        'timezone = "America/Los_Angeles"', 'timezone = "Pacific/Atlantis"', 1
    )
    rows = ROSTER.read_text().splitlines()
    rows.append(rows[1])  # a duplicate participant
    config = _copy(tmp_path, text, ("\n".join(rows) + "\n").encode())
    with pytest.raises(ConfigError) as caught:
        validate(config)
    messages = [p.message for p in caught.value.problems]
    assert any("unknown time zone 'Pacific/Atlantis'" in m for m in messages)
    assert any("duplicate participant dana.whitfield@example.org" in m for m in messages)


def test_empty_reply_to_means_the_sending_address(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('reply_to = "pemento-replies@example.org"', 'reply_to = ""')
    deployment, _ = validate(_copy(tmp_path, text))
    assert deployment.settings.sender.reply_to is None
    assert deployment.program.sender.reply_base == deployment.program.sender.address


def test_environment_values_are_blamed_on_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORMAIL_PROGRAM__START", "2021-07-13")
    with pytest.raises(ConfigError) as caught:
        validate(EXAMPLE)
    [problem] = caught.value.problems
    assert problem.file == "MENTORMAIL_PROGRAM__START" and "tuesday" in problem.message


def test_plan_into_a_closed_pipe_is_quiet() -> None:
    result = subprocess.run(
        f"{sys.executable} -m daemon -c {EXAMPLE} plan --json | head -1",
        shell=True, capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
    )  # fmt: skip
    assert result.stdout.strip() == "[" and "Traceback" not in result.stderr


def test_plan_for_an_organizer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(EXAMPLE), "plan", "--participant", "morgan.reyes@example.org"]) == 0
    out = capsys.readouterr().out
    assert "All times in America/Chicago." in out and "flag" in out
