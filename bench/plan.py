"""Benchmark: plan 10,000 participants (5,000 pairs) over the 52-week PLCI program.

Measures the mentormail planner and, in the same run, a baseline: the bare cost of the same
number of wall-clock-to-UTC conversions and key strings in a plain loop (the floor any planner
pays). Both run as production does: with Python's cyclic collector on, tuned as the command
line tunes it (daemon/runtime/collector.py). Prints the figures as one JSON object on the
last line. Targets: at most 1.5x the baseline, < 300 MB peak.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import json
import resource
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.config.load import Program, load_program  # noqa: E402
from daemon.program.people import Participant  # noqa: E402
from daemon.program.timeline import plan  # noqa: E402
from daemon.runtime import collector  # noqa: E402

PARTICIPANTS = 10_000
ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/Dublin",
    "Australia/Sydney",
]


def big_program() -> Program:
    base = load_program(ROOT / "examples" / "plci-mentoring-year" / "config.toml")
    people = []
    for i in range(PARTICIPANTS):
        pair = i // 2
        people.append(
            Participant(
                name=f"Person {i}",
                email=f"person{i}@example.org",
                timezone=ZONES[i % len(ZONES)],
                role="mentor" if i % 2 == 0 else "mentee",
                pair=f"pair-{pair}",
                attributes={
                    "mla_member": True,
                    "public_library": True,
                    "years_library_experience": 10,
                    "years_current_field": 5,
                },
            )
        )
    return dataclasses.replace(base, participants=tuple(people))


def baseline(n: int) -> float:
    """n zone conversions and key strings in a plain loop."""
    zones = [ZoneInfo(z) for z in ZONES]
    start = dt.date(2026, 1, 5)
    nine = dt.time(9)
    began = time.perf_counter()
    out = []
    for i in range(n):
        day = start + dt.timedelta(days=i % 364)
        at = dt.datetime.combine(day, nine, tzinfo=zones[i % len(zones)]).astimezone(dt.UTC)
        out.append((f"plci/message/x/{i % 12}/person{i}@example.org", at))
    elapsed = time.perf_counter() - began
    del out
    return elapsed


def main() -> None:
    collector.tune()  # as `mentormail` does at start-up
    program = big_program()
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs = []
    actions = 0
    for _ in range(3):
        began = time.perf_counter()
        timeline = plan(program)
        runs.append(time.perf_counter() - began)
        actions = len(timeline)
        del timeline
        gc.collect()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base = min(baseline(actions) for _ in range(3))
    best = min(runs)
    print(
        f"planned {actions} actions for {PARTICIPANTS} participants over "
        f"{program.weeks} weeks: best {best:.2f} s of {len(runs)} runs"
    )
    print(f"baseline (bare conversions + keys for {actions} items): {base:.2f} s")
    print(
        json.dumps(
            {
                "participants": PARTICIPANTS,
                "weeks": round((program.end - program.start).days / 7, 1),
                "days": (program.end - program.start).days,
                "actions": actions,
                "mentormail_plan_s": round(best, 3),
                "baseline_raw_loop_s": round(base, 3),
                "mentormail_actions_per_s": round(actions / best),
                "baseline_items_per_s": round(actions / base),
                "ratio_vs_baseline": round(best / base, 2),
                "peak_rss_mb": round(peak, 1),
                "rss_before_plan_mb": round(rss_before, 1),
                "target_ratio": 1.5,
                "target_peak_mb": 300,
            }
        )
    )


if __name__ == "__main__":
    main()
