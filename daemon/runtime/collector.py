"""How this process uses Python's cyclic garbage collector: set once, at start-up.

Planning a big program allocates hundreds of thousands of small, acyclic, long-lived tuples
(a year for 10,000 people is 720,000 actions); with the default thresholds (a young-generation
collection every 700 allocations) the collector rescans them again and again, and planning
takes half again as long (bench/plan.py). Collecting every 50,000 allocations, a full
collection every 10 million, keeps that cost small and still frees cyclic garbage for a
service that runs for a year. Nothing is ever switched off or back on.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)


def tune() -> None:
    gc.set_threshold(*THRESHOLDS)
