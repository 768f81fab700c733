"""Each spot feed against the local venue server: the prices it reads are the scenario's
spot path the server serves, malformed messages are counted and skipped, and the
Chainlink reference gives the same price to beat the server resolves markets on."""

from __future__ import annotations

import time

import orjson
import trio
from trio_websocket import WebSocketRequest, serve_websocket
from venue_client import start_server

from actors.spot_feed import (
    BinanceSpotFeed,
    ChainlinkReference,
    CoinbaseTickerPoller,
    SpotBoardActor,
    spot_mailbox,
)
from engine.clock import SessionClock
from engine.config import EndpointsConfig, SpotConfig
from engine.health import Health
from engine.mailbox import Mailbox, Overflow, Resync
from engine.messages import SpotReading, SpotSource
from engine.spot import SpotBoard
from engine.venue.server.app import VenueServer

LIMIT_S = 30
CENT = 10_000  # micro-USD in a cent: the server's spot path is in cents
T0 = 1_793_404_800  # a window start (15m and 5m)

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
    backoff_max_s=0.5,
    check_s=0.1,
)


def endpoints(server: VenueServer) -> EndpointsConfig:
    return EndpointsConfig.from_venue_url(server.urls["clob"])


def clock_of(server: VenueServer) -> SessionClock:
    return server.venue.clock


async def readings(box: Mailbox[SpotReading], count: int) -> list[SpotReading]:
    got: list[SpotReading] = []
    while len(got) < count:
        message = await box.receive()
        if not isinstance(message, Resync):
            got.append(message)
    return got


async def test_binance_trades_and_book_tickers_follow_the_servers_spot_path(
    nursery: trio.Nursery, venue_server: VenueServer
) -> None:
    with trio.fail_after(LIMIT_S):
        box = spot_mailbox(capacity=1024)
        feed = BinanceSpotFeed(endpoints(venue_server), FAST, box, clock_of(venue_server), seed=1)
        await nursery.start(feed.run)
        assert feed.connected
        got = await readings(box, 6)
        spot = venue_server.venue.scenario.spot
        trades = [r for r in got if r.kind == "trade"]
        books = [r for r in got if r.kind == "book"]
        assert trades and books
        for r in trades:
            assert r.source_ts_ms is not None
            assert r.price == spot.price_at(r.source_ts_ms // 1000) * CENT
        for r in books:  # mid of bid (spot - 1 cent) and ask (spot + 1 cent) on the server
            second = int(r.received_s)
            assert r.price in {spot.price_at(s) * CENT for s in (second - 1, second, second + 1)}
        assert feed.counters.malformed == 0


async def test_coinbase_ticker_polls_follow_the_spot_path_and_http_errors_back_off(
    nursery: trio.Nursery, venue_server: VenueServer
) -> None:
    with trio.fail_after(LIMIT_S):
        box = spot_mailbox(capacity=1024)
        clock = clock_of(venue_server)
        poller = CoinbaseTickerPoller(endpoints(venue_server), FAST, box, clock, seed=1)
        await nursery.start(poller.run)
        spot = venue_server.venue.scenario.spot
        for r in await readings(box, 4):
            assert (r.source, r.kind) == (SpotSource.COINBASE, "ticker")
            assert r.source_ts_ms is not None
            assert r.price == spot.price_at(r.source_ts_ms // 1000) * CENT
        wrong = FAST.model_copy(update={"coinbase_product": "ETH-USD"})  # the server: 404
        other_box = spot_mailbox()
        failing = CoinbaseTickerPoller(endpoints(venue_server), wrong, other_box, clock, seed=2)
        await nursery.start(failing.run)
        while failing.counters.failures < 3:
            await trio.sleep(0.05)
        assert failing.counters.readings == 0 and len(other_box) == 0


async def test_malformed_frames_are_counted_and_skipped_and_the_feed_reconnects(
    nursery: trio.Nursery,
) -> None:
    """A loopback socket that sends garbage, a good trade and then hangs up."""
    trade = {"e": "trade", "s": "BTCUSDT", "t": 1, "p": "95000.01", "q": "1", "T": 5_000}
    frames = ["not json", '{"e":"trade","s":"BTCUSDT","p":"-3","T":1}', orjson.dumps(trade)]

    async def handler(request: WebSocketRequest) -> None:
        ws = await request.accept()
        for frame in frames:
            await ws.send_message(frame if isinstance(frame, str) else frame.decode())
        await ws.aclose()

    with trio.fail_after(LIMIT_S):
        server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)
        base = f"ws://127.0.0.1:{server.port}"
        box = spot_mailbox(capacity=64)
        clock = SessionClock.starting_at(time.time())
        feed = BinanceSpotFeed(EndpointsConfig(binance=base), FAST, box, clock, seed=3)
        nursery.start_soon(feed.run)
        while feed.counters.connects < 2:
            await trio.sleep(0.02)
        assert feed.counters.malformed >= 2
        [first] = await readings(box, 1)
        assert (first.price, first.source_ts_ms) == (95_000_010_000, 5_000)


async def test_chainlink_price_to_beat_is_the_reference_the_server_resolves_on(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, clock_start=T0 - 1.5, start_ts=T0, windows=1)
        box = spot_mailbox()
        feed = ChainlinkReference(endpoints(server), FAST, box, clock_of(server), seed=1)
        board = SpotBoard.from_config(FAST)
        actor = SpotBoardActor(board, box, [], clock_of(server), FAST.check_s)
        await nursery.start(feed.run)
        nursery.start_soon(actor.run)
        while board.beats.get(T0) is None:
            await trio.sleep(0.05)
        scenario = server.venue.scenario
        opening = [spec for spec in scenario.markets if spec.start_ts == T0]
        assert {spec.slug.split("-")[2] for spec in opening} == {"15m", "5m"}
        for spec in opening:  # Scenario.winner compares against price_at(start_ts)
            assert board.beats.get(T0) == scenario.spot.price_at(spec.start_ts) * CENT
        while feed.counters.pongs < 1:  # text PINGs are answered
            await trio.sleep(0.05)
        view = actor.publish()
        assert view.reference_health is Health.RUNNING and view.beat_for(T0) is not None
        assert view.price is None  # the reference is never the tradable price


async def test_a_reference_joined_after_the_window_start_gets_the_price_from_the_backfill(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, clock_start=T0 + 4.2, start_ts=T0, windows=1)
        box = spot_mailbox()
        board = SpotBoard.from_config(FAST)
        feed = ChainlinkReference(endpoints(server), FAST, box, clock_of(server), seed=1)
        await nursery.start(feed.run)
        board.update_all(await readings(box, 10))  # the subscribe backfill: 10 points
        assert board.beats.get(T0) == server.venue.scenario.spot.price_at(T0) * CENT


async def test_feeds_start_even_when_their_source_refuses_and_keep_retrying(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()  # nothing listens there now: connections are refused
        dead = EndpointsConfig(binance=f"ws://127.0.0.1:{port}", rtds=f"ws://127.0.0.1:{port}")
        clock = SessionClock.starting_at(time.time())
        box: Mailbox[SpotReading] = Mailbox("spot", 8, Overflow.CONFLATE)
        binance = BinanceSpotFeed(dead, FAST, box, clock, seed=1)
        chainlink = ChainlinkReference(dead, FAST, box, clock, seed=1)
        await nursery.start(binance.run)
        await nursery.start(chainlink.run)
        while min(binance.counters.failures, chainlink.counters.failures) < 3:
            await trio.sleep(0.05)
        assert not binance.connected and binance.counters.readings == 0
