"""The venue's WebSocket keepalive, shared by every channel (market, user, spot).

Polymarket's channels expect a text "PING" every few seconds and answer "PONG" (spec
section 5; RTDS, section 8, likewise). The pinger runs beside the reader in the
connection's nursery. A socket the venue has closed ends it quietly: the reader sees
the close and says why.
Raising here would reach the reconnect loop wrapped in an exception group, which it
does not take for a dropped connection, and crash the actor.
"""

from __future__ import annotations

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection


async def ping_until_closed(ws: WebSocketConnection, every_s: float) -> None:
    """Send a text PING every `every_s` seconds until the socket is closed."""
    while True:
        await trio.sleep(every_s)
        try:
            await ws.send_message("PING")
        except ConnectionClosed:
            return
