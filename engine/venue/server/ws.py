"""The CLOB WebSocket channels, /ws/market and /ws/user (spec section 5).

Market: `{"assets_ids": [...], "type": "market", "custom_feature_enabled": bool}`, later
`{"assets_ids": [...], "operation": "subscribe"|"unsubscribe"}`. Each subscribe answers
with one array frame of `book` snapshots of the new assets, then `price_change`,
`last_trade_price`, `tick_size_change` (and `best_bid_ask` with the custom feature) as
they happen. User: `{"auth": {"apiKey", "secret", "passphrase"}, "markets": [...],
"type": "user"}` (no or empty `markets`: every market), then `operation` frames that
add or remove markets; order and trade events of every wallet the key trades for.

Both answer text `PING` with `PONG`, and close a socket that says nothing (not even
PING) for the idle timeout. Per-connection faults (drop, silent freeze, duplicated or
reordered user events) are applied here, on the way out.
"""

from __future__ import annotations

import contextlib
import hmac
from typing import Any

import orjson
import trio
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.venue.server.context import ServerContext
from engine.venue.server.faults import ConnectionFaults
from engine.venue.sim import MarketFeed, UserFeed
from engine.venue.wire import market_book_frame

CLOSE_DROPPED = 1011
"""Close code of a connection cut by the ws-drop fault, or dropped for falling behind.

ASGI cannot cut a socket without a close frame; 1011 is what a crashing venue sends.
"""
CLOSE_UNAUTHORIZED = 1008
CLOSE_IDLE = 1000
HOLD_S = 0.2
"""How long the out-of-order fault holds a user frame back when nothing follows it."""


class Connection:
    """One accepted socket: serialized sends, idle tracking and its faults."""

    def __init__(self, websocket: WebSocket, faults: ConnectionFaults) -> None:
        self.ws = websocket
        self.faults = faults
        self.frozen = False
        self.closed = False
        self._lock = trio.Lock()

    async def send(self, text: str) -> None:
        if self.closed:
            return
        async with self._lock:
            try:
                await self.ws.send_text(text)
            except (WebSocketDisconnect, RuntimeError):
                self.closed = True

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.ws.close(code, reason)

    async def run_faults(self, scope: trio.CancelScope) -> None:
        """Freeze or cut this connection when its faults say so."""
        started = trio.current_time()
        if self.faults.freeze_after_s is not None:
            await trio.sleep_until(started + self.faults.freeze_after_s)
            self.frozen = True
        if self.faults.drop_after_s is not None:
            await trio.sleep_until(started + self.faults.drop_after_s)
            await self.close(CLOSE_DROPPED, "connection dropped")
            scope.cancel()

    async def receive_loop(self, idle_s: float, handle: Any) -> None:
        """Read client messages until it leaves or goes idle; `handle(text)` each."""
        while not self.closed:
            with trio.move_on_after(idle_s) as idle:
                try:
                    message = await self.ws.receive()
                except (WebSocketDisconnect, RuntimeError):
                    return
            if idle.cancelled_caught:
                await self.close(CLOSE_IDLE, "idle timeout")
                return
            if message["type"] == "websocket.disconnect":
                self.closed = True
                return
            text = message.get("text")
            if text is None and message.get("bytes") is not None:
                text = message["bytes"].decode("utf-8", "replace")
            if text is None:
                continue
            if text == "PING":
                await self.send("PONG")
                continue
            await handle(text)


def _parse(text: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _id_list(value: Any) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        return None
    return [str(v) for v in value]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The two channels, bound to one server's state."""

    def replay_snapshot(assets: list[str]) -> list[bytes]:
        frames = []
        for token in assets:
            book = ctx.replay_books.get(token)
            spec = ctx.market_of(token)
            if book is None or spec is not None:
                continue
            bids, asks = book.levels()
            frames.append(
                market_book_frame(book.market, token, bids, asks, ctx.venue.clock.now_ms())
            )
        return frames

    async def pump_market(conn: Connection, feed: MarketFeed) -> None:
        async for frame in feed.receive:
            if not conn.frozen:
                await conn.send(frame.decode())
        if not feed.open:
            await conn.close(CLOSE_DROPPED, "subscriber too slow")

    async def market_channel(websocket: WebSocket) -> None:
        if ctx.refuse_websockets:
            await websocket.close(CLOSE_DROPPED, "refused")  # before accept: HTTP 403
            return
        await websocket.accept()
        conn = Connection(websocket, ctx.faults.connection(next(ctx.connections)))
        async with ctx.venue.market_feed((), snapshot=False) as feed:

            async def handle(text: str) -> None:
                message = _parse(text)
                assets = None
                if message is not None:
                    assets = _id_list(message.get("assets_ids", message.get("asset_ids")))
                if message is None or assets is None:
                    await conn.send("INVALID OPERATION")
                    return
                custom = message.get("custom_feature_enabled")
                if isinstance(custom, bool):
                    feed.set_custom_features(custom)
                operation = str(message.get("operation", "subscribe")).lower()
                if operation == "unsubscribe":
                    feed.remove(assets)
                    return
                if operation != "subscribe":
                    await conn.send("INVALID OPERATION")
                    return
                new = feed.add(assets)
                frames = feed.snapshot(new) + replay_snapshot(new)
                if frames:
                    feed.push(b"[" + b",".join(frames) + b"]")
                elif not new:
                    await conn.send("NO NEW ASSETS")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(pump_market, conn, feed)
                nursery.start_soon(conn.run_faults, nursery.cancel_scope)
                await conn.receive_loop(ctx.ws_idle_timeout_s, handle)
                nursery.cancel_scope.cancel()
        await conn.close(CLOSE_IDLE, "bye")

    async def pump_user(conn: Connection, feed: UserFeed) -> None:
        faults = conn.faults
        held: bytes | None = None
        while True:
            if held is None:
                try:
                    frame = await feed.receive.receive()
                except trio.EndOfChannel:
                    break
            else:
                with trio.move_on_after(HOLD_S):
                    try:
                        frame = await feed.receive.receive()
                    except trio.EndOfChannel:
                        break
                    await conn.send(frame.decode())
                await conn.send(held.decode())
                held = None
                continue
            if faults.reorder_rate and faults.rng.random() < faults.reorder_rate:
                held = frame
                continue
            await conn.send(frame.decode())
            if faults.duplicate_rate and faults.rng.random() < faults.duplicate_rate:
                await conn.send(frame.decode())
        if held is not None:
            await conn.send(held.decode())
        if not feed.open:
            await conn.close(CLOSE_DROPPED, "subscriber too slow")

    async def user_channel(websocket: WebSocket) -> None:
        await websocket.accept()
        conn = Connection(websocket, ctx.faults.connection(next(ctx.connections)))
        first: str | None = None
        with trio.move_on_after(ctx.ws_idle_timeout_s):
            first = await _first_text(websocket, conn)
        message = _parse(first) if first else None
        auth = message.get("auth") if message is not None else None
        creds = None
        if isinstance(auth, dict):
            creds = ctx.exchange.keys.get(str(auth.get("apiKey", "")))
            if creds is not None and not (
                hmac.compare_digest(str(auth.get("secret", "")), creds.secret)
                and hmac.compare_digest(str(auth.get("passphrase", "")), creds.passphrase)
            ):
                creds = None
        markets = _id_list(message.get("markets")) if message is not None else None
        if creds is None or markets is None:
            await conn.close(CLOSE_UNAUTHORIZED, "invalid credentials")
            return
        accounts = ctx.exchange.accounts_of(creds)
        async with ctx.venue.user_feed(accounts, markets) as feed:

            async def handle(text: str) -> None:
                update = _parse(text)
                ids = _id_list(update.get("markets")) if update is not None else None
                operation = str(update.get("operation", "")).lower() if update else ""
                if ids is None or operation not in ("subscribe", "unsubscribe"):
                    await conn.send("INVALID OPERATION")
                elif operation == "subscribe":
                    feed.add_markets(ids)
                else:
                    feed.remove_markets(ids)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(pump_user, conn, feed)
                nursery.start_soon(conn.run_faults, nursery.cancel_scope)
                await conn.receive_loop(ctx.ws_idle_timeout_s, handle)
                nursery.cancel_scope.cancel()
        await conn.close(CLOSE_IDLE, "bye")

    return [
        WebSocketRoute("/ws/market", market_channel),
        WebSocketRoute("/ws/user", user_channel),
    ]


async def _first_text(websocket: WebSocket, conn: Connection) -> str | None:
    """The first text message that is not a PING (PINGs are answered)."""
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            conn.closed = True
            return None
        text = message.get("text")
        if text == "PING":
            await conn.send("PONG")
            continue
        if text is not None:
            return str(text)
