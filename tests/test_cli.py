"""The command line as people meet it: every command's --help has a description and an
example; -c and --log-level work before or after the command; the completion scripts and the
man page are made from the same parser and name every command; and what answers at once
loads nothing it does not need (checked by what is imported, never by a stopwatch)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.cli_parser import build_parser
from tests.conftest import ROOT

CONFIG = ROOT / "examples" / "pemento-2021" / "config.toml"
COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_the_parser_knows_the_commands_people_use() -> None:
    assert {"validate", "plan", "tick", "run", "status", "completion", "man"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_a_description_and_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    usage, summary, description, *_ = out.split("\n\n")
    assert usage.startswith(f"usage: mentormail {command}")
    assert len(summary.split()) >= 5 and len(description.split()) >= 8, out  # sentences
    assert re.search(rf"\nexamples?:\n  mentormail (-c \S+ )?{command}\b", out), out
    assert "-c CONFIG, --config CONFIG" in out and "--log-level" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "x.toml", "plan"],
        ["plan", "-c", "x.toml"],
        ["--config", "y.toml", "plan", "--config", "x.toml"],  # the one given last wins
        ["plan", "--config=x.toml", "--json"],
    ],
)
def test_config_before_or_after_the_command(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).config == Path("x.toml")


def test_defaults_hold_when_no_option_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORMAIL_CONFIG", "/etc/mentormail/pemento/config.toml")
    monkeypatch.setenv("MENTORMAIL_LOG_LEVEL", "WARNING")
    args = build_parser().parse_args(["status"])
    assert args.config == Path("/etc/mentormail/pemento/config.toml")
    assert args.log_level == "WARNING"
    assert build_parser().parse_args(["status", "--log-level", "DEBUG"]).log_level == "DEBUG"
    assert build_parser().parse_args(["--log-level", "ERROR", "status"]).log_level == "ERROR"


def test_a_real_command_with_the_config_after_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", "-c", str(CONFIG), "--log-level", "WARNING"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["key"].startswith("pemento-2021/")
    assert main(["validate", "--config", str(CONFIG)]) == 0
    assert f"{CONFIG}: ok" in capsys.readouterr().out


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_name_every_command_and_parse(
    shell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for command in COMMANDS:
        assert command in script, command
    assert "--participant" in script and "--drain-seconds" in script
    if shell == "bash":  # -c completes file names; demo --out folders
        assert "_shtab_mentormail_plan__c_COMPGEN=_shtab_compgen_files" in script
        assert "_shtab_mentormail_demo___out_COMPGEN=_shtab_compgen_dirs" in script
    interpreter = shutil.which(shell)
    if interpreter is None:
        pytest.skip(f"{shell} is not installed: the script's syntax is not checked")
    path = tmp_path / f"mentormail.{shell}"
    path.write_text(script)
    checked = subprocess.run(
        [interpreter, "-n", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_bash_completion_completes_commands_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out

    def complete(*words: str) -> set[str]:
        probe = (
            f"{script}\nCOMP_WORDS=(mentormail {' '.join(words)}); "
            f"COMP_CWORD={len(words)}; COMP_LINE='mentormail {' '.join(words)}'; "
            f"COMP_POINT=${{#COMP_LINE}}; _shtab_mentormail; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        done = subprocess.run([bash, "-c", probe], capture_output=True, text=True, check=True)
        return set(done.stdout.split())

    assert {"validate", "plan", "status"} <= complete("")
    assert complete("pl") == {"plan"}
    assert {"--json", "--participant", "--config"} <= complete("plan", "--")


def test_man_page_names_every_command_and_formats_cleanly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["man"]) == 0
    page = capsys.readouterr().out
    assert page.startswith('.TH MENTORMAIL "1"') and "mentormail 0" in page.splitlines()[0]
    for command in COMMANDS:
        assert f"mentormail\\fR \\fI\\,{command}\\/\\fR" in page, command  # in COMMANDS
        assert f"COMMAND \\fI\\,'mentormail {command}'\\/\\fR" in page, command  # its own part
    examples = page.split(".SH EXAMPLES", 1)[1]
    assert "mentormail \\-c config.toml validate" in examples
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed: the page is not formatted")
    shown = subprocess.run(
        [groff, "-man", "-Tutf8", "-ww"], input=page, capture_output=True, text=True, check=True
    )
    assert shown.stderr == "" and "mentormail -c config.toml validate" in shown.stdout


HEAVY = (
    "pydantic", "pydantic_settings", "email_validator", "jinja2", "markdown", "icalendar",
    "aiosmtpd", "pymap", "authlib", "httpx2", "aiosmtplib", "aioimaplib", "apscheduler",
    "asyncio", "sqlite3", "shtab", "argparse_manpage", "daemon.demo",
)  # fmt: skip


def loaded_by(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """Which of HEAVY a fresh interpreter has imported once `mentormail ARGV` returns."""
    probe = (
        "import contextlib, io, sys\nfrom daemon.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try:\n        main({list(argv)!r})\n    except SystemExit:\n        pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=60, check=True,
    )  # fmt: skip
    return set(done.stdout.split())


def test_version_and_help_load_nothing_heavy() -> None:
    assert loaded_by("--version") == set()
    assert loaded_by("plan", "--help") == set()


def test_commands_load_no_server_client_template_engine_or_demo_they_do_not_use(
    tmp_path: Path,
) -> None:
    env = {"MENTORMAIL_STATE__PATH": str(tmp_path / "state")}
    for argv in (["plan"], ["status"]):
        loaded = loaded_by("-c", str(CONFIG), *argv, env=env)
        assert "pydantic" in loaded  # the config was read: the probe works
        unwanted = {"jinja2", "markdown", "icalendar", "aiosmtpd", "pymap", "authlib"}
        assert not loaded & (unwanted | {"httpx2", "aiosmtplib", "aioimaplib", "daemon.demo"})
    # a pass with nothing due and no mailbox: no template engine, no invitations, no client
    quiet = {"MENTORMAIL_STATE__PATH": str(tmp_path / "ticks"), "MENTORMAIL_IMAP__HOST": ""}
    ticked = loaded_by("-c", str(CONFIG), "tick", "--at", "2021-07-01T00:00Z", env=quiet)
    assert "sqlite3" in ticked and (tmp_path / "ticks").is_dir()  # it did run a pass
    assert not ticked & {"jinja2", "markdown", "icalendar", "aiosmtplib", "aioimaplib"}
    validated = loaded_by("-c", str(CONFIG), "validate", env=env)
    assert "jinja2" in validated
    assert not validated & {"aiosmtpd", "pymap", "authlib", "httpx2", "aiosmtplib", "daemon.demo"}
    assert not (tmp_path / "state").exists()


def test_a_command_that_answers_collects_nothing_and_gives_the_collector_back() -> None:
    # validate, plan, status: the collector's scans were 20 ms of a 0.4 s validate; a command
    # run in this process (argv given) leaves the collector as it found it
    import gc

    from daemon.runtime import collector

    before = (gc.isenabled(), gc.get_threshold())
    with collector.tuned("validate", restore=True):
        assert not gc.isenabled()
    assert (gc.isenabled(), gc.get_threshold()) == before
    with collector.tuned("run", restore=True):
        assert gc.isenabled() and gc.get_threshold() == collector.THRESHOLDS
    assert (gc.isenabled(), gc.get_threshold()) == before
    assert main(["-c", str(CONFIG), "plan"]) == 0
    assert (gc.isenabled(), gc.get_threshold()) == before
    try:
        with collector.tuned("validate", restore=False):
            pass
        assert not gc.isenabled()  # the process ends with the command: left off
    finally:
        gc.enable()


def test_a_command_that_answers_ends_its_process_at_once_with_all_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # validate, plan, status, preview end without the interpreter's teardown (60-90 ms of a
    # 0.4 s validate): all they print must be out, into a pipe (block-buffered) as anywhere,
    # with the exit code they chose; a command that works on (tick) ends the usual way
    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        probe = (
            "import atexit, sys\natexit.register(lambda: print('torn down'))\n"
            f"sys.argv = ['mentormail', *{list(argv)!r}]\n"
            "from daemon.cli import main\nraise SystemExit(main())\n"
        )
        env = {**os.environ, "MENTORMAIL_STATE__PATH": str(tmp_path / "state"),
               "MENTORMAIL_IMAP__HOST": ""}  # fmt: skip
        return subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env,
            timeout=60, check=False,
        )  # fmt: skip

    assert main(["-c", str(CONFIG), "plan"]) == 0
    planned = capsys.readouterr().out
    done = run("-c", str(CONFIG), "plan")
    assert (done.returncode, done.stdout) == (0, planned) and len(planned) > 5000
    broken = tmp_path / "broken.toml"
    broken.write_text(CONFIG.read_text().replace("[program]", "[program]\ntypo_key = 1", 1))
    failed = run("-c", str(broken), "validate")
    assert failed.returncode == 2 and failed.stderr.rstrip().endswith("found.")
    assert "typo_key" in failed.stderr and "torn down" not in failed.stdout
    ticked = run("-c", str(CONFIG), "tick", "--at", "2021-07-01T00:00Z")
    assert ticked.returncode == 0 and ticked.stdout.endswith("torn down\n")
