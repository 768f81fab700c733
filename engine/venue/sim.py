"""The simulated venue on the session's Trio clock, and the engine's gateway to it.

SimVenue steps the seeded scenario (spot path, traders, market lifecycle) through the
matching engine and publishes what happened as the venue's own WebSocket frames: market
channel frames to market subscribers, user channel frames to the account they concern.
SimGateway is the in-process VenueGateway a paper session trades through; it adds a
one-way latency on the session clock to every request, as a network would.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import trio

from engine.clock import SessionClock
from engine.gateway import BookSnapshot, OrderSpec, PostResult
from engine.messages import MarketInfo
from engine.units import Side
from engine.venue.matching import (
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
    MarketDataPublisher,
    TradeStatus,
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
    assets: frozenset[str]
    channel: trio.MemorySendChannel[bytes]
    open: bool = True


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
    def __init__(self, scenario: Scenario, clock: SessionClock, *, seed: int) -> None:
        self.scenario = scenario
        self.clock = clock
        self.engine = MatchingEngine(id_seed=f"sim-{seed}")
        scenario.attach(self.engine)
        self.specs = {spec.condition_id: spec for spec in scenario.markets}
        self.publishers = {cid: MarketDataPublisher(spec) for cid, spec in self.specs.items()}
        self.finished = trio.Event()
        self.dropped_subscribers = 0
        self._market_subs: list[_Subscriber] = []
        self._user_subs: dict[str, list[_Subscriber]] = {}

    def open_account(self, account: str, collateral: int) -> None:
        self.engine.deposit(account, collateral)

    def gateway(self, account: str, latency_s: float) -> SimGateway:
        return SimGateway(self, account, latency_s)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Step the scenario every step_s of session time until the last market resolves."""
        task_status.started()
        step_s = self.scenario.step_s
        first = self.scenario.start_ts
        for index in itertools.count():
            at = first + index * step_s
            await trio.sleep_until(self.clock.trio_time_of(at))
            self.scenario.step(self.engine, at)
            self.flush()
            if all(self.engine.market_status(cid) is MarketStatus.RESOLVED for cid in self.specs):
                self.finished.set()
                await trio.sleep_forever()

    # --- publishing ---------------------------------------------------------------

    def flush(self) -> None:
        """Publish every event the engine produced since the last flush."""
        events = self.engine.drain_events()
        if not events:
            return
        for cid, publisher in self.publishers.items():
            frames = publisher.publish(events)
            if frames:
                tokens = self.specs[cid].token_ids
                for sub in self._market_subs:
                    if sub.assets.intersection(tokens):
                        for frame in frames:
                            self._deliver(sub, frame)
        if self._user_subs:
            for event in events:
                self._publish_user(event)

    def _publish_user(self, event: VenueEvent) -> None:
        match event:
            case OrderPlaced() | OrderUpdated() | OrderCancelled():
                subs = self._user_subs.get(event.account)
                if subs:
                    spec = self.specs[event.condition_id]
                    frame = order_event_frame(event, spec, default_identity(event.account))
                    for sub in subs:
                        self._deliver(sub, frame)
            case TradeExecuted():
                spec = self.specs[event.condition_id]
                accounts = dict.fromkeys(
                    [event.taker_account] + [leg.account for leg in event.maker_legs]
                )
                for account in accounts:
                    subs = self._user_subs.get(account)
                    if not subs:
                        continue
                    for status in TRADE_STATUS_STEPS:
                        frame = trade_event_frame(event, spec, recipient=account, status=status)
                        for sub in subs:
                            self._deliver(sub, frame)
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

    @asynccontextmanager
    async def market_subscription(
        self, asset_ids: Sequence[str]
    ) -> AsyncIterator[trio.MemoryReceiveChannel[bytes]]:
        """Frames for these assets, starting with a `book` snapshot of each (as on connect)."""
        send, receive = trio.open_memory_channel[bytes](SUBSCRIBER_BUFFER)
        sub = _Subscriber(frozenset(asset_ids), send)
        now_ms = self.clock.now_ms()
        for cid, publisher in self.publishers.items():
            for token, frame in zip(
                self.specs[cid].token_ids, publisher.snapshot(now_ms), strict=True
            ):
                if token in sub.assets:
                    self._deliver(sub, frame)
        self._market_subs.append(sub)
        try:
            yield receive
        finally:
            self._market_subs.remove(sub)
            send.close()

    @asynccontextmanager
    async def user_subscription(
        self, account: str
    ) -> AsyncIterator[trio.MemoryReceiveChannel[bytes]]:
        send, receive = trio.open_memory_channel[bytes](SUBSCRIBER_BUFFER)
        sub = _Subscriber(frozenset(), send)
        self._user_subs.setdefault(account, []).append(sub)
        try:
            yield receive
        finally:
            self._user_subs[account].remove(sub)
            send.close()


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

    async def collateral_balance(self) -> int:
        await self._hop()
        return self.venue.engine.balance(self.account).collateral_total

    def market_stream(
        self, asset_ids: Sequence[str]
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]:
        return self.venue.market_subscription(asset_ids)

    def user_stream(self) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[bytes]]:
        return self.venue.user_subscription(self.account)
