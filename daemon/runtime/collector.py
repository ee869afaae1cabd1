"""How this process uses Python's cyclic garbage collector: set once, at start-up.

Planning a big program allocates hundreds of thousands of small, acyclic, long-lived tuples
(a year for 10,000 people is 720,000 actions); with the default thresholds (a young-generation
collection every 700 allocations) the collector rescans them again and again, and planning
takes half again as long (bench/plan.py). Collecting every 50,000 allocations, a full
collection every 10 million, keeps that cost small and still frees cyclic garbage for a
service that runs for a year. Nothing is ever switched off or back on.

A command that only reads the config and answers (validate, plan, status, preview) ends
within a second, and whatever it allocates is freed when it exits: it collects nothing at all
(the collector's scans were 20 ms of a 0.4 s `validate`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (50_000, 20, 10)
ANSWERS = frozenset({"validate", "plan", "status", "preview", "completion", "man"})


def tune() -> None:
    """The thresholds above (a pass, the service, the benchmarks of them)."""
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def tuned(command: str, *, restore: bool) -> Iterator[None]:
    """The collector set for `command` (a long or unknown one: the thresholds above) while it
    runs; with `restore` (tests and embedding run many commands in one process) as it was
    afterwards. Without it, a command that collected nothing ends so: switching the collector
    back on would make it scan everything at exit."""
    was_enabled, was = gc.isenabled(), gc.get_threshold()
    if command in ANSWERS:
        gc.disable()
    else:
        tune()
    try:
        yield
    finally:
        if restore:
            gc.freeze()  # what the command made joins the oldest generation, unscanned
            gc.unfreeze()
            gc.set_threshold(*was)
            if was_enabled:
                gc.enable()
