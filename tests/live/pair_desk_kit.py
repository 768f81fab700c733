"""A rig for the pair desk's live tests: the venue server (counting requests), the
engine's account with its user channel routing fills and reports through the registry
to the desk, a counterparty account that crosses the desk's orders, and the journal.

Everything shares the venue's session clock; tests run it on MockClock(rate=RATE) so
that liquidation waits (10-20 s in the patient band) pass in a second or two of wall
time while sockets still work.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import trio
from client_live_support import Account, Probe, open_account, quick_config
from venue_client import market, start_server

from actors.pair_desk import PairDesk, desk_mailbox, views_mailbox
from actors.user_channel import UserChannelActor
from actors.user_feed import UserEventRouter
from engine.client.gateway import NetworkGateway
from engine.client.rest import RestClient
from engine.config import PairsConfig, RiskConfig, UserFeedConfig
from engine.journal import Journal
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketInfo, MarketPhase, MarketView, PairFinished, TokenTop
from engine.order_factory import OrderFactory
from engine.registry import OrderRegistry
from engine.risk import RiskGate
from engine.stats import EngineStats
from engine.units import UNIT, OrderType, Side
from engine.venue.matching import MarketSpec
from engine.venue.server.app import VenueServer
from engine.venue.sim import market_info

RATE = 10.0
"""Session seconds per wall second in these tests."""

CHANNEL = UserFeedConfig(ping_s=5.0, watchdog_s=60.0, connect_timeout_s=60.0)
"""Generous in session seconds (RATE times faster than the wall clock)."""


class RestHistory:
    """The user channel's backfill source over the engine's RestClient."""

    def __init__(self, client: RestClient) -> None:
        self.client = client

    async def trades(self, *, after: int | None) -> list[Mapping[str, Any]]:
        return list(await self.client.trades(after=after))


@dataclass
class Rig:
    server: VenueServer
    probe: Probe
    engine: Account
    other: Account
    spec: MarketSpec
    info: MarketInfo
    desk: PairDesk
    journal: Journal
    views: Mailbox[Any]
    out: Mailbox[Any]
    risk: RiskGate
    stats: EngineStats

    def view(self, yes: tuple[str, str], no: tuple[str, str]) -> MarketView:
        """A tradable view with these (best bid, best ask) per outcome."""

        def top(token: str, bid_ask: tuple[str, str]) -> TokenTop:
            bid, ask = (round(float(p) * UNIT) for p in bid_ask)
            return TokenTop(token, bid, 100 * UNIT, ask, 100 * UNIT)

        now = self.server.venue.clock.now_s()
        return MarketView(
            time.perf_counter_ns(), 0, self.info, now, MarketPhase.TRADING, True,
            top(self.info.token_ids[0], yes), top(self.info.token_ids[1], no),
        )  # fmt: skip

    async def cross(
        self, outcome: int, price: str, size: str = "10", order_type: OrderType = OrderType.FAK
    ) -> None:
        """The counterparty BUYs `outcome` at `price`: against the desk's BUY of the other
        outcome at 1 - price this is a mint, which fills the desk's order."""
        order = self.other.order(self.spec, outcome, Side.BUY, price, size, order_type=order_type)
        result = await self.other.client.post_order(order)
        assert result.success, result.error

    def finished(self) -> list[PairFinished]:
        found = []
        while True:
            try:
                message = self.out.receive_nowait()
            except trio.WouldBlock:
                return found
            if isinstance(message, PairFinished):
                found.append(message)

    def journal_lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.journal.path.read_bytes().splitlines()]

    def steps(self, pair_id: str) -> list[str]:
        return [r.step for r in self.desk.audit if r.pair_id == pair_id]


async def until(condition: Callable[[], bool], pause: float = 0.5) -> None:
    """Wait (session time) until `condition` holds; the test's fail_after bounds it."""
    while not condition():
        await trio.sleep(pause)


@asynccontextmanager
async def open_rig(
    nursery: trio.Nursery,
    tmp_path: Path,
    config: PairsConfig,
    *,
    risk: RiskConfig | None = None,
    name: str = "pair-desk",
) -> AsyncIterator[Rig]:
    probe = Probe()
    server = await start_server(nursery, limiter=probe)
    client_config = quick_config(request_timeout_s=60.0, backoff_base_s=0.5, backoff_max_s=5.0)
    engine = await open_account(server, f"{name}-engine", client_config)
    other = await open_account(server, f"{name}-other", client_config)
    async with engine.client, other.client:
        clock = server.venue.clock
        spec = market(server)
        info = market_info(spec)
        markets = {info.condition_id: info}
        registry = OrderRegistry()
        stats = EngineStats()
        portfolio_box: Mailbox[Any] = Mailbox("portfolio", 4096, Overflow.BLOCK)
        router = UserEventRouter(registry, markets, portfolio_box, stats)
        assert engine.client.credentials is not None
        channel = UserChannelActor(
            server.urls["ws-user"],
            engine.client.credentials,
            router,
            RestHistory(engine.client),
            CHANNEL,
            seed=3,
        )
        await nursery.start(channel.run)
        journal = Journal(tmp_path / "state", fsync="never")
        gate = RiskGate(risk or RiskConfig())
        views = views_mailbox()
        out: Mailbox[Any] = Mailbox("pairs-out", 256, Overflow.BLOCK)
        desk = PairDesk(
            desk_mailbox(),
            NetworkGateway(engine.client),
            OrderFactory(engine.signer, engine.client.api_key, clock, seed=5),
            registry,
            journal,
            markets,
            clock,
            config,
            stats,
            trio.Event(),
            seed=7,
            risk=gate,
            initial_cash=await engine.client.balance_allowance("COLLATERAL"),
            views=views,
            out=out,
        )
        await nursery.start(desk.run)
        try:
            yield Rig(
                server, probe, engine, other, spec, info, desk, journal, views, out, gate, stats
            )
        finally:
            journal.close()
