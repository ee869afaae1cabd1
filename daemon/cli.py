"""The command line, and the one place where errors become user messages and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from daemon.cli_parser import build_parser

# Only the parser is imported up front: `--version` and `--help` answer before anything else
# loads, and each command imports what it uses (pydantic, Jinja, asyncio, the servers' clients)
if TYPE_CHECKING:
    import datetime as dt

    from daemon.config.deployment import Deployment
    from daemon.program.instance import Program
    from daemon.program.timeline import Action
    from daemon.runtime.tick import TickReport
    from daemon.transport.connect import Servers
    from daemon.transport.imap import ImapInbox


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command: the process's own (`argv` None: it ends with the command), or `argv`."""
    args = build_parser().parse_args(argv)
    from daemon.runtime import collector, logs

    logs.configure(args.log_level)
    code = _answer(args, restore=argv is not None)
    if argv is None and args.command in collector.ANSWERS:
        _end_now(code)
    return code


def _end_now(code: int) -> NoReturn:
    """End the process of a command that only answered, once its output is out, without
    tearing the interpreter down: freeing every module and object one by one took 60-90 ms
    of a 0.4 s `validate`, and such a command holds nothing else to close (it wrote no store;
    the files it wrote are closed). Logging is shut down and the streams flushed first."""
    import contextlib
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # the reader went away
            stream.flush()
    os._exit(code)


def _answer(args: argparse.Namespace, *, restore: bool) -> int:
    """The command's exit code; the one place where errors become user messages."""
    import sqlite3

    from daemon.errors import ConfigError, MentormailError, UserError
    from daemon.runtime import collector

    try:
        with collector.tuned(args.command, restore=restore):
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
    except sqlite3.Error as exc:  # the state file, found damaged in the middle of a pass
        print(
            f"mentormail: the state file cannot be used: {exc}; run `mentormail doctor`, and "
            "to bring back a backup: mentormail restore",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`plan | head`): not an error; keep Python from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file or folder this machine will not let us use
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"mentormail: {where}{exc.strerror or exc}; check that it exists and that the user "
            "mentormail runs as may read (and for the state folder, write) it",
            file=sys.stderr,
        )
        return 1


def _template_cache(kind: str) -> object:
    from daemon.runtime.templatecache import template_cache

    return template_cache(kind)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in ("completion", "man"):  # made from the parser alone: no config
        from daemon.cli_parser import completion, manpage

        sys.stdout.write(completion(args.shell) if args.command == "completion" else manpage())
        return 0
    from daemon.config.load import load_deployment
    from daemon.errors import UserError
    from daemon.mail import bytecode

    bytecode.register(_template_cache)  # compiled templates are kept between runs
    if args.command == "demo":  # a config is optional: the sandbox replaces its servers
        return _demo(args)
    if args.command == "plan":
        return _plan(args, load_deployment(args.config).program)
    if args.command == "tick":  # templates render as sends are composed; validate checks all
        return _tick(args, load_deployment(args.config))
    if args.command == "status":
        return _status(args, load_deployment(args.config))
    if args.command == "preview":  # templates render as each mail is composed
        return _preview(args, load_deployment(args.config))
    if args.command == "restore":
        return _restore(args, load_deployment(args.config))
    if args.command == "login":
        return _login(args, load_deployment(args.config))
    from daemon.config.validate import validate
    from daemon.errors import Problem

    warnings: list[Problem] = []
    deployment, timeline = validate(args.config, warnings)
    if args.command == "run":
        return _run(args, deployment, timeline)
    if args.command == "doctor":
        return _doctor(deployment, timeline)
    if args.command == "validate":
        program = deployment.program
        for warning in warnings:
            print(f"warning: {warning}")
        print(
            f"{args.config}: ok — {program.title}: {len(program.participants)} participants, "
            f"{len(program.organizers)} organizers, {len(timeline)} planned items"
        )
        return 0
    raise UserError(f"unknown command {args.command}")


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from daemon.demo.choose import choose
    from daemon.demo.rehearse import rehearse
    from daemon.runtime import logs

    config = args.config
    named = bool(os.environ.get("MENTORMAIL_CONFIG")) or str(config) != "config.toml"
    choice = choose(args.program, config, named)

    def echo(line: str) -> None:
        print(line, flush=True)

    if args.log_level == "INFO":  # the progress lines tell the story; warnings still show
        logs.configure("WARNING")

    asyncio.run(rehearse(choice, args.out, echo))
    return 0


def _preview(args: argparse.Namespace, deployment: Deployment) -> int:
    from daemon.demo.preview import preview

    def say(line: str) -> None:
        print(line, flush=True)

    preview(deployment, args.participant, args.item, args.out, say)
    return 0


def _login(args: argparse.Namespace, deployment: Deployment) -> int:
    import asyncio

    from daemon.doctor import report
    from daemon.signin import sign_in

    def say(text: str) -> None:
        print(text, flush=True)

    checks = asyncio.run(
        sign_in(deployment, say, user=args.user, browser=args.browser, port=args.port)
    )
    sys.stdout.write("\n" + report(checks))
    return 0 if all(c.ok for c in checks) else 1


def _doctor(deployment: Deployment, timeline: list[Action]) -> int:
    import asyncio

    from daemon.doctor import diagnose, report

    checks = asyncio.run(diagnose(deployment, timeline))
    sys.stdout.write(report(checks))
    return 0 if all(c.ok for c in checks) else 1


def _plan(args: argparse.Namespace, program: Program) -> int:
    """The timeline without rendering anything (`validate` renders every template)."""
    from daemon.errors import UserError
    from daemon.program.timeline import plan
    from daemon.program.timespec import zone
    from daemon.views.plan import filter_participant, plan_json, plan_table

    actions = plan(program)
    tz = zone(program.organizers[0].timezone)
    heading = f"plan for the organizers ({program.organizers[0].name})"
    if args.participant:
        wanted = args.participant.lower()
        person = next(
            (
                p
                for p in program.participants
                if wanted in {p.email.lower(), *map(str.lower, p.aliases)}
            ),
            None,
        )
        organizer = next((o for o in program.organizers if o.email.lower() == wanted), None)
        if person is not None:
            actions = filter_participant(actions, {person.email, *person.aliases})
            tz, heading = zone(person.timezone), f"plan for {person.name} <{person.email}>"
        elif organizer is not None:
            actions = filter_participant(actions, {organizer.email})
            tz, heading = zone(organizer.timezone), f"plan for {organizer.name} <{organizer.email}>"
        else:
            raise UserError(f"{args.participant} is neither a participant nor an organizer")
    if args.json:
        print(plan_json(actions))
    else:
        sys.stdout.write(plan_table(program, actions, tz, heading))
    return 0


def _at(args: argparse.Namespace) -> dt.datetime:
    from daemon import clock
    from daemon.clock import parse_instant
    from daemon.errors import UserError

    try:
        return parse_instant(args.at) if args.at else clock.now()
    except ValueError:
        raise UserError(
            f"--at {args.at!r} is not an ISO 8601 instant, e.g. 2021-07-12T16:00Z"
        ) from None


def _status(args: argparse.Namespace, deployment: Deployment) -> int:
    from daemon.program.timeline import plan
    from daemon.runtime.look import status_view
    from daemon.views.status import overview_json, overview_table

    program = deployment.program
    view = status_view(program, plan(program), deployment.state_dir, _at(args))
    sys.stdout.write(overview_json(view) + "\n" if args.json else overview_table(program, view))
    return 0


def _restore(args: argparse.Namespace, deployment: Deployment) -> int:
    from daemon.errors import UserError
    from daemon.runtime.backups import backups, restore
    from daemon.store.lock import StateLock

    state = deployment.state_dir
    found = backups(state)
    if not args.backup:
        print(f"backups of {state} (newest first):" if found else f"no backups in {state}")
        for backup in found:
            print(f"  {backup.taken_at:%Y-%m-%d %H:%M}Z  {backup.path}")
        if found:
            print("restore one with: mentormail restore latest (or the file's path)")
        return 0
    if args.backup == "latest" and not found:
        raise UserError(f"no backups in {state}")
    chosen = found[0].path if args.backup == "latest" else Path(args.backup)
    with StateLock(state):
        done = restore(state, chosen, _at(args))
    print(
        f"restored {chosen} (taken {done.taken_at:%Y-%m-%d %H:%M}Z); the store it replaced is "
        f"kept in {state / 'replaced'}. Messages that fell due after that backup are not sent "
        "again (they may have gone): the next pass records them as unknown and tells the "
        "organizers which."
    )
    return 0


def _tick(args: argparse.Namespace, deployment: Deployment) -> int:
    import asyncio

    from daemon import clock
    from daemon.clock import Clock
    from daemon.decide.tracking import ended
    from daemon.errors import UserError
    from daemon.program.timeline import plan
    from daemon.runtime.deliver import UNUSABLE
    from daemon.runtime.tick import run_tick
    from daemon.transport.connect import Servers

    if args.dry_run:
        return _dry_run(args, deployment)
    if args.at and clock.in_future(_at(args)):
        raise UserError(
            f"--at {args.at} is in the future: a pass sends real mail now, and it would be dated "
            "then (its Date: header) and recorded as sent then. To see what would go then: "
            "mentormail tick --dry-run --at …; to rehearse the whole program: mentormail demo"
        )
    pass_clock = Clock.starting_at(_at(args)) if args.at else Clock.system()
    timeline = plan(deployment.program)
    if over := ended(deployment.program, timeline, pass_clock.now()):
        print(over)

    async def once() -> TickReport:
        servers = Servers(deployment)
        inbox, problem = await _open_inbox(servers)
        try:
            report = await run_tick(
                deployment, pass_clock, servers.smtp, inbox=inbox, mailbox_problem=problem,
                timeline=timeline,
            )  # fmt: skip
        finally:
            if inbox is not None:
                await inbox.aclose()
        return report

    report = asyncio.run(once())
    print(report.summary())
    # a provider's pause or the daily limit is the normal course of things; a server that
    # cannot be used (refused, TLS, password) needs someone: exit 1 so a timer unit shows it
    return 1 if report.halted.startswith(UNUSABLE) else 0


def _dry_run(args: argparse.Namespace, deployment: Deployment) -> int:
    from daemon.program.timeline import plan
    from daemon.runtime.dryrun import dry_run

    program = deployment.program
    found = dry_run(program, plan(program), deployment.state_dir, _at(args))
    print("\n".join(found.lines()))
    return 0


async def _open_inbox(servers: Servers) -> tuple[ImapInbox | None, str]:
    """The program's mailbox, opened, if one is configured; else (None, why not)."""
    from daemon.errors import TransportError

    if not servers.settings.imap.host:
        return None, ""
    inbox = servers.imap()
    try:
        await inbox.open()
    except TransportError as error:
        return None, str(error)
    return inbox, ""


def _run(args: argparse.Namespace, deployment: Deployment, timeline: list[Action]) -> int:
    import asyncio

    from daemon.config.validate import validate
    from daemon.runtime.lifecycle import serve
    from daemon.runtime.sdnotify import Notifier
    from daemon.runtime.service import Service
    from daemon.transport.connect import Servers

    made: list[Servers] = []

    def servers() -> Servers:  # of the config in force (SIGHUP reloads): made once for each
        if not made or made[-1].deployment is not service.deployment:
            made[:] = [Servers(service.deployment)]
        return made[-1]

    def reload() -> tuple[Deployment, list[Action]]:
        return validate(args.config)

    async def main() -> None:
        await serve(service, reload)

    service = Service(
        deployment, lambda: servers().smtp(),
        inbox_factory=lambda: servers().imap(),
        drain_seconds=args.drain_seconds, notifier=Notifier(),
    )  # fmt: skip
    service.replace(deployment, timeline)
    asyncio.run(main())
    return 0
