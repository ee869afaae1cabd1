"""The README's worked example is a program that validates and plans as the README says."""

from __future__ import annotations

import email
import email.policy
import re
import shlex
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
    # its own mail ends with the footer that says what happens to a reply, as every mail does
    out = tmp_path / "preview"
    assert main(["-c", config, "preview", "--participant", "ada@example.org",
                 "--item", "welcome", "--out", str(out)]) == 0  # fmt: skip
    (welcome,) = out.glob("*-welcome-0.eml")
    text = email.message_from_bytes(welcome.read_bytes(), policy=email.policy.default)
    body = text.get_body(("plain",))
    assert body is not None and "Reply to this email" in body.get_content()


COMMAND_LINE = re.compile(r"(?:^|\s|`)(?:\S*/)?mentormail(?= -| [a-z])([^`\n#|>]*)", re.MULTILINE)


def _readme_commands() -> list[str]:
    """Every mentormail command line the README shows (in shell blocks and in inline code),
    without what follows it on its line (a comment, a pipe, a redirection)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    shell = re.sub(r"#.*", "", "\n".join(re.findall(r"```sh\n(.*?)```", text, re.DOTALL)))
    spans = re.findall(r"`(mentormail [^`]*)`", text)  # a table's \| is a pipe
    inline = "\n".join(" ".join(s.replace("\\|", "|").split()) for s in spans)
    found = [m.strip() for m in COMMAND_LINE.findall(shell + "\n" + inline)]
    return [f for f in found if f and not re.search(r"[A-Z]{3,}|\[|\.\.\.|…", f)]


def test_every_command_line_in_the_readme_is_one_the_parser_takes() -> None:
    """A command the README shows (`restore --list` was one) is accepted as written."""
    from daemon.cli_parser import build_parser

    commands = _readme_commands()
    assert len(commands) > 20, commands  # the pattern still finds them
    refused = []
    for line in commands:
        try:
            build_parser().parse_args(shlex.split(line))
        except SystemExit as exc:
            if exc.code:  # --version and --help exit 0
                refused.append(line)
    assert not refused, refused
