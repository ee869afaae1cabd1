"""The command line, and the one place where errors become user messages and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from daemon import __version__
from daemon.errors import ConfigError, MentormailError, UserError
from daemon.planview import filter_participant, plan_json, plan_table
from daemon.program.loader import Program
from daemon.program.planner import Action
from daemon.program.timespec import zone
from daemon.program.validate import validate


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        count = len(exc.problems)
        print(str(exc), file=sys.stderr)
        print(f"\n{count} problem{'s' if count != 1 else ''} found.", file=sys.stderr)
        return exc.exit_code
    except UserError as exc:
        print(f"mentormail: {exc}", file=sys.stderr)
        return exc.exit_code
    except MentormailError as exc:
        print(f"mentormail: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    program, timeline = validate(args.config)
    if args.command == "validate":
        people = len(program.participants)
        print(
            f"{args.config}: ok — {program.title}: {people} participants, "
            f"{len(program.organizers)} organizers, {len(timeline)} planned items"
        )
        return 0
    if args.command == "plan":
        return _plan(args, program, timeline)
    raise UserError(f"unknown command {args.command}")


def _plan(args: argparse.Namespace, program: Program, actions: list[Action]) -> int:
    tz = zone(program.organizers[0].timezone)
    heading = f"plan for the organizers ({program.organizers[0].name})"
    if args.participant:
        person = program.participant(args.participant)
        if person is None:
            raise UserError(f"no participant {args.participant} in the roster")
        actions = filter_participant(actions, person.email)
        tz, heading = zone(person.timezone), f"plan for {person.name} <{person.email}>"
    if args.json:
        print(plan_json(actions))
    else:
        sys.stdout.write(plan_table(program, actions, tz, heading))
    return 0
