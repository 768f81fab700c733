"""A desk for the user-channel tests: the engine's account and a counterparty on a venue
server, the UserChannelActor and portfolio of the engine's account, and what the venue
itself says (REST trades and balance) to compare with.

The engine's orders are registered before they are sent (their id is the EIP-712 digest,
known in advance), as OrderActor does, so no event can race the registration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio
from venue_client import Client, market, new_client

from actors.portfolio import PortfolioActor
from actors.user_channel import UserChannelActor
from actors.user_feed import UserEventRouter
from engine.config import UserFeedConfig
from engine.credentials import ApiCredentials
from engine.gateway import OrderSpec
from engine.health import Health
from engine.ledger import Ledger
from engine.mailbox import Mailbox, Overflow
from engine.messages import CashUpdate, MarketInfo, OrderReport, PositionUpdate
from engine.registry import OrderMeta, OrderRegistry
from engine.stats import EngineStats
from engine.units import OrderType, Side, parse_units
from engine.venue.server.app import VenueServer
from engine.venue.server.orders import parse_order_body
from engine.venue.server.signing import order_digest, order_domain
from engine.venue.sim import market_info

FAST = UserFeedConfig(
    ping_s=0.2,
    watchdog_s=1.5,
    connect_timeout_s=5.0,
    backoff_initial_s=0.3,
    backoff_max_s=0.6,
    backfill_lookback_s=5,
)
"""Short intervals for loopback tests on the real clock; a reconnect gap of >= 0.24 s
(0.3 s less 20% jitter) always spans some trades of a trading loop."""

STRATEGY = "s"


def order_id_of(body: Mapping[str, Any]) -> str:
    """The venue's id of an order body (its EIP-712 digest), before it is posted."""
    signed = parse_order_body(body)
    digest = order_digest(signed.struct, order_domain(signed.struct.token_id, False))
    return "0x" + digest.hex()


def credentials_of(client: Client) -> ApiCredentials:
    assert client.creds is not None
    return ApiCredentials(
        address=client.address,
        api_key=client.creds.key,
        secret=client.creds.secret,
        passphrase=client.creds.passphrase,
    )


class RestTradeHistory:
    """TradeHistory over GET /data/trades with L2 headers, every page until "LTE="."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls = 0

    async def trades(self, *, after: int | None) -> list[Mapping[str, Any]]:
        self.calls += 1
        rows: list[Mapping[str, Any]] = []
        cursor = ""
        while True:
            params = {"after": str(after)} if after is not None else {}
            if cursor:
                params["next_cursor"] = cursor
            response = await self.client.call("GET", "/data/trades", params=params)
            if response.status_code != 200:
                raise RuntimeError(f"/data/trades answered {response.status_code}")
            body = response.json()
            rows.extend(body["data"])
            cursor = body["next_cursor"]
            if cursor == "LTE=":
                return rows


@dataclass
class Desk:
    server: VenueServer
    engine: Client
    other: Client
    info: MarketInfo
    ledger: Ledger
    registry: OrderRegistry
    router: UserEventRouter
    actor: UserChannelActor
    history: RestTradeHistory
    strategy_box: Mailbox[Any]
    cash_box: Mailbox[Any]
    order_boxes: dict[str, Mailbox[Any]] = field(default_factory=dict)

    @property
    def up(self) -> str:
        return self.info.token_ids[0]

    @property
    def down(self) -> str:
        return self.info.token_ids[1]

    async def send(
        self, token: str, side: str, price: str, size: str, order_type: str = "GTC"
    ) -> str:
        """An engine order, registered before it is posted; returns its id."""
        body = self.engine.order(token, side, price, size, order_type=order_type)
        order_id = order_id_of(body)
        spec = OrderSpec(
            order_id, token, Side.parse(side), parse_units(price), parse_units(size),
            OrderType(order_type), False, b"",
        )  # fmt: skip
        box: Mailbox[Any] = Mailbox(f"order:{order_id[:10]}", 1024, Overflow.DROP_AND_RESYNC)
        self.order_boxes[order_id] = box
        self.registry.register(OrderMeta(spec, STRATEGY, self.info.condition_id, "k"), box)
        response = await self.engine.call("POST", "/order", body)
        assert response.status_code == 200 and response.json()["success"], response.text
        return order_id

    async def counterparty(
        self, token: str, side: str, price: str, size: str, order_type: str = "GTC"
    ) -> None:
        response = await self.other.place(token, side, price, size, order_type=order_type)
        assert response.status_code == 200 and response.json()["success"], response.text

    async def trade_round(self, cents: int) -> None:
        """One maker fill and one taker fill of the engine (10 shares each), both mints:
        a BUY of Up at p crosses a BUY of Down at 1 - p."""
        bid, cross = f"0.{cents:02d}", f"0.{100 - cents:02d}"
        await self.send(self.up, "BUY", bid, "10")
        await self.counterparty(self.down, "BUY", cross, "10", "FAK")
        await self.counterparty(self.up, "BUY", bid, "10")
        await self.send(self.down, "BUY", cross, "10", "FAK")

    async def venue_trades(self) -> list[dict[str, Any]]:
        return [dict(t) for t in await RestTradeHistory(self.engine).trades(after=None)]

    async def venue_cash(self) -> int:
        params = {"asset_type": "COLLATERAL"}
        response = await self.engine.call("GET", "/balance-allowance", params=params)
        return int(response.json()["balance"])

    def booked(self) -> dict[tuple[str, str], int]:
        """The ledger's fills: (fill id, order id) -> size."""
        return {(f.trade_id, f.order_id): f.size for f in self.ledger.fills}

    def expected(self, trades: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
        """The fills the venue's trades imply for the engine's account, derived from the
        venue's own roles and addresses (not from the engine's registry)."""
        fills: dict[tuple[str, str], int] = {}
        me = self.engine.address.lower()
        for trade in trades:
            if trade["status"] == "FAILED":
                continue
            for index, leg in enumerate(trade["maker_orders"]):
                size = parse_units(leg["matched_amount"])
                if trade["trader_side"] == "TAKER":
                    fills[(f"{trade['id']}#{index}", trade["taker_order_id"])] = size
                elif leg["maker_address"].lower() == me:
                    fills[(trade["id"], leg["order_id"])] = size
        return fills

    async def converge(self, timeout: float) -> list[dict[str, Any]]:
        """Wait (at most `timeout`) until every venue trade is final, the channel is
        RUNNING and the ledger holds exactly the fills the venue implies; returns the
        venue's trades either way, for the test to compare."""
        with trio.move_on_after(timeout):
            while True:
                trades = await self.venue_trades()
                final = all(t["status"] in ("CONFIRMED", "FAILED") for t in trades)
                if (
                    final
                    and self.actor.health is Health.RUNNING
                    and self.booked() == self.expected(trades)
                    and len(self.ledger.confirmed) == len(self.ledger.fills)
                ):
                    await trio.sleep(0.3)  # anything still in flight would show now
                    break
                await trio.sleep(0.05)
        return await self.venue_trades()

    def last(self, box: Mailbox[Any]) -> Any:
        latest = None
        while True:
            try:
                latest = box.receive_nowait()
            except trio.WouldBlock:
                return latest

    def reports(self) -> list[OrderReport]:
        found = []
        for box in self.order_boxes.values():
            while True:
                try:
                    message = box.receive_nowait()
                except trio.WouldBlock:
                    break
                if isinstance(message, OrderReport):
                    found.append(message)
        return found


async def open_desk(
    nursery: trio.Nursery,
    server: VenueServer,
    http: httpx.AsyncClient,
    config: UserFeedConfig = FAST,
    *,
    seed: int = 0,
) -> Desk:
    """Two funded accounts, the engine's portfolio and its user channel, RUNNING."""
    engine = await new_client(http, f"user-channel-engine-{seed}")
    other = await new_client(http, f"user-channel-other-{seed}")
    info = market_info(market(server))
    markets = {info.condition_id: info}
    registry = OrderRegistry()
    portfolio_box: Mailbox[Any] = Mailbox("portfolio", 4096, Overflow.BLOCK)
    strategy_box: Mailbox[Any] = Mailbox("strategy", 64, Overflow.DROP_AND_RESYNC)
    cash_box: Mailbox[Any] = Mailbox("cash", 64, Overflow.DROP_AND_RESYNC)
    router = UserEventRouter(registry, markets, portfolio_box, EngineStats())
    history = RestTradeHistory(engine)
    actor = UserChannelActor(
        server.urls["ws-user"], credentials_of(engine), router, history, config, seed=seed
    )
    desk = Desk(
        server, engine, other, info, Ledger(0), registry, router, actor, history,
        strategy_box, cash_box,
    )  # fmt: skip
    desk.ledger = Ledger(initial_cash=await desk.venue_cash())
    portfolio = PortfolioActor(
        desk.ledger, portfolio_box, markets, {STRATEGY: strategy_box}, cash_box
    )
    nursery.start_soon(portfolio.run)
    await nursery.start(actor.run)
    return desk


def positions_and_cash(desk: Desk) -> tuple[PositionUpdate | None, CashUpdate | None]:
    """The last position and cash the portfolio published."""
    return desk.last(desk.strategy_box), desk.last(desk.cash_box)
