"""MarketFeedActor: the venue's market channel over WebSocket, sharded, watched, healed.

Assets are spread over connections of at most `max_assets_per_connection` (the venue
loses snapshots past 500; Nautilus uses 200), a market's tokens kept together. Each
shard is its own task: it connects, subscribes everything it holds (on every connect,
since the channel has no sequence numbers and only a fresh `book` rebuilds a book),
sends text PING every `ping_s`, and reconnects with exponential backoff and seeded
jitter when the socket closes, stops answering PONG, or silently freezes (PONGs arrive
but no data for `watchdog_s`, spec 10.5). While a shard is down its assets' books are
polled from REST /book and handed to their market actors, so books stay current (but
untradable) until the socket's own snapshots replace them.

Frames are routed as raw bytes exactly as the in-process FeedActor does
(`actors.feed.route_frame`). Health (engine.health) is kept per shard and per market:
decisions are pure (engine/backoff.py Backoff and, below, watchdog_verdict, Link, market_health,
place_assets); the actor is the I/O around them. Market health goes to a HealthBoard,
the source of truth the MarketActors read, plus a MarketDataHealth wake-up message in
the market's mailbox (see HealthBoard for why both).
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson
import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)

from actors.feed import route_frame
from engine.backoff import Backoff
from engine.client.books import BookFormatError, fetch_book
from engine.client.keepalive import ping_until_closed
from engine.config import MarketFeedConfig
from engine.gateway import BookSnapshot
from engine.health import Health
from engine.mailbox import Mailbox
from engine.messages import MarketDataHealth, PolledBook
from engine.stats import EngineStats

log = logging.getLogger("polyengine.market_feed")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""A first snapshot of 200 deep books is one array frame of several megabytes."""

_LINK_ERRORS = (HandshakeError, ConnectionClosed, OSError, trio.BrokenResourceError)
_REST_ERRORS = (httpx.HTTPError, OSError, BookFormatError)


class BookSource(Protocol):
    """Anything that answers REST /book (a VenueGateway, or RestBookSource)."""

    async def get_book(self, token_id: str) -> BookSnapshot: ...


class RestBookSource:
    """REST /book of the venue at `clob_url`, for polling and for resyncs in network mode."""

    def __init__(self, http: httpx.AsyncClient, clob_url: str) -> None:
        self.http = http
        self.clob_url = clob_url

    async def get_book(self, token_id: str) -> BookSnapshot:
        return await fetch_book(self.http, self.clob_url, token_id)


# --- pure decisions ----------------------------------------------------------------------


class Verdict(enum.Enum):
    OK = "ok"
    SILENT_FREEZE = "silent freeze: PONGs arrive but no data"
    NO_PONG = "no PONG: the socket is dead"


def watchdog_verdict(
    now: float, *, last_data: float, last_pong: float, watchdog_s: float, pong_timeout_s: float
) -> Verdict:
    """Whether a connection is still worth keeping. A dead socket (no PONG) is reported
    as such even if it is also silent; silence alone, with PONGs, is a freeze."""
    if now - last_pong >= pong_timeout_s:
        return Verdict.NO_PONG
    if now - last_data >= watchdog_s:
        return Verdict.SILENT_FREEZE
    return Verdict.OK


@dataclass
class Link:
    """The state of one shard's connection and its health (pure; times are trio seconds).

    RUNNING only while subscribed and receiving data. DEGRADED while polling REST,
    after a watchdog trip or a drop until fresh data arrives. ERROR after
    `error_after` consecutive failures (connections refused, or sessions that ended
    before `healthy_reset_s`). STARTING before any data; STOPPED once closed.
    """

    error_after: int
    healthy_reset_s: float
    connected: bool = False
    receiving: bool = False
    polling: bool = False
    closed: bool = False
    ever_received: bool = False
    tripped: bool = False
    failures: int = 0
    running_since: float | None = None
    last_reason: str = "starting"

    @property
    def health(self) -> Health:
        if self.closed:
            return Health.STOPPED
        if self.connected and self.receiving:
            return Health.RUNNING
        if self.failures >= self.error_after:
            return Health.ERROR
        if self.polling or self.tripped or self.ever_received:
            return Health.DEGRADED
        return Health.STARTING

    def on_subscribed(self) -> None:
        self.connected = True
        self.receiving = False
        self.last_reason = "subscribed, waiting for data"

    def on_data(self, now: float) -> None:
        if not self.receiving:
            self.receiving = True
            self.ever_received = True
            self.tripped = False
            self.running_since = now
            self.last_reason = "receiving"

    def on_down(self, now: float, reason: str, *, watchdog: bool = False) -> bool:
        """The connection ended (or never came up). Returns True if it had been healthy
        for `healthy_reset_s`, in which case the failure count (and backoff) starts over."""
        healthy = self.running_since is not None and now - self.running_since >= (
            self.healthy_reset_s
        )
        self.connected = False
        self.receiving = False
        self.running_since = None
        self.tripped = self.tripped or watchdog
        self.last_reason = reason
        if healthy:
            self.failures = 1
        else:
            self.failures += 1
        return healthy

    def on_polling(self, polling: bool) -> None:
        self.polling = polling

    def on_closed(self) -> None:
        self.closed = True
        self.connected = self.receiving = self.polling = False
        self.last_reason = "stopped"


_WORST = {Health.RUNNING: 0, Health.STARTING: 1, Health.DEGRADED: 2, Health.ERROR: 3,
          Health.STOPPED: 4}  # fmt: skip


def market_health(links: Iterable[Health], fresh: bool) -> Health:
    """A market's health from the links carrying its assets and whether its own data
    (its `book`) arrived since they (re)connected. No link: STOPPED (unsubscribed)."""
    states = list(links)
    if not states:
        return Health.STOPPED
    worst = max(states, key=_WORST.__getitem__)
    if worst is Health.RUNNING and not fresh:
        return Health.DEGRADED
    return worst


def place_assets(
    shards: Sequence[Collection[str]], groups: Iterable[Sequence[str]], capacity: int
) -> list[list[str]]:
    """Where new assets go: one list of added assets per shard, existing shards first,
    then new shards appended (only if needed).

    Each group (a market's tokens) goes whole into the first shard with room for it;
    assets already held anywhere are skipped; a group larger than `capacity` is split.
    """
    held = {a for shard in shards for a in shard}
    sizes = [len(shard) for shard in shards]
    added: list[list[str]] = [[] for _ in shards]
    for group in groups:
        new = [a for a in dict.fromkeys(group) if a not in held]
        while new:
            chunk, new = new[:capacity], new[capacity:]
            index = next((i for i, n in enumerate(sizes) if n + len(chunk) <= capacity), None)
            if index is None:
                index = len(sizes)
                sizes.append(0)
                added.append([])
            added[index].extend(chunk)
            sizes[index] += len(chunk)
            held.update(chunk)
    return added


# --- the health board -----------------------------------------------------------------


@dataclass
class _Entry:
    health: Health
    reason: str
    seq: int


class HealthBoard:
    """Market data health per market: the truth, shared by the feed and market actors.

    Why a board and not only messages: market mailboxes are drop-and-resync, so a health
    message can be thrown away with a backlog. The feed writes the board first, then
    sends a MarketDataHealth wake-up in the mailbox (in order behind the frames it
    routed, so "RUNNING" is acted on only after the fresh snapshot before it was
    applied). A market actor also watches the board directly (`wait_change`) and goes
    unhealthy at once, without waiting behind a backlog. Going healthy again is only
    taken from the mailbox (message whose seq is current) or after a RESYNC.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lot = trio.lowlevel.ParkingLot()

    def get(self, condition_id: str) -> tuple[Health, str, int]:
        entry = self._entries.get(condition_id)
        if entry is None:
            return Health.STOPPED, "not subscribed", 0
        return entry.health, entry.reason, entry.seq

    def set(self, condition_id: str, health: Health, reason: str) -> int | None:
        """Record a market's health; returns the new seq if the health changed."""
        entry = self._entries.get(condition_id)
        if entry is not None and entry.health is health:
            entry.reason = reason
            return None
        seq = 1 if entry is None else entry.seq + 1
        self._entries[condition_id] = _Entry(health, reason, seq)
        self._lot.unpark_all()
        return seq

    async def wait_change(self, condition_id: str, seen_seq: int) -> None:
        """Wait until the market's seq differs from `seen_seq`."""
        while self.get(condition_id)[2] == seen_seq:
            await self._lot.park()


# --- the actor -------------------------------------------------------------------------


@dataclass(eq=False)
class _Shard:
    """One connection's assets and state; lives as long as it holds assets."""

    number: int
    link: Link
    backoff: Backoff
    assets: set[str] = field(default_factory=set)
    fresh: set[str] = field(default_factory=set)
    """Markets whose data arrived on this shard since it last subscribed."""
    ops: list[tuple[str, list[str]]] = field(default_factory=list)
    wake: trio.lowlevel.ParkingLot = field(default_factory=trio.lowlevel.ParkingLot)
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    poll_scope: trio.CancelScope | None = None
    poll_done: trio.Event | None = None
    connections: int = 0
    frames: int = 0


@dataclass
class _Timers:
    last_data: float
    last_pong: float


class MarketFeedActor:
    """The market channel at `url` for a changing set of assets.

    `routes` maps condition id -> the market actor's mailbox (shared and mutable: add a
    route before subscribing a new market's assets). `subscribe({asset: condition_id})`
    and `unsubscribe(assets)` may be called at any time, before or while running.
    `books` answers REST /book for polling while a shard is down (None: no polling).
    """

    def __init__(
        self,
        url: str,
        routes: MutableMapping[str, Mailbox[Any]],
        stats: EngineStats,
        config: MarketFeedConfig | None = None,
        *,
        board: HealthBoard | None = None,
        books: BookSource | None = None,
        assets: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.routes = routes
        self.stats = stats
        self.config = config or MarketFeedConfig()
        self.board = board or HealthBoard()
        self.books = books
        self.shards: list[_Shard] = []
        self.market_of: dict[str, str] = {}
        self.watchdog_trips = 0
        """Connections ended by the silent-freeze watchdog (PONGs, but no data)."""
        self.dead_sockets = 0
        """Connections ended because PONGs stopped."""
        self.polled_books = 0
        self.poll_errors = 0
        self._numbers = 0
        self._nursery: trio.Nursery | None = None
        if assets:
            self.subscribe(assets)

    # Public API.

    def subscribe(self, assets: Mapping[str, str]) -> None:
        """Add assets (asset id -> condition id): onto shards with room (an `operation`
        message if connected, else at their next connect), or onto new shards."""
        new = {a: c for a, c in assets.items() if a not in self.market_of}
        if not new:
            return
        self.market_of.update(new)
        by_market: dict[str, list[str]] = {}
        for asset, cid in new.items():
            by_market.setdefault(cid, []).append(asset)
        placement = place_assets(
            [s.assets for s in self.shards],
            by_market.values(),
            self.config.max_assets_per_connection,
        )
        for index, added in enumerate(placement):
            if not added:
                continue
            if index >= len(self.shards):
                shard = self._new_shard()
                shard.assets.update(added)
                if self._nursery is not None:
                    self._nursery.start_soon(self._run_shard, shard)
            else:
                shard = self.shards[index]
                shard.assets.update(added)
                shard.ops.append(("subscribe", added))
                shard.wake.unpark_all()
        for cid in by_market:
            self._publish_market(cid)

    def unsubscribe(self, asset_ids: Iterable[str]) -> None:
        """Drop assets; a shard left empty closes, a market left without assets is
        STOPPED."""
        gone = [a for a in dict.fromkeys(asset_ids) if a in self.market_of]
        markets = {self.market_of.pop(a) for a in gone}
        for shard in list(self.shards):
            removed = [a for a in gone if a in shard.assets]
            if not removed:
                continue
            shard.assets.difference_update(removed)
            if shard.assets:
                shard.ops.append(("unsubscribe", removed))
                shard.wake.unpark_all()
            else:
                self.shards.remove(shard)
                shard.link.on_closed()
                shard.scope.cancel()
        for cid in markets:
            self._publish_market(cid)

    @property
    def connections(self) -> int:
        """Shards (one socket each, when connected)."""
        return len(self.shards)

    def shard_health(self) -> list[Health]:
        return [s.link.health for s in self.shards]

    def market_health(self, condition_id: str) -> Health:
        return self.board.get(condition_id)[0]

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every shard until cancelled. Ready at once: shards connect on their own
        and the health board says when each market's data is live (a feed that waits
        for the venue would block the supervision tree while the venue is down).

        On the way out (cancellation or crash) every market is marked STOPPED.
        """
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for shard in self.shards:
                    shard.scope = trio.CancelScope()
                    shard.link = self._new_link()
                    nursery.start_soon(self._run_shard, shard)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for shard in self.shards:
                shard.link.on_closed()
            for cid in set(self.market_of.values()):
                self._publish_market(cid)

    # Shards.

    def _new_link(self) -> Link:
        return Link(self.config.error_after_failures, self.config.healthy_reset_s)

    def _new_shard(self) -> _Shard:
        self._numbers += 1
        rng = random.Random(f"market-feed|{self.config.seed}|{self._numbers}")
        shard = _Shard(
            self._numbers,
            self._new_link(),
            Backoff(
                self.config.backoff_initial_s,
                self.config.backoff_max_s,
                multiplier=self.config.backoff_multiplier,
                jitter=self.config.backoff_jitter,
                rng=rng,
            ),
        )
        self.shards.append(shard)
        return shard

    async def _run_shard(self, shard: _Shard) -> None:
        """Connect, stream, and reconnect after a backoff (polling REST meanwhile) until
        the shard is closed or the actor cancelled."""
        try:
            with shard.scope:
                async with trio.open_nursery() as nursery:
                    attempt = 0
                    while True:
                        if attempt:
                            self._start_polling(shard, nursery)
                            await trio.sleep(shard.backoff.next_delay())
                        attempt += 1
                        try:
                            reason, watchdog = await self._session(shard)
                        except _LINK_ERRORS as exc:
                            reason, watchdog = f"{type(exc).__name__}: {exc}", False
                        if shard.link.on_down(trio.current_time(), reason, watchdog=watchdog):
                            shard.backoff.reset()
                        log.info("market shard %d down: %s", shard.number, reason)
                        self._publish_shard(shard)
        finally:
            shard.link.on_closed()
            self._publish_shard(shard)

    async def _session(self, shard: _Shard) -> tuple[str, bool]:
        """One connection: subscribe, then read until it closes or the watchdog trips.

        Returns why it ended and whether the watchdog ended it. Cancellation closes the
        socket (bounded by a short disconnect timeout).
        """
        cfg = self.config
        async with open_websocket_url(
            self.url,
            connect_timeout=cfg.connect_timeout_s,
            disconnect_timeout=1.0,
            message_queue_size=cfg.message_queue_size,
            max_message_size=MAX_MESSAGE_BYTES,
        ) as ws:
            await self._stop_polling(shard)
            shard.connections += 1
            shard.ops.clear()  # the full subscribe below covers every pending operation
            shard.fresh.clear()
            assets = sorted(shard.assets)
            await ws.send_message(
                orjson.dumps(
                    {"assets_ids": assets, "type": "market", "custom_feature_enabled": True}
                ).decode()
            )
            shard.link.on_subscribed()
            self._publish_shard(shard)
            now = trio.current_time()
            timers = _Timers(last_data=now, last_pong=now)
            ended: list[tuple[str, bool]] = []
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ping_until_closed, ws, self.config.ping_s)
                nursery.start_soon(self._send_ops, ws, shard)
                nursery.start_soon(self._watch, shard, timers, ended, nursery.cancel_scope)
                try:
                    await self._read(ws, shard, timers)
                except ConnectionClosed as exc:
                    ended.append((f"closed by the venue ({exc.reason})", False))
                nursery.cancel_scope.cancel()
            return ended[0] if ended else ("connection ended", False)

    async def _read(self, ws: WebSocketConnection, shard: _Shard, timers: _Timers) -> None:
        while True:
            message = await ws.get_message()
            received_ns = time.perf_counter_ns()
            raw = message.encode() if isinstance(message, str) else message
            now = trio.current_time()
            if raw == b"PONG":
                timers.last_pong = now
                continue
            if raw[:1] not in (b"{", b"["):
                log.info("market shard %d: venue says %r", shard.number, raw[:80])
                continue
            timers.last_data = now
            shard.frames += 1
            markets = route_frame(raw, received_ns, self.routes, self.stats)
            changed = not shard.link.receiving
            shard.link.on_data(now)
            new = [cid for cid in markets or () if cid not in shard.fresh]
            shard.fresh.update(new)
            if changed:
                self._publish_shard(shard)
            else:
                for cid in new:
                    self._publish_market(cid)

    async def _send_ops(self, ws: WebSocketConnection, shard: _Shard) -> None:
        """Runtime subscribe/unsubscribe on this live connection, in call order. An
        operation the closed connection could not take is kept: the next connection's
        full subscription covers it."""
        while True:
            while shard.ops:
                operation, assets = shard.ops[0]
                try:
                    await ws.send_message(
                        orjson.dumps(
                            {
                                "assets_ids": assets,
                                "operation": operation,
                                "custom_feature_enabled": True,
                            }
                        ).decode()
                    )
                except ConnectionClosed:
                    return
                shard.ops.pop(0)
            await shard.wake.park()

    async def _watch(
        self,
        shard: _Shard,
        timers: _Timers,
        ended: list[tuple[str, bool]],
        scope: trio.CancelScope,
    ) -> None:
        cfg = self.config
        step = min(cfg.watchdog_s, cfg.pong_timeout_s, cfg.ping_s) / 4
        while True:
            await trio.sleep(step)
            verdict = watchdog_verdict(
                trio.current_time(),
                last_data=timers.last_data,
                last_pong=timers.last_pong,
                watchdog_s=cfg.watchdog_s,
                pong_timeout_s=cfg.pong_timeout_s,
            )
            if verdict is not Verdict.OK:
                if verdict is Verdict.SILENT_FREEZE:
                    self.watchdog_trips += 1
                else:
                    self.dead_sockets += 1
                ended.append((verdict.value, verdict is Verdict.SILENT_FREEZE))
                scope.cancel()
                return

    # REST fallback.

    def _start_polling(self, shard: _Shard, nursery: trio.Nursery) -> None:
        if self.books is None or shard.poll_scope is not None:
            return
        shard.poll_scope = trio.CancelScope()
        shard.poll_done = trio.Event()
        nursery.start_soon(self._poll, shard, shard.poll_scope, shard.poll_done)

    async def _stop_polling(self, shard: _Shard) -> None:
        """Stop the poller and wait until it has, so that no REST snapshot can land after
        the socket's own (newer) `book` events."""
        if shard.poll_scope is None or shard.poll_done is None:
            return
        shard.poll_scope.cancel()
        await shard.poll_done.wait()
        shard.poll_scope = shard.poll_done = None
        shard.link.on_polling(False)

    async def _poll(self, shard: _Shard, scope: trio.CancelScope, done: trio.Event) -> None:
        assert self.books is not None
        try:
            with scope:
                shard.link.on_polling(True)
                self._publish_shard(shard)
                while True:
                    for asset in sorted(shard.assets):
                        await self._poll_one(asset)
                    await trio.sleep(self.config.poll_s)
        finally:
            done.set()

    async def _poll_one(self, asset: str) -> None:
        assert self.books is not None
        cid = self.market_of.get(asset)
        if cid is None:
            return
        try:
            snapshot = await self.books.get_book(asset)
        except _REST_ERRORS as exc:
            self.poll_errors += 1
            log.warning("REST /book for %s failed: %s", asset[:12], exc)
            return
        mailbox = self.routes.get(cid)
        if mailbox is not None and self.market_of.get(asset) == cid:
            self.polled_books += 1
            mailbox.send_nowait(PolledBook(time.perf_counter_ns(), cid, snapshot))

    # Health.

    def _publish_shard(self, shard: _Shard) -> None:
        for cid in {self.market_of[a] for a in shard.assets if a in self.market_of}:
            self._publish_market(cid)

    def _publish_market(self, cid: str) -> None:
        """Recompute a market's health; on a change, write the board, then wake its actor."""
        links = [s for s in self.shards if any(self.market_of.get(a) == cid for a in s.assets)]
        fresh = all(cid in s.fresh for s in links)
        health = market_health((s.link.health for s in links), fresh)
        reason = "; ".join(s.link.last_reason for s in links) or "not subscribed"
        seq = self.board.set(cid, health, reason)
        if seq is None:
            return
        log.info("market %s data health %s (%s)", cid[:12], health, reason)
        mailbox = self.routes.get(cid)
        if mailbox is not None:
            mailbox.send_nowait(MarketDataHealth(time.perf_counter_ns(), cid, health, reason, seq))
