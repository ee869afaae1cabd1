"""`mentormail demo` rehearses the organizer's own config — its schedule, roster and templates —
and says which program it rehearses; a config that was named but is missing is an error."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.demo.choose import DEFAULT, choose
from daemon.errors import UserError
from tests.conftest import ROOT, write

SCHEDULE = """
[program]
id = "harbor"
title = "Harbor Circle"
structure = "pairs"
roles = ["mentor", "mentee"]
pair_roles = ["mentor", "mentee"]
weeks = 3
send_time = 09:00:00

[[messages]]
id = "hello"
title = "Hello"
subject = "Ahoy from {{ program.title }}"
template = "hello"
send = { week = 1, day = "monday" }

[[events]]
id = "launch"
title = "Harbor launch call"
start = 2027-05-05T16:00:00
end = 2027-05-05T17:00:00
timezone = "Europe/Lisbon"
url = "https://example.org/launch"
invite = { offset_days = -2 }

[[obligations]]
id = "logbook"
title = "Logbook entry"
who = "each_pair"
satisfied_by = "any"
weeks = [1, 2]
question = "Did your pair write its first logbook entry?"
request = { send = { week = 1, day = "tuesday" } }
reminders_days_before = [2]
grace_days = 1
escalate = true
"""

ROSTER = """name,email,timezone,role,pair
Wren Keel,wren@harbor.example,Europe/Lisbon,mentor,p1
Ivo Stern,ivo@harbor.example,Europe/Lisbon,mentee,p1
Nell Mast,nell@harbor.example,America/Halifax,mentor,p2
Otto Buoy,otto@harbor.example,America/Halifax,mentee,p2
"""

CONFIG = """
[program]
schedule = "schedule.toml"
start = 2027-05-03
timezone = "Europe/Lisbon"
templates = "templates"

[sender]
name = "Harbor Circle"
address = "harbor@harbor.example"

[[organizers]]
name = "Pia Pier"
email = "pia@harbor.example"
timezone = "Europe/Lisbon"

[oauth]  # the sandbox signs in with a password all the same
provider = "microsoft365"
client_id = "00000000-1111-2222-3333-444444444444"

[state]
path = "real-state"

[roster]
file = "roster.csv"
"""


def _program(folder: Path) -> Path:
    write(folder / "schedule.toml", SCHEDULE)
    write(folder / "templates" / "hello.md.j2", "Ahoy {{ recipient.first_name }}: set sail!\n")
    write(folder / "roster.csv", ROSTER)
    return write(folder / "config.toml", CONFIG)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_demo_rehearses_the_organizers_own_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _program(tmp_path / "mine")
    out = tmp_path / "rehearsal"
    assert main(["-c", str(config), "demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"Rehearsing your config {config}" in text
    assert "Harbor Circle: 4 simulated participants" in text
    for week in (1, 2, 3):
        assert f"\nweek {week} " in text, week
    assert text.count("\nafter the end    24 May ") == 1  # the weeks after it, in one line
    assert "“Harbor launch call”" in text  # the simulated participants answer its invitation
    answered = text.split("answered “Logbook entry: please reply”: ", 1)[1].split("\n", 1)[0]
    assert sorted(answered.split(", ")) == ["Ivo Stern", "Wren Keel"]  # p2 waits for reminders
    view = text[text.index("The organizers' view") :]
    assert "pair:p2\n  met       Logbook entry" in view
    subjects = set()
    first = sorted((out / "mail").glob("*.eml"))
    for path in first:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects.add(str(parsed["Subject"]))
    assert "Ahoy from Harbor Circle" in subjects
    body = next((out / "mail").glob("*wren-harbor-example-ahoy*.eml")).read_bytes()
    assert b"set sail!" in body  # the organizer's own template
    assert not (tmp_path / "mine" / "real-state").exists()  # its own state is never touched

    # the same config given as --program, from another folder's point of view; into the same
    # folder, it starts over (the first rehearsal's mail is replaced, not added to)
    assert main(["demo", "--program", str(config), "--out", str(out)]) == 0
    again = capsys.readouterr().out
    assert "Harbor Circle: 4 simulated participants" in again
    assert again.count("\nweek ") == text.count("\nweek ")
    assert len(list((out / "mail").glob("*.eml"))) == len(first)


def test_which_program_is_rehearsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _program(tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    default = choose(None, Path("config.toml"), named=False)  # nothing named, no ./config.toml
    assert default.shipped == DEFAULT and "no ./config.toml here" in default.why
    assert choose(None, config, named=True).config == config
    assert choose(str(config.parent), None, named=False).config == config  # its folder
    assert choose("career-mentoring", config, named=True).shipped == "career-mentoring"
    (tmp_path / "config.toml").write_text(config.read_text())
    assert choose(None, Path("config.toml"), named=False).config == Path("config.toml")
    with pytest.raises(UserError, match=r"no config file missing\.toml"):
        choose(None, Path("missing.toml"), named=True)
    with pytest.raises(UserError, match=r"no config file schedule\.toml.*--program NAME"):
        choose("./schedule.toml", None, named=False)  # looks like a path: never a name
    with pytest.raises(UserError, match="no shipped program 'nonesuch'; choose one of: acl"):
        choose("nonesuch", None, named=False)


def test_a_named_config_that_is_missing_is_an_error_not_another_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["-c", str(tmp_path / "nope.toml"), "demo", "--out", str(out)]) == 2
    assert f"no config file {tmp_path / 'nope.toml'}" in capsys.readouterr().err
    assert main(["demo", "--program", "./schedule.toml", "--out", str(out)]) == 2
    assert "no config file schedule.toml (--program)" in capsys.readouterr().err
    assert not out.exists()


def test_a_broken_own_config_is_reported_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _program(tmp_path / "mine")
    write(tmp_path / "mine" / "templates" / "hello.md.j2", "Ahoy {{ recipient.nickname }}\n")
    assert main(["-c", str(config), "demo", "--out", str(tmp_path / "out")]) == 2
    assert "nickname" in capsys.readouterr().err
    assert ROOT.is_dir()
