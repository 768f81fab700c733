"""Sharding and runtime subscriptions, checked on the venue server's side of the sockets."""

from __future__ import annotations

import httpx
import trio
from market_feed_kit import FAST, Activity, converged, eventually, harness, info_of
from venue_client import listed_market, market, start_server

from engine.health import Health
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketFrame
from engine.venue.matching import MarketStatus
from engine.venue.server.app import VenueServer


def subscriber_sizes(server: VenueServer) -> list[int]:
    """Assets held by each market-channel socket the server has open."""
    return sorted(len(sub.assets) for sub in server.venue._market_subs)


async def test_450_assets_go_over_3_connections_of_at_most_200() -> None:
    with trio.fail_after(90):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            server = await start_server(nursery)
            specs = [market(server)]
            for seed in range(2, 226):
                spec = listed_market(seed)
                server.venue.list_market(spec, MarketStatus.OPEN)
                specs.append(spec)
            h = harness(server, http)
            routes = h.feed.routes
            for spec in specs:
                routes[spec.condition_id] = Mailbox(spec.slug, 64, Overflow.DROP_AND_RESYNC)
            h.subscribe(info_of(s) for s in specs)
            assert h.feed.connections == 3
            await nursery.start(h.feed.run)
            await eventually(lambda: subscriber_sizes(server) == [50, 200, 200], 20)
            await eventually(
                lambda: all(h.feed.market_health(s.condition_id) is Health.RUNNING for s in specs),
                20,
            )
            for spec in specs:  # every market was routed a snapshot frame naming it
                box = routes[spec.condition_id]
                frames = [m for m in (box.receive_nowait() for _ in range(len(box)))]
                books = [m for m in frames if isinstance(m, MarketFrame)]
                assert books and all(spec.condition_id.encode() in m.raw for m in books)
            # Each connection keeps a market's two tokens together.
            for shard in h.feed.shards:
                markets = {h.feed.market_of[a] for a in shard.assets}
                assert len(shard.assets) == 2 * len(markets)
            nursery.cancel_scope.cancel()


async def test_markets_subscribed_and_unsubscribed_at_runtime() -> None:
    config = FAST.model_copy(update={"max_assets_per_connection": 4, "watchdog_s": 30.0})
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
            server = await start_server(nursery)
            a, b, c = market(server), listed_market(2), listed_market(3)
            for spec in (b, c):
                server.venue.list_market(spec, MarketStatus.OPEN)
            h = harness(server, http, config)
            actor_a = h.add_market(info_of(a))
            h.subscribe([actor_a.info])
            await h.start_markets(nursery)
            await nursery.start(h.feed.run)
            await eventually(lambda: actor_a.healthy, 10)
            activity = Activity(server, [a, b, c], seed=21)
            for _ in range(20):
                activity.step()

            # B fits on the live connection: an `operation` message, no new socket.
            actor_b = h.add_market(info_of(b))
            await nursery.start(actor_b.run)
            h.subscribe([actor_b.info])
            await eventually(lambda: subscriber_sizes(server) == [4], 10)
            await eventually(lambda: converged(h), 10)
            assert h.feed.shards[0].connections == 1

            # C does not fit (4 per connection): a second connection opens for it.
            actor_c = h.add_market(info_of(c))
            await nursery.start(actor_c.run)
            h.subscribe([actor_c.info])
            assert h.feed.connections == 2
            await eventually(lambda: subscriber_sizes(server) == [2, 4], 10)
            for _ in range(20):
                activity.step()
            await eventually(lambda: converged(h), 10)

            # A goes: unsubscribed on the venue, STOPPED, its actor unhealthy, no more data.
            h.feed.unsubscribe(actor_a.info.token_ids)
            await eventually(lambda: subscriber_sizes(server) == [2, 2], 10)
            assert h.feed.market_health(a.condition_id) is Health.STOPPED
            await eventually(lambda: not actor_a.healthy, 5)
            frames_a = actor_a.mailbox.sent
            for _ in range(20):
                activity.step()
            del h.actors[a.condition_id]
            await eventually(lambda: converged(h), 10)
            assert actor_a.mailbox.sent == frames_a

            # C's connection holds nothing more once C goes: it closes.
            h.feed.unsubscribe(actor_c.info.token_ids)
            assert h.feed.connections == 1
            await eventually(lambda: subscriber_sizes(server) == [2], 10)
            nursery.cancel_scope.cancel()
