"""A config with many mistakes: every one reported at once as FILE:LINE: key: message, exit 2."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config.load import load_program
from daemon.config.validate import validate
from daemon.errors import ConfigError
from tests.conftest import ROOT, write

BROKEN = ROOT / "tests" / "data" / "broken"

EXPECTED = [
    # (file, line, key, words in the message)
    ("config.toml", 7, "program.colour", "unknown key"),
    ("config.toml", 12, "sender.reply_to", "not a valid email"),
    ("config.toml", 21, "smtp.port", "valid integer"),
    ("roster.csv", 6, "email", "duplicate participant ann@example.org"),
    ("roster.csv", 3, "timezone", "unknown time zone 'Mars/Olympus_Mons'"),
    ("roster.csv", 4, "attributes.years_experience", "ineligible"),
    ("roster.csv", 7, "email", "not a valid email"),
    ("roster.csv", 8, "pair", "pair 'p5' has no partner"),
    ("schedule.toml", 26, "messages[1].template", "template not found"),
    ("schedule.toml", 33, "events[0].end", "event ends before it starts"),
    ("schedule.toml", 37, "obligations[0]", "outside the program"),
    ("welcome.md.j2", 3, "", "undefined variable"),
]


def test_every_mistake_is_reported_with_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        validate(BROKEN / "config.toml")
    found = {(Path(p.file).name, p.line, p.key): p.message for p in caught.value.problems}
    for file, line, key, words in EXPECTED:
        assert (file, line, key) in found, f"not reported: {file}:{line}: {key}\n{caught.value}"
        assert words in found[(file, line, key)]
    assert len(EXPECTED) >= 8
    # a partner whose own row was refused is not reported as missing a partner (knock-on)
    assert ("roster.csv", 2, "pair") not in found


def test_cli_prints_problems_and_exits_2_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "daemon", "-c", str(BROKEN / "config.toml"), "validate"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{BROKEN / 'config.toml'}:21: smtp.port:" in result.stderr
    assert "hint:" in result.stderr
    assert "problems found." in result.stderr


def test_toml_syntax_error_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path / "config.toml",
        '[program]\nschedule = "pemento-2021"\nstart = 2021-07-12\ntitle = "unclosed\n',
    )
    assert main(["-c", str(config), "validate"]) == 2
    assert f"{config}:4: not valid TOML" in capsys.readouterr().err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(tmp_path / "nope.toml"), "validate"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_unknown_schedule_lists_the_shipped_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "config.example.toml").read_text().replace('"pemento-2021"', '"pemento-2099"')
    config = write(tmp_path / "config.toml", text)
    assert main(["-c", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert f"{config}:" in err and "program.schedule: no schedule 'pemento-2099'" in err
    assert "pemento-2021" in err


def test_program_start_on_the_wrong_weekday(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        (ROOT / "config.example.toml")
        .read_text()
        .replace("start = 2021-07-12", "start = 2021-07-14")
    )
    text = text.replace('file = "examples/', f'file = "{ROOT}/examples/')
    config = write(tmp_path / "config.toml", text)
    assert main(["-c", str(config), "validate"]) == 2
    assert "2021-07-14 is a wednesday; this program starts on a monday" in capsys.readouterr().err


def test_schedule_errors_carry_schedule_lines(tmp_path: Path) -> None:
    from tests.conftest import mini_program

    config = mini_program(
        tmp_path,
        [("A B", "a@example.org", "UTC", "mentor"), ("C D", "c@example.org", "UTC", "mentee")],
        extra_schedule=(
            '\n[[messages]]\nid = "Bad Id"\ntitle = "x"\nsubject = "x"\ntemplate = "note"\n'
            'send = { week = 1 }\naudience = "everybody"\n'
        ),
    )
    with pytest.raises(ConfigError) as caught:
        load_program(config)
    keys = {(p.line, p.key) for p in caught.value.problems}
    assert (17, "messages[1].id") in keys
    assert (22, "messages[1].audience") in keys


def test_validate_finds_a_mistake_only_one_later_recipient_reaches(tmp_path: Path) -> None:
    # each template is rendered whole for its first recipient and only checked for the rest:
    # a branch that only the third person takes must still be rendered, and fail
    from tests.conftest import mini_program

    config = mini_program(
        tmp_path,
        [
            ("Ann Able", "ann@example.org", "UTC", "mentor"),
            ("Bob Best", "bob@example.org", "UTC", "mentee"),
            ("Cy Cole", "cy@example.org", "UTC", "mentor"),
            ("Di Dunn", "di@example.org", "UTC", "mentee"),
        ],
    )
    write(
        tmp_path / "templates" / "note.md.j2",
        "Hi {{ recipient.first_name }}.\n\n"
        "{% if recipient.email == 'cy@example.org' %}{{ recipient.shoe_size }}{% endif %}\n",
    )
    with pytest.raises(ConfigError) as caught:
        validate(config)
    found = [p for p in caught.value.problems if "shoe_size" in p.message]
    assert len(found) == 1 and found[0].line == 3 and "cy@example.org" in found[0].message


def test_toml_syntax_error_still_reports_the_rosters_own_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import mini_program

    config = mini_program(
        tmp_path,
        [
            ("Ann Able", "ann@example.org", "UTC", "mentor"),
            ("Bob Best", "bob@example", "UTC", "mentee"),  # no domain
            ("Cy Cole", "cy@example.org", "Mars/Olympus_Mons", "mentor"),
            ("Di Dunn", "di@example.org", "UTC", "mentee"),
        ],
    )
    text = config.read_text().replace('name = "Mini Program"', 'name = "Mini Program')
    config.write_text(text)
    broken_line = next(
        n for n, line in enumerate(text.splitlines(), 1) if line.strip() == 'name = "Mini Program'
    )
    assert main(["-c", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert f"{config}:{broken_line}: not valid TOML" in err
    roster = tmp_path / "roster.csv"
    assert f"{roster}:3: email:" in err and "not a valid email" in err
    assert f"{roster}:4: timezone: unknown time zone 'Mars/Olympus_Mons'" in err
    assert "3 problems found." in err


def test_salvage_reads_what_it_can_around_syntax_errors(tmp_path: Path) -> None:
    from daemon.config.tomlfile import salvage

    path = write(
        tmp_path / "config.toml",
        '[program]\nschedule = "s.toml"\ntitle = "open\nstart = 2021-07-12\n'
        "[sender\nname = 'x'\n[roster]\nfile = \"r.csv\"\nfile2 = = 3\n",
    )
    data = salvage(path)
    # the broken [sender header is gone: its name lands in [program]; a guess, never run
    assert data["program"] == {"schedule": "s.toml", "start": dt.date(2021, 7, 12), "name": "x"}
    assert data["roster"] == {"file": "r.csv"}
    assert salvage(write(tmp_path / "string.toml", 'a = """never closed\nb = 1\n')) == {}
    assert salvage(tmp_path / "missing.toml") == {}


def test_a_template_that_loops_over_nothing_is_reported_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # regression: a TypeError raised by a template's own code (a loop over None, `1 / 0`)
    # escaped validate as a traceback; it is a problem with the template's file and line
    from tests.conftest import mini_program

    config = mini_program(
        tmp_path,
        [
            ("Ann Able", "ann@example.org", "UTC", "mentor"),
            ("Cy Cole", "cy@example.org", "UTC", "mentee"),
        ],
        structure="groups",
    )
    write(
        tmp_path / "templates" / "note.md.j2",
        "Hi {{ recipient.first_name }}.\n\n{% for p in partner %}{{ p }}{% endfor %}\n",
    )
    assert main(["-c", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert "note.md.j2:3" in err and "cannot render" in err and "Traceback" not in err
