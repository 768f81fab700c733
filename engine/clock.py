"""Session time: unix seconds on whatever Trio clock the session runs on.

Live runs use Trio's real clock; paper runs use trio.testing.MockClock (accelerated or
jumping over idle time); tests use the autojump clock. Everything that needs "now" in
market terms asks a SessionClock, so the same actor code runs under all three.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio


@dataclass(frozen=True, slots=True)
class SessionClock:
    epoch_s: float
    """Unix time at Trio time 0."""

    @classmethod
    def starting_at(cls, unix_now: float) -> SessionClock:
        """A clock that reads `unix_now` at this moment (call inside trio.run)."""
        return cls(unix_now - trio.current_time())

    def now_s(self) -> float:
        return self.epoch_s + trio.current_time()

    def now_ms(self) -> int:
        return int(self.now_s() * 1000)

    def trio_time_of(self, unix_s: float) -> float:
        """The Trio time at which the clock will read `unix_s` (for trio.sleep_until)."""
        return unix_s - self.epoch_s
