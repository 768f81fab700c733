"""What the engine needs from a venue, whichever venue it is.

The paper session's in-process simulated venue implements it now; the REST and
WebSocket client against the local venue server and production implements the same
protocol later, so the actors do not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import trio

from engine.messages import MarketInfo
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


class VenueGateway(Protocol):
    account: str

    async def list_markets(self) -> list[MarketInfo]: ...

    async def post_order(self, order: OrderSpec) -> PostResult: ...

    async def cancel_order(self, order_id: str) -> bool: ...

    async def cancel_all(self) -> list[str]: ...

    async def get_book(self, token_id: str) -> BookSnapshot: ...

    async def collateral_balance(self) -> int: ...

    def market_stream(
        self, asset_ids: Sequence[str]
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]: ...

    def user_stream(self) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]: ...
