"""Spot price feeds and the board that combines them (issue 5, spec section 8).

* BinanceSpotFeed (primary): the combined WebSocket stream of trades and bookTicker.
* CoinbaseTickerPoller (fallback): the REST ticker, polled every `poll_s`.
* ChainlinkReference (settlement reference): RTDS `crypto_prices_chainlink`, with a
  text PING every `ping_s` and the subscribe backfill.
* SpotBoardActor: readings in, SpotView out to the strategies (conflated per symbol),
  re-published when staleness changes a source's health.

Each feed reconnects forever with exponential backoff and seeded jitter; a malformed
message is counted and skipped, never fatal; a socket silent for `idle_timeout_s` is
reconnected. Parsing and every decision live in engine/spot.py; here is only I/O.
Every feed calls `task_status.started()` after its first attempt, whether it connected
or not, so a dead source never holds up the session: its health says so instead.
"""

from __future__ import annotations

import abc
import logging
import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)

from engine.backoff import Backoff
from engine.client.keepalive import ping_until_closed
from engine.clock import SessionClock
from engine.config import EndpointsConfig, SpotConfig
from engine.mailbox import Mailbox, Overflow, Resync
from engine.messages import SpotReading, SpotSource, SpotView
from engine.spot import (
    Quote,
    SpotBoard,
    SpotParseError,
    parse_binance,
    parse_coinbase_ticker,
    parse_rtds,
    same_view,
)

log = logging.getLogger("polyengine.spot")

CHAINLINK_TOPIC = "crypto_prices_chainlink"

_CONNECTION_ERRORS = (OSError, HandshakeError, ConnectionClosed, trio.BrokenResourceError)


def spot_reading_key(reading: SpotReading) -> Hashable:
    """Conflation key of the board's mailbox: the newest price per (source, kind) wins,
    but every reference point is kept (each may be a window's price to beat)."""
    if reading.kind == "reference":
        return (reading.source, reading.kind, reading.source_ts_ms)
    return (reading.source, reading.kind)


def spot_mailbox(name: str = "spot-board", capacity: int = 256) -> Mailbox[SpotReading]:
    """The board's inbox: conflating (a slow board never blocks a feed)."""
    return Mailbox(name, capacity, Overflow.CONFLATE, key=spot_reading_key)


@dataclass
class FeedCounters:
    """What a feed has done, for tests, reports and health lines."""

    connects: int = 0
    failures: int = 0
    messages: int = 0
    readings: int = 0
    malformed: int = 0
    pongs: int = 0


class _Feed:
    """What every spot feed shares: stamping, sending, counting, backoff."""

    source: SpotSource

    def __init__(
        self,
        config: SpotConfig,
        out: Mailbox[SpotReading],
        clock: SessionClock,
        seed: int,
    ) -> None:
        self.config = config
        self.out = out
        self.clock = clock
        self.backoff = Backoff(
            config.backoff_initial_s,
            max(config.backoff_max_s, config.backoff_initial_s),
            jitter=config.backoff_jitter,
            rng=random.Random(f"backoff|{seed}|{self.source.value}"),
        )
        self.counters = FeedCounters()
        self.connected = False

    def _emit(self, quotes: Sequence[Quote]) -> None:
        received_s = self.clock.now_s()
        ts_ns = time.perf_counter_ns()
        for quote in quotes:
            self.out.send_nowait(
                SpotReading(
                    ts_ns=ts_ns,
                    source=self.source,
                    symbol=self.config.symbol,
                    kind=quote.kind,
                    price=quote.price,
                    source_ts_ms=quote.source_ts_ms,
                    received_s=received_s,
                )
            )
            self.counters.readings += 1

    def _handle(self, raw: str | bytes, parse: Callable[[str | bytes], Sequence[Quote]]) -> bool:
        """Parse and emit one message; False (counted, logged) if it was malformed."""
        self.counters.messages += 1
        try:
            quotes = parse(raw)
        except SpotParseError as exc:
            self.counters.malformed += 1
            log.warning("%s: skipped a malformed message: %s", self.source.value, exc)
            return False
        self._emit(quotes)
        return True

    async def _wait_after_failure(self, error: BaseException | str) -> None:
        self.connected = False
        self.counters.failures += 1
        delay = self.backoff.next_delay()
        log.warning("%s: %r; retrying in %.2fs", self.source.value, error, delay)
        await trio.sleep(delay)


class _SocketFeed(_Feed, abc.ABC):
    """A WebSocket feed: connect, subscribe, read with an idle watchdog, reconnect.

    Each source says where to connect and how to read its messages."""

    @abc.abstractmethod
    def url(self) -> str:
        """The WebSocket URL to connect to."""

    @abc.abstractmethod
    def parse(self, raw: str | bytes) -> Sequence[Quote]:
        """The quotes in one message; raises SpotParseError if it is malformed."""

    async def subscribe(self, ws: WebSocketConnection) -> None:
        """Send what the source needs after connecting (nothing by default)."""

    async def keepalive(self, ws: WebSocketConnection) -> None:
        """Runs beside the reader while connected (nothing by default)."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read forever, reconnecting after any connection error or idle timeout.

        Cancellation closes the socket; nothing else is held.
        """
        started = False

        def ready() -> None:
            nonlocal started
            if not started:
                started = True
                task_status.started()

        while True:
            error: BaseException | str = "closed by the server"
            try:
                await self._session(ready)
            except* _CONNECTION_ERRORS as group:
                error = group.exceptions[0]
            except* trio.TooSlowError:
                error = f"no data for {self.config.idle_timeout_s}s"
            ready()
            await self._wait_after_failure(error)

    async def _session(self, ready: Callable[[], None]) -> None:
        timeout = self.config.request_timeout_s
        async with open_websocket_url(
            self.url(), connect_timeout=timeout, disconnect_timeout=timeout
        ) as ws:
            await self.subscribe(ws)
            self.connected = True
            self.counters.connects += 1
            ready()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.keepalive, ws)
                await self._read(ws)
                nursery.cancel_scope.cancel()

    async def _read(self, ws: WebSocketConnection) -> None:
        """Until the socket closes (ConnectionClosed ends it) or stays silent too long."""
        while True:
            with trio.fail_after(self.config.idle_timeout_s):
                try:
                    raw = await ws.get_message()
                except ConnectionClosed:
                    return
            if self._handle(raw, self.parse):
                self.backoff.reset()


class BinanceSpotFeed(_SocketFeed):
    """Primary spot: Binance's combined stream `<symbol>@trade/<symbol>@bookTicker`."""

    source = SpotSource.BINANCE

    def __init__(
        self,
        endpoints: EndpointsConfig,
        config: SpotConfig,
        out: Mailbox[SpotReading],
        clock: SessionClock,
        seed: int = 0,
    ) -> None:
        super().__init__(config, out, clock, seed)
        self.base = endpoints.binance.rstrip("/")

    def url(self) -> str:
        symbol = self.config.binance_symbol
        return f"{self.base}/stream?streams={symbol}@trade/{symbol}@bookTicker"

    def parse(self, raw: str | bytes) -> Sequence[Quote]:
        return parse_binance(raw, self.config.binance_symbol)


class ChainlinkReference(_SocketFeed):
    """The settlement reference: RTDS `crypto_prices_chainlink` for one symbol."""

    source = SpotSource.CHAINLINK

    def __init__(
        self,
        endpoints: EndpointsConfig,
        config: SpotConfig,
        out: Mailbox[SpotReading],
        clock: SessionClock,
        seed: int = 0,
    ) -> None:
        super().__init__(config, out, clock, seed)
        self.base = endpoints.rtds

    def url(self) -> str:
        return self.base

    def parse(self, raw: str | bytes) -> Sequence[Quote]:
        if raw in ("PONG", b"PONG"):
            self.counters.pongs += 1
        return parse_rtds(raw, CHAINLINK_TOPIC, self.config.chainlink_symbol)

    async def subscribe(self, ws: WebSocketConnection) -> None:
        filters = orjson.dumps({"symbol": self.config.chainlink_symbol}).decode()
        message = {
            "action": "subscribe",
            "subscriptions": [{"topic": CHAINLINK_TOPIC, "type": "*", "filters": filters}],
        }
        await ws.send_message(orjson.dumps(message).decode())

    async def keepalive(self, ws: WebSocketConnection) -> None:
        """RTDS wants a text PING every `ping_s`."""
        await ping_until_closed(ws, self.config.ping_s)


class CoinbaseTickerPoller(_Feed):
    """Fallback spot: GET `{coinbase}/products/<product>/ticker` every `poll_s`."""

    source = SpotSource.COINBASE

    def __init__(
        self,
        endpoints: EndpointsConfig,
        config: SpotConfig,
        out: Mailbox[SpotReading],
        clock: SessionClock,
        seed: int = 0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(config, out, clock, seed)
        base = endpoints.coinbase.rstrip("/")
        self.url = f"{base}/products/{config.coinbase_product}/ticker"
        self.transport = transport

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll forever; an HTTP error or a malformed body backs off, a good one resets.

        Cancellation closes the HTTP client.
        """
        started = False
        async with httpx.AsyncClient(
            timeout=self.config.request_timeout_s,
            headers={"User-Agent": "polyengine", "Accept": "application/json"},
            transport=self.transport,
        ) as http:
            while True:
                error = await self.poll_once(http)
                if not started:
                    started = True
                    task_status.started()
                if error is None:
                    await trio.sleep(self.config.poll_s)
                else:
                    await self._wait_after_failure(error)

    async def poll_once(self, http: httpx.AsyncClient) -> str | None:
        """One request; None if it gave a price, else why not."""
        try:
            response = await http.get(self.url)
        except httpx.HTTPError as exc:
            return f"request failed: {exc!r}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        if not self._handle(response.content, lambda raw: [parse_coinbase_ticker(raw)]):
            return "malformed ticker"
        self.connected = True
        self.counters.connects += 1
        self.backoff.reset()
        return None


class SpotBoardActor:
    """Readings in, SpotViews out: every reading updates the board, and the view goes to
    each strategy mailbox (conflating, latest wins) whenever it says something new; a
    re-check every `check_s` publishes health changes caused by silence alone."""

    def __init__(
        self,
        board: SpotBoard,
        inbox: Mailbox[SpotReading],
        outputs: Sequence[Mailbox[Any]],
        clock: SessionClock,
        check_s: float,
    ) -> None:
        self.board = board
        self.inbox = inbox
        self.outputs = list(outputs)
        self.clock = clock
        self.check_s = check_s
        self.last: SpotView | None = None
        self.published = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.board.start(self.clock.now_s())
        task_status.started()
        while True:
            with trio.move_on_after(self.check_s):
                message = await self.inbox.receive()
                if not isinstance(message, Resync):
                    self.board.update(message)
                    while True:
                        try:
                            more = self.inbox.receive_nowait()
                        except trio.WouldBlock:
                            break
                        if not isinstance(more, Resync):
                            self.board.update(more)
            self.publish()

    def publish(self) -> SpotView:
        """Send the board's current view if it differs from the last one sent."""
        view = self.board.view(self.clock.now_s(), time.perf_counter_ns())
        if not same_view(self.last, view):
            self.last = view
            self.published += 1
            for mailbox in self.outputs:
                mailbox.send_nowait(view)
        return view
