"""The venue's user channel in: fills to the portfolio, reports to orders.

`UserEventRouter` is the channel's logic, whatever carries the events: the simulator's
in-process stream (`UserFeedActor`), the venue's socket (actors/user_channel.py) or a
REST backfill of trades after a reconnect. Everything goes through one lock, so a
backfill and the live socket never interleave halfway through a trade, and a frame or a
backfill batch, once started, is handled whole even if its carrier is cancelled (a
dropped socket, a watchdog): a trade marked as booked has always been sent on.

A trade names the taker order and every maker leg. Each leg that is ours becomes one
Fill (attributed through the order registry, so late fills of finished orders still
count), also sent to the order's actor if it is still running (as is a FAILED trade's
FillVoided). Fill ids are the trade id for a maker leg and `trade#index` for the
taker's legs; the ledger keys a fill by (fill id, order id). What a status means is
decided by engine.trade_status: the first MATCHED (or MINED/RETRYING) books the fills
provisionally, CONFIRMED makes them final (FillConfirmed), FAILED voids them
(FillVoided); CONFIRMED seen first books them final, FAILED seen first books nothing,
and every repeat is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import trio

from engine.gateway import StreamingGateway
from engine.mailbox import Mailbox
from engine.messages import (
    Fill,
    FillConfirmed,
    FillVoided,
    Liquidity,
    MarketInfo,
    OrderReport,
)
from engine.registry import OrderRegistry
from engine.stats import EngineStats
from engine.trade_status import TradeAction, TradeStatusTracker, normalize_status
from engine.units import UNIT, Side, parse_units

log = logging.getLogger("polyengine.user")

DEFAULT_DEDUPE_CAPACITY = 100_000
"""Trades remembered for deduplication (far more than can be in settlement at once)."""


class UserEventRouter:
    """Turns user-channel events (socket frames or REST trades) into engine messages."""

    def __init__(
        self,
        registry: OrderRegistry,
        markets: Mapping[str, MarketInfo],
        fills_out: Mailbox[Any],
        stats: EngineStats,
        *,
        dedupe_capacity: int = DEFAULT_DEDUPE_CAPACITY,
    ) -> None:
        self.registry = registry
        self.markets = markets
        self.fills_out = fills_out
        self.stats = stats
        self.tracker = TradeStatusTracker(dedupe_capacity)
        self.fills_booked = 0
        self.fills_confirmed = 0
        self.fills_voided = 0
        self.backfilled_trades = 0
        self.backfill_bookings = 0
        """Fills first booked from a REST backfill: what the socket alone had missed."""
        self._lock = trio.Lock()
        self._backfilling = False

    async def on_frame(self, raw: bytes | str) -> None:
        """One user-channel frame: an event object or an array of them. A malformed frame
        or event is counted and skipped."""
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.stats.malformed_frames += 1
            log.warning("skipped a user frame that is not JSON: %.60r", raw)
            return
        async with self._lock:
            with trio.CancelScope(shield=True):
                await self._on_events(payload if isinstance(payload, list) else [payload])

    async def _on_events(self, events: list[Any]) -> None:
        for event in events:
            if not isinstance(event, dict):
                self.stats.malformed_frames += 1
                continue
            self.stats.user_events += 1
            kind = event.get("event_type")
            if kind == "trade":
                await self._guarded(self._on_trade, event)
            elif kind == "order":
                await self._guarded(self._on_order, event)

    async def on_rest_trades(self, trades: Iterable[Mapping[str, Any]]) -> None:
        """Trades from REST /data/trades (the venue's Trade objects), oldest first: the
        same handling as live trade events, so overlap with the socket is harmless."""
        async with self._lock:
            self._backfilling = True
            try:
                with trio.CancelScope(shield=True):
                    for trade in trades:
                        self.backfilled_trades += 1
                        await self._guarded(self._on_trade, trade)
            finally:
                self._backfilling = False

    def backfill_after(self, lookback_s: int) -> int | None:
        """Where a backfill must start so that nothing still in motion is missed."""
        return self.tracker.backfill_after(lookback_s)

    async def _guarded(self, handler: Any, event: Mapping[str, Any]) -> None:
        try:
            await handler(event)
        except (KeyError, ValueError, TypeError) as exc:
            self.stats.malformed_frames += 1
            log.warning("skipped a malformed user event: %s: %s", type(exc).__name__, exc)

    async def _on_order(self, event: Mapping[str, Any]) -> None:
        order_id = str(event["id"])
        mailbox = self.registry.mailboxes.get(order_id)
        if mailbox is None:
            self.stats.unknown_order_events += 1
            return
        matched = str(event.get("size_matched") or "0")
        report = OrderReport(
            time.perf_counter_ns(), order_id, str(event["type"]), parse_units(matched)
        )
        await mailbox.send(report)

    async def _on_trade(self, trade: Mapping[str, Any]) -> None:
        trade_id = str(trade["id"])
        status = normalize_status(trade["status"])
        match_s = _seconds(trade.get("match_time"))
        fills = self._our_fills(trade_id, trade, match_s)  # parsed before any state changes
        action = self.tracker.observe(trade_id, status, match_s)
        if action is TradeAction.BOOK or action is TradeAction.BOOK_FINAL:
            for fill in fills:
                self.fills_booked += 1
                self.backfill_bookings += self._backfilling
                await self.fills_out.send(fill)
                mailbox = self.registry.mailboxes.get(fill.order_id)
                if mailbox is not None:
                    await mailbox.send(fill)
        if action is TradeAction.BOOK_FINAL or action is TradeAction.CONFIRM:
            for fill in fills:
                self.fills_confirmed += 1
                await self.fills_out.send(
                    FillConfirmed(time.perf_counter_ns(), fill.trade_id, fill.order_id)
                )
        elif action is TradeAction.VOID:
            for fill in fills:
                self.fills_voided += 1
                voided = FillVoided(time.perf_counter_ns(), fill.trade_id, fill.order_id)
                await self.fills_out.send(voided)
                mailbox = self.registry.mailboxes.get(fill.order_id)
                if mailbox is not None:
                    await mailbox.send(voided)

    def _our_fills(self, trade_id: str, trade: Mapping[str, Any], match_s: int) -> list[Fill]:
        """The legs of a trade that are ours, as fills (the same ids at every status)."""
        fills = []
        taker_id = str(trade["taker_order_id"])
        taker_asset = str(trade["asset_id"])
        for index, leg in enumerate(trade.get("maker_orders") or []):
            size = parse_units(leg["matched_amount"])
            leg_price = parse_units(leg["price"])
            if taker_id in self.registry.orders:
                # The taker trades at the maker's price, mirrored when the maker holds the
                # other outcome (a mint): BUY YES against BUY NO at q costs 1 - q.
                price = leg_price if leg["asset_id"] == taker_asset else UNIT - leg_price
                side = Side.parse(str(trade["side"]))
                fill_id = f"{trade_id}#{index}"
                fills.append(
                    self._fill(
                        fill_id, taker_id, taker_asset, side, price, size, Liquidity.TAKER, match_s
                    )
                )
            maker_id = str(leg["order_id"])
            if maker_id in self.registry.orders:
                side = Side.parse(str(leg["side"]))
                token = str(leg["asset_id"])
                fills.append(
                    self._fill(
                        trade_id, maker_id, token, side, leg_price, size, Liquidity.MAKER, match_s
                    )
                )
        return fills

    def _fill(
        self,
        fill_id: str,
        order_id: str,
        token_id: str,
        side: Side,
        price: int,
        size: int,
        liquidity: Liquidity,
        match_s: int,
    ) -> Fill:
        meta = self.registry.orders[order_id]
        market = self.markets[meta.condition_id]
        fee = market.fees.taker_fee(price, size) if liquidity is Liquidity.TAKER else 0
        return Fill(
            time.perf_counter_ns(), fill_id, order_id, meta.strategy, meta.condition_id,
            token_id, side, price, size, fee, liquidity, match_s,
        )  # fmt: skip


def _seconds(value: Any) -> int:
    """A unix-seconds field, 0 when absent or unreadable: it only positions the backfill
    window (0 widens it), so it must never make a real trade unreadable."""
    try:
        return int(float(str(value)))
    except (ValueError, OverflowError):
        return 0


class UserFeedActor:
    """The user channel of an in-process venue (the paper session's simulator)."""

    def __init__(
        self,
        gateway: StreamingGateway,
        registry: OrderRegistry,
        markets: Mapping[str, MarketInfo],
        fills_out: Mailbox[Any],
        stats: EngineStats,
        *,
        dedupe_capacity: int = DEFAULT_DEDUPE_CAPACITY,
    ) -> None:
        self.gateway = gateway
        self.router = UserEventRouter(
            registry, markets, fills_out, stats, dedupe_capacity=dedupe_capacity
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self.gateway.user_stream() as stream:
            task_status.started()
            async for raw in stream:
                await self.router.on_frame(raw)
