"""Faults on demand: what a client sees when each one is on (parameters shortened)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
import trio
from venue_client import Client, Socket, market, new_client, start_server

from engine.venue.server.app import VenueServer
from engine.venue.server.faults import FAULTS, FaultPlan

LIMIT_S = 20


def plan(*names: str, **params: Any) -> FaultPlan:
    return FaultPlan.none(11).with_faults(*names, **params)


async def user_socket(server: VenueServer, client: Client) -> Socket:
    assert client.creds is not None
    socket = await Socket.open(server.urls["ws-user"])
    auth = {"apiKey": client.creds.key, "secret": client.creds.secret}
    await socket.send({"auth": auth | {"passphrase": client.creds.passphrase}, "type": "user"})
    await socket.synced()
    return socket


def test_every_fault_is_known_and_an_unknown_one_is_refused() -> None:
    assert set(FaultPlan.parse(",".join(FAULTS), 1).enabled) == set(FAULTS)
    with pytest.raises(ValueError, match="unknown fault gremlins"):
        FaultPlan.parse("ws-drop,gremlins", 1)


async def test_ws_drop_cuts_the_connection(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, faults=plan("ws-drop", drop_after_s=(0.3, 0.3)))
        socket = await Socket.open(server.urls["ws-market"])
        await socket.send({"assets_ids": list(market(server).token_ids), "type": "market"})
        await socket.recv()
        started = time.monotonic()
        with pytest.raises(Exception) as closed:
            await socket.recv(timeout=3)
        assert "1011" in str(closed.value) and time.monotonic() - started < 2


async def test_silent_freeze_keeps_answering_pings(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(
            nursery, faults=plan("silent-freeze", freeze_after_s=(0.2, 0.2))
        )
        up = market(server).token_ids[0]
        socket = await Socket.open(server.urls["ws-market"])
        await socket.send({"assets_ids": [up], "type": "market"})
        assert orjson.loads(await socket.recv())[0]["event_type"] == "book"
        await trio.sleep(0.4)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "frozen")
            await client.place(up, "BUY", "0.5", "10")
        await socket.send("PING")
        assert await socket.quiet(0.5) == ["PONG"]


async def test_delayed_acks_let_the_user_channel_win(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, faults=plan("delayed-acks", ack_delay_s=(0.6, 0.6)))
        up = market(server).token_ids[0]
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "slow-ack")
            socket = await user_socket(server, client)
            seen: dict[str, float] = {}

            async def post() -> None:
                response = await client.place(up, "BUY", "0.5", "10")
                assert response.status_code == 200
                seen["reply"] = time.monotonic()

            started = time.monotonic()
            async with trio.open_nursery() as both:
                both.start_soon(post)
                event = orjson.loads(await socket.recv())
                seen["event"] = time.monotonic()
            assert event["type"] == "PLACEMENT"
            assert seen["event"] < seen["reply"] and seen["reply"] - started >= 0.6


async def test_a_lost_response_still_places_the_order(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        faults = plan("lost-response", lost_response_rate=1.0, lost_response_hold_s=1.0)
        server = await start_server(nursery, faults=faults)
        up = market(server).token_ids[0]
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "lost")
            body = client.order(up, "BUY", "0.5", "10")
            raw = orjson.dumps(body)
            headers = client.l2_headers("POST", "/order", raw)
            with pytest.raises(httpx.ReadTimeout):
                await http.post("/order", content=raw, headers=headers, timeout=0.3)
            orders = (await client.call("GET", "/data/orders")).json()["data"]
            assert len(orders) == 1 and orders[0]["status"] == "LIVE"
            late = await client.place(up, "BUY", "0.4", "10")
            assert late.status_code == 504


async def test_user_events_can_come_twice_or_out_of_order(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        faults = plan(
            "duplicate-events", "out-of-order-events", reorder_rate=1.0, duplicate_rate=0.0
        )
        server = await start_server(nursery, faults=faults)
        up = market(server).token_ids[0]
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "disorder")
            socket = await user_socket(server, client)
            first = (await client.place(up, "BUY", "0.41", "10")).json()["orderID"]
            second = (await client.place(up, "BUY", "0.42", "10")).json()["orderID"]
            ids = [orjson.loads(f)["id"] for f in await socket.quiet(0.6)]
            assert ids == [second, first]
        server = await start_server(nursery, faults=plan("duplicate-events", duplicate_rate=1.0))
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "twice")
            socket = await user_socket(server, client)
            order = (await client.place(market(server).token_ids[0], "BUY", "0.4", "10")).json()
            ids = [orjson.loads(f)["id"] for f in await socket.quiet(0.4)]
            assert ids == [order["orderID"], order["orderID"]]


async def test_error_bursts_near_window_close_hit_order_endpoints(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        faults = plan(
            "burst-425", "burst-429", "burst-500", burst_window_s=10.0**10, burst_rate=1.0
        )
        server = await start_server(nursery, faults=faults)
        up = market(server).token_ids[0]
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "bursts")
            codes = {(await client.place(up, "BUY", "0.5", "10")).status_code for _ in range(12)}
            assert codes == {425, 429, 500}
            assert (await client.call("DELETE", "/cancel-all")).status_code in (425, 429, 500)
            assert (await client.call("GET", "/data/orders")).json()["data"] == []
            restarting = await client.place(up, "BUY", "0.5", "10")
            if restarting.status_code == 429:
                assert restarting.headers["Retry-After"] == "1"


async def balances(client: Client, tokens: tuple[str, ...]) -> list[str]:
    """What the client's account holds, as the venue reports it: collateral, then shares."""
    reply = await client.call("GET", "/balance-allowance", params={"asset_type": "COLLATERAL"})
    amounts = [reply.json()["balance"]]
    for token in tokens:
        params = {"asset_type": "CONDITIONAL", "token_id": token}
        amounts.append(
            (await client.call("GET", "/balance-allowance", params=params)).json()["balance"]
        )
    return amounts


@pytest.mark.parametrize("book_model", ["unified", "per_token"])
async def test_failed_trades_report_retrying_then_failed_and_are_voided(
    nursery: trio.Nursery, book_model: str
) -> None:
    with trio.fail_after(LIMIT_S):
        faults = plan("trades-failed", trade_fail_rate=1.0)
        server = await start_server(nursery, faults=faults, book_model=book_model)
        engine = server.venue.engine
        spec = market(server)
        up, down = spec.token_ids
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            maker = await new_client(http, "fail-maker")
            taker = await new_client(http, "fail-taker")
            before = [await balances(c, spec.token_ids) for c in (maker, taker)]
            fees_before = engine.fees_collected
            socket = await user_socket(server, taker)
            await maker.place(up, "BUY", "0.6", "10")
            fill = (await taker.place(down, "BUY", "0.4", "10", order_type="FOK")).json()
            trade_id = fill["tradeIDs"][0]
            matched = engine.trade(trade_id)
            assert matched is not None and matched.fee > 0
            frames = [orjson.loads(f) for f in await socket.quiet(0.5)]
            statuses = [f["status"] for f in frames if f["event_type"] == "trade"]
            assert statuses == ["MATCHED", "RETRYING", "FAILED"]
            (trade,) = (await taker.call("GET", "/data/trades")).json()["data"]
            assert trade["id"] == trade_id
            assert (trade["status"], trade["transaction_hash"]) == ("FAILED", "")
            # The venue voided the trade: both sides hold what they held before it, the
            # taker fee is refunded and the mint's pair is gone from the vault.
            assert [await balances(c, spec.token_ids) for c in (maker, taker)] == before
            assert engine.fees_collected == fees_before
            assert engine.vault(spec.condition_id) == 0
            # The maker's order was consumed by the match and stays so.
            assert engine.open_orders(maker.address.lower()) == []


async def test_tick_size_changes_mid_stream(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S + 20):
        left = 900 - time.time() % 900
        if left < 20:
            await trio.sleep(left + 1)  # stay clear of a window boundary
        now = time.time()
        after = now - now // 900 * 900 + 2.0
        faults = plan("tick-size-change", tick_change_after_s=(after, after))
        server = await start_server(nursery, faults=faults)
        spec = server.venue.scenario.markets[0]
        socket = await Socket.open(server.urls["ws-market"])
        await socket.send({"assets_ids": list(spec.token_ids), "type": "market"})
        frames = [orjson.loads(f) for f in await socket.quiet(3.5)]
        changes = [
            f for f in frames if isinstance(f, dict) and f["event_type"] == "tick_size_change"
        ]
        assert [(c["old_tick_size"], c["new_tick_size"]) for c in changes] == [
            ("0.01", "0.001")
        ] * 2
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            tick = await http.get("/tick-size", params={"token_id": spec.token_ids[0]})
            assert tick.json() == {"minimum_tick_size": 0.001}
            client = await new_client(http, "fine-ticks")
            assert (await client.place(spec.token_ids[0], "BUY", "0.123", "10")).status_code == 200
