"""`mentormail run`: the long-running service.

A tick at start-up (the catch-up pass), then a tick at every next due instant (APScheduler
DateTrigger, re-armed after each tick), on a safety interval (retries, a missed wake-up), and
whenever mail arrives: a watcher keeps the mailbox open, IDLEs (polling every `poll_seconds`
as a safety net) and runs a reading tick on news, reconnecting with backoff after any IMAP
failure. Ticks never overlap, and the state lock is held for the service's life.
APScheduler only wakes us; the outbox is the source of truth, so a missed or doubled wake-up
costs nothing (protocol-reliability.md §6.2).

Stopping (`stop` set): STOPPING is announced, nothing new is claimed for sending, the
transactions in flight finish (at most `drain_seconds`: one still running then is cut, and
the next start records it as unknown rather than sending it twice), the mailbox is logged
out, then the lock is released — the resources sit on one AsyncExitStack, unwound in reverse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, NoReturn

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from daemon.clock import Clock
from daemon.config.deployment import Deployment
from daemon.decide.tracking import ended
from daemon.errors import ImapError, UserError
from daemon.program.timeline import Action, plan
from daemon.runtime.deliver import Transport
from daemon.runtime.progress import BeatingTransport, Progress
from daemon.runtime.sdnotify import Notifier
from daemon.runtime.tick import TickReport, run_tick
from daemon.runtime.watch import MAX_BACKOFF, watch_inbox
from daemon.store.lock import StateLock
from daemon.store.sqlite import Store
from daemon.transport.imap import ImapInbox

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"misfire_grace_time": 6 * 3600, "coalesce": True, "max_instances": 1}
SEND, INBOX = "sending", "mailbox"  # the loops the watchdog watches
MARGIN = 180.0  # seconds on top of the protocol timeouts before a busy loop counts as stuck


class Service:
    def __init__(
        self,
        deployment: Deployment,
        transport_factory: Callable[[], Transport],
        *,
        safety_seconds: float = 300.0,
        clock: Clock | None = None,
        inbox_factory: Callable[[], ImapInbox] | None = None,
        drain_seconds: float = 60.0,
        notifier: Notifier | None = None,
    ) -> None:
        self.deployment = deployment
        self.timeline: list[Action] = plan(deployment.program)
        self.transport_factory = transport_factory
        self.inbox_factory = inbox_factory
        self.safety_seconds = safety_seconds
        self.drain_seconds = drain_seconds
        self.clock = clock or Clock.system()
        self.notifier = notifier or Notifier({})
        self.progress = Progress()
        self.stopping = asyncio.Event()
        self.ticks = 0
        self.mailbox_problem = ""  # why the watcher cannot use the mailbox, until it can
        self.last: TickReport | None = None
        self._running = asyncio.Lock()
        self._readers = 0  # passes that read the mailbox, waiting or running
        self._scheduler: AsyncIOScheduler | None = None
        self._current: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[NoReturn] | None = None
        self._restarting: asyncio.Task[None] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then stop as the module docstring says."""
        directory = self.deployment.state_dir
        async with AsyncExitStack() as stack:
            stack.enter_context(StateLock(directory))
            Store.open(directory).close()  # migrated and writable before we say READY
            scheduler = AsyncIOScheduler(timezone=dt.UTC, job_defaults=JOB_DEFAULTS)
            scheduler.add_listener(_report_job_trouble, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
            scheduler.start()
            self._scheduler = scheduler
            stack.callback(self._forget_scheduler, scheduler)
            stack.push_async_callback(self._stop_watching)
            self.progress.watch(SEND, self._send_limit())
            program = self.deployment.program
            log.info(
                "serving %s: %d participants, %s; state in %s; the first pass runs now",
                program.title, len(program.participants), self._mailbox(), directory,
            )  # fmt: skip
            if over := ended(program, self.timeline, self.clock.now()):
                log.warning("%s", over)
            self.notifier.ready(f"serving {program.title}")
            catch_up = asyncio.create_task(self.tick())  # a task: a stop is heard meanwhile
            stack.push_async_callback(_settle, catch_up)
            stack.push_async_callback(self._drain)  # unwound first: sends finish, then logout
            scheduler.add_job(
                self.tick, IntervalTrigger(seconds=self.safety_seconds), id="safety",
                replace_existing=True,
            )  # fmt: skip
            self._start_watching()
            await stop.wait()
            log.info("stopping: no new sends; waiting for those in flight")
            self.notifier.stopping()
            self.stopping.set()
            scheduler.shutdown(wait=False)  # stop accepting new work: jobs only enqueue
        log.info("stopped, after %d pass%s", self.ticks, "" if self.ticks == 1 else "es")

    def replace(self, deployment: Deployment, timeline: list[Action] | None = None) -> None:
        """Serve `deployment` from now on (a reloaded config): re-plan at once, and reconnect
        the mailbox if its settings changed."""
        if deployment.state_dir != self.deployment.state_dir:
            raise UserError(
                "[state] path cannot change while the service runs; restart it to use a new one"
            )
        old, self.deployment = self.deployment, deployment
        self.timeline = timeline if timeline is not None else plan(deployment.program)
        self.progress.watch(SEND, self._send_limit())
        if self._scheduler is not None and not self.stopping.is_set():
            self._scheduler.add_job(
                self.tick, DateTrigger(), id="next", replace_existing=True
            )  # now
        if old.settings.imap != deployment.settings.imap:  # kept: a task nobody holds may vanish
            self._restarting = asyncio.get_running_loop().create_task(self._restart_watching())

    async def tick(self, inbox: ImapInbox | None = None) -> None:
        """One pass, unless stopping. It runs as a task of its own, shielded from whoever
        awaits it: only the drain may cut it short. Passes never overlap; a pass that reads
        the mailbox goes before a scheduled one waiting with it (every pass sends too), so
        mail that arrives waits at most for the pass under way, which is bounded in time."""
        if self.stopping.is_set():
            return
        self._readers += inbox is not None
        try:
            async with self._running:
                if self.stopping.is_set() or (inbox is None and self._readers):
                    return
                self._current = asyncio.create_task(self._tick(inbox))
                try:
                    await asyncio.shield(self._current)
                finally:
                    if self._current.done():
                        self._current = None
        finally:
            self._readers -= inbox is not None

    async def _tick(self, inbox: ImapInbox | None) -> None:
        with self.progress.working(SEND):
            report = await run_tick(
                self.deployment, self.clock,
                lambda: BeatingTransport(self.transport_factory(), self.progress, SEND),
                locked=True, inbox=inbox, stopping=self.stopping, timeline=self.timeline,
                mailbox_problem="" if inbox is not None else self.mailbox_problem,
            )  # fmt: skip
        if inbox is not None and not report.inbox_error:
            self.mailbox_problem = ""
        self.ticks += 1
        self.last = report
        log.info("%s", report.summary())
        self.notifier.status(report.summary())
        self._arm(report)

    async def _drain(self) -> None:
        """Let the pass in flight finish its transactions; cut it after `drain_seconds`."""
        self.stopping.set()
        current = self._current
        if current is None or current.done():
            return
        done, _ = await asyncio.wait({current}, timeout=self.drain_seconds)
        if not done:
            log.error(
                "a send was still in flight %.0f s after the stop; it is cut off, and the next "
                "start records it as unknown (never sent twice)", self.drain_seconds,
            )  # fmt: skip
            current.cancel()
        await _settle(current)

    def _start_watching(self) -> None:
        if self.inbox_factory is None or not self.deployment.settings.imap.host:
            return
        poll = self.deployment.settings.imap.poll_seconds
        self.progress.watch(INBOX, max(poll, MAX_BACKOFF) + MARGIN)
        self._watching = asyncio.create_task(self._watch(self.inbox_factory, poll))

    async def _watch(self, connect: Callable[[], ImapInbox], poll: float) -> NoReturn:
        with self.progress.working(INBOX):
            await watch_inbox(
                connect, self._on_mail, poll_seconds=poll,
                alive=lambda: self.progress.beat(INBOX), failed=self._mailbox_failed,
            )  # fmt: skip

    def _mailbox_failed(self, error: ImapError) -> None:
        """Kept for the next passes (`status`, systemd's STATUS=) until one reads the mailbox."""
        self.mailbox_problem = str(error)
        self.notifier.status(f"the mailbox cannot be read: {error}")

    async def _stop_watching(self) -> None:
        watching, self._watching = self._watching, None
        self.progress.forget(INBOX)
        if watching is not None:
            watching.cancel()
            await _settle(watching)

    async def _restart_watching(self) -> None:
        await self._stop_watching()
        if not self.stopping.is_set():
            self._start_watching()

    async def _on_mail(self, inbox: ImapInbox) -> None:
        """The watcher's call: mail may have arrived. A mailbox that failed is reported back,
        so the watcher drops the connection and makes a new one; so is any other failure of
        the pass (logged in full), so the watcher backs off and tries again instead of dying
        and leaving the service without its mailbox."""
        try:
            with self.progress.waiting(INBOX):  # the pass is watched as the sending loop
                await self.tick(inbox)
        except Exception as error:
            log.exception("a reading pass failed; the mailbox is read again after a pause")
            raise ImapError(f"the pass failed: {error!r}") from error
        if self.last is not None and self.last.inbox_error:
            raise ImapError(self.last.inbox_error)

    def _send_limit(self) -> float:
        smtp = self.deployment.settings.smtp
        return smtp.timeout_seconds + smtp.data_timeout_seconds + MARGIN

    def _mailbox(self) -> str:
        imap = self.deployment.settings.imap
        if not imap.host or self.inbox_factory is None:
            return "no mailbox read (no [imap] host)"
        return f"reading {imap.mailbox} on {imap.host}"

    def _arm(self, report: TickReport) -> None:
        """Wake at the next due instant (or when a pause ends)."""
        wake = report.paused_until or report.next_due
        if self._scheduler is None or self.stopping.is_set():
            return
        if wake is None:
            every = self.safety_seconds
            log.info("nothing more is planned: a pass every %s, and when mail arrives",
                     f"{every / 60:g} minutes" if every >= 60 else f"{every:g} s")  # fmt: skip
            return
        run_at = max(wake, self.clock.now() + dt.timedelta(seconds=1))
        self._scheduler.add_job(
            self.tick, DateTrigger(run_date=run_at), id="next", replace_existing=True
        )
        log.info("next pass at %s", f"{run_at:%Y-%m-%d %H:%M:%S}Z")

    def _forget_scheduler(self, scheduler: AsyncIOScheduler) -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        self._scheduler = None


async def _settle(task: asyncio.Task[Any]) -> None:
    """Wait for a task to end, whatever it ends with (its failure was logged where it failed)."""
    await asyncio.gather(task, return_exceptions=True)


def _report_job_trouble(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        log.error("scheduled tick failed: %r", event.exception)
    else:
        log.error("a scheduled tick was missed (the machine slept?); the next one catches up")
