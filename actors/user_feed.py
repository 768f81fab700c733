"""UserFeedActor: the venue's user channel in; fills to the portfolio, reports to orders.

A trade event names the taker order and every maker leg. Each leg that is ours becomes
one Fill (attributed through the order registry, so late fills of finished orders still
count) and is also sent to the order's actor if it is still running. A trade is
booked when MATCHED; the later MINED/CONFIRMED steps re-send the same id and are not
fills again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import orjson
import trio

from engine.gateway import StreamingGateway
from engine.mailbox import Mailbox
from engine.messages import Fill, Liquidity, MarketInfo, OrderReport
from engine.registry import OrderRegistry
from engine.stats import EngineStats
from engine.units import UNIT, Side, parse_units

log = logging.getLogger("polyengine.user")


class UserFeedActor:
    def __init__(
        self,
        gateway: StreamingGateway,
        registry: OrderRegistry,
        markets: Mapping[str, MarketInfo],
        fills_out: Mailbox[Any],
        stats: EngineStats,
    ) -> None:
        self.gateway = gateway
        self.registry = registry
        self.markets = markets
        self.fills_out = fills_out
        self.stats = stats

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self.gateway.user_stream() as stream:
            task_status.started()
            async for raw in stream:
                await self.on_frame(raw)

    async def on_frame(self, raw: bytes) -> None:
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.stats.malformed_frames += 1
            return
        for event in payload if isinstance(payload, list) else [payload]:
            if not isinstance(event, dict):
                self.stats.malformed_frames += 1
                continue
            self.stats.user_events += 1
            try:
                if event.get("event_type") == "trade":
                    await self.on_trade(event)
                elif event.get("event_type") == "order":
                    await self.on_order(event)
            except (KeyError, ValueError, TypeError) as exc:
                self.stats.malformed_frames += 1
                log.warning("skipped a malformed user event: %s", exc)

    async def on_order(self, event: Mapping[str, Any]) -> None:
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

    async def on_trade(self, event: Mapping[str, Any]) -> None:
        if event.get("status") != "MATCHED":
            return
        trade_id = str(event["id"])
        taker_id = str(event["taker_order_id"])
        taker_asset = str(event["asset_id"])
        for index, leg in enumerate(event.get("maker_orders") or []):
            size = parse_units(leg["matched_amount"])
            leg_price = parse_units(leg["price"])
            if taker_id in self.registry.orders:
                # The taker trades at the maker's price, mirrored when the maker holds the
                # other outcome (a mint): BUY YES against BUY NO at q costs 1 - q.
                price = leg_price if leg["asset_id"] == taker_asset else UNIT - leg_price
                side = Side.parse(str(event["side"]))
                await self._fill(
                    f"{trade_id}#{index}", taker_id, taker_asset, side, price, size, Liquidity.TAKER
                )
            maker_id = str(leg["order_id"])
            if maker_id in self.registry.orders:
                side = Side.parse(str(leg["side"]))
                await self._fill(
                    trade_id, maker_id, str(leg["asset_id"]), side, leg_price, size, Liquidity.MAKER
                )

    async def _fill(
        self,
        fill_id: str,
        order_id: str,
        token_id: str,
        side: Side,
        price: int,
        size: int,
        liquidity: Liquidity,
    ) -> None:
        meta = self.registry.orders[order_id]
        market = self.markets[meta.condition_id]
        fee = market.fees.taker_fee(price, size) if liquidity is Liquidity.TAKER else 0
        now = time.perf_counter_ns()
        fill = Fill(
            now, fill_id, order_id, meta.strategy, meta.condition_id, token_id, side, price, size,
            fee, liquidity,
        )  # fmt: skip
        await self.fills_out.send(fill)
        mailbox = self.registry.mailboxes.get(order_id)
        if mailbox is not None:
            await mailbox.send(fill)
