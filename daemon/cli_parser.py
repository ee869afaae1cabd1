"""The command line's grammar: every command, its options, its help. Kept apart from what the
commands do (daemon/cli.py) so that building the parser — for `--help`, `--version`, shell
completion and the man page — imports nothing heavy."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from daemon import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mentormail",
        description="Runs mentoring programs by email and calendar.",
    )
    parser.add_argument("--version", action="version", version=f"mentormail {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path(os.environ.get("MENTORMAIL_CONFIG", "config.toml")),
        help="the program's config file (default: $MENTORMAIL_CONFIG or ./config.toml)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("validate", help="check the config, schedule, roster and templates")
    plan = commands.add_parser("plan", help="show every planned email, invite and obligation")
    plan.add_argument("--json", action="store_true", help="print JSON (see README)")
    plan.add_argument("--participant", metavar="EMAIL", help="only what concerns this person")
    tick = commands.add_parser("tick", help="one pass: send what is due as of now (or --at)")
    tick.add_argument(
        "--at", metavar="ISO8601",
        help="the instant to act as of (default: now; a future one only with --dry-run)",
    )  # fmt: skip
    tick.add_argument(
        "--dry-run", action="store_true",
        help="say what would be sent (recipients, subjects, keys); send and record nothing",
    )  # fmt: skip
    run = commands.add_parser(
        "run", help="the service: send everything when it is due, until stopped"
    )
    run.add_argument(
        "--drain-seconds", type=float, default=60.0, metavar="N",
        help="on SIGTERM, how long sends in flight may take to finish (default 60)",
    )  # fmt: skip
    commands.add_parser(
        "doctor",
        help="check the config, templates, state folder, SMTP and IMAP; say what to fix",
    )
    demo = commands.add_parser(
        "demo",
        help="rehearse your config (or a shipped program) on a virtual clock, against "
        "built-in servers, with simulated participants",
    )
    demo.add_argument(
        "--program", default=None, metavar="NAME|PATH",
        help="a shipped program's name, or a config file (default: the config -c names; "
        "pemento-2021 when there is no ./config.toml)",
    )  # fmt: skip
    demo.add_argument(
        "--out", type=Path, default=Path("mentormail-demo"), metavar="DIR",
        help="where the sent mail (.eml) and the state go (default ./mentormail-demo)",
    )  # fmt: skip
    preview = commands.add_parser(
        "preview", help="write the mail planned for one person as .eml and .html files, to open"
    )
    preview.add_argument("--participant", required=True, metavar="EMAIL", help="whose mail")
    preview.add_argument(
        "--item", default="", metavar="ID",
        help="only this schedule item (a message, event or obligation id)",
    )  # fmt: skip
    preview.add_argument(
        "--out", type=Path, default=Path("mentormail-preview"), metavar="DIR",
        help="where the files go (default ./mentormail-preview)",
    )  # fmt: skip
    login = commands.add_parser(
        "login", help="sign in to the mailbox once with OAuth2 ([oauth] provider); kept 0600"
    )
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
    restore = commands.add_parser(
        "restore", help="bring back a backup of the store (the service must be stopped)"
    )
    restore.add_argument(
        "backup", nargs="?", metavar="BACKUP",
        help="a backup file, or `latest`; without it, the backups are listed",
    )  # fmt: skip
    restore.add_argument(
        "--at", metavar="ISO8601", help="the instant of the restore (default: now)"
    )
    status = commands.add_parser("status", help="obligations, check-ins and RSVPs as of now")
    status.add_argument("--json", action="store_true", help="print JSON (see README)")
    status.add_argument("--at", metavar="ISO8601", help="the instant to look from (default: now)")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MENTORMAIL_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log to stderr (default INFO)",
    )
    return parser
