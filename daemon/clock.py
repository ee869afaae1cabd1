"""The only module that reads a clock. Everything else takes time as a parameter: an instant,
or a `Clock` to ask when something happens (a send's outcome, a retry) during a long pass."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant for `--at`; a naive value is taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


SKEW = timedelta(minutes=1)  # an --at this close to now is "now" (clocks drift; typing takes time)


def in_future(at: datetime, slack: timedelta = SKEW) -> bool:
    """`at` is later than now (by more than `slack`): a pass as of then must not send for real,
    or mail would go now dated then."""
    return at > now() + slack


def monotonic() -> float:
    """Seconds on a clock that never jumps (for timeouts and progress, never for planning)."""
    return time.monotonic()


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, as systemd's MONOTONIC_USEC= wants it."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


@dataclass(frozen=True)
class Clock:
    """The instants a pass stamps what happens with, and a monotonic clock for its bounds.

    `Clock.system()` is the wall clock; `Clock.starting_at(t)` starts at `t` and moves with
    real time (`tick --at T`); `Clock.frozen(t)` always says `t` (a rehearsal's virtual
    instant, or a test that wants exact instants)."""

    start: datetime | None = None  # None: the wall clock
    moves: bool = True
    origin: float = field(default_factory=monotonic)

    @classmethod
    def system(cls) -> Clock:
        return cls()

    @classmethod
    def starting_at(cls, at: datetime) -> Clock:
        return cls(at)

    @classmethod
    def frozen(cls, at: datetime) -> Clock:
        return cls(at, moves=False)

    def now(self) -> datetime:
        if self.start is None:
            return now()
        if not self.moves:
            return self.start
        return self.start + timedelta(seconds=monotonic() - self.origin)

    def monotonic(self) -> float:
        return monotonic()
