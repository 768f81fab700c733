"""The market feed recovers from the venue's socket faults with books equal to the venue's.

Real sockets on loopback, the real clock, short intervals. Book activity keeps running
through the faults (placements and cancels straight into the venue); after it stops,
every MarketActor's books must equal REST /book of every asset, and the market healthy.
The feed here has no REST polling, so recovery comes from resubscribing alone.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trio
from market_feed_kit import FAST, Activity, books_mismatch, converged, eventually, harness
from market_feed_kit import info_of as _info
from venue_client import listed_market, market, start_server

from engine.fees import FeeSchedule
from engine.health import Health
from engine.messages import MarketInfo
from engine.units import UNIT
from engine.venue.matching import MarketStatus
from engine.venue.server.faults import FaultPlan
from engine.venue.server.replay import load_recording

RECORDING = Path(
    "/work/shared/data/adriancova__polymarket-bot-v2/tools/bench/host/tests/fixtures/"
    "market-ws-frames-h1-run-8.jsonl"
)


async def test_books_equal_the_venue_after_the_socket_is_cut_mid_stream() -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            faults = FaultPlan.parse("ws-drop", seed=5).with_faults(drop_after_s=(0.4, 0.8))
            server = await start_server(nursery, faults=faults)
            second = listed_market(2)
            server.venue.list_market(second, MarketStatus.OPEN)
            specs = [market(server), second]
            h = harness(server, http)
            for spec in specs:
                h.add_market(_info(spec))
            h.subscribe(a.info for a in h.actors.values())
            await h.start_markets(nursery)
            await nursery.start(h.feed.run)
            activity = Activity(server, specs, seed=11)
            shard = h.feed.shards[0]
            # Books keep moving through at least three cuts (and the reconnects after).
            await activity.run_until(lambda: shard.connections >= 4)
            await eventually(lambda: converged(h), 20)
            assert h.feed.watchdog_trips == 0
            nursery.cancel_scope.cancel()


async def test_silent_freeze_is_detected_while_pongs_still_arrive_and_books_recover() -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            faults = FaultPlan.parse("silent-freeze", seed=5).with_faults(freeze_after_s=(0.5, 0.8))
            server = await start_server(nursery, faults=faults)
            spec = market(server)
            # PONGs are due every 0.1 s and allowed 2 s; data is allowed 0.6 s.
            h = harness(server, http, FAST.model_copy(update={"watchdog_s": 0.6}))
            h.add_market(_info(spec))
            h.subscribe(a.info for a in h.actors.values())
            await h.start_markets(nursery)
            await nursery.start(h.feed.run)
            activity = Activity(server, [spec], seed=12)
            await activity.run_until(lambda: h.feed.watchdog_trips >= 2)
            assert h.feed.dead_sockets == 0, "PONGs kept arriving: no socket was dead"
            assert h.feed.shards[0].connections >= 2
            await eventually(lambda: converged(h), 20)
            nursery.cancel_scope.cancel()


async def test_recorded_venue_frames_replayed_give_the_venue_books() -> None:
    frames = load_recording(RECORDING)
    assert len(frames) > 20
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            server = await start_server(nursery)
            # The first frame (the initial book array) makes the server know the books,
            # so /book answers the actor's first snapshot; the rest go over the socket.
            await server.replay(frames[:1])
            info = _recorded_market(frames[0].events)
            h = harness(server, http)
            actor = h.add_market(info)
            h.subscribe([info])
            await h.start_markets(nursery)
            await nursery.start(h.feed.run)
            await eventually(lambda: actor.healthy, 10)
            before = h.stats.frames
            assert await server.replay(frames[1:]) == len(frames) - 1
            await eventually(lambda: h.stats.frames - before >= len(frames) - 1, 10)
            await eventually(lambda: actor.mailbox.received >= actor.mailbox.sent, 10)
            assert await books_mismatch(h) == []
            assert h.stats.malformed_frames == 0
            assert h.stats.integrity_resyncs == 0, "the venue's best bid/ask agreed throughout"
            nursery.cancel_scope.cancel()


async def test_malformed_frames_are_counted_and_skipped_and_the_feed_carries_on() -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            server = await start_server(nursery)
            spec = market(server)
            h = harness(server, http)
            actor = h.add_market(_info(spec))
            h.subscribe([actor.info])
            await h.start_markets(nursery)
            await nursery.start(h.feed.run)
            await eventually(lambda: actor.healthy, 10)
            activity = Activity(server, [spec], seed=13)
            for garbage in (
                b'{"event_type": "book", "market": ',
                b"[1, 2",
                b'{"price_changes": 7}',
            ):
                server.venue.publish_market_frame(garbage, spec.token_ids)
                activity.step()
            await eventually(lambda: h.stats.malformed_frames == 3, 10)
            await eventually(lambda: converged(h), 10)
            assert h.feed.market_health(spec.condition_id) is Health.RUNNING
            assert h.feed.shards[0].connections == 1, "a bad frame is no reason to reconnect"
            nursery.cancel_scope.cancel()


def _recorded_market(events: tuple[dict[str, object], ...]) -> MarketInfo:
    tokens = tuple(dict.fromkeys(str(e["asset_id"]) for e in events))
    assert len(tokens) == 2
    cid = str(events[0]["market"])
    return MarketInfo(
        cid, "recorded", (tokens[0], tokens[1]), ("Up", "Down"), 10_000, 5 * UNIT,
        FeeSchedule(), 0, 2_000_000_000,
    )  # fmt: skip
