"""Send-rate limits for one sending account: messages per rolling minute and per rolling day.

Pure: every method takes the current time (seconds on any monotonic scale, e.g.
`time.monotonic()`); nothing here reads a clock or sleeps. The caller asks `delay(now)`,
waits that long, then calls `record(now)` when the send starts.

Providers count in rolling windows, not from midnight (Gmail: ~500 recipients per rolling
24 h), so a window here is "the last 60 s" / "the last 86,400 s" before `now`. A limit of 0
means unlimited. A send is counted as one unit whatever its number of recipients; with one
recipient per message (mentormail's rule) that equals the providers' per-recipient counts.

`pause_until(t)` is back-pressure from the provider (a quota or "try again later" reply): no
send may start before `t`, whatever the windows allow.
"""

from __future__ import annotations

from collections import deque

MINUTE = 60.0
DAY = 86_400.0


class RateLimiter:
    """Rolling-window limits; `delay` is how long to wait before the next send may start."""

    def __init__(self, per_minute: int, per_day: int) -> None:
        if per_minute < 0 or per_day < 0:
            raise ValueError("rate limits must be >= 0 (0 = unlimited)")
        self.per_minute = per_minute
        self.per_day = per_day
        self._minute: deque[float] = deque()
        self._day: deque[float] = deque()
        self._paused_until: float | None = None

    @property
    def paused_until(self) -> float | None:
        """The end of the current provider pause, or None when there is none."""
        return self._paused_until

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send may start; 0.0 if it may start now."""
        self._prune(now)
        wait = 0.0
        if self.per_minute and len(self._minute) >= self.per_minute:
            # The send that must leave the window before one more fits in it.
            oldest = self._minute[len(self._minute) - self.per_minute]
            wait = max(wait, oldest + MINUTE - now)
        if self.per_day and len(self._day) >= self.per_day:
            oldest = self._day[len(self._day) - self.per_day]
            wait = max(wait, oldest + DAY - now)
        if self._paused_until is not None:
            if now >= self._paused_until:
                self._paused_until = None
            else:
                wait = max(wait, self._paused_until - now)
        return max(wait, 0.0)

    def record(self, now: float) -> None:
        """Count one send started at `now`."""
        if self.per_minute:
            self._minute.append(now)
        if self.per_day:
            self._day.append(now)
        self._prune(now)

    def pause_until(self, t: float) -> None:
        """Start no send before `t`. A later pause extends an earlier one, never shortens it."""
        if self._paused_until is None or t > self._paused_until:
            self._paused_until = t

    def resume(self) -> None:
        """End a provider pause early (an operator's decision); the windows still apply."""
        self._paused_until = None

    def _prune(self, now: float) -> None:
        # A send at exactly `now - window` has left the window.
        while self._minute and self._minute[0] <= now - MINUTE:
            self._minute.popleft()
        while self._day and self._day[0] <= now - DAY:
            self._day.popleft()
        # Only the newest `limit` entries can ever matter.
        while len(self._minute) > self.per_minute:
            self._minute.popleft()
        while len(self._day) > self.per_day:
            self._day.popleft()
