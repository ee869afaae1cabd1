"""The only module that reads a clock. Everything else takes time as a parameter."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant for `--at`; a naive value is taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def monotonic() -> float:
    """Seconds on a clock that never jumps (for timeouts and progress, never for planning)."""
    return time.monotonic()


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, as systemd's MONOTONIC_USEC= wants it."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
