"""`mentormail run` under a service manager: signals, reload, the watchdog, READY/STOPPING.

Signal handlers only set events. SIGTERM and SIGINT stop the service (see `daemon.runtime.service`
for the order). SIGHUP re-reads and validates the config — every template rendered for every
participant, as `validate` does — and swaps it in whole; a config with problems is logged
with each problem and the service keeps running on the one it had. systemd hears RELOADING=1
(with MONOTONIC_USEC, for Type=notify-reload) and READY=1 again when the reload is over.
WATCHDOG=1 goes out at half of WatchdogSec from the event loop itself, and only while no
watched loop is stuck (`daemon.runtime.progress`): a frozen loop or a wedged send stops the
pings and systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from daemon.config.deployment import Deployment
from daemon.errors import MentormailError
from daemon.program.timeline import Action
from daemon.runtime.service import Service

Load = Callable[[], tuple[Deployment, list[Action]]]

log = logging.getLogger(__name__)


async def serve(service: Service, load: Load) -> None:
    """Run `service` until SIGTERM/SIGINT; `load` reads and validates the config again."""
    stop, reload = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    async with AsyncExitStack() as stack:
        for signum, event in (
            (signal.SIGTERM, stop), (signal.SIGINT, stop), (signal.SIGHUP, reload),
        ):  # fmt: skip
            loop.add_signal_handler(signum, event.set)
            stack.callback(loop.remove_signal_handler, signum)
        stack.callback(service.notifier.close)
        for job in (_reloads(service, load, reload), _watchdog(service)):
            stack.push_async_callback(_cancel, asyncio.create_task(job))
        await service.run(stop)


async def _reloads(service: Service, load: Load, wanted: asyncio.Event) -> None:
    while True:
        await wanted.wait()
        wanted.clear()
        service.notifier.reloading()
        try:
            deployment, timeline = await asyncio.to_thread(load)
            service.replace(deployment, timeline)
        except MentormailError as error:
            log.error("the config was not reloaded; still running on the previous one:\n%s", error)
        except Exception:  # whatever went wrong, the running service must not go with it
            log.exception("the config was not reloaded; still running on the previous one")
        else:
            log.info("config reloaded: %s", deployment.program.title)
        service.notifier.ready(f"serving {service.deployment.program.title}")


async def _watchdog(service: Service) -> None:
    """Ping at half the watchdog interval while every watched loop makes progress."""
    interval = service.notifier.watchdog_seconds
    if interval is None:
        return
    silent = False
    while True:
        await asyncio.sleep(interval / 2)
        stuck = service.progress.stuck()
        if not stuck:
            service.notifier.watchdog()
            silent = False
        elif not silent:
            silent = True
            what = ", ".join(f"the {name} loop ({seconds:.0f} s)" for name, seconds in stuck)
            log.critical("no progress from %s: watchdog pings stop, systemd restarts us", what)


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
