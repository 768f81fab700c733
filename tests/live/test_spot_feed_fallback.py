"""The spot board against the venue server's feeds: Binance first, Coinbase when Binance
is gone (DEGRADED), nothing when both are (ERROR); the LatencySniper, fed through its
StrategyActor and conflating mailbox, takes only while the board is RUNNING."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio
from venue_client import start_server

from actors.spot_feed import (
    BinanceSpotFeed,
    ChainlinkReference,
    CoinbaseTickerPoller,
    SpotBoardActor,
    spot_mailbox,
)
from actors.strategy import StrategyActor, strategy_mailbox_key
from engine.config import EndpointsConfig, LatencyConfig, SpotConfig
from engine.health import Health
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketPhase, MarketView, SpotSource, TakeOrders, TokenTop
from engine.spot import SpotBoard
from engine.stats import EngineStats
from engine.strategies.latency import LatencySniper
from engine.venue.server.app import VenueServer
from engine.venue.sim import market_info

LIMIT_S = 60
T0 = 1_793_404_800

FAST = SpotConfig(
    binance_max_age_s=1.5,
    coinbase_max_age_s=1.0,
    chainlink_max_age_s=1.5,
    error_after=2,
    poll_s=0.2,
    ping_s=0.3,
    idle_timeout_s=3.0,
    request_timeout_s=2.0,
    backoff_initial_s=0.05,
    backoff_max_s=0.3,
    check_s=0.1,
)
SNIPER = LatencyConfig(enabled=True, cooldown_s=0, max_spot_age_s=1.5)


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await trio.sleep(0.02)


def mispriced_view(server: VenueServer) -> MarketView:
    """The opening 15m window with both asks at 0.30: one side is always a take while
    spot sits near the price to beat (P(Up) near 0.5)."""
    spec = next(s for s in server.venue.scenario.markets if s.slug.endswith(f"15m-{T0}"))
    info = market_info(spec)
    return MarketView(
        ts_ns=1,
        frame_ts_ns=1,
        market=info,
        now_s=server.venue.clock.now_s(),
        phase=MarketPhase.TRADING,
        healthy=True,
        yes=TokenTop(info.token_ids[0], None, 0, 300_000, 100_000_000),
        no=TokenTop(info.token_ids[1], None, 0, 300_000, 100_000_000),
    )


def drain(box: Mailbox[Any]) -> list[Any]:
    out = []
    while True:
        try:
            out.append(box.receive_nowait())
        except trio.WouldBlock:
            return out


async def test_board_falls_back_to_coinbase_then_to_nothing_and_the_sniper_stops(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, clock_start=T0 - 1.5, start_ts=T0, windows=1)
        urls = EndpointsConfig.from_venue_url(server.urls["clob"])
        clock = server.venue.clock
        readings = spot_mailbox()
        strategy_box: Mailbox[Any] = Mailbox(
            "strategy", 64, Overflow.CONFLATE, strategy_mailbox_key
        )
        intents: Mailbox[Any] = Mailbox("intents", 1024, Overflow.BLOCK)
        sniper = LatencySniper(SNIPER)
        actor = StrategyActor(sniper, strategy_box, intents, trio.Event(), EngineStats())
        board = SpotBoard.from_config(FAST)
        nursery.start_soon(actor.run)
        nursery.start_soon(SpotBoardActor(board, readings, [strategy_box], clock, FAST.check_s).run)
        await nursery.start(ChainlinkReference(urls, FAST, readings, clock, seed=1).run)
        binance_scope, coinbase_scope = trio.CancelScope(), trio.CancelScope()

        async def run_in(scope: trio.CancelScope, feed: Any) -> None:
            with scope:
                await feed.run()

        nursery.start_soon(run_in, binance_scope, BinanceSpotFeed(urls, FAST, readings, clock))
        nursery.start_soon(
            run_in, coinbase_scope, CoinbaseTickerPoller(urls, FAST, readings, clock)
        )

        # All up: Binance priced, RUNNING, and a mispriced book is taken.
        await until(lambda: sniper.spot is not None and sniper.spot.health is Health.RUNNING)
        await until(lambda: sniper.spot is not None and sniper.spot.beat_for(T0) is not None)
        assert sniper.spot is not None and sniper.spot.source is SpotSource.BINANCE
        strategy_box.send_nowait(mispriced_view(server))
        await until(lambda: len(intents) > 0)
        take = drain(intents)[0]
        assert isinstance(take, TakeOrders) and take.strategy == "latency"

        # Binance killed mid-stream: the board falls back to Coinbase, DEGRADED; no takes.
        binance_scope.cancel()
        await until(lambda: sniper.spot is not None and sniper.spot.health is Health.DEGRADED)
        assert sniper.spot is not None and sniper.spot.source is SpotSource.COINBASE
        assert sniper.spot.price is not None
        drain(intents)  # takes decided while Binance was still fresh
        strategy_box.send_nowait(mispriced_view(server))
        await trio.sleep(1.0)
        assert drain(intents) == []

        # Coinbase gone too: no price at all, ERROR; still no takes.
        coinbase_scope.cancel()
        await until(lambda: sniper.spot is not None and sniper.spot.health is Health.ERROR)
        assert sniper.spot is not None and sniper.spot.price is None
        strategy_box.send_nowait(mispriced_view(server))
        await trio.sleep(1.0)
        assert drain(intents) == []
        assert board.view(clock.now_s(), 0).health is Health.ERROR


async def test_a_refused_binance_socket_leaves_the_board_on_coinbase_degraded(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()  # connections to this port are refused
        urls = EndpointsConfig.from_venue_url(server.urls["clob"]).model_copy(
            update={"binance": f"ws://127.0.0.1:{port}"}
        )
        clock = server.venue.clock
        readings = spot_mailbox()
        out: Mailbox[Any] = Mailbox("strategy", 64, Overflow.CONFLATE, strategy_mailbox_key)
        board = SpotBoard.from_config(FAST)
        publisher = SpotBoardActor(board, readings, [out], clock, FAST.check_s)
        binance = BinanceSpotFeed(urls, FAST, readings, clock, seed=5)
        nursery.start_soon(publisher.run)
        await nursery.start(binance.run)
        await nursery.start(CoinbaseTickerPoller(urls, FAST, readings, clock).run)
        await until(lambda: publisher.last is not None and publisher.last.price is not None)
        view = publisher.last
        assert view is not None
        assert (view.source, view.health) == (SpotSource.COINBASE, Health.DEGRADED)
        spot = server.venue.scenario.spot
        assert view.price_s is not None
        second = int(view.price_s)  # the ticker is the spot at the second it was served
        assert view.price in {spot.price_at(s) * 10_000 for s in (second - 1, second)}
        await until(lambda: binance.counters.failures >= 3)
        assert binance.counters.readings == 0
        # Never a reading: after its grace the source itself is ERROR, not STARTING.
        await until(lambda: dict(publisher.publish().sources)[SpotSource.BINANCE] is Health.ERROR)
        # The strategy mailbox holds only the newest spot view (conflated per symbol).
        assert len(out) == 1
