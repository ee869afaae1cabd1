"""The per-minute send limit of one sending account (the daily limit is counted from the store,
because it must outlive the process: see runtime/deliver.py).

Pure: every method takes the current time (seconds on any monotonic scale, e.g.
`time.monotonic()`); nothing here reads a clock or sleeps. The caller asks `delay(now)`,
waits that long, then calls `record(now)` when the send starts.

Providers count in rolling windows, so the window is "the last 60 s" before `now`. A limit of
0 means unlimited. A send counts as one whatever its number of recipients; with one recipient
per message (mentormail's rule) that equals the providers' per-recipient counts.
"""

from __future__ import annotations

from collections import deque

MINUTE = 60.0


class RateLimiter:
    """A rolling one-minute window; `delay` is how long to wait before the next send."""

    def __init__(self, per_minute: int) -> None:
        if per_minute < 0:
            raise ValueError("the rate limit must be >= 0 (0 = unlimited)")
        self.per_minute = per_minute
        self._minute: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send may start; 0.0 if it may start now."""
        self._prune(now)
        if not self.per_minute or len(self._minute) < self.per_minute:
            return 0.0
        # the send that must leave the window before one more fits in it
        oldest = self._minute[len(self._minute) - self.per_minute]
        return max(oldest + MINUTE - now, 0.0)

    def record(self, now: float) -> None:
        """Count one send started at `now`."""
        if self.per_minute:
            self._minute.append(now)
        self._prune(now)

    def _prune(self, now: float) -> None:
        # a send at exactly `now - MINUTE` has left the window; only the newest
        # `per_minute` entries can ever matter
        while self._minute and self._minute[0] <= now - MINUTE:
            self._minute.popleft()
        while len(self._minute) > self.per_minute:
            self._minute.popleft()
