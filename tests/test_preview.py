"""`preview --participant EMAIL [--item ID] [--out DIR]` writes the mail planned for one person
as files that parse: the .eml as email, its HTML beside it, an invitation's calendar as ICS;
nothing is created in the state folder."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from daemon.cli import main
from tests.conftest import ROOT

CONFIG = str(ROOT / "config.example.toml")
DANA = "dana.whitfield@example.org"


def _parse(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_preview_of_everything_planned_for_one_person(
    rehearsal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = rehearsal / "preview"
    assert main(["-c", CONFIG, "preview", "--participant", DANA, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    emls = sorted(out.glob("*.eml"))
    assert said.startswith(f"{len(emls)} mails planned for Dana Whitfield <{DANA}>")
    assert len(emls) > 20 and not (rehearsal / "state").exists()
    invites = 0
    for eml in emls:
        message = _parse(eml)
        assert DANA in str(message["To"]) and message["Message-ID"] and message["Subject"]
        html = eml.with_suffix(".html").read_text()
        body = message.get_body(preferencelist=("html",))
        assert body is not None and html == body.get_content().replace("\r\n", "\n")
        assert html.lstrip().lower().startswith("<!doctype html>")
        ics = eml.with_suffix(".ics")
        if ics.exists():
            invites += 1
            event = next(iter(Calendar.from_ical(ics.read_bytes()).walk("VEVENT")))
            assert str(event["ATTENDEE"]) == f"mailto:{DANA}"
            assert "text/calendar" in {p.get_content_type() for p in message.walk()}
    assert invites == 3  # the three community calls
    welcome = _parse(next(out.glob("*-welcome-0.eml")))
    assert parsedate_to_datetime(str(welcome["Date"])).isoformat() == "2021-07-05T13:00:00+00:00"

    # one item, into the same folder: the previous preview's files go
    args = ["-c", CONFIG, "preview", "--participant", DANA, "--item", "community-call-2"]
    assert main([*args, "--out", str(out)]) == 0
    (only,) = out.glob("*.eml")
    assert _parse(only)["Subject"] == "PeMento Community Call (Week 4: Checking In)"
    assert len(list(out.glob("*.ics"))) == 1


def test_a_file_is_named_by_the_day_the_reader_gets_it(
    rehearsal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In Sydney a Monday 09:00 mail leaves on Sunday UTC: its file names Monday, as the
    listing beside it does."""
    out = rehearsal / "preview"
    args = ["-c", CONFIG, "preview", "--participant", "olivia.brennan@example.org"]
    assert main([*args, "--out", str(out)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if " -> " in line]
    assert len(lines) > 10
    for line in lines:
        shown = dt.datetime.strptime(" ".join(line.split()[1:4]), "%d %b %Y")
        assert line.split(" -> ")[1].split("-")[1] == f"{shown:%Y%m%d}", line


def test_a_preview_says_what_is_wrong(rehearsal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = rehearsal / "preview"
    args = ["-c", CONFIG, "preview", "--out", str(out), "--participant"]
    assert main([*args, "nobody@example.org"]) == 2
    assert "nobody@example.org is neither a participant nor an organizer" in capsys.readouterr().err
    assert main([*args, DANA, "--item", "nope"]) == 2
    assert "nothing planned of 'nope' for dana" in capsys.readouterr().err
    (rehearsal / "mine").mkdir()
    (rehearsal / "mine" / "thesis.txt").write_text("precious")
    assert main([*args, DANA, "--out", str(rehearsal / "mine")]) == 2
    assert "not made by `mentormail preview`" in capsys.readouterr().err
    assert main([*args, "ashley.chase@example.org", "--item", "digest"]) == 0  # an organizer
    said = capsys.readouterr().out
    assert "Ashley Chase" in said and "week 1 summary" in said and "week 2 summary" in said
