"""The command line's grammar: every command, its options, its help and an example. Kept apart
from what the commands do (daemon/cli.py) so that building the parser — for `--help`,
`--version`, shell completion and the man page — imports nothing heavy.

`-c/--config` and `--log-level` are accepted before the command and after it: each command's
parser has them too, with no default of its own, so the one given last wins and the main
parser's default (the environment, else ./config.toml) holds when neither is given.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from daemon import __version__

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SHELLS = ("bash", "zsh")


def _shared(parser: argparse.ArgumentParser, *, defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes; `defaults` only on the main parser."""
    parser.add_argument(
        "-c", "--config", type=Path,
        default=Path(os.environ.get("MENTORMAIL_CONFIG", "config.toml"))
        if defaults else argparse.SUPPRESS,
        help="the program's config file (default: $MENTORMAIL_CONFIG or ./config.toml)",
    )  # fmt: skip
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS,
        default=os.environ.get("MENTORMAIL_LOG_LEVEL", "INFO") if defaults else argparse.SUPPRESS,
        help="how much to log to stderr (default: $MENTORMAIL_LOG_LEVEL or INFO)",
    )  # fmt: skip
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mentormail",
        description="Runs mentoring programs by email and calendar.",
        epilog=(
            "`mentormail COMMAND --help` tells more of each command, with an example.\n"
            "examples:\n"
            "  mentormail -c config.toml validate\n"
            "  mentormail plan --participant dana@example.org -c config.toml\n"
            "exit codes: 0 ok, 2 a problem you can fix (config, arguments), 1 anything else"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mentormail {__version__}")
    _shared(parser, defaults=True)
    shared = _shared(argparse.ArgumentParser(add_help=False), defaults=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, text: str, *examples: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.\n\n{text}",
            epilog="example" + ("s" if len(examples) > 1 else "") + ":\n"
            + "".join(f"  {line}\n" for line in examples),
            formatter_class=argparse.RawDescriptionHelpFormatter, parents=[shared],
        )  # fmt: skip

    command(
        "validate", "check the config, schedule, roster and templates",
        "Loads everything, checks every cross-reference, plans the whole program and renders\n"
        "every template for every recipient. Exit 0, or 2 with every problem found, each as\n"
        "FILE:LINE: key: message and a hint.",
        "mentormail -c config.toml validate",
    )  # fmt: skip
    plan = command(
        "plan", "show every planned email, invite and obligation",
        "The whole timeline, grouped by program week, in the first organizer's zone (or in the\n"
        "chosen person's zone with --participant). Renders nothing; sends nothing.",
        "mentormail -c config.toml plan --participant dana@example.org",
        "mentormail -c config.toml plan --json",
    )  # fmt: skip
    plan.add_argument("--json", action="store_true", help="print JSON (see README)")
    plan.add_argument("--participant", metavar="EMAIL", help="only what concerns this person")
    tick = command(
        "tick", "one pass: send what is due as of now (or --at)",
        "Reads and records new replies (when [imap] host is set), then sends everything due\n"
        "that has not been sent and retries what is due for a retry. Repeating it sends\n"
        "nothing new. Exit 1 if the SMTP server could not be used (nothing is lost).",
        "mentormail -c /etc/mentormail/config.toml tick",
        "mentormail -c config.toml tick --dry-run --at 2021-07-19T16:00Z",
    )  # fmt: skip
    tick.add_argument(
        "--at", metavar="ISO8601",
        help="the instant to act as of (default: now; a future one only with --dry-run); "
        "without an offset it is UTC: 2027-02-08T10:00-05:00 or 2027-02-08T15:00Z",
    )  # fmt: skip
    tick.add_argument(
        "--dry-run", action="store_true",
        help="say what would be sent (recipients, subjects, keys); send and record nothing",
    )  # fmt: skip
    run = command(
        "run", "the service: send everything when it is due, until stopped",
        "A catch-up pass at start, then a pass at every next due instant, every 5 minutes and\n"
        "as soon as a reply arrives, until SIGTERM or SIGINT; SIGHUP reloads the config.\n"
        "Meant to be started by systemd (deploy/mentormail.service).",
        "mentormail -c /etc/mentormail/config.toml run --log-level INFO",
    )  # fmt: skip
    run.add_argument(
        "--drain-seconds", type=float, default=60.0, metavar="N",
        help="on SIGTERM, how long sends in flight may take to finish (default 60)",
    )  # fmt: skip
    command(
        "doctor", "check the config, templates, state folder, SMTP and IMAP; say what to fix",
        "Everything validate checks, then the state folder, where replies and RSVPs go, the\n"
        "OAuth2 grants, and the SMTP and IMAP servers for real (no mail is sent). One line\n"
        "per check: ok, WARN or FAILED with the fix; exit 0 unless a check failed.",
        "mentormail -c config.toml doctor",
    )  # fmt: skip
    demo = command(
        "demo", "rehearse your config (or a shipped program) on a virtual clock",
        "Built-in SMTP and IMAP servers stand in for yours; simulated participants answer; a\n"
        "line per week, the organizers' view at the end, and every message left in\n"
        "DIR/mail/*.eml. Without a config named, ./config.toml if there is one, else the\n"
        "shipped pemento-2021.",
        "mentormail -c my-program.toml demo --out /tmp/rehearsal",
        "mentormail demo --program plci-mentoring-year",
    )  # fmt: skip
    demo.add_argument(
        "--program", default=None, metavar="NAME|PATH",
        help="a shipped program's name, or a config file (default: the config -c names; "
        "pemento-2021 when there is no ./config.toml)",
    )  # fmt: skip
    demo.add_argument(
        "--out", type=Path, default=Path("mentormail-demo"), metavar="DIR",
        help="where the sent mail (.eml) and the state go (default ./mentormail-demo)",
    )  # fmt: skip
    preview = command(
        "preview", "write the mail planned for one person as .eml and .html files, to open",
        "Every mail planned for one participant (or organizer), composed as it would go, in\n"
        "files to open (.eml, .html and, for an invitation, .ics) before the program starts.\n"
        "Nothing is sent, recorded or created in the state folder.",
        "mentormail -c config.toml preview --participant dana@example.org",
        "mentormail -c config.toml preview --participant dana@example.org --item week-1",
    )  # fmt: skip
    preview.add_argument("--participant", required=True, metavar="EMAIL", help="whose mail")
    preview.add_argument(
        "--item", default="", metavar="ID",
        help="only this schedule item (a message, event or obligation id)",
    )  # fmt: skip
    preview.add_argument(
        "--out", type=Path, default=Path("mentormail-preview"), metavar="DIR",
        help="where the files go (default ./mentormail-preview)",
    )  # fmt: skip
    login = command(
        "login", "sign in to the mailbox once with OAuth2 ([oauth] provider); kept 0600",
        "Microsoft's device code (open a web address anywhere, type the code shown), or a\n"
        "browser sign-in that returns to 127.0.0.1. The grant is kept in <state>/oauth/; then\n"
        "both servers are logged in to with it.",
        "mentormail -c config.toml login",
        "mentormail -c config.toml login --browser --port 8400",
    )  # fmt: skip
    login.add_argument(
        "--user", default="", metavar="EMAIL",
        help="only this login (default: the [smtp] and [imap] usernames)",
    )  # fmt: skip
    login.add_argument(
        "--browser", action="store_true",
        help="a browser sign-in even where the device code works",
    )  # fmt: skip
    login.add_argument(
        "--port", type=int, default=0, metavar="N",
        help="the 127.0.0.1 port the browser sign-in returns to (to forward it over SSH)",
    )  # fmt: skip
    restore = command(
        "restore", "bring back a backup of the store (the service must be stopped)",
        "Without BACKUP, lists the backups. What fell due after the backup was taken is\n"
        "recorded as unknown and told to the organizers once, never sent twice.",
        "mentormail -c config.toml restore",
        "mentormail -c config.toml restore latest",
    )  # fmt: skip
    restore.add_argument(
        "backup", nargs="?", metavar="BACKUP",
        help="a backup file, or `latest`; without it, the backups are listed",
    )  # fmt: skip
    restore.add_argument(
        "--at", metavar="ISO8601", help="the instant of the restore (default: now)"
    )
    status = command(
        "status", "obligations, check-ins and RSVPs as of now",
        "The organizers' picture: every obligation that has opened and its state, check-ins,\n"
        "RSVPs, bouncing addresses, unmatched and refused mail. Read-only: it creates nothing\n"
        "and is safe while `run` is running.",
        "mentormail -c config.toml status",
        "mentormail -c config.toml status --json --at 2021-08-01T12:00Z",
    )  # fmt: skip
    status.add_argument("--json", action="store_true", help="print JSON (see README)")
    status.add_argument(
        "--at",
        metavar="ISO8601",
        help="the instant to look from (default: now; UTC without an offset)",
    )
    completion = command(
        "completion", "print a shell completion script (bash or zsh)",
        "Completes commands, options and file names. Needs no config.",
        "mentormail completion bash > /etc/bash_completion.d/mentormail",
        "mentormail completion zsh > ~/.zfunc/_mentormail   # fpath+=~/.zfunc in ~/.zshrc",
    )  # fmt: skip
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    command(
        "man", "print the manual page (roff) made from this parser",
        "The same text as every --help, as a man page. Needs no config.",
        "mentormail man > /usr/local/share/man/man1/mentormail.1 && man mentormail",
        "mentormail man | man -l -",
    )  # fmt: skip
    return parser


def completion(shell: str) -> str:
    """The completion script for `shell`, made by shtab from this parser: file names complete
    where a file is asked for, folders where a folder is."""
    import shtab

    parser = build_parser()
    for action in _actions(parser):
        if action.type is Path or action.dest == "backup":
            kind = shtab.DIRECTORY if action.metavar == "DIR" else shtab.FILE
            action.complete = kind  # type: ignore[attr-defined]
    return shtab.complete(parser, shell=shell)


def manpage() -> str:
    """mentormail(1) in roff, made by argparse-manpage from this parser."""
    from argparse_manpage.manpage import Manpage

    page = Manpage(build_parser())
    page.source = f"mentormail {__version__}"
    page.manual = "mentormail manual"
    page.description = "runs mentoring programs by email and calendar"
    examples = [
        line.strip()
        for sub in _commands(build_parser())
        for line in (sub.epilog or "").splitlines()
        if line.startswith("  ")
    ]
    return "\n".join(
        [str(page).rstrip("\n"), ".SH EXAMPLES", ".nf", *map(_roff, examples), ".fi\n"]
    )


def _roff(line: str) -> str:
    """A line of text as roff shows it: backslashes and hyphens literal, no request."""
    text = line.replace("\\", "\\e").replace("-", "\\-")
    return f"\\&{text}" if text.startswith((".", "'")) else text


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [
        sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for sub in action.choices.values()
    ]


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every option and argument of the parser and of each command's."""
    return [*parser._actions, *(a for sub in _commands(parser) for a in _actions(sub))]
