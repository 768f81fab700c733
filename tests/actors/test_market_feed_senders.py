"""The market feed's sender tasks end quietly when the venue closes the socket: the
reader reports the close and the shard reconnects. Raised from a sender, the close would
reach the reconnect loop wrapped in an exception group and crash the whole feed actor
(seen under the venue's ws-drop fault: the supervisor restarted the market feed)."""

from __future__ import annotations

from typing import Any, cast

import trio
from trio_websocket import CloseReason, ConnectionClosed, WebSocketConnection

from actors.market_feed import MarketFeedActor
from engine.client.keepalive import ping_until_closed
from engine.config import MarketFeedConfig
from engine.stats import EngineStats


class ClosedSocket:
    """A connection the venue has just closed: every send raises."""

    def __init__(self) -> None:
        self.sends = 0

    async def send_message(self, message: Any) -> None:
        self.sends += 1
        raise ConnectionClosed(CloseReason(1011, "connection dropped"))


def feed() -> MarketFeedActor:
    return MarketFeedActor("ws://127.0.0.1:9/ws/market", {}, EngineStats(), MarketFeedConfig())


async def test_a_ping_on_a_closed_socket_ends_the_pinger_without_raising() -> None:
    # The one keepalive of every channel (market, user, RTDS).
    with trio.fail_after(10):
        socket = ClosedSocket()
        await ping_until_closed(cast(WebSocketConnection, socket), 0.01)
        assert socket.sends == 1


async def test_an_operation_a_closed_socket_refused_is_kept_for_the_next_connection() -> None:
    with trio.fail_after(10):
        actor = feed()
        actor.subscribe({"111": "0xc1"})
        shard = actor.shards[0]
        shard.ops.append(("subscribe", ["222"]))
        socket = ClosedSocket()
        await actor._send_ops(cast(WebSocketConnection, socket), shard)
        assert socket.sends == 1 and shard.ops == [("subscribe", ["222"])]
