"""Price feeds driven by the scenario's BTC spot path (spec section 8).

* Binance-style WebSocket under /binance: `/binance/ws/btcusdt@trade` (raw events) and
  `/binance/stream?streams=btcusdt@trade/btcusdt@bookTicker` (wrapped as
  `{"stream", "data"}`); `@trade`, `@aggTrade` and `@bookTicker` of BTCUSDT.
* Coinbase-style REST ticker: GET /coinbase/products/BTC-USD/ticker.
* A Chainlink-style stream in the RTDS shape at /rtds: subscribe to
  `crypto_prices_chainlink` (btc/usd) or `crypto_prices` (btcusdt); a subscribe first
  gets a backfill (`type: "subscribe"`), then one `update` per second; text PING gets PONG.

Every feed reads the same seeded path (one price per second, in cents), so the
resolution price the markets settle on is the one the Chainlink stream showed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.venue.server.context import ServerContext
from engine.venue.server.http import error, ok

SYMBOL = "btcusdt"
BACKFILL_S = 10
STREAM_KINDS = ("trade", "aggTrade", "bookTicker")


def _dollars(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _draw(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


@dataclass(frozen=True, slots=True)
class SpotTick:
    """The spot at one whole second, and the seeded trade printed there."""

    second: int
    cents: int
    quantity: Decimal
    buyer_is_maker: bool
    trade_id: int


class SpotFeed:
    """Reads the scenario's spot path at whole seconds, with deterministic trade details."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.seed = ctx.exchange.seed

    def now_s(self) -> float:
        return self.ctx.venue.clock.now_s()

    def at(self, second: int) -> SpotTick:
        cents = self.ctx.venue.scenario.spot.price_at(second)
        draw = _draw(self.seed, "spot-trade", second)
        quantity = Decimal(1 + draw % 50_000).scaleb(-5)
        return SpotTick(second, cents, quantity, bool(draw >> 20 & 1), 6_000_000_000 + second)

    async def seconds(self) -> Any:
        """Yield each whole second as it arrives on the session clock."""
        second = int(self.now_s()) + 1
        while True:
            await trio.sleep_until(self.ctx.venue.clock.trio_time_of(second))
            yield second
            second += 1

    def binance(self, kind: str, tick: SpotTick) -> dict[str, Any]:
        ms = tick.second * 1000
        price = f"{_dollars(tick.cents):.8f}"
        if kind == "bookTicker":
            return {
                "u": tick.trade_id,
                "s": SYMBOL.upper(),
                "b": f"{_dollars(tick.cents - 1):.8f}",
                "B": f"{tick.quantity * 3:.8f}",
                "a": f"{_dollars(tick.cents + 1):.8f}",
                "A": f"{tick.quantity * 2:.8f}",
            }
        event = {"e": kind, "E": ms, "s": SYMBOL.upper()}
        if kind == "aggTrade":
            event |= {"a": tick.trade_id, "p": price, "q": f"{tick.quantity:.8f}"}
            event |= {"f": tick.trade_id, "l": tick.trade_id, "T": ms}
        else:
            event |= {"t": tick.trade_id, "p": price, "q": f"{tick.quantity:.8f}", "T": ms}
        return event | {"m": tick.buyer_is_maker, "M": True}

    def coinbase_ticker(self) -> dict[str, Any]:
        second = int(self.now_s())
        tick = self.at(second)
        return {
            "ask": f"{_dollars(tick.cents + 1):.2f}",
            "bid": f"{_dollars(tick.cents - 1):.2f}",
            "volume": f"{Decimal(_draw(self.seed, 'volume', second // 3600) % 10**6).scaleb(-2)}",
            "trade_id": tick.trade_id,
            "price": f"{_dollars(tick.cents):.2f}",
            "size": f"{tick.quantity:.8f}",
            "time": datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        }

    def rtds(self, topic: str, symbol: str, tick: SpotTick, sent_ms: int) -> dict[str, Any]:
        value = _dollars(tick.cents)
        full = str(int(value * 10**18))
        return {
            "topic": topic,
            "type": "update",
            "timestamp": sent_ms,
            "payload": {
                "symbol": symbol,
                "timestamp": tick.second * 1000,
                "value": float(value),
                "full_accuracy_value": full,
            },
        }


def _parse_streams(names: list[str]) -> list[str] | None:
    """The stream kinds asked for, or None if any is unknown."""
    kinds = []
    for name in names:
        symbol, _, kind = name.partition("@")
        if symbol.lower() != SYMBOL or kind not in STREAM_KINDS:
            return None
        kinds.append(kind)
    return kinds


def routes(ctx: ServerContext) -> list[BaseRoute]:
    feed = SpotFeed(ctx)

    async def binance(websocket: WebSocket, names: list[str], combined: bool) -> None:
        kinds = _parse_streams(names)
        await websocket.accept()
        if not kinds:
            await websocket.close(1008, "unknown stream")
            return
        async with trio.open_nursery() as nursery:

            async def drain() -> None:
                try:
                    while (await websocket.receive())["type"] != "websocket.disconnect":
                        pass
                finally:
                    nursery.cancel_scope.cancel()

            nursery.start_soon(drain)
            try:
                async for second in feed.seconds():
                    tick = feed.at(second)
                    for name, kind in zip(names, kinds, strict=True):
                        data = feed.binance(kind, tick)
                        body = {"stream": name, "data": data} if combined else data
                        await websocket.send_text(orjson.dumps(body).decode())
            except (WebSocketDisconnect, RuntimeError):
                nursery.cancel_scope.cancel()

    async def binance_raw(websocket: WebSocket) -> None:
        await binance(websocket, [websocket.path_params["stream"]], combined=False)

    async def binance_combined(websocket: WebSocket) -> None:
        streams = websocket.query_params.get("streams", "")
        await binance(websocket, [s for s in streams.split("/") if s], combined=True)

    async def coinbase_ticker(request: Request) -> Response:
        if request.path_params["product"].upper() != "BTC-USD":
            return error(404, "NotFound")
        return ok(feed.coinbase_ticker())

    async def rtds(websocket: WebSocket) -> None:
        await websocket.accept()
        topics: dict[str, str] = {}
        lock = trio.Lock()

        async def send(body: Any) -> None:
            async with lock:
                await websocket.send_text(
                    body if isinstance(body, str) else orjson.dumps(body).decode()
                )

        async def subscribe(message: dict[str, Any]) -> None:
            for sub in message.get("subscriptions", ()):
                topic = str(sub.get("topic", ""))
                symbol = "btc/usd" if topic == "crypto_prices_chainlink" else SYMBOL
                if topic not in ("crypto_prices_chainlink", "crypto_prices"):
                    continue
                if message.get("action") == "unsubscribe":
                    topics.pop(topic, None)
                    continue
                topics[topic] = symbol
                now = int(feed.now_s())
                data = [
                    {"timestamp": s * 1000, "value": float(_dollars(feed.at(s).cents))}
                    for s in range(now - BACKFILL_S, now)
                ]
                await send(
                    {
                        "topic": topic,
                        "type": "subscribe",
                        "timestamp": ctx.venue.clock.now_ms(),
                        "payload": {"symbol": symbol, "data": data},
                    }
                )

        async def read(scope: trio.CancelScope) -> None:
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    text = message.get("text") or ""
                    if text == "PING":
                        await send("PONG")
                        continue
                    try:
                        parsed = orjson.loads(text)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(parsed, dict):
                        await subscribe(parsed)
            finally:
                scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read, nursery.cancel_scope)
            try:
                async for second in feed.seconds():
                    tick = feed.at(second)
                    for topic, symbol in list(topics.items()):
                        await send(feed.rtds(topic, symbol, tick, ctx.venue.clock.now_ms()))
            except (WebSocketDisconnect, RuntimeError):
                nursery.cancel_scope.cancel()

    handlers: list[BaseRoute] = [
        WebSocketRoute("/binance/ws/{stream}", binance_raw),
        WebSocketRoute("/binance/stream", binance_combined),
        Route("/coinbase/products/{product}/ticker", coinbase_ticker, methods=["GET"]),
        WebSocketRoute("/rtds", rtds),
    ]
    return handlers
