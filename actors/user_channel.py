"""UserChannelActor: the venue's authenticated user channel over a WebSocket, kept whole.

One connection at a time to EndpointsConfig.ws_user: subscribe with the API credentials
(every market), send text PING every `ping_s`, and treat `watchdog_s` without any frame
(PONG included) as a dead socket. A lost socket is reconnected after an exponential,
seeded-jitter backoff. After EVERY connect, once the venue has answered on the new
socket (so the subscription is live), the account's trades are backfilled from REST:
anything that happened while no socket was listening is handled like a live event, and
the router's deduplication makes the overlap harmless. Only then is the channel RUNNING.

Every frame goes to the UserEventRouter (actors/user_feed.py). The subscribe message
carries the API secret and passphrase: it is built when sent and never logged.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson
import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)

from actors.user_feed import UserEventRouter
from engine.backoff import Backoff
from engine.client.keepalive import ping_until_closed
from engine.config import UserFeedConfig
from engine.credentials import ApiCredentials
from engine.health import Health
from engine.mailbox import Mailbox
from engine.messages import UserChannelHealth

log = logging.getLogger("polyengine.user_channel")

CLOSE_POLICY_VIOLATION = 1008
"""The close code of a venue that refused the credentials."""
DISCONNECT_TIMEOUT_S = 2.0
"""How long a closing handshake may take before the socket is simply dropped."""


class TradeHistory(Protocol):
    """The account's trades from REST (/data/trades), in the venue's Trade shape
    (spec 2: id, taker_order_id, market, asset_id, side, size, price, status,
    match_time, maker_orders[...]), every page, oldest first; `after` in unix seconds."""

    async def trades(self, *, after: int | None) -> list[Mapping[str, Any]]: ...


class ChannelEvent(enum.Enum):
    CONNECTING = "connecting"
    SYNCED = "synced"
    """Subscribed and backfilled: nothing can be missing."""
    BACKFILL_FAILED = "backfill_failed"
    LOST = "lost"
    REFUSED = "refused"
    """The venue refused the credentials."""
    STOPPED = "stopped"


def next_health(current: Health, event: ChannelEvent) -> Health:
    """The channel's health after an event. Before the first sync it stays STARTING
    through failed attempts; afterwards anything short of a sync is DEGRADED (fills may
    be missing until the next backfill); refused credentials are ERROR until a sync."""
    match event:
        case ChannelEvent.SYNCED:
            return Health.RUNNING
        case ChannelEvent.STOPPED:
            return Health.STOPPED
        case ChannelEvent.REFUSED:
            return Health.ERROR
        case ChannelEvent.CONNECTING:
            return current
        case ChannelEvent.LOST | ChannelEvent.BACKFILL_FAILED:
            if current in (Health.STARTING, Health.ERROR):
                return current
            return Health.DEGRADED


class UserChannelActor:
    """The user channel of a venue reached over the network (production or local)."""

    def __init__(
        self,
        url: str,
        credentials: ApiCredentials,
        router: UserEventRouter,
        history: TradeHistory,
        config: UserFeedConfig | None = None,
        *,
        markets: Sequence[str] = (),
        seed: int = 0,
        health_out: Mailbox[Any] | None = None,
        start_after: int | None = None,
    ) -> None:
        """`markets` limits the subscription (empty: every market); `health_out` (a
        CONFLATE mailbox) gets every UserChannelHealth; `start_after` (unix s) bounds
        the first backfill when no trade has been seen yet (None: the whole history)."""
        self.url = url
        self.credentials = credentials
        self.router = router
        self.history = history
        self.config = config or UserFeedConfig()
        self.markets = list(markets)
        self.health_out = health_out
        self.start_after = start_after
        self.backoff = Backoff(
            self.config.backoff_initial_s,
            self.config.backoff_max_s,
            multiplier=self.config.backoff_multiplier,
            jitter=self.config.backoff_jitter,
            rng=random.Random(f"user-channel-backoff|{seed}"),
        )
        self.health = Health.STOPPED
        self.reason = ""
        self.connects = 0
        self.syncs = 0
        self.pongs = 0
        self.backfill_failures = 0
        self.last_close: str = ""
        self._last_rx = 0.0
        self._health_changed = trio.Event()

    # Health.

    def _on(self, event: ChannelEvent, reason: str) -> None:
        new = next_health(self.health, event)
        if new is self.health:
            return
        self.health, self.reason = new, reason
        log.info("user channel %s: %s", new.value, reason)
        if self.health_out is not None:
            try:
                self.health_out.send_nowait(UserChannelHealth(time.perf_counter_ns(), new, reason))
            except trio.WouldBlock:
                log.warning("user channel health mailbox full; %s not published", new.value)
        self._health_changed.set()
        self._health_changed = trio.Event()

    async def wait_health(self, *wanted: Health) -> Health:
        """Wait until the channel is in one of `wanted` (returns at once if it is)."""
        while self.health not in wanted:
            await self._health_changed.wait()
        return self.health

    # The loop.

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, sync and keep the channel whole until cancelled; ready (started) at
        the first sync. Cancellation closes the socket; health ends STOPPED."""
        self.health = Health.STARTING
        self.reason = "not connected yet"
        started = False
        try:
            while True:
                self._on(ChannelEvent.CONNECTING, "connecting")
                try:
                    async with open_websocket_url(
                        self.url,
                        message_queue_size=self.config.message_queue_size,
                        connect_timeout=self.config.connect_timeout_s,
                        disconnect_timeout=DISCONNECT_TIMEOUT_S,
                    ) as ws:
                        self.connects += 1
                        answered = trio.Event()
                        async with trio.open_nursery() as nursery:
                            nursery.start_soon(self._session, ws, answered, nursery.cancel_scope)
                            await answered.wait()
                            await self._backfill()
                            self.syncs += 1
                            self.backoff.reset()
                            self._on(ChannelEvent.SYNCED, "subscribed and backfilled")
                            if not started:
                                started = True
                                task_status.started()
                except (HandshakeError, OSError, ConnectionClosed, trio.BrokenResourceError) as exc:
                    self.last_close = f"{type(exc).__name__}: {exc}"
                    self._on(ChannelEvent.LOST, self.last_close)
                await trio.sleep(self.backoff.next_delay())
        finally:
            self._on(ChannelEvent.STOPPED, "stopped")

    async def _session(
        self, ws: WebSocketConnection, answered: trio.Event, scope: trio.CancelScope
    ) -> None:
        """One connection: subscribe, then receive, ping and watch until it dies; then
        record why and cancel the connection's scope (the caller reconnects)."""
        self._last_rx = trio.current_time()
        try:
            await ws.send_message(self._subscribe_message())
            await ws.send_message("PING")  # its PONG says the subscription is live
        except ConnectionClosed as exc:
            why = _closed(exc)
        else:
            receiving = trio.CancelScope()
            async with trio.open_nursery() as inner:
                inner.start_soon(ping_until_closed, ws, self.config.ping_s)
                inner.start_soon(self._watch, receiving)
                why = await self._receive(ws, answered, receiving)
                inner.cancel_scope.cancel()
        self.last_close = why
        if why.startswith(f"closed {CLOSE_POLICY_VIOLATION}"):
            self._on(ChannelEvent.REFUSED, f"credentials refused ({why})")
        self._on(ChannelEvent.LOST, why)
        scope.cancel()

    async def _receive(
        self, ws: WebSocketConnection, answered: trio.Event, receiving: trio.CancelScope
    ) -> str:
        """Every frame to the router; PONG only feeds the watchdog. Returns why the
        connection ended: closed by the venue, or silent (the watchdog cancels it)."""
        with receiving:
            while True:
                try:
                    message = await ws.get_message()
                except ConnectionClosed as exc:
                    return _closed(exc)
                self._last_rx = trio.current_time()
                answered.set()
                if message == "PONG":
                    self.pongs += 1
                    continue
                await self.router.on_frame(message)
        return f"silent for {self.config.watchdog_s:g} s"

    async def _watch(self, receiving: trio.CancelScope) -> None:
        """Stop receiving once no frame has arrived for watchdog_s."""
        while True:
            deadline = self._last_rx + self.config.watchdog_s
            if trio.current_time() >= deadline:
                log.warning("user channel silent for %.1f s: reconnecting", self.config.watchdog_s)
                receiving.cancel()
                return
            await trio.sleep_until(deadline)

    async def _backfill(self) -> None:
        """Handle every trade REST knows from the backfill window on; on failure stay
        degraded and retry with backoff (the live socket keeps flowing meanwhile)."""
        while True:
            after = self.router.backfill_after(self.config.backfill_lookback_s)
            if after is None:
                after = self.start_after
            try:
                trades = await self.history.trades(after=after)
            except Exception as exc:  # "could not ask" is not "nothing happened": retry
                self.backfill_failures += 1
                self._on(ChannelEvent.BACKFILL_FAILED, f"backfill failed: {type(exc).__name__}")
                log.warning("user channel backfill failed: %s: %s", type(exc).__name__, exc)
                await trio.sleep(self.backoff.next_delay())
                continue
            await self.router.on_rest_trades(trades)
            return

    def _subscribe_message(self) -> str:
        """The authenticated subscribe frame. Holds the secret: never log it."""
        creds = self.credentials
        return orjson.dumps(
            {
                "auth": {
                    "apiKey": creds.api_key,
                    "secret": creds.secret.get_secret_value(),
                    "passphrase": creds.passphrase.get_secret_value(),
                },
                "markets": self.markets,
                "type": "user",
            }
        ).decode()


def _closed(exc: ConnectionClosed) -> str:
    reason = exc.reason
    if reason is None:
        return "closed"
    return f"closed {reason.code} {reason.reason or ''}".strip()
