"""The official clients, unchanged, against the local venue server on loopback.

polymarket-client is pointed at the server through its environment configuration (spec
11.6): its sync SecureClient runs in Trio worker threads, and its asyncio user stream in
a thread of its own with asyncio.run. py_clob_client_v2 takes the server as its `host`.
Each creates API keys, reads books, places, lists and cancels orders, and sees its fills
on the user channel; the counterparty is another account.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import orjson
import trio
from polymarket import AsyncSecureClient, SecureClient
from polymarket._internal.environment import PRODUCTION_CONFIG, create_environment
from polymarket._internal.wallet import derive_beacon_deposit_wallet_address
from polymarket.environments import Environment
from polymarket.models.clob.account import OpenOrder
from polymarket.streams import UserOrderEvent, UserTradeEvent
from polymarket.streams._specs import UserSpec
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    BalanceAllowanceParams,
    MarketOrderArgsV2,
    OpenOrderParams,
    OrderArgsV2,
    OrderPayload,
    OrderType,
    TradeParams,
)
from venue_client import Socket, market, seeded_key, start_server

from engine.venue.server.app import VenueServer

LIMIT_S = 60
T = TypeVar("T")


def environment(server: VenueServer) -> Environment:
    urls = server.urls
    config = dataclasses.replace(
        PRODUCTION_CONFIG,
        clob_url=urls["clob"],
        clob_market_ws_url=urls["ws-market"],
        clob_user_ws_url=urls["ws-user"],
        gamma_url=urls["gamma"],
        relayer_url=urls["relayer"],
    )
    return create_environment(name="polyengine-local", config=config)


async def in_thread(fn: Callable[[], T]) -> T:
    return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)


class UserStream:
    """polymarket-client's asyncio user stream, run in a thread until `until` is satisfied."""

    def __init__(self, env: Environment, key_hex: str, wallet: str) -> None:
        self.env, self.key_hex, self.wallet = env, key_hex, wallet
        self.subscribed = threading.Event()
        self.events: list[Any] = []

    def run(self, until: Callable[[list[Any]], bool], timeout: float) -> list[Any]:
        async def listen() -> None:
            client = await AsyncSecureClient.create(
                private_key=self.key_hex, wallet=self.wallet, environment=self.env
            )
            try:
                handle = await client.subscribe(UserSpec())
                self.subscribed.set()
                async with asyncio.timeout(timeout):
                    async for event in handle:
                        self.events.append(event)
                        if until(self.events):
                            break
                await handle.close()
            finally:
                await client.close()

        asyncio.run(listen())
        return self.events


def confirmed_trade(events: list[Any]) -> bool:
    return any(isinstance(e, UserTradeEvent) and e.payload.status == "CONFIRMED" for e in events)


async def test_polymarket_client_trades_and_hears_its_fills(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        env = environment(server)
        spec = market(server)
        up, down = spec.token_ids
        maker_key, taker_key = seeded_key("sdk-maker"), seeded_key("sdk-taker")
        maker_hex = "0x" + maker_key.key.hex()

        def create(key: Any) -> SecureClient:
            return SecureClient.create(
                private_key="0x" + key.key.hex(), wallet=key.address, environment=env
            )

        maker = await in_thread(lambda: create(maker_key))
        taker = await in_thread(lambda: create(taker_key))
        again = await in_thread(lambda: create(maker_key))  # POST 400, then derive
        assert again.credentials.key == maker.credentials.key

        stream = UserStream(env, maker_hex, maker_key.address)
        async with trio.open_nursery() as listeners:
            result: list[list[Any]] = []

            async def listen() -> None:
                result.append(await in_thread(lambda: stream.run(confirmed_trade, 30)))

            listeners.start_soon(listen)
            await in_thread(lambda: stream.subscribed.wait(20))
            maker_account = server.exchange.account_of(maker_key.address)
            while not server.venue.user_feeds(maker_account):  # the server has the auth frame
                await trio.sleep(0.01)

            book = await in_thread(lambda: maker.get_order_book(token_id=up))
            assert book.asset_id == up and book.tick_size == Decimal("0.01")
            placed = await in_thread(
                lambda: maker.place_limit_order(token_id=up, price="0.55", size="10", side="BUY")
            )
            assert placed.ok and placed.status == "live", placed
            spare = await in_thread(
                lambda: maker.place_limit_order(token_id=up, price="0.30", size="10", side="BUY")
            )
            assert spare.ok
            heartbeat = await in_thread(lambda: maker.send_order_heartbeat())
            assert heartbeat.heartbeat_id

            def open_orders() -> list[OpenOrder]:
                return [o for page in maker.list_open_orders() for o in page.items]

            assert {o.id for o in await in_thread(open_orders)} == {placed.order_id, spare.order_id}

            # Unified books: the Up bid at 0.55 is a Down ask at 0.45, so a market BUY of
            # Down prices against it (and mints with the Up bid).
            down_book = await in_thread(lambda: taker.get_order_book(token_id=down))
            assert [(a.price, a.size) for a in down_book.asks][-1] == (
                Decimal("0.45"),
                Decimal("10"),
            )
            filled = await in_thread(
                lambda: taker.place_market_order(token_id=down, side="BUY", amount="4.5")
            )
            assert filled.ok and filled.status == "matched", filled
            assert filled.taking_amount == Decimal("10")

        events = result[0]
        orders = [e.payload for e in events if isinstance(e, UserOrderEvent)]
        trades = [e.payload for e in events if isinstance(e, UserTradeEvent)]
        assert [o.order_event_type for o in orders[:3]] == ["PLACEMENT", "PLACEMENT", "UPDATE"]
        assert orders[2].id == placed.order_id and orders[2].size_matched == Decimal("10")
        assert [t.status for t in trades] == ["MATCHED", "MINED", "CONFIRMED"]
        assert trades[0].owner == maker.credentials.key and trades[0].trader_side == "MAKER"

        account_trades = await in_thread(
            lambda: [t for page in maker.list_account_trades() for t in page.items]
        )
        assert [t.id for t in account_trades] == [trades[0].id]
        assert account_trades[0].transaction_hash
        cancelled = await in_thread(lambda: maker.cancel_order(order_id=spare.order_id))
        assert cancelled.canceled == (spare.order_id,)
        assert await in_thread(open_orders) == []
        cash = await in_thread(lambda: maker.get_balance_allowance(asset_type="COLLATERAL"))
        assert cash.balance == 10_000_000_000 - 5_500_000
        shares = await in_thread(
            lambda: taker.get_balance_allowance(asset_type="CONDITIONAL", token_id=down)
        )
        assert shares.balance == 10_000_000
        for client in (maker, taker, again):
            client.close()


async def test_py_clob_client_v2_trades_and_hears_its_fills(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        host = server.urls["clob"]
        up, down = market(server).token_ids

        def connect(name: str) -> ClobClient:
            client = ClobClient(host, 137, key="0x" + seeded_key(name).key.hex())
            client.set_api_creds(client.create_or_derive_api_key())
            return client

        maker = await in_thread(lambda: connect("v2c-maker"))
        taker = await in_thread(lambda: connect("v2c-taker"))
        again = await in_thread(lambda: connect("v2c-maker"))
        assert again.creds.api_key == maker.creds.api_key
        assert await in_thread(maker.get_version) == 2
        keys = await in_thread(maker.get_api_keys)
        assert keys == {"apiKeys": [maker.creds.api_key]}

        socket = await Socket.open(server.urls["ws-user"])
        creds = maker.creds
        auth = {"apiKey": creds.api_key, "secret": creds.api_secret}
        await socket.send({"auth": auth | {"passphrase": creds.api_passphrase}, "type": "user"})
        await socket.synced()

        book = await in_thread(lambda: maker.get_order_book(up))
        assert book["asset_id"] == up and book["tick_size"] == "0.01"
        order = OrderArgsV2(token_id=up, price=0.6, size=10, side="BUY")
        placed = await in_thread(lambda: maker.create_and_post_order(order))
        assert placed["success"] and placed["status"] == "live", placed
        open_orders = await in_thread(lambda: maker.get_open_orders(OpenOrderParams(market="")))
        assert [o["id"] for o in open_orders] == [placed["orderID"]]

        taken = MarketOrderArgsV2(token_id=down, amount=4.0, side="BUY", price=0.4)
        fill = await in_thread(
            lambda: taker.create_and_post_market_order(taken, order_type=OrderType.FOK)
        )
        assert fill["status"] == "matched" and fill["takingAmount"] == "10", fill
        assert len(fill["transactionsHashes"]) == 1, "the client polls /data/trades for the hash"

        frames = [orjson.loads(f) for f in await socket.quiet(0.5)]
        kinds = [(f["event_type"], f.get("type"), f.get("status")) for f in frames]
        assert kinds[:2] == [("order", "PLACEMENT", "LIVE"), ("trade", "TRADE", "MATCHED")]
        assert ("order", "UPDATE", "MATCHED") in kinds
        assert ("trade", "TRADE", "CONFIRMED") in kinds
        trade_id = fill["tradeIDs"][0]
        trades = await in_thread(lambda: maker.get_trades(TradeParams(id=trade_id)))
        assert trades[0]["status"] == "CONFIRMED" and trades[0]["trader_side"] == "MAKER"

        second = await in_thread(lambda: maker.create_and_post_order(order))
        cancelled = await in_thread(
            lambda: maker.cancel_order(OrderPayload(orderID=second["orderID"]))
        )
        assert cancelled == {"canceled": [second["orderID"]], "not_canceled": {}}
        assert await in_thread(lambda: maker.get_open_orders()) == []
        cash = await in_thread(
            lambda: maker.get_balance_allowance(BalanceAllowanceParams(asset_type="COLLATERAL"))
        )
        assert cash["balance"] == str(10_000_000_000 - 6_000_000)
        beat = await in_thread(maker.post_heartbeat)
        assert beat["status"] == "ok"
        await socket.close()


async def test_polymarket_client_trades_from_a_deposit_wallet(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        env = environment(server)
        owner = seeded_key("sdk-deposit-owner")
        config = dataclasses.replace(PRODUCTION_CONFIG).wallet_derivation
        wallet = derive_beacon_deposit_wallet_address(owner.address, config)
        server.exchange.register_wallet(wallet, owner.address, 3)
        up = market(server).token_ids[0]

        def trade() -> Any:
            client = SecureClient.create(private_key="0x" + owner.key.hex(), environment=env)
            try:
                assert client.wallet.lower() == wallet.lower()
                return client.place_limit_order(token_id=up, price="0.40", size="10", side="BUY")
            finally:
                client.close()

        placed = await in_thread(trade)
        assert placed.ok, placed
        (order,) = server.exchange.engine.open_orders()
        assert order.account == wallet.lower()
