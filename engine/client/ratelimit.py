"""Client-side rate limits per endpoint, so the engine never exceeds the venue's.

The venue counts requests in sliding windows (Cloudflare; spec section 9) and answers
429 past a limit. Each configured limit "COUNT/SECONDS" is kept here as COUNT tokens
that each come back SECONDS (plus a margin) after they were spent: a token bucket whose
refill is the exact log of past requests. That is stricter than a bucket with a
steady refill (which allows up to 2*COUNT in one window): in ANY window of SECONDS at
most COUNT requests go out, so both a sliding-window and a token-bucket venue accept
them. The margin keeps that true when requests are delayed unevenly on the way.

A request is charged to every limit whose key matches it: "*" (every request),
"/path" (any method) and "METHOD /path". Paths are route templates ("/data/order" for
"/data/order/{id}"). The core (`RateLimits`) is pure and takes `now`; `RateLimiter`
is the Trio shell whose `acquire` sleeps until every matching limit has a token, on
`trio.current_time()` so tests run on a MockClock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from engine.config import ClientConfig

ANY = "*"


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` requests in any window of `window_s` seconds."""

    count: int
    window_s: float

    def __post_init__(self) -> None:
        if self.count <= 0 or not (self.window_s > 0 and math.isfinite(self.window_s)):
            raise ValueError(f"a rate limit needs a positive count and window, got {self}")


def parse_limits(text: str) -> tuple[Limit, ...]:
    """ "2800/10,28800/600" -> two limits; ValueError naming the bad part."""
    limits = []
    for part in text.split(","):
        try:
            count_text, window_text = part.strip().split("/")
            count, window = int(count_text), float(window_text)
        except ValueError:
            raise ValueError(
                f"bad rate limit {part.strip()!r}: expected COUNT/SECONDS, e.g. 2800/10"
            ) from None
        limits.append(Limit(count, window))
    return tuple(limits)


def parse_key(key: str) -> tuple[str | None, str]:
    """ "POST /order" -> ("POST", "/order"); "/path" -> (None, "/path"); "*" -> (None, "*")."""
    if key == ANY:
        return None, ANY
    parts = key.split()
    if len(parts) == 1 and parts[0].startswith("/"):
        return None, parts[0]
    if len(parts) == 2 and parts[0].isalpha() and parts[1].startswith("/"):
        return parts[0].upper(), parts[1]
    raise ValueError(f"bad rate limit key {key!r}: expected '*', '/path' or 'METHOD /path'")


class Window:
    """One limit's log of the times its last `count` requests were sent."""

    __slots__ = ("_sent", "limit", "span")

    def __init__(self, limit: Limit, margin_s: float) -> None:
        self.limit = limit
        self.span = limit.window_s + margin_s
        self._sent: deque[float] = deque()

    def _prune(self, now: float) -> None:
        sent = self._sent
        while sent and sent[0] <= now - self.span:
            sent.popleft()

    def wait(self, now: float) -> float:
        """Seconds until one more request may go (0.0: now)."""
        self._prune(now)
        if len(self._sent) < self.limit.count:
            return 0.0
        return max(self._sent[0] + self.span - now, 1e-9)

    def take(self, now: float) -> None:
        self._sent.append(now)


class RateLimits:
    """Every configured limit, by key; pure (the caller passes the time)."""

    def __init__(self, limits: Mapping[str, Sequence[Limit]], margin_s: float = 0.0) -> None:
        if margin_s < 0:
            raise ValueError("margin_s must be >= 0")
        self._windows: dict[tuple[str | None, str], list[Window]] = {}
        for key, items in limits.items():
            self._windows[parse_key(key)] = [Window(limit, margin_s) for limit in items]
        self._paused_until: dict[tuple[str | None, str], float] = {}

    @classmethod
    def from_text(cls, limits: Mapping[str, str], margin_s: float = 0.0) -> RateLimits:
        return cls({key: parse_limits(text) for key, text in limits.items()}, margin_s)

    def _matching(self, key: str) -> list[tuple[str | None, str]]:
        method, path = parse_key(key)
        wanted: list[tuple[str | None, str]] = [(None, ANY), (None, path)]
        if method is not None:
            wanted.append((method, path))
        return [k for k in wanted if k in self._windows or k in self._paused_until]

    def wait(self, key: str, now: float) -> float:
        """Seconds until a request on `key` ("METHOD /path") may go; 0.0 if now."""
        longest = 0.0
        for matched in self._matching(key):
            longest = max(longest, self._paused_until.get(matched, now) - now)
            for window in self._windows.get(matched, ()):
                longest = max(longest, window.wait(now))
        return longest

    def try_take(self, key: str, now: float) -> float:
        """Charge one request to every matching limit if all allow it (returns 0.0);
        otherwise charge nothing and return the seconds to wait."""
        wait = self.wait(key, now)
        if wait > 0:
            return wait
        for matched in self._matching(key):
            for window in self._windows.get(matched, ()):
                window.take(now)
        return 0.0

    def pause(self, key: str, until: float) -> None:
        """Hold every request on this endpoint until `until` (the venue said 429)."""
        target = parse_key(key)
        self._paused_until[target] = max(self._paused_until.get(target, until), until)


class RateLimiter:
    """The Trio shell: `await acquire("POST /order")` returns once the request may go."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.waited = 0
        """How many acquires had to wait (for reports)."""

    @classmethod
    def from_config(cls, config: ClientConfig) -> RateLimiter:
        return cls(RateLimits.from_text(config.rate_limits, config.rate_margin_s))

    @classmethod
    def unlimited(cls) -> RateLimiter:
        return cls(RateLimits({}))

    async def acquire(self, key: str) -> None:
        """Wait (trio.sleep) until every limit on `key` has room, then take it.

        Checking and taking happen with no await between them, so concurrent callers
        can never overshoot a limit. Cancellation while waiting takes nothing.
        """
        waited = False
        while (wait := self.limits.try_take(key, trio.current_time())) > 0:
            waited = True
            await trio.sleep(wait)
        if waited:
            self.waited += 1
        else:
            await trio.lowlevel.checkpoint()

    def pause(self, key: str, seconds: float) -> None:
        """Hold requests on `key` for `seconds` from now (after a 429 with Retry-After)."""
        self.limits.pause(key, trio.current_time() + seconds)
