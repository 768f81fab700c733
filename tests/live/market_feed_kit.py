"""Shared pieces of the market feed tests: market actors wired to a MarketFeedActor
against the venue server, seeded book activity, and the books-equal-the-venue check."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio

from actors.market import MarketActor
from actors.market_feed import HealthBoard, MarketFeedActor, RestBookSource
from engine.clock import SessionClock
from engine.config import MarketFeedConfig
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketInfo, MarketView
from engine.stats import EngineStats
from engine.units import UNIT, Side
from engine.venue.matching import MarketSpec, OrderRequest
from engine.venue.server.app import VenueServer
from engine.venue.sim import market_info

FAST = MarketFeedConfig(
    ping_s=0.1,
    pong_timeout_s=2.0,
    watchdog_s=1.0,
    backoff_initial_s=0.05,
    backoff_max_s=0.4,
    backoff_jitter=0.2,
    healthy_reset_s=0.3,
    poll_s=0.1,
    connect_timeout_s=5.0,
    seed=3,
)
"""Short intervals for loopback tests on the real clock."""

MAKER = "0x" + "5a" * 20


@dataclass
class Harness:
    """Market actors, their mailboxes and views, and one feed over them."""

    server: VenueServer
    http: httpx.AsyncClient
    feed: MarketFeedActor
    board: HealthBoard
    stats: EngineStats
    actors: dict[str, MarketActor] = field(default_factory=dict)
    views: dict[str, Mailbox[Any]] = field(default_factory=dict)

    def add_market(
        self, info: MarketInfo, capacity: int = 1024, view_every_s: float = 0.5
    ) -> MarketActor:
        box: Mailbox[Any] = Mailbox(f"market:{info.slug}", capacity, Overflow.DROP_AND_RESYNC)
        views: Mailbox[Any] = Mailbox(f"views:{info.slug}", 100_000, Overflow.CONFLATE)
        actor = MarketActor(
            info,
            box,
            [views],
            Mailbox("settled", 64, Overflow.BLOCK),
            RestBookSource(self.http, self.server.urls["clob"]),
            SessionClock(time.time()),
            self.stats,
            view_every_s=view_every_s,
            health_board=self.board,
        )
        self.feed.routes[info.condition_id] = box
        self.actors[info.condition_id] = actor
        self.views[info.condition_id] = views
        return actor

    async def start_markets(self, nursery: trio.Nursery) -> None:
        for actor in self.actors.values():
            await nursery.start(actor.run)

    def subscribe(self, infos: Iterable[MarketInfo]) -> None:
        self.feed.subscribe({t: i.condition_id for i in infos for t in i.token_ids})


def harness(
    server: VenueServer,
    http: httpx.AsyncClient,
    config: MarketFeedConfig = FAST,
    *,
    polling: bool = False,
) -> Harness:
    board = HealthBoard()
    stats = EngineStats()
    books = RestBookSource(http, server.urls["clob"]) if polling else None
    feed = MarketFeedActor(server.urls["ws-market"], {}, stats, config, board=board, books=books)
    return Harness(server, http, feed, board, stats)


def info_of(spec: MarketSpec) -> MarketInfo:
    return market_info(spec)


class Activity:
    """Seeded placements and cancels on both tokens of some markets, straight into the
    venue's engine (no network), so the books keep changing under the feed."""

    def __init__(self, server: VenueServer, specs: list[MarketSpec], seed: int) -> None:
        self.server = server
        self.specs = specs
        self.rng = random.Random(seed)
        self.open: list[str] = []
        self.steps = 0
        server.venue.open_account(MAKER, 1_000_000 * UNIT)

    def step(self) -> None:
        venue = self.server.venue
        now_ms = venue.clock.now_ms()
        if self.open and self.rng.random() < 0.4:
            order_id = self.open.pop(self.rng.randrange(len(self.open)))
            venue.engine.cancel(MAKER, order_id, now_ms=now_ms)
        else:
            spec = self.rng.choice(self.specs)
            request = OrderRequest(
                account=MAKER,
                token_id=self.rng.choice(spec.token_ids),
                side=Side.BUY,
                price=self.rng.randrange(20, 46) * 10_000,  # bids of both tokens never cross
                size=self.rng.randrange(5, 50) * UNIT,
            )
            result = venue.engine.submit(request, now_ms)
            assert result.success, result.error
            self.open.append(result.order_id)
        venue.flush()
        self.steps += 1

    async def run(self, seconds: float, every_s: float = 0.02) -> None:
        end = trio.current_time() + seconds
        while trio.current_time() < end:
            self.step()
            await trio.sleep(every_s)

    async def run_until(self, done: Callable[[], bool], every_s: float = 0.02) -> None:
        """Keep the books moving until `done()` (bound it with the test's fail_after)."""
        while not done():
            self.step()
            await trio.sleep(every_s)


async def books_mismatch(h: Harness, condition_ids: Iterable[str] | None = None) -> list[str]:
    """Assets whose MarketActor book differs from the venue's REST /book right now."""
    wrong = []
    for cid in condition_ids if condition_ids is not None else list(h.actors):
        actor = h.actors[cid]
        for token in actor.info.token_ids:
            venue = await RestBookSource(h.http, h.server.urls["clob"]).get_book(token)
            mine = actor.books[token]
            bids, asks = mine.levels(0, 10_000), mine.levels(1, 10_000)
            if (tuple(bids), tuple(asks)) != (venue.bids, venue.asks):
                wrong.append(token)
    return wrong


async def eventually(check: Callable[[], Any], timeout_s: float, every_s: float = 0.05) -> None:
    """Wait until `check()` (sync or async) is truthy; TooSlowError after `timeout_s`."""
    with trio.fail_after(timeout_s):
        while True:
            result = check()
            if hasattr(result, "__await__"):
                result = await result
            if result:
                return
            await trio.sleep(every_s)


async def converged(h: Harness) -> bool:
    """Every market RUNNING, its actor healthy, and its books equal to the venue's."""
    if not all(a.healthy for a in h.actors.values()):
        return False
    return not await books_mismatch(h)


def drain_views(box: Mailbox[Any]) -> list[MarketView]:
    views = []
    while True:
        try:
            item = box.receive_nowait()
        except trio.WouldBlock:
            return views
        if isinstance(item, MarketView):
            views.append(item)
