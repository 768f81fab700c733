"""When a failed request may be tried again, and after how long (pure; see rest.py).

Three kinds of request:
- READ: GETs and cancels. Doing them twice changes nothing at the venue, so every
  transient failure (429, 425, 5xx, no answer) is retried.
- SUBMIT: POST /order and /orders. Only a failure that proves the venue did not
  process the order is retried: 429 and 425 (refused before matching) and a
  connection that could not even be opened. A 5xx or a lost answer after sending is
  UNKNOWN: the order may be live, and it is never re-sent.
- ONCE: never retried here (heartbeats: their actor's loop is the retry).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from engine.client.errors import (
    RateLimited,
    TransportError,
    VenueError,
    VenueRestarting,
    VenueUnavailable,
)


class Kind(enum.Enum):
    READ = "read"
    SUBMIT = "submit"
    ONCE = "once"


class Action(enum.Enum):
    RETRY = "retry"
    RAISE = "raise"
    UNKNOWN = "unknown"
    """SUBMIT only: raise SubmitUnknown (the order may be live)."""


def decide(kind: Kind, error: VenueError, attempt: int, retries: int) -> Action:
    """What to do after `error` on the `attempt`-th try (0-based) of a request."""
    if kind is Kind.SUBMIT:
        ambiguous = isinstance(error, VenueUnavailable) or (
            isinstance(error, TransportError) and error.sent
        )
        if ambiguous:
            return Action.UNKNOWN
        not_processed = isinstance(error, RateLimited | VenueRestarting) or (
            isinstance(error, TransportError) and not error.sent
        )
        return Action.RETRY if not_processed and attempt < retries else Action.RAISE
    if kind is Kind.READ:
        transient = isinstance(error, RateLimited | VenueRestarting | VenueUnavailable)
        transient = transient or isinstance(error, TransportError)
        return Action.RETRY if transient and attempt < retries else Action.RAISE
    return Action.RAISE


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: base * 2**attempt, capped, a random fraction
    `jitter` of it drawn away (so many clients do not retry in lockstep), and never
    shorter than the venue's Retry-After."""

    base_s: float
    max_s: float
    jitter: float

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        raw = min(self.max_s, self.base_s * 2.0 ** min(attempt, 60))
        delay = raw * (1.0 - self.jitter * rng.random())
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay
