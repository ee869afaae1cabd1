"""`mentormail run`: the long-running service.

A tick at start-up (the catch-up pass), then a tick at every next due instant (APScheduler
DateTrigger, re-armed after each tick), on a safety interval (retries, config edits, a
missed wake-up), and whenever mail arrives: a watcher keeps the mailbox open, IDLEs (polling
every `poll_seconds` as a safety net) and runs a reading tick on news, reconnecting with
backoff after any IMAP failure. Ticks never overlap, and the state lock is held for the
service's life.
APScheduler only wakes us; the outbox is the source of truth, so a missed or doubled wake-up
costs nothing (protocol-reliability.md §6.2).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from daemon import clock
from daemon.executor import Transport
from daemon.program.loader import Program
from daemon.store.lock import StateLock
from daemon.tick import TickReport, run_tick, state_dir
from daemon.transport.imap import ImapError, ImapInbox, watch_inbox

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"misfire_grace_time": 6 * 3600, "coalesce": True, "max_instances": 1}


class Service:
    def __init__(
        self,
        program: Program,
        config_path: Path,
        transport_factory: Callable[[], Transport],
        *,
        safety_seconds: float = 300.0,
        now: Callable[[], dt.datetime] = clock.now,
        inbox_factory: Callable[[], ImapInbox] | None = None,
    ) -> None:
        self.program = program
        self.config_path = config_path
        self.transport_factory = transport_factory
        self.inbox_factory = inbox_factory
        self.safety_seconds = safety_seconds
        self.now = now
        self.ticks = 0
        self.last: TickReport | None = None
        self._running = asyncio.Lock()
        self._scheduler: AsyncIOScheduler | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; a tick in progress then finishes before returning."""
        with StateLock(state_dir(self.program, self.config_path)):
            scheduler = AsyncIOScheduler(timezone=dt.UTC, job_defaults=JOB_DEFAULTS)
            scheduler.add_listener(_report_job_trouble, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
            self._scheduler = scheduler
            scheduler.start()
            watching: asyncio.Task[NoReturn] | None = None
            try:
                await self.tick()
                scheduler.add_job(
                    self.tick, IntervalTrigger(seconds=self.safety_seconds), id="safety",
                    replace_existing=True,
                )  # fmt: skip
                if self.inbox_factory is not None:
                    poll = self.program.config.imap.poll_seconds
                    watching = asyncio.create_task(
                        watch_inbox(self.inbox_factory, self._on_mail, poll_seconds=poll)
                    )
                await stop.wait()
            finally:
                if watching is not None:
                    watching.cancel()
                    await asyncio.gather(watching, return_exceptions=True)
                scheduler.shutdown(wait=False)
                async with self._running:  # let a tick in flight finish recording
                    self._scheduler = None

    async def _on_mail(self, inbox: ImapInbox) -> None:
        """The watcher's call: mail may have arrived. A mailbox that failed is reported back,
        so the watcher drops the connection and makes a new one; so is any other failure of
        the pass (logged in full), so the watcher backs off and tries again instead of dying
        and leaving the service without its mailbox."""
        try:
            await self.tick(inbox)
        except Exception as error:
            log.exception("a reading pass failed; the mailbox is read again after a pause")
            raise ImapError(f"the pass failed: {error!r}") from error
        if self.last is not None and self.last.inbox_error:
            raise ImapError(self.last.inbox_error)

    async def tick(self, inbox: ImapInbox | None = None) -> None:
        async with self._running:
            if self._scheduler is None and self.ticks:
                return  # shutting down
            at = self.now()
            report = await run_tick(
                self.program, self.config_path, at, self.transport_factory, locked=True,
                inbox=inbox,
            )  # fmt: skip
            self.ticks += 1
            self.last = report
            log.info("%s", report.summary())
            self._arm(report)

    def _arm(self, report: TickReport) -> None:
        """Wake at the next due instant (or when a pause ends)."""
        wake = report.paused_until or report.next_due
        if wake is None or self._scheduler is None:
            return
        run_at = max(wake, self.now() + dt.timedelta(seconds=1))
        self._scheduler.add_job(
            self.tick, DateTrigger(run_date=run_at), id="next", replace_existing=True
        )
        log.debug("next tick at %s", run_at)


def _report_job_trouble(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        log.error("scheduled tick failed: %r", event.exception)
    else:
        log.error("a scheduled tick was missed (the machine slept?); the next one catches up")
