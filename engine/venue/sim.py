"""The simulated venue on the session's Trio clock, and the engine's gateway to it.

SimVenue steps the seeded scenario (spot path, traders, market lifecycle) through the
matching engine and publishes what happened as the venue's own WebSocket frames: market
channel frames to market subscribers, user channel frames to the account they concern.
SimGateway is the in-process VenueGateway a paper session trades through; it adds a
one-way latency on the session clock to every request, as a network would.

The local venue server (engine.venue.server) serves the same SimVenue over the real
protocol: it names accounts on the wire through `identity_of`, watches every drained
batch of events through `listeners`, settles trades itself (`settle_trades=False`, then
`publish_trade_status`), changes what a live feed carries (`market_feed`, `user_feed`) and
injects frames that do not come from the engine (`publish_market_frame`).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import trio

from engine.clock import SessionClock
from engine.gateway import BookSnapshot, OrderSpec, PostResult, Resolution, VenueOrderState
from engine.messages import MarketInfo
from engine.units import Side
from engine.venue.matching import (
    BookModel,
    MarketSpec,
    MarketStatus,
    MatchingEngine,
    OrderCancelled,
    OrderPlaced,
    OrderRequest,
    OrderUpdated,
    TradeExecuted,
    VenueEvent,
)
from engine.venue.scenario import Scenario
from engine.venue.wire import (
    Identity,
    MarketDataPublisher,
    TradeStatus,
    best_bid_ask_frame,
    default_identity,
    order_event_frame,
    trade_event_frame,
)

log = logging.getLogger("polyengine.venue")

SUBSCRIBER_BUFFER = 4096
"""Frames a subscriber may fall behind before the venue drops its connection."""

TRADE_STATUS_STEPS: tuple[TradeStatus, ...] = ("MATCHED", "MINED", "CONFIRMED")


@dataclass(eq=False)
class _Subscriber:
    """One live feed. Market feeds filter by asset; user feeds by account and market."""

    assets: set[str]
    channel: trio.MemorySendChannel[bytes]
    open: bool = True
    custom_features: bool = False
    accounts: frozenset[str] = frozenset()
    markets: set[str] = field(default_factory=set)
    """User feeds only: condition ids to deliver (empty: every market)."""


@dataclass(eq=False)
class MarketFeed:
    """A market-channel subscription whose assets can change while it is open."""

    venue: SimVenue
    receive: trio.MemoryReceiveChannel[bytes]
    _sub: _Subscriber

    @property
    def assets(self) -> frozenset[str]:
        return frozenset(self._sub.assets)

    @property
    def open(self) -> bool:
        """False once the venue dropped this feed for falling behind."""
        return self._sub.open

    def add(self, asset_ids: Collection[str]) -> list[str]:
        """Subscribe to more assets; returns the new ones (their books come next)."""
        new = [a for a in dict.fromkeys(asset_ids) if a not in self._sub.assets]
        self._sub.assets.update(new)
        return new

    def remove(self, asset_ids: Collection[str]) -> None:
        self._sub.assets.difference_update(asset_ids)

    def set_custom_features(self, enabled: bool) -> None:
        """Whether this feed also gets `best_bid_ask` frames."""
        self._sub.custom_features = enabled

    def snapshot(self, asset_ids: Collection[str]) -> list[bytes]:
        """Current `book` frames of these assets (unknown assets are skipped)."""
        return self.venue.book_frames(asset_ids)

    def push(self, frame: bytes) -> None:
        """Queue a frame made elsewhere (a snapshot) behind what this feed already has."""
        self.venue._deliver(self._sub, frame)


@dataclass(eq=False)
class UserFeed:
    """A user-channel subscription over some accounts; its market filter can change."""

    receive: trio.MemoryReceiveChannel[bytes]
    _sub: _Subscriber

    @property
    def open(self) -> bool:
        return self._sub.open

    @property
    def markets(self) -> frozenset[str]:
        return frozenset(self._sub.markets)

    def add_markets(self, condition_ids: Collection[str]) -> None:
        self._sub.markets.update(condition_ids)

    def remove_markets(self, condition_ids: Collection[str]) -> None:
        self._sub.markets.difference_update(condition_ids)


def market_info(spec: MarketSpec) -> MarketInfo:
    return MarketInfo(
        condition_id=spec.condition_id,
        slug=spec.slug,
        token_ids=spec.token_ids,
        outcomes=spec.outcomes,
        tick=spec.tick,
        min_size=spec.min_size,
        fees=spec.fees,
        start_ts=spec.start_ts,
        end_ts=spec.end_ts,
    )


class SimVenue:
    """The scenario stepped on the session clock, published as the venue's frames.

    `settle_trades=True` (paper mode) publishes each trade as MATCHED, MINED and
    CONFIRMED at once; with False only MATCHED is published and the owner moves trades
    on with `publish_trade_status`. `identity_of` names an account on the wire.
    `book_model` is the engine's: "per_token" for the paper session (its parity
    strategy needs unmirrored books), "unified" for the production-like server.
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: SessionClock,
        *,
        seed: int,
        identity_of: Callable[[str], Identity] = default_identity,
        settle_trades: bool = True,
        book_model: BookModel = "per_token",
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.engine = MatchingEngine(id_seed=f"sim-{seed}", book_model=book_model)
        scenario.attach(self.engine)
        self.identity_of = identity_of
        self.settle_trades = settle_trades
        self.listeners: list[Callable[[list[VenueEvent]], None]] = []
        """Called with every drained batch of events, before anything is published."""
        self.specs = {spec.condition_id: spec for spec in scenario.markets}
        self.publishers = {cid: MarketDataPublisher(spec) for cid, spec in self.specs.items()}
        self.finished = trio.Event()
        self.dropped_subscribers = 0
        self._market_subs: list[_Subscriber] = []
        self._user_subs: dict[str, list[_Subscriber]] = {}
        self._best: dict[str, tuple[int | None, int | None]] = {}

    def open_account(self, account: str, collateral: int) -> None:
        self.engine.deposit(account, collateral)

    def list_market(self, spec: MarketSpec, status: MarketStatus = MarketStatus.OPEN) -> None:
        """List a market that is not part of the scenario (the scenario never steps it)."""
        self.engine.add_market(spec, status)
        self.specs[spec.condition_id] = spec
        self.publishers[spec.condition_id] = MarketDataPublisher(spec)

    def gateway(self, account: str, latency_s: float) -> SimGateway:
        return SimGateway(self, account, latency_s)

    async def run(
        self,
        *,
        start_at: float | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Step the scenario every step_s of session time until the last market resolves.

        `start_at` (unix seconds) skips the steps before it: a venue started in the
        middle of a window opens that window now instead of replaying its past.
        """
        task_status.started()
        step_s = self.scenario.step_s
        first = self.scenario.start_ts
        skip = 0 if start_at is None else max(0, math.ceil((start_at - first) / step_s))
        for index in itertools.count(skip):
            at = first + index * step_s
            await trio.sleep_until(self.clock.trio_time_of(at))
            self.scenario.step(self.engine, at)
            self.flush()
            if all(
                self.engine.market_status(spec.condition_id) is MarketStatus.RESOLVED
                for spec in self.scenario.markets
            ):
                self.finished.set()
                await trio.sleep_forever()

    # --- publishing ---------------------------------------------------------------

    def flush(self) -> None:
        """Publish every event the engine produced since the last flush."""
        events = self.engine.drain_events()
        if not events:
            return
        for listener in self.listeners:
            listener(events)
        now_ms = events[-1].ts_ms
        for cid, publisher in self.publishers.items():
            frames = publisher.publish(events)
            if frames:
                tokens = self.specs[cid].token_ids
                for sub in self._market_subs:
                    if sub.assets.intersection(tokens):
                        for frame in frames:
                            self._deliver(sub, frame)
                if any(sub.custom_features for sub in self._market_subs):
                    self._publish_best(cid, publisher, now_ms)
        if self._user_subs:
            for event in events:
                self._publish_user(event)

    def _publish_best(self, cid: str, publisher: MarketDataPublisher, ts_ms: int) -> None:
        """`best_bid_ask` frames for tokens whose top of book moved (custom feature).

        Only computed while some feed asked for it; a feed that turns the feature on
        gets its first frame at the next change.
        """
        for token in self.specs[cid].token_ids:
            best = publisher.best(token)
            if self._best.get(token, (None, None)) == best:
                continue
            self._best[token] = best
            frame = b""
            for sub in self._market_subs:
                if sub.custom_features and token in sub.assets:
                    frame = frame or best_bid_ask_frame(cid, token, best[0], best[1], ts_ms)
                    self._deliver(sub, frame)

    def publish_market_frame(self, frame: bytes, asset_ids: Collection[str]) -> int:
        """Send a frame made elsewhere (a replay, an injected fault) to market feeds.

        Delivered byte for byte to every feed subscribed to any of `asset_ids`;
        returns how many feeds got it.
        """
        delivered = 0
        for sub in self._market_subs:
            if sub.assets.intersection(asset_ids):
                self._deliver(sub, frame)
                delivered += 1
        return delivered

    def publish_trade_status(
        self,
        trade: TradeExecuted,
        status: TradeStatus,
        ts_ms: int,
        transaction_hash: str | None = None,
    ) -> None:
        """Send a trade's status to every account in it (MINED, CONFIRMED, FAILED, ...).

        `transaction_hash` None gives the trade's fake hash; "" sends none (not mined yet).
        """
        spec = self.specs[trade.condition_id]
        accounts = dict.fromkeys([trade.taker_account] + [leg.account for leg in trade.maker_legs])
        for account in accounts:
            frame = b""
            for sub in self._user_subs.get(account, ()):
                if sub.markets and trade.condition_id not in sub.markets:
                    continue
                frame = frame or trade_event_frame(
                    trade,
                    spec,
                    recipient=account,
                    status=status,
                    identity_of=self.identity_of,
                    transaction_hash=transaction_hash,
                    ts_ms=ts_ms,
                )
                self._deliver(sub, frame)

    def _publish_user(self, event: VenueEvent) -> None:
        match event:
            case OrderPlaced() | OrderUpdated() | OrderCancelled():
                subs = [
                    sub
                    for sub in self._user_subs.get(event.account, ())
                    if not sub.markets or event.condition_id in sub.markets
                ]
                if subs:
                    spec = self.specs[event.condition_id]
                    frame = order_event_frame(event, spec, self.identity_of(event.account))
                    for sub in subs:
                        self._deliver(sub, frame)
            case TradeExecuted():
                if self.settle_trades:
                    for status in TRADE_STATUS_STEPS:
                        self.publish_trade_status(event, status, event.ts_ms)
                else:
                    self.publish_trade_status(event, "MATCHED", event.ts_ms, "")
            case _:
                pass

    def _deliver(self, sub: _Subscriber, frame: bytes) -> None:
        if not sub.open:
            return
        try:
            sub.channel.send_nowait(frame)
        except trio.WouldBlock:
            # A real venue drops a consumer that cannot keep up; it must reconnect.
            sub.open = False
            sub.channel.close()
            self.dropped_subscribers += 1
            log.warning("dropped a slow subscriber")
        except trio.BrokenResourceError:
            sub.open = False

    def book_frames(self, asset_ids: Collection[str]) -> list[bytes]:
        """The `book` frames a new subscriber to these assets gets, in listing order."""
        now_ms = self.clock.now_ms()
        wanted = set(asset_ids)
        frames: list[bytes] = []
        for cid, publisher in self.publishers.items():
            tokens = self.specs[cid].token_ids
            if wanted.intersection(tokens):
                for token, frame in zip(tokens, publisher.snapshot(now_ms), strict=True):
                    if token in wanted:
                        frames.append(frame)
        return frames

    @asynccontextmanager
    async def market_feed(
        self,
        asset_ids: Collection[str],
        *,
        custom_features: bool = False,
        snapshot: bool = True,
        buffer: int = SUBSCRIBER_BUFFER,
    ) -> AsyncIterator[MarketFeed]:
        """A market feed whose assets can change; with `snapshot`, books come first."""
        send, receive = trio.open_memory_channel[bytes](buffer)
        sub = _Subscriber(set(asset_ids), send, custom_features=custom_features)
        if snapshot:
            for frame in self.book_frames(sub.assets):
                self._deliver(sub, frame)
        self._market_subs.append(sub)
        try:
            yield MarketFeed(self, receive, sub)
        finally:
            self._market_subs.remove(sub)
            send.close()

    @asynccontextmanager
    async def market_subscription(
        self, asset_ids: Sequence[str]
    ) -> AsyncIterator[trio.MemoryReceiveChannel[bytes]]:
        """Frames for these assets, starting with a `book` snapshot of each (as on connect)."""
        async with self.market_feed(asset_ids) as feed:
            yield feed.receive

    @asynccontextmanager
    async def user_feed(
        self,
        accounts: Collection[str],
        markets: Collection[str] = (),
        *,
        buffer: int = SUBSCRIBER_BUFFER,
    ) -> AsyncIterator[UserFeed]:
        """Order and trade frames of these accounts, in `markets` (empty: all markets)."""
        send, receive = trio.open_memory_channel[bytes](buffer)
        sub = _Subscriber(set(), send, accounts=frozenset(accounts), markets=set(markets))
        for account in sub.accounts:
            self._user_subs.setdefault(account, []).append(sub)
        try:
            yield UserFeed(receive, sub)
        finally:
            for account in sub.accounts:
                self._user_subs[account].remove(sub)
            send.close()

    def user_feeds(self, account: str) -> int:
        """How many user feeds currently deliver this account's events."""
        return len(self._user_subs.get(account, ()))

    @asynccontextmanager
    async def user_subscription(
        self, account: str
    ) -> AsyncIterator[trio.MemoryReceiveChannel[bytes]]:
        async with self.user_feed([account]) as feed:
            yield feed.receive


class SimGateway:
    """The engine's VenueGateway onto a SimVenue, with a one-way latency per request."""

    def __init__(self, venue: SimVenue, account: str, latency_s: float) -> None:
        self.venue = venue
        self.account = account
        self.latency_s = latency_s

    async def _hop(self) -> None:
        if self.latency_s:
            await trio.sleep(self.latency_s)

    async def list_markets(self) -> list[MarketInfo]:
        return [market_info(spec) for spec in self.venue.specs.values()]

    async def post_order(self, order: OrderSpec) -> PostResult:
        await self._hop()
        request = OrderRequest(
            account=self.account,
            token_id=order.token_id,
            side=order.side,
            price=order.price,
            size=order.size,
            order_type=order.order_type,
            post_only=order.post_only,
        )
        result = self.venue.engine.submit(
            request, self.venue.clock.now_ms(), order_id=order.order_id
        )
        self.venue.flush()
        await self._hop()
        matched = result.taking_amount if order.side is Side.BUY else result.making_amount
        return PostResult(result.success, result.error, result.order_id, result.status, matched)

    async def cancel_order(self, order_id: str) -> bool:
        await self._hop()
        done = self.venue.engine.cancel(self.account, order_id, now_ms=self.venue.clock.now_ms())
        self.venue.flush()
        await self._hop()
        return done

    async def cancel_all(self) -> list[str]:
        await self._hop()
        cancelled = self.venue.engine.cancel_all(self.account, now_ms=self.venue.clock.now_ms())
        self.venue.flush()
        await self._hop()
        return cancelled

    async def get_book(self, token_id: str) -> BookSnapshot:
        await self._hop()
        bids, asks = self.venue.engine.book(token_id)
        await self._hop()
        return BookSnapshot(token_id, tuple(bids), tuple(asks))

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution:
        """The simulator always answers, but the protocol asks: what it knows of an id."""
        await self._hop()
        view = self.venue.engine.order(order_id)
        await self._hop()
        if view is None:
            return Resolution(order_id, VenueOrderState.NOT_FOUND, None, (), 0)
        if view.size_matched >= view.original_size:
            state = VenueOrderState.FILLED
        elif any(o.order_id == order_id for o in self.venue.engine.open_orders(self.account)):
            state = VenueOrderState.LIVE
        else:
            state = VenueOrderState.CANCELED
        return Resolution(order_id, state, None, (), view.size_matched)

    async def collateral_balance(self) -> int:
        await self._hop()
        return self.venue.engine.balance(self.account).collateral_total

    def market_stream(
        self, asset_ids: Sequence[str]
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]:
        return self.venue.market_subscription(asset_ids)

    def user_stream(self) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]:
        return self.venue.user_subscription(self.account)
