"""Config mistakes never crash (issue 13, point 6): each is reported by `validate` as
`FILE:LINE: key: message` with a hint, beside every other problem of the same run, exit 2;
a reload (SIGHUP) logs the same problems, and `doctor` says what `validate` says.

Each case edits a copy of config.example.toml (and its roster) in tmp_path; an expected problem
names its file, a unique piece of the line it must point at, its key, words of its message and
words of its hint. The problems printed must be exactly the expected ones.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config.load import load, load_deployment
from daemon.config.replies import check_replies_readable
from daemon.config.validate import validate
from tests.conftest import ROOT, mini_program, until

EXAMPLE = ROOT / "config.example.toml"
ROSTER = ROOT / "examples" / "pemento-2021" / "roster.csv"
SCHEDULE = ROOT / "schedules" / "pemento-2021" / "schedule.toml"

Edit = Callable[[str], str]


def setting(header: str, key: str, value: str) -> Edit:
    """Set `key` of the first table headed `header` (the first such key after the header)."""

    def edit(text: str) -> str:
        lines = text.splitlines()
        at = lines.index(header)
        for i in range(at + 1, len(lines)):
            if re.match(rf"{key}\s*=", lines[i]):
                lines[i] = f"{key} = {value}"
                return "\n".join(lines) + "\n"
        raise AssertionError(f"no {key} under {header}")

    return edit


def replacing(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def dropping_table(header: str, *, nth: int = 1) -> Edit:
    """Remove the `nth` table headed `header`, up to the next table header."""

    def edit(text: str) -> str:
        lines = text.splitlines()
        starts = [i for i, line in enumerate(lines) if line == header]
        begin = starts[nth - 1]
        end = next(
            (i for i in range(begin + 1, len(lines)) if lines[i].startswith("[")), len(lines)
        )
        return "\n".join(lines[:begin] + lines[end:]) + "\n"

    return edit


ONE_ORGANIZER = dropping_table("[[organizers]]", nth=2)
TOML_ROSTER = """\
[[participants]]
name = "Dana Whitfield"
email = "dana.whitfield@example.org"
timezone = "America/New_York"
role = "peer"
group = "sparrows"

[[participants]]
name = "Jürgen Weiß"
email = "{email}"
timezone = "Europe/Berlin"
role = "peer"
group = "sparrows"

[[participants]]
name = "Luis Ortega"
email = "luis.ortega@example.org"
timezone = "America/Chicago"
role = "peer"
group = "sparrows"
aliases = ["luis@home.example.net", "{alias}"]
"""


@dataclass(frozen=True)
class Expected:
    file: str  # config.toml, roster.csv, roster.toml, schedule.toml
    marker: str  # a unique piece of the line the problem must name
    key: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Case:
    name: str
    config: tuple[Edit, ...] = ()
    roster: tuple[Edit, ...] = ()
    expected: tuple[Expected, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # more files in tmp_path
    schedule: tuple[Edit, ...] | None = None  # a copy of the pemento schedule, edited


CASES = [
    Case(
        "single organizer with a misspelt zone",
        (ONE_ORGANIZER, setting("[[organizers]]", "timezone", '"America/Chigaco"')),
        expected=(
            Expected("config.toml", '"America/Chigaco"', "organizers[0].timezone",
                     "unknown time zone 'America/Chigaco'", "did you mean America/Chicago?"),
        ),
    ),
    Case(
        "the examples of the issue: a zone with a space, and a single organizer's typo",
        (ONE_ORGANIZER, setting("[program]", "timezone", '"America/New York"'),
         setting("[[organizers]]", "timezone", '"Europe/Londn"')),
        expected=(
            Expected("config.toml", '"America/New York"', "program.timezone",
                     "unknown time zone 'America/New York'", "did you mean America/New_York?"),
            Expected("config.toml", '"Europe/Londn"', "organizers[0].timezone",
                     "unknown time zone 'Europe/Londn'", "did you mean Europe/London?"),
        ),
    ),
    Case(
        "single organizer with a broken address, and a broken roster row in the same run",
        (ONE_ORGANIZER, setting("[[organizers]]", "email", '"ashley.chase@"')),
        (replacing("priya.raman@example.org,America/Denver", "priya.raman@example.org,Mars/Base"),),
        expected=(
            Expected("config.toml", '"ashley.chase@"', "organizers[0].email",
                     "not a valid email", "a full address"),
            Expected("roster.csv", "Mars/Base", "timezone", "unknown time zone 'Mars/Base'",
                     "IANA"),
        ),
    ),
    Case(
        "both organizers broken",
        (setting("[[organizers]]", "timezone", '"Europe/Berln"'),
         replacing('email = "morgan.reyes@example.org"', 'email = "morgan reyes@example.org"')),
        expected=(
            Expected("config.toml", '"Europe/Berln"', "organizers[0].timezone",
                     "unknown time zone", "did you mean Europe/Berlin?"),
            Expected("config.toml", '"morgan reyes@', "organizers[1].email",
                     "not a valid email", "a full address"),
        ),
    ),
    Case(
        "an organizer's address with a non-ASCII letter",
        (setting("[[organizers]]", "email", '"jürgen@example.org"'),),
        expected=(
            Expected("config.toml", "jürgen@", "organizers[0].email",
                     "'ü' before the @", "only ASCII letters before the @"),
        ),
    ),
    Case(
        "a CSV participant with a non-ASCII address",
        roster=(replacing("kenji.mori@example.org", "kenji.möri@example.org"),),
        expected=(
            Expected("roster.csv", "kenji.möri", "email", "'ö' before the @",
                     "only ASCII letters before the @"),
        ),
    ),
    Case(
        "a TOML roster with a non-ASCII address (and a non-ASCII alias, which is fine)",
        (setting("[roster]", "file", '"roster.toml"'),),
        files={"roster.toml": TOML_ROSTER.format(email="jürgen@example.org",
                                                 alias="lüis@example.org")},
        expected=(  # the alias is only matched against From: it may be any address
            Expected("roster.toml", '"jürgen@', "participants[1].email", "'ü' before the @",
                     "only ASCII letters before the @"),
        ),
    ),
    Case(
        "a sender address and reply_to with non-ASCII letters",
        (setting("[sender]", "address", '"pémento@example.org"'),
         setting("[sender]", "reply_to", '"réponses@example.org"')),
        expected=(
            Expected("config.toml", "pémento@", "sender.address", "'é' before the @",
                     "only ASCII letters before the @"),
            Expected("config.toml", "réponses@", "sender.reply_to", "'é' before the @",
                     "only ASCII letters before the @"),
        ),
    ),
    Case(
        "obligations, but [imap] host is empty",
        (setting("[imap]", "host", '""'),),
        expected=(
            Expected("config.toml", 'host = ""', "imap.host", "3 obligations",
                     "set [imap] host"),
        ),
    ),
    Case(
        "obligations, and no [imap] table at all",
        (dropping_table("[imap]"),),
        expected=(
            Expected("config.toml", 'schedule = "pemento-2021"', "imap.host",
                     "answers are not read", "set [imap] host"),
        ),
    ),
    Case(
        "zone names: an abbreviation, the wrong case, a city alone, a far miss",
        (setting("[program]", "timezone", '"PST"'),
         setting("[[organizers]]", "timezone", '"america/chicago"')),
        (replacing("dana.whitfield@example.org,America/New_York",
                   "dana.whitfield@example.org,New York"),
         replacing("luis.ortega@example.org,America/Chicago", "luis.ortega@example.org,Nowhere")),
        expected=(
            Expected("config.toml", '"PST"', "program.timezone", "unknown time zone 'PST'",
                     "an abbreviation, not a zone: use America/Los_Angeles"),
            Expected("config.toml", '"america/chicago"', "organizers[0].timezone",
                     "unknown time zone", "did you mean America/Chicago?"),
            Expected("roster.csv", "New York", "timezone", "unknown time zone 'New York'",
                     "did you mean America/New_York?"),
            Expected("roster.csv", "Nowhere", "timezone", "unknown time zone 'Nowhere'",
                     "such as America/Chicago"),
        ),
    ),
    Case(
        "a participant with an organizer's address names the organizer's line",
        roster=(replacing("marcus.lee@example.org", "morgan.reyes@example.org"),),
        expected=(
            Expected("roster.csv", "Marcus Lee", "email",
                     "duplicate participant morgan.reyes@example.org",
                     "already given at {config.toml:morgan.reyes@} (an organizer)"),
        ),
    ),
    Case(
        "a start date in the wrong format is its one problem, not every dated event's too",
        (setting("[program]", "start", '"12/07/2021"'),),
        expected=(
            Expected("config.toml", '"12/07/2021"', "program.start", "valid date",
                     "write a date such as 2021-07-12"),
        ),
    ),
    Case(
        "a variable misspelt in a schedule's subject names the subject, not the template file",
        (setting("[program]", "schedule", '"schedule.toml"'),),
        schedule=(
            replacing('subject = "PeMento week 1: Getting Started"',
                      'subject = "PeMento week 1: {{ program.name }}"'),
            replacing('subject = "PeMento week 4: Checking In"',
                      'subject = "PeMento week 4: {{ program.title }"'),
        ),
        expected=(
            Expected("schedule.toml", "{{ program.name }}", "messages[1].subject",
                     "undefined variable", "README 'Templates' lists every variable"),
            Expected("schedule.toml", "{{ program.title }\"", "messages[4].subject",
                     "unexpected '}'", "fix the template"),
        ),
    ),
    Case(
        "a missing config key and a roster row without its address point to the reference",
        (replacing('timezone = "America/Los_Angeles"', 'timezon = "America/Los_Angeles"'),),
        (replacing("marcus.lee@example.org", ""),),
        expected=(
            Expected("config.toml", "[program]", "program.timezone", "missing",
                     "README 'Configuration reference' (the config, a roster's participants)"),
            Expected("config.toml", "timezon =", "program.timezon", "unknown key",
                     "did you mean timezone?"),
            Expected("roster.csv", "Marcus Lee", "email", "missing",
                     "README 'Configuration reference' (the config, a roster's participants)"),
        ),
    ),
    Case(
        "an unknown key names the documented key of its table it is closest to, at any depth",
        (
            setting("[program]", "schedule", '"schedule.toml"'),
            replacing("port = 587", "prot = 587"),
            replacing("\n[program]", "\n[program]\ncolour = 1"),
        ),
        schedule=(replacing("reminders_days_before = [2]", "reminder_days_before = [2]"),),
        expected=(
            Expected("config.toml", "prot = 587", "smtp.prot", "unknown key",
                     "did you mean port? (or remove it)"),
            Expected("config.toml", "colour = 1", "program.colour", "unknown key",
                     "remove it, or check its spelling against the documented keys"),
            Expected("schedule.toml", "reminder_days_before", "obligations[0].reminder_days_before",
                     "unknown key", "did you mean reminders_days_before?"),
        ),
    ),
    Case(
        "a roster saved with semicolons (a spreadsheet's CSV in many countries)",
        roster=(lambda text: text.replace(",", ";"),),
        expected=(
            Expected("roster.csv", "name;email;", "header", "separated by ';', not by commas",
                     "save the file as CSV with commas"),
        ),
    ),
    Case(
        "a duplicate id names the first one",
        (setting("[program]", "schedule", '"schedule.toml"'),),
        schedule=(
            replacing('[[messages]]\nid = "week-1"', '[[messages]]\nid = "welcome"  # again'),
        ),
        expected=(
            Expected("schedule.toml", '"welcome"  # again', "messages[1].id",
                     "duplicate id 'welcome'", "already used at {schedule.toml:id = \"welcome\"}"),
        ),
    ),
]  # fmt: skip


def _write(tmp_path: Path, case: Case) -> Path:
    config = EXAMPLE.read_text(encoding="utf-8")
    config = setting("[roster]", "file", '"roster.csv"')(config)
    for edit in case.config:
        config = edit(config)
    roster = ROSTER.read_text(encoding="utf-8")
    for edit in case.roster:
        roster = edit(roster)
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    if case.schedule is not None:
        schedule = SCHEDULE.read_text(encoding="utf-8")
        for edit in case.schedule:
            schedule = edit(schedule)
        (tmp_path / "schedule.toml").write_text(schedule, encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    return path


def _line(path: Path, marker: str) -> int:
    lines = [i for i, text in enumerate(path.read_text("utf-8").splitlines(), 1) if marker in text]
    assert lines, f"{marker!r} is not in {path.name}"
    return lines[0]


def _problems(err: str) -> dict[str, str]:
    """Every problem line printed, with its hint."""
    out: dict[str, str] = {}
    lines = err.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(" ") and not re.match(r"\d+ problems? found\.", line):
            after = lines[i + 1] if i + 1 < len(lines) else ""
            out[line] = after.strip().removeprefix("hint: ") if after.startswith("    ") else ""
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_mistake_is_reported_with_file_line_key_and_hint(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, case)
    assert main(["-c", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    printed = _problems(err)
    for want in case.expected:
        path = tmp_path / want.file
        prefix = f"{path}:{_line(path, want.marker)}: {want.key}: "
        found = [line for line in printed if line.startswith(prefix)]
        assert found, f"no {prefix!r} in\n{err}"
        assert want.message in found[0], err
        hint = re.sub(
            r"\{(\S+?):(.+?)\}",
            lambda m: f"{tmp_path / m[1]}:{_line(tmp_path / m[1], m[2])}",
            want.hint,
        )
        assert hint in printed[found[0]], f"hint of {found[0]!r}: {printed[found[0]]!r}"
    assert len(printed) == len(case.expected), err


@pytest.mark.asyncio
async def test_a_reload_logs_each_problem_and_keeps_the_running_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP's path (`_reloads`, with `run`'s loader, `validate`): a config whose only
    organizer has a misspelt zone is logged as FILE:LINE problems, never as a traceback, and
    again the same at the next SIGHUP (the stand-in organizer of the first is not shared);
    the service keeps its config until a good one comes."""
    from daemon.runtime.lifecycle import _reloads
    from daemon.runtime.service import Service

    caplog.set_level(logging.INFO, logger="daemon.runtime.lifecycle")
    good = _write(tmp_path, Case(""))
    deployment, timeline = validate(good)
    service = Service(deployment, lambda: pytest.fail("a reload sends nothing"))
    service.replace(deployment, timeline)
    broken = (ONE_ORGANIZER, setting("[[organizers]]", "timezone", '"Europe/Londn"'))
    config = _write(tmp_path, Case("", broken))
    assert config == good
    wanted = asyncio.Event()
    reloading = asyncio.create_task(_reloads(service, lambda: validate(config), wanted))
    line = _line(config, '"Europe/Londn"')
    expected = (
        f"{config}:{line}: organizers[0].timezone: unknown time zone 'Europe/Londn'\n"
        "    hint: did you mean Europe/London?"
    )
    try:
        for times in (1, 2):
            wanted.set()
            await until(lambda: len(_reload_logs(caplog)) == times, 30)  # noqa: B023
            record = _reload_logs(caplog)[-1]
            assert record.levelno == logging.ERROR and record.exc_info is None
            assert expected in record.getMessage(), record.getMessage()
            assert record.getMessage().count("hint:") == 1  # nothing else: no knock-on
            assert service.deployment is deployment
        _write(tmp_path, Case(""))
        wanted.set()
        await until(lambda: "config reloaded" in caplog.text, 30)
        assert service.deployment is not deployment
    finally:
        reloading.cancel()
        await asyncio.gather(reloading, return_exceptions=True)
    assert "Traceback" not in caplog.text


def _reload_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "not reloaded" in r.getMessage()]


def test_doctor_says_what_validate_says_about_an_unread_mailbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`doctor` validates first: a config file with obligations and no [imap] stops it with
    the same FILE:LINE problem (exit 2, before any server is tried). An [imap] host emptied
    from the environment passes both, and doctor's replies check warns in the same words."""
    from daemon.doctor.checks import routes_check

    config = _write(tmp_path, Case("", (dropping_table("[imap]"),)))
    assert main(["-c", str(config), "doctor"]) == 2
    err = capsys.readouterr().err
    line = _line(config, 'schedule = "pemento-2021"')
    assert f"{config}:{line}: imap.host: the schedule has 3 obligations" in err, err
    assert "set [imap] host" in err and "Traceback" not in err

    config = _write(tmp_path, Case(""))
    monkeypatch.setenv("MENTORMAIL_IMAP__HOST", "")
    check = routes_check(load_deployment(config))
    assert check.ok and check.warning, check
    assert check.detail.startswith("MENTORMAIL_IMAP__HOST: the schedule has 3 obligations")
    assert "every obligation would become overdue" in check.detail
    assert check.fix.startswith("set [imap] host")


def test_an_idn_domain_is_kept_in_its_ascii_form(tmp_path: Path) -> None:
    """The SMTP transport sends bare ASCII addresses: a domain written in Unicode (or in its
    xn-- form) is used in its ASCII form, which is the same domain."""
    config = _write(
        tmp_path,
        Case(
            "",
            (setting("[sender]", "address", '"pemento@bücher.example"'),
             setting("[[organizers]]", "email", '"ashley@xn--bcher-kva.example"')),
            (replacing("kenji.mori@example.org", "kenji@Bücher.Example"),),
        ),
    )  # fmt: skip
    deployment = load_deployment(config)
    program = deployment.program
    assert program.sender.address == "pemento@xn--bcher-kva.example"
    assert program.organizers[0].email == "ashley@xn--bcher-kva.example"
    assert "kenji@xn--bcher-kva.example" in {p.email for p in program.participants}
    for address in (program.sender.address, *(p.email for p in program.participants)):
        assert address.isascii()


def test_replies_need_not_be_read_without_obligations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = [
        ("Ann A", "ann@example.org", "UTC", "mentor"),
        ("Bo B", "bo@example.org", "UTC", "mentee"),
    ]
    config = mini_program(tmp_path, people)  # no [imap], and no obligations
    assert main(["-c", str(config), "validate"]) == 0, capsys.readouterr().err
    assert check_replies_readable(load_deployment(config)) == []


def test_check_replies_readable_is_pure_and_quiet_when_imap_is_set(tmp_path: Path) -> None:
    assert check_replies_readable(load_deployment(_write(tmp_path, Case("")))) == []
    broken = _write(tmp_path, Case("", (setting("[imap]", "host", '""'),)))
    deployment, _ = load(broken)
    assert deployment is not None
    (problem,) = check_replies_readable(deployment)
    assert (problem.file, problem.line, problem.key) == (
        str(broken),
        _line(broken, 'host = ""'),
        "imap.host",
    )
    assert "[imap] host" in problem.hint


def test_an_empty_imap_host_from_the_environment_is_a_rehearsal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """MENTORMAIL_IMAP__HOST= turns reading off on purpose (a rehearsal against a local sink):
    not the forgotten host of a config file."""
    monkeypatch.setenv("MENTORMAIL_IMAP__HOST", "")
    config = _write(tmp_path, Case(""))
    assert main(["-c", str(config), "validate"]) == 0, capsys.readouterr().err
    assert check_replies_readable(load_deployment(config)) == []
