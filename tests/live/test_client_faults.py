"""The client under the venue's faults: 429/425/5xx bursts, its own rate limits against
the server's, lost order responses, and a venue that cannot be reached."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import pytest
import trio
from client_live_support import Probe, open_account, quick_config
from venue_client import market, start_server

from engine.client.errors import SubmitUnknown, TransportError
from engine.client.gateway import NetworkGateway
from engine.client.ratelimit import RateLimiter
from engine.client.rest import RestClient
from engine.gateway import OrderSpec, PostResult, VenueOrderState
from engine.units import UNIT, Side
from engine.venue.server.app import VenueServer
from engine.venue.server.faults import FaultPlan
from engine.venue.server.ratelimit import GENERAL, Rule

ALWAYS = 1e9
"""A burst window so wide that every request falls in the last seconds of a window."""

LIMITS = {"POST /order": "5/1", "DELETE /order": "5/1", "*": "40/1"}
RULES = (
    Rule("POST", "/order", 5, 1.0),
    Rule("DELETE", "/order", 5, 1.0),
    Rule(GENERAL, "/", 40, 1.0),
)


async def post_all(
    post: Callable[[OrderSpec], Awaitable[PostResult]], orders: list[OrderSpec]
) -> list[PostResult]:
    """Post every order at once (concurrently), results in the orders' order."""
    results: dict[int, PostResult] = {}

    async def one(index: int, order: OrderSpec) -> None:
        results[index] = await post(order)

    async with trio.open_nursery() as nursery:
        for index, order in enumerate(orders):
            nursery.start_soon(one, index, order)
    return [results[i] for i in range(len(orders))]


@pytest.mark.parametrize("fault", ["burst-429", "burst-425"])
async def test_refusals_before_processing_are_retried_and_the_venue_ends_with_our_orders(
    nursery: trio.Nursery, fault: str
) -> None:
    with trio.fail_after(90):
        probe = Probe(RULES)
        faults = FaultPlan.parse(fault, 11).with_faults(burst_window_s=ALWAYS)
        server = await start_server(nursery, faults=faults, limiter=probe)
        config = quick_config(rate_limits=LIMITS, submit_retries=10, retries=10)
        account = await open_account(server, f"client-{fault}", config)
        async with account.client:
            spec = market(server)
            orders = [account.order(spec, 0, Side.BUY, f"0.{20 + i}", "5") for i in range(8)]
            results = await post_all(account.client.post_order, orders)
            assert all(r.success for r in results), results
            assert account.client.retried > 0  # the bursts were met and outlived
            ours = {o.order_id for o in orders}
            for order in orders[:3]:
                assert await account.client.cancel_order(order.order_id)
                ours.discard(order.order_id)
            reply = await account.client.cancel_orders([o.order_id for o in orders[3:5]])
            assert set(reply.canceled) == {o.order_id for o in orders[3:5]}
            ours -= set(reply.canceled)
            assert {o["id"] for o in await account.client.open_orders()} == ours
        assert sum(probe.refused.values()) == 0, probe.refused  # never over the limit


async def test_the_servers_rate_limit_is_never_hit_when_both_sides_share_it(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(90):
        probe = Probe(RULES)
        server = await start_server(nursery, limiter=probe)
        config = quick_config(rate_limits=LIMITS, submit_retries=0)
        account = await open_account(server, "client-limited", config)
        async with account.client:
            spec = market(server)
            orders = [account.order(spec, 0, Side.BUY, f"0.{10 + i}", "5") for i in range(17)]
            assert all(r.success for r in await post_all(account.client.post_order, orders))
            assert account.client.limiter.waited >= 10
        assert probe.seen[("POST", "/order")] == 17
        assert sum(probe.refused.values()) == 0, probe.refused

        # The same burst without the client's limits is refused by the server.
        unlimited = await open_account(
            server, "client-unlimited", config, limiter=RateLimiter.unlimited()
        )
        async with unlimited.client:
            burst = [unlimited.order(spec, 1, Side.BUY, f"0.{10 + i}", "5") for i in range(17)]
            results = await post_all(NetworkGateway(unlimited.client).post_order, burst)
        assert any(not r.success and r.error.startswith("429") for r in results)
        assert probe.refused[("POST", "/order")] > 0


async def test_a_5xx_on_an_order_post_is_unknown_never_resent_and_resolved_by_hash(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(90):
        probe = Probe()
        faults = FaultPlan.parse("burst-500", 12).with_faults(burst_window_s=ALWAYS)
        server = await start_server(nursery, faults=faults, limiter=probe)
        account = await open_account(server, "client-500", quick_config(retries=10))
        async with account.client:
            spec = market(server)
            placed: list[str] = []
            unknown: list[SubmitUnknown] = []
            for i in range(40):
                if len(placed) >= 3 and len(unknown) >= 3:
                    break
                order = account.order(spec, 0, Side.BUY, f"0.{10 + i}", "5")
                try:
                    result = await account.client.post_order(order)
                except SubmitUnknown as exc:
                    assert exc.order_ids == (order.order_id,)
                    assert exc.status == 500
                    unknown.append(exc)
                else:
                    assert result.success
                    placed.append(order.order_id)
            posts = len(placed) + len(unknown)
            assert len(unknown) >= 3 and len(placed) >= 3
            assert probe.seen[("POST", "/order")] == posts  # nothing was sent twice
            for exc in unknown:  # this venue answers its 500s before placing anything
                resolved = await account.client.resolve_unknown(exc.order_id)
                assert resolved.state is VenueOrderState.NOT_FOUND
                assert resolved.order is None and resolved.trades == ()
            assert {o["id"] for o in await account.client.open_orders()} == set(placed)
            reply = await account.client.cancel_orders(placed)  # retried through 500s
            assert set(reply.canceled) == set(placed)
            assert await account.client.open_orders() == []


async def test_a_lost_response_leaves_exactly_one_live_order_found_by_its_hash(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(60):
        probe = Probe()
        faults = FaultPlan.parse("lost-response", 13).with_faults(
            lost_response_rate=1.0, lost_response_hold_s=3.0
        )
        server = await start_server(nursery, faults=faults, limiter=probe)
        config = quick_config(request_timeout_s=0.5)
        maker = await open_account(server, "client-lost-maker", config)
        taker = await open_account(server, "client-lost-taker", config)
        async with maker.client, taker.client:
            spec = market(server)
            order = maker.order(spec, 0, Side.BUY, "0.50", "5")
            with pytest.raises(SubmitUnknown) as caught:
                await maker.client.post_order(order)
            assert caught.value.order_ids == (order.order_id,)
            assert caught.value.status is None  # a timeout: no answer at all
            assert probe.seen[("POST", "/order")] == 1
            resolved = await maker.client.resolve_unknown(order.order_id, spec.condition_id)
            assert resolved.state is VenueOrderState.LIVE
            assert resolved.order is not None and resolved.order["id"] == order.order_id
            assert [o["id"] for o in await maker.client.open_orders()] == [order.order_id]

            # A taker whose answer is lost: the venue matched it; one trade, all filled.
            crossing = taker.order(spec, 1, Side.BUY, "0.50", "5")
            with pytest.raises(SubmitUnknown):
                await taker.client.post_order(crossing)
            assert probe.seen[("POST", "/order")] == 2
            filled = await taker.client.resolve_unknown(crossing.order_id)
            assert filled.state is VenueOrderState.FILLED
            assert filled.size_matched == 5 * UNIT
            assert len(filled.trades) == 1
            assert await maker.client.open_orders() == []


async def test_a_5xx_answer_after_the_venue_placed_the_order_is_unknown_too(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(60):
        faults = FaultPlan.parse("lost-response", 14).with_faults(
            lost_response_rate=1.0, lost_response_hold_s=0.1
        )
        server = await start_server(nursery, faults=faults)
        account = await open_account(server, "client-504", quick_config())
        async with account.client:
            order = account.order(market(server), 0, Side.BUY, "0.30", "5")
            with pytest.raises(SubmitUnknown) as caught:
                await NetworkGateway(account.client).post_order(order)
            assert caught.value.status == 504
            assert caught.value.text == "upstream request timeout"
            resolved = await account.client.resolve_unknown(order.order_id)
            assert resolved.state is VenueOrderState.LIVE


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_venue_is_a_transport_error_and_a_post_is_not_placed(
    venue_server: VenueServer,
) -> None:
    with trio.fail_after(30):
        server = venue_server
        account = await open_account(server, "client-unreachable")
        await account.client.aclose()
        url = f"http://127.0.0.1:{_closed_port()}"
        config = quick_config(retries=2, submit_retries=1, backoff_base_s=0.01)
        async with RestClient(url, account.client.credentials, config) as client:
            with pytest.raises(TransportError) as caught:
                await client.open_orders()
            assert caught.value.sent is False
            assert client.retried == 2
            account.client = client
            order = account.order(market(server), 0, Side.BUY, "0.30", "5")
            result = await NetworkGateway(client).post_order(order)
            assert not result.success and result.error.startswith("not sent")
            with pytest.raises(TransportError):
                await client.resolve_unknown(order.order_id)  # could not ask: not "not found"
