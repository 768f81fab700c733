"""The REST half of the engine's VenueGateway, over the network (a RestClient).

`NetworkGateway` does orders, cancels, books and balances; the market and user streams
are WebSocket actors of their own, which the session composes with it into the full
VenueGateway. It keeps the actors' contract: a PostResult with success False means
the order is NOT on the book (refused by the venue, or refused before processing and
out of retries), and SubmitUnknown means it may be (the OrderActor then resolves it by
id and counts it against risk until it knows).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.client.errors import RateLimited, TransportError, VenueRestarting
from engine.client.rest import RestClient
from engine.gateway import BookSnapshot, OrderSpec, PostResult, Resolution


class NetworkGateway:
    """post_order, cancel_order, cancel_all, get_book and collateral_balance of
    VenueGateway; `account` is the wallet address of the client's credentials."""

    def __init__(self, client: RestClient) -> None:
        self.client = client
        self.account = client.address

    async def post_order(self, order: OrderSpec) -> PostResult:
        """Raises SubmitUnknown when the outcome is unknown; never re-sends then."""
        try:
            return await self.client.post_order(order)
        except (RateLimited, VenueRestarting) as exc:
            return PostResult(False, f"{exc.status} {exc.text}", order.order_id, "")
        except TransportError as exc:
            if exc.sent:  # the client turns these into SubmitUnknown; kept for safety
                raise
            return PostResult(False, f"not sent: {exc.text}", order.order_id, "")

    async def post_orders(self, orders: Sequence[OrderSpec]) -> list[PostResult]:
        """One POST /orders for 1 to 15 orders, a PostResult per order in order; the
        same contract as post_order (SubmitUnknown names every order of the batch)."""
        try:
            return await self.client.post_orders(orders)
        except (RateLimited, VenueRestarting) as exc:
            return [PostResult(False, f"{exc.status} {exc.text}", o.order_id, "") for o in orders]
        except TransportError as exc:
            if exc.sent:
                raise
            return [PostResult(False, f"not sent: {exc.text}", o.order_id, "") for o in orders]

    async def cancel_order(self, order_id: str) -> bool:
        return await self.client.cancel_order(order_id)

    async def cancel_all(self) -> list[str]:
        return await self.client.cancel_all()

    async def get_book(self, token_id: str) -> BookSnapshot:
        return await self.client.get_book(token_id)

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution:
        return await self.client.resolve_unknown(order_id, market)

    async def collateral_balance(self) -> int:
        """Micro-USDC held (the venue's balance, open orders included)."""
        return await self.client.balance_allowance("COLLATERAL")
