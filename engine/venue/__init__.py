"""The simulated Polymarket venue: matching engine, wire frames and scenario generator.

`matching` is the pure, synchronous core; `wire` renders its events as the venue's
WebSocket frames; `scenario` generates seeded markets and order flow to drive it.
"""

from engine.venue.matching import (
    AccountBalance,
    MarketSpec,
    MarketStatus,
    MatchingEngine,
    OrderRequest,
    SubmitResult,
    VenueEvent,
)

__all__ = [
    "AccountBalance",
    "MarketSpec",
    "MarketStatus",
    "MatchingEngine",
    "OrderRequest",
    "SubmitResult",
    "VenueEvent",
]
