"""What the engine needs from a venue, whichever venue it is.

VenueGateway is the request side (orders, cancels, books, balances), implemented by
the REST client (engine/client/gateway.py) and by the in-process simulator. The
simulator also hands out its streams directly (StreamingGateway); over the network the
streams are actors of their own (actors/market_feed.py, actors/user_channel.py) with
reconnects, watchdogs and health, so the order and market actors do not change.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from engine.units import OrderType, Side


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """A signed order as the engine sends it: `body` is the exact JSON to post and
    `order_id` its EIP-712 digest, known before sending."""

    order_id: str
    token_id: str
    side: Side
    price: int
    size: int
    order_type: OrderType
    post_only: bool
    body: bytes


@dataclass(frozen=True, slots=True)
class PostResult:
    """The venue's answer to a post, in its own words (`error` is the venue's text).

    `matched` is the size (micro-shares) matched at once, before the response was sent.
    """

    success: bool
    error: str
    order_id: str
    status: str
    matched: int = 0


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    token_id: str
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]


class VenueOrderState(enum.StrEnum):
    """What the venue says about an order whose post had an unknown outcome."""

    LIVE = "LIVE"
    """On the book (maybe partly filled)."""
    FILLED = "FILLED"
    """Fully matched, or done with trades (production empties /data/order once done)."""
    CANCELED = "CANCELED"
    """Off the book without being fully matched (canceled, expired, killed, invalid)."""
    NOT_FOUND = "NOT_FOUND"
    """The venue has no such order and no trade of it: it was not placed."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """The venue's answer about one order id; `size_matched` in micro-shares."""

    order_id: str
    state: VenueOrderState
    order: Mapping[str, Any] | None
    trades: tuple[Mapping[str, Any], ...]
    size_matched: int


class VenueGateway(Protocol):
    account: str

    async def post_order(self, order: OrderSpec) -> PostResult: ...

    async def cancel_order(self, order_id: str) -> bool: ...

    async def cancel_all(self) -> list[str]: ...

    async def get_book(self, token_id: str) -> BookSnapshot: ...

    async def collateral_balance(self) -> int: ...

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution:
        """What the venue knows of an order whose post had an unknown outcome; raises if
        the venue cannot be asked (never NOT_FOUND for "could not ask")."""
        ...


class StreamingGateway(VenueGateway, Protocol):
    """A venue that hands out its market and user streams (the in-process simulator)."""

    def market_stream(
        self, asset_ids: Sequence[str]
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]: ...

    def user_stream(self) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]: ...
