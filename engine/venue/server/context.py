"""What every route of the venue server shares: the venue, its accounts, faults, limits."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from engine.venue.matching import MarketSpec, MarketStatus
from engine.venue.server.exchange import Exchange
from engine.venue.server.faults import FaultPlan
from engine.venue.server.postlog import PostLog
from engine.venue.server.ratelimit import RateLimiter
from engine.venue.server.replay import ReplayBooks
from engine.venue.sim import SimVenue


@dataclass
class ServerContext:
    """The shared state; routes read it, the exchange and venue change it."""

    venue: SimVenue
    exchange: Exchange
    faults: FaultPlan
    limiter: RateLimiter
    replay_books: ReplayBooks = field(default_factory=ReplayBooks)
    ws_idle_timeout_s: float = 60.0
    """A WebSocket that sends nothing (not even PING) for this long is closed."""
    connections: itertools.count[int] = field(default_factory=itertools.count)
    refuse_websockets: bool = False
    """While True, WebSocket handshakes are refused (HTTP 403), as a venue whose socket
    endpoint is down while REST still answers; tests flip it."""
    post_log: PostLog | None = None
    """Where every received order is recorded before it is processed (--post-log)."""

    def market_of(self, token_id: str) -> MarketSpec | None:
        return self.venue.engine.market_for_token(token_id)

    def market(self, condition_id: str) -> MarketSpec | None:
        return self.venue.specs.get(condition_id)

    def window_ends(self) -> list[int]:
        """End times of the markets still trading (for faults near window close)."""
        engine = self.venue.engine
        return [
            spec.end_ts
            for spec in self.venue.specs.values()
            if engine.market_status(spec.condition_id) is MarketStatus.OPEN
        ]
