"""Feed health reaches the MarketActor and its views at once, and is never lost; REST
keeps books current while the socket is refused; snapshots replace books."""

from __future__ import annotations

import time

import httpx
import trio
from market_feed_kit import (
    Activity,
    books_mismatch,
    converged,
    drain_views,
    eventually,
    harness,
    info_of,
)
from venue_client import market, start_server

from actors.market import MarketActor
from actors.market_feed import HealthBoard, RestBookSource
from engine.clock import SessionClock
from engine.gateway import BookSnapshot
from engine.health import Health
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketDataHealth, MarketFrame, MarketView, PolledBook
from engine.stats import EngineStats
from engine.units import Side
from engine.venue.server.faults import FaultPlan
from engine.venue.wire import PriceChange, market_book_frame, price_change_frame


async def test_books_follow_rest_polling_while_the_server_refuses_websockets() -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            server = await start_server(nursery)
            server.ctx.refuse_websockets = True
            spec = market(server)
            h = harness(server, http, polling=True)
            actor = h.add_market(info_of(spec))
            h.subscribe([actor.info])
            await h.start_markets(nursery)
            await nursery.start(h.feed.run)
            activity = Activity(server, [spec], seed=31)
            for _ in range(3):
                for _ in range(10):
                    activity.step()
                # Current from REST alone, and never tradable on it.
                await eventually(lambda: _no_mismatch(h), 10)
                assert not actor.healthy
                assert h.feed.market_health(spec.condition_id) in (Health.DEGRADED, Health.ERROR)
            assert h.feed.polled_books > 0
            assert h.feed.shards[0].connections == 0
            # Connections keep being refused: ERROR after repeated failures.
            await eventually(lambda: h.feed.market_health(spec.condition_id) is Health.ERROR, 20)
            assert all(not v.healthy for v in drain_views(h.views[spec.condition_id]))

            server.ctx.refuse_websockets = False
            await eventually(lambda: h.feed.market_health(spec.condition_id) is Health.RUNNING, 20)
            for _ in range(10):
                activity.step()
            await eventually(lambda: converged(h), 10)
            nursery.cancel_scope.cancel()


async def _no_mismatch(h: object) -> bool:
    return not await books_mismatch(h)  # type: ignore[arg-type]


async def test_a_view_with_healthy_false_is_published_right_after_the_feed_goes_down() -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            faults = FaultPlan.parse("ws-drop", seed=9).with_faults(drop_after_s=(1.0, 1.0))
            server = await start_server(nursery, faults=faults)
            spec = market(server)
            cid = spec.condition_id
            h = harness(server, http)
            # Timer views every 60 s: only the immediate publish can satisfy this test.
            actor = h.add_market(info_of(spec), view_every_s=60.0)
            h.subscribe([actor.info])
            await h.start_markets(nursery)
            await nursery.start(h.feed.run)
            changes: list[tuple[int, Health]] = []
            board_set = h.board.set

            def recording_set(condition_id: str, health: Health, reason: str) -> int | None:
                seq = board_set(condition_id, health, reason)
                if seq is not None and condition_id == cid:
                    changes.append((time.perf_counter_ns(), health))
                return seq

            h.board.set = recording_set  # type: ignore[method-assign]
            await eventually(lambda: h.board.get(cid)[0] is Health.RUNNING, 10)
            await eventually(lambda: actor.healthy, 10)
            server.ctx.refuse_websockets = True  # the drop at 1 s is not healed
            while h.board.get(cid)[0].tradable:
                await h.board.wait_change(cid, h.board.get(cid)[2])
            running = next(i for i, (_, health) in enumerate(changes) if health.tradable)
            went_down_ns = next(ns for ns, health in changes[running:] if not health.tradable)
            views = h.views[cid]
            seen: list[MarketView] = []
            with trio.fail_after(5):
                while not any(v.ts_ns >= went_down_ns and not v.healthy for v in seen):
                    seen += drain_views(views)
                    await trio.sleep(0.001)
            first = next(v for v in seen if v.ts_ns >= went_down_ns and not v.healthy)
            # Published on the change, not on the (60 s) timer.
            assert first.ts_ns - went_down_ns < 500_000_000

            server.ctx.refuse_websockets = False
            await eventually(lambda: any(v.healthy for v in drain_views(views)), 10)
            assert actor.feed_health is Health.RUNNING
            nursery.cancel_scope.cancel()


class EmptyBooks:
    """A /book source answering empty books, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def get_book(self, token_id: str) -> BookSnapshot:
        self.calls += 1
        return BookSnapshot(token_id, (), ())


def offline_actor(board: HealthBoard, capacity: int = 4) -> tuple[MarketActor, EmptyBooks]:
    from venue_client import listed_market

    from engine.venue.sim import market_info

    info = market_info(listed_market(1))
    source = EmptyBooks()
    actor = MarketActor(
        info,
        Mailbox("m", capacity, Overflow.DROP_AND_RESYNC),
        [Mailbox("views", 10_000, Overflow.CONFLATE)],
        Mailbox("settled", 8, Overflow.BLOCK),
        source,
        SessionClock(time.time()),
        EngineStats(),
        view_every_s=60.0,
        health_board=board,
    )
    return actor, source


def book(actor: MarketActor, bids: list[tuple[int, int]]) -> MarketFrame:
    cid, token = actor.info.condition_id, actor.info.token_ids[0]
    return MarketFrame(time.perf_counter_ns(), market_book_frame(cid, token, bids, [], 1))


async def test_a_health_message_lost_to_overflow_is_recovered_from_the_board() -> None:
    with trio.fail_after(10):
        board = HealthBoard()
        actor, _ = offline_actor(board)
        cid = actor.info.condition_id
        board.set(cid, Health.DEGRADED, "down")
        async with trio.open_nursery() as nursery:
            await nursery.start(actor.run)
            await trio.sleep(0.01)
            assert not actor.healthy
            seq = board.set(cid, Health.RUNNING, "receiving")
            assert seq is not None
            actor.mailbox.send_nowait(
                MarketDataHealth(time.perf_counter_ns(), cid, Health.RUNNING, "receiving", seq)
            )
            for price in range(10):  # overflow: the health message goes with the backlog
                actor.mailbox.send_nowait(book(actor, [((price + 10) * 10_000, 5_000_000)]))
            assert actor.mailbox.dropped > 0
            await eventually(lambda: actor.healthy, 5, every_s=0.005)
            nursery.cancel_scope.cancel()


async def test_a_stale_running_message_does_not_make_the_market_healthy() -> None:
    with trio.fail_after(10):
        board = HealthBoard()
        actor, _ = offline_actor(board, capacity=64)
        cid = actor.info.condition_id
        seq = board.set(cid, Health.RUNNING, "receiving")
        assert seq is not None
        async with trio.open_nursery() as nursery:
            await nursery.start(actor.run)
            await eventually(lambda: actor.healthy, 5, every_s=0.005)
            board.set(cid, Health.DEGRADED, "dropped")
            await eventually(lambda: not actor.healthy, 1, every_s=0.001)
            # The RUNNING message of the earlier connection arrives late: ignored.
            actor.mailbox.send_nowait(
                MarketDataHealth(time.perf_counter_ns(), cid, Health.RUNNING, "old", seq)
            )
            await trio.sleep(0.05)
            assert not actor.healthy
            nursery.cancel_scope.cancel()


async def test_a_snapshot_replaces_the_book_and_never_merges() -> None:
    with trio.fail_after(10):
        actor, _ = offline_actor(HealthBoard())
        token = actor.info.token_ids[0]
        actor.apply(book(actor, [(400_000, 10_000_000), (410_000, 20_000_000)]).raw)
        assert actor.books[token].levels(0, 10) == [(410_000, 20_000_000), (400_000, 10_000_000)]
        actor.apply(book(actor, [(300_000, 7_000_000)]).raw)
        assert actor.books[token].levels(0, 10) == [(300_000, 7_000_000)]
        # A REST snapshot polled while the socket is down replaces it too.
        polled = BookSnapshot(token, ((200_000, 1_000_000),), ((900_000, 2_000_000),))
        actor._on_polled(PolledBook(0, actor.info.condition_id, polled))
        assert actor.books[token].levels(0, 10) == [(200_000, 1_000_000)]
        assert actor.books[token].levels(1, 10) == [(900_000, 2_000_000)]


async def test_an_integrity_mismatch_resyncs_from_rest_book() -> None:
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            server = await start_server(nursery)
            spec = market(server)
            h = harness(server, http)
            actor = h.add_market(info_of(spec))
            board = h.board
            board.set(spec.condition_id, Health.RUNNING, "test")
            assert isinstance(actor.gateway, RestBookSource)
            await h.start_markets(nursery)
            activity = Activity(server, [spec], seed=41)
            for _ in range(15):
                activity.step()  # the venue moves on; the actor hears nothing of it
            assert await books_mismatch(h)
            token = spec.token_ids[0]
            bid, ask = server.venue.engine.best_bid_ask(token)
            wrong = PriceChange(token, Side.BUY, 100_000, 1_000_000, "h", bid, ask)
            frame = price_change_frame(spec.condition_id, [wrong], 1)
            actor.mailbox.send_nowait(MarketFrame(time.perf_counter_ns(), frame))
            await eventually(lambda: h.stats.integrity_resyncs == 1, 10)
            await eventually(lambda: _no_mismatch(h), 10)
            nursery.cancel_scope.cancel()
