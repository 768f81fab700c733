"""Price feeds driven by the scenario's spot path: Binance-style WS and the RTDS stream."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
import trio
from venue_client import Socket, start_server

LIMIT_S = 20


async def test_binance_streams_follow_the_spot_path(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        spot = server.venue.scenario.spot
        raw = await Socket.open(server.urls["binance"] + "/ws/btcusdt@trade")
        trade = orjson.loads(await raw.recv(timeout=3))
        assert (trade["e"], trade["s"]) == ("trade", "BTCUSDT")
        assert Decimal(trade["p"]) * 100 == spot.price_at(trade["T"] // 1000)
        assert set(trade) == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
        combined = await Socket.open(
            server.urls["binance"] + "/stream?streams=btcusdt@trade/btcusdt@bookTicker"
        )
        first, second = [orjson.loads(await combined.recv(timeout=3)) for _ in range(2)]
        assert [first["stream"], second["stream"]] == ["btcusdt@trade", "btcusdt@bookTicker"]
        ticker = second["data"]
        assert Decimal(ticker["b"]) < Decimal(first["data"]["p"]) < Decimal(ticker["a"])
        unknown = await Socket.open(server.urls["binance"] + "/ws/dogeusdt@trade")
        with pytest.raises(Exception) as closed:
            await unknown.recv(timeout=3)
        assert "1008" in str(closed.value)
        await raw.close()
        await combined.close()


async def test_rtds_streams_chainlink_prices_after_a_backfill(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        spot = server.venue.scenario.spot
        socket = await Socket.open(server.urls["rtds"])
        filters = orjson.dumps({"symbol": "btc/usd"}).decode()
        subscription = {"topic": "crypto_prices_chainlink", "type": "*", "filters": filters}
        await socket.send({"action": "subscribe", "subscriptions": [subscription]})
        backfill = orjson.loads(await socket.recv())
        assert (backfill["type"], backfill["payload"]["symbol"]) == ("subscribe", "btc/usd")
        assert len(backfill["payload"]["data"]) == 10
        update = orjson.loads(await socket.recv(timeout=3))
        assert (update["topic"], update["type"]) == ("crypto_prices_chainlink", "update")
        payload = update["payload"]
        cents = spot.price_at(payload["timestamp"] // 1000)
        assert Decimal(str(payload["value"])) * 100 == cents
        assert int(payload["full_accuracy_value"]) == cents * 10**16
        await socket.send("PING")
        assert "PONG" in [await socket.recv(timeout=3) for _ in range(2)]
        await socket.close()
