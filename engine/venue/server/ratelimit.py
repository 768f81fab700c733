"""Per-endpoint rate limits as token buckets, answered 429 like the venue (spec section 9).

Each rule names a method (or any), a path prefix, and COUNT requests per WINDOW seconds;
a request is charged to every rule it matches, per client (its API key, else its
address). The defaults are the documented production limits; `--rate-limit` overrides
one rule (`"POST /order=10/1"`) and `--rate-limit off` disables them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GENERAL = "*"


@dataclass(frozen=True, slots=True)
class Rule:
    """COUNT requests per WINDOW seconds for `method` (or "*") on paths under `prefix`."""

    method: str
    prefix: str
    count: int
    window_s: float

    def __post_init__(self) -> None:
        if self.count <= 0 or self.window_s <= 0:
            raise ValueError(f"rate limit {self.name} needs a positive count and window")

    @property
    def name(self) -> str:
        return f"{self.method} {self.prefix}"

    def matches(self, method: str, path: str) -> bool:
        if self.method != GENERAL and self.method != method:
            return False
        if self.prefix.endswith("/"):
            return path.startswith(self.prefix)
        return path == self.prefix or path.startswith(self.prefix + "/")


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(GENERAL, "/", 15_000, 10),
    Rule("POST", "/order", 3_500, 10),
    Rule("POST", "/orders", 1_000, 10),
    Rule("DELETE", "/order", 3_000, 10),
    Rule("DELETE", "/orders", 1_000, 10),
    Rule(GENERAL, "/balance-allowance", 200, 10),
    Rule(GENERAL, "/auth/", 100, 10),
    Rule(GENERAL, "/gamma/", 4_000, 10),
    Rule(GENERAL, "/gamma/markets", 300, 10),
    Rule(GENERAL, "/gamma/events", 500, 10),
)


def parse_rule(text: str) -> Rule:
    """ "POST /order=10/1" -> 10 requests per 1 s; "/gamma/=100/10" for any method."""
    try:
        target, limit = text.rsplit("=", 1)
        count_text, window_text = limit.split("/", 1)
        parts = target.split()
        method, prefix = (parts[0].upper(), parts[1]) if len(parts) == 2 else (GENERAL, parts[0])
        return Rule(method, prefix, int(count_text), float(window_text))
    except (ValueError, IndexError):
        raise ValueError(
            f"bad rate limit {text!r}: expected 'METHOD /path=COUNT/SECONDS' "
            "or '/path=COUNT/SECONDS'"
        ) from None


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per (rule, client); `check` charges one request to each matching rule."""

    def __init__(self, rules: tuple[Rule, ...] = DEFAULT_RULES) -> None:
        self.rules = rules
        self._buckets: dict[tuple[Rule, str], _Bucket] = {}

    @classmethod
    def off(cls) -> RateLimiter:
        return cls(())

    def with_rules(self, *overrides: Rule) -> RateLimiter:
        """These rules replace same-named defaults; others are added."""
        names = {rule.name for rule in overrides}
        kept = tuple(rule for rule in self.rules if rule.name not in names)
        return RateLimiter(kept + overrides)

    def check(self, method: str, path: str, client: str, now: float) -> float | None:
        """None if allowed (tokens taken), else seconds until the request would pass."""
        matched = [rule for rule in self.rules if rule.matches(method, path)]
        waits: list[float] = []
        buckets: list[_Bucket] = []
        for rule in matched:
            bucket = self._buckets.get((rule, client))
            if bucket is None:
                bucket = self._buckets[(rule, client)] = _Bucket(float(rule.count), now)
            rate = rule.count / rule.window_s
            bucket.tokens = min(float(rule.count), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens < 1:
                waits.append((1 - bucket.tokens) / rate)
            buckets.append(bucket)
        if waits:
            return max(waits)
        for bucket in buckets:
            bucket.tokens -= 1
        return None


def retry_after_header(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
