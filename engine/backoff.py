"""Reconnect delays for every feed and channel: exponential, capped, seeded jitter.

initial * multiplier**n for the n-th failure since the last reset, scaled by a factor
drawn from [1 - jitter, 1 + jitter] (so many clients do not reconnect in step) and never
above the cap. The schedule is a pure function of the parameters, the generator's seed
and the calls, so a seed repeats its delays. Request retries, which count attempts
rather than failures and honour Retry-After, have their own in engine/client/retry.py.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self,
        initial_s: float,
        max_s: float,
        *,
        multiplier: float = 2.0,
        jitter: float = 0.0,
        rng: random.Random,
    ) -> None:
        if not 0 < initial_s <= max_s or multiplier < 1 or not 0 <= jitter < 1:
            raise ValueError(
                "backoff needs 0 < initial <= max, multiplier >= 1 and 0 <= jitter < 1"
            )
        self.initial_s = initial_s
        self.max_s = max_s
        self.multiplier = multiplier
        self.jitter = jitter
        self.rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        base: float = min(self.max_s, self.initial_s * self.multiplier ** min(self.failures, 64))
        self.failures += 1
        scale = 1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)
        return min(self.max_s, base * scale)

    def reset(self) -> None:
        """Start over (after a connection that worked)."""
        self.failures = 0
