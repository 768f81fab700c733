"""The heartbeat actor against the venue's dead-man switch (shortened to 1 s)."""

from __future__ import annotations

import logging

import pytest
import trio
from client_live_support import Probe, open_account, quick_config
from venue_client import market, start_server

from engine.client.heartbeat import HeartbeatActor
from engine.client.rest import RestClient
from engine.config import ClientConfig
from engine.health import Health
from engine.units import Side
from engine.venue.server.app import VenueServer

TIMEOUT_S = 1.0
HEARTBEATS = ("POST", "/v1/heartbeats")


async def venue(nursery: trio.Nursery, probe: Probe) -> VenueServer:
    return await start_server(nursery, heartbeat_timeout_s=TIMEOUT_S, limiter=probe)


def config() -> ClientConfig:
    return quick_config(heartbeat_interval_s=0.2, heartbeat_timeout_s=TIMEOUT_S)


async def wait_until_no_open_orders(client: RestClient, bound_s: float) -> None:
    with trio.fail_after(bound_s):
        while await client.open_orders():
            await trio.sleep(0.1)


async def test_heartbeats_keep_orders_alive_past_the_venues_timeout(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(30):
        probe = Probe()
        server = await venue(nursery, probe)
        account = await open_account(server, "client-beating", config())
        async with account.client:
            actor = HeartbeatActor(account.client)
            assert actor.health is Health.STARTING
            await nursery.start(actor.run)  # ready: the switch is armed
            assert actor.health is Health.RUNNING
            order = account.order(market(server), 0, Side.BUY, "0.40", "5")
            assert (await account.client.post_order(order)).success
            await trio.sleep(3 * TIMEOUT_S)  # three venue timeouts
            assert [o["id"] for o in await account.client.open_orders()] == [order.order_id]
            assert not actor.lost and actor.failures == 0
            assert probe.seen[HEARTBEATS] >= 5


async def test_a_stopped_actor_lets_the_venue_cancel_every_order(nursery: trio.Nursery) -> None:
    with trio.fail_after(30):
        probe = Probe()
        server = await venue(nursery, probe)
        account = await open_account(server, "client-stopping", config())
        async with account.client:
            spec = market(server)
            actor = HeartbeatActor(account.client)
            async with trio.open_nursery() as actors:
                await actors.start(actor.run)
                order = account.order(spec, 0, Side.BUY, "0.40", "5")
                assert (await account.client.post_order(order)).success
                await trio.sleep(2 * TIMEOUT_S)
                assert len(await account.client.open_orders()) == 1
                actors.cancel_scope.cancel()  # the engine dies
            sent = probe.seen[HEARTBEATS]
            await wait_until_no_open_orders(account.client, 5 * TIMEOUT_S)
            fetched = await account.client.get_order(order.order_id)
            assert fetched is not None and fetched["status"] == "CANCELED"
            assert probe.seen[HEARTBEATS] == sent  # nothing more was sent


async def test_the_actor_reports_lost_once_when_heartbeats_stop_getting_through(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="polyengine.client.heartbeat")
    with trio.fail_after(30):
        probe = Probe()
        server = await venue(nursery, probe)
        account = await open_account(server, "client-losing", config())
        async with account.client:
            spec = market(server)
            noticed: list[float] = []
            actor = HeartbeatActor(account.client, on_lost=lambda: noticed.append(1.0))
            await nursery.start(actor.run)
            order = account.order(spec, 0, Side.BUY, "0.40", "5")
            assert (await account.client.post_order(order)).success
            first_loss = actor.lost_event
            probe.blocked.add(HEARTBEATS)  # the venue stops accepting our heartbeats
            await first_loss.wait()
            assert actor.lost and actor.health is Health.ERROR
            await wait_until_no_open_orders(account.client, 3 * TIMEOUT_S)
            await trio.sleep(3 * TIMEOUT_S)
            assert noticed == [1.0]  # said once, however long it lasts
            assert actor.losses == 1
            said = [r for r in caplog.records if "canceled all our orders" in r.getMessage()]
            assert len(said) == 1

            probe.blocked.clear()  # heartbeats get through again: a new session
            with trio.fail_after(5):
                while actor.lost:
                    await trio.sleep(0.05)
            assert actor.health is Health.RUNNING
            assert not actor.lost_event.is_set()
            assert first_loss.is_set()


async def test_a_stale_heartbeat_id_is_replaced_by_the_one_the_venue_names(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(30):
        probe = Probe()
        server = await venue(nursery, probe)
        account = await open_account(server, "client-stale", config())
        async with account.client:
            spec = market(server)
            actor = HeartbeatActor(account.client)
            await nursery.start(actor.run)
            order = account.order(spec, 0, Side.BUY, "0.40", "5")
            assert (await account.client.post_order(order)).success
            actor.heartbeat_id = "00000000-0000-4000-8000-000000000000"
            await trio.sleep(3 * TIMEOUT_S)
            assert actor.heartbeat_id != "00000000-0000-4000-8000-000000000000"
            assert actor.adopted == 1
            assert not actor.lost and actor.failures == 0
            assert len(await account.client.open_orders()) == 1
