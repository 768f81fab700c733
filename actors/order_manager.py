"""OrderManager: turns strategies' intents into orders, through the risk gate.

SetQuotes says which resting orders a strategy wants in a market: the manager keeps
the ones that already match, cancels the rest and places what is missing. TakeOrders
are sent as they are. Each order is signed here and gets its own temporary OrderActor
under the orders supervisor; a crashed order actor is not restarted (its order goes to
reconciliation). An order reconciliation finds live at the venue after a restart
(OrderAdopted) gets an actor that starts accepted and never sends it again; it stands
as its strategy's quote, so the strategy's next SetQuotes keeps or cancels it.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass

import orjson
import trio

from actors.order import OrderActor, OrderInput
from engine.fees import FeeSchedule
from engine.gateway import OrderSpec, VenueGateway
from engine.journal import Journal, OrderPhase
from engine.mailbox import Mailbox, Overflow, Resync
from engine.messages import (
    CancelOrder,
    CashUpdate,
    MarketInfo,
    OrderAdopted,
    OrderClosed,
    SetQuotes,
    TakeOrders,
)
from engine.order_factory import OrderFactory, OrderIntent
from engine.orderfsm import OrderState
from engine.registry import OrderRegistry
from engine.risk import RiskGate
from engine.stats import EngineStats
from engine.supervisor import ChildSpec, Restart, Supervisor
from engine.units import OrderType, Side, notional

log = logging.getLogger("polyengine.orders")

ManagerInput = SetQuotes | TakeOrders | OrderClosed | OrderAdopted | CashUpdate
ORDER_MAILBOX_CAPACITY = 256


@dataclass(slots=True)
class LiveOrder:
    spec: OrderSpec
    mailbox: Mailbox[OrderInput]
    cancel_requested: bool = False


class OrderManager:
    def __init__(
        self,
        mailbox: Mailbox[ManagerInput],
        orders: Supervisor,
        registry: OrderRegistry,
        gateway: VenueGateway,
        factory: OrderFactory,
        markets: dict[str, MarketInfo],
        risk: RiskGate,
        stats: EngineStats,
        initial_cash: int,
        stopping: trio.Event,
        *,
        journal: Journal | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.orders = orders
        self.registry = registry
        self.gateway = gateway
        self.factory = factory
        self.markets = markets
        self._children = itertools.count()
        self.risk = risk
        self.stats = stats
        self.cash = initial_cash
        self.stopping = stopping
        self.journal = journal
        """Where orders are journaled before they are sent (None: an in-process simulation
        that is never resumed)."""
        self.quotes: dict[tuple[str, str, str], LiveOrder] = {}
        self.open: dict[str, LiveOrder] = {}
        self.buy_reserved: dict[str, int] = {}  # condition id -> notional of open BUYs

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            message = await self.mailbox.receive()
            match message:
                case SetQuotes():
                    await self.on_quotes(message)
                case TakeOrders():
                    await self.on_take(message)
                case OrderClosed():
                    self.on_closed(message)
                case OrderAdopted():
                    await self.on_adopted(message)
                case CashUpdate(cash=cash):
                    self.cash = cash
                case Resync():
                    pass

    async def on_quotes(self, intent: SetQuotes) -> None:
        wanted = {q.key: q for q in intent.quotes}
        for (strategy, cid, key), live in list(self.quotes.items()):
            if strategy != intent.strategy or cid != intent.condition_id:
                continue
            target = wanted.get(key)
            spec = live.spec
            if target is not None and (target.price, target.size) == (spec.price, spec.size):
                del wanted[key]  # already resting as wanted
                continue
            del self.quotes[(strategy, cid, key)]
            await self._cancel(live, "requote")
        if self.stopping.is_set():
            return
        market = self.markets[intent.condition_id]
        for key, target in wanted.items():
            order = OrderIntent(
                market, target.token_id, target.side, target.price, target.size, OrderType.GTC,
                target.post_only,
            )  # fmt: skip
            placed = await self._place(order, intent.strategy, key, intent.origin_ts_ns)
            if placed is not None:
                self.quotes[(intent.strategy, intent.condition_id, key)] = placed

    async def on_take(self, intent: TakeOrders) -> None:
        if self.stopping.is_set():
            return
        market = self.markets[intent.condition_id]
        for index, leg in enumerate(intent.legs):
            order = OrderIntent(
                market, leg.token_id, leg.side, leg.price, leg.size, leg.order_type, False
            )
            await self._place(order, intent.strategy, f"take-{index}", intent.origin_ts_ns)

    async def _place(
        self, order: OrderIntent, strategy: str, key: str, origin_ts_ns: int
    ) -> LiveOrder | None:
        """Risk-check the intent, then start its OrderActor (which signs and sends it)."""
        condition_id = order.market.condition_id
        reserved = sum(self.buy_reserved.values())
        check = self.risk.check(
            order.side,
            order.price,
            order.size,
            self.buy_reserved.get(condition_id, 0),
            self.cash - reserved,
        )
        if not check.allowed:
            self.stats.orders_denied += 1
            self.stats.count_rejection(f"denied: {check.reason}")
            return None
        spec = self.factory.sign(order)
        return await self._start(
            spec, strategy, condition_id, key, origin_ts_ns, order.market.fees, adopted=False
        )

    async def _start(
        self,
        spec: OrderSpec,
        strategy: str,
        condition_id: str,
        key: str,
        origin_ts_ns: int,
        fees: FeeSchedule | None,
        *,
        adopted: bool,
    ) -> LiveOrder:
        """Start the order's actor (it journals, then sends) and reserve its risk."""
        child = f"order-{next(self._children)}"
        mailbox: Mailbox[OrderInput] = Mailbox(child, ORDER_MAILBOX_CAPACITY, Overflow.BLOCK)
        actor = OrderActor(
            spec, strategy, condition_id, key, origin_ts_ns, self.registry, mailbox,
            self.gateway, self.mailbox, self.stats,
            journal=self.journal, fees=fees, adopted=adopted,
        )  # fmt: skip
        await self.orders.start_child(ChildSpec(child, actor.run, Restart.TEMPORARY))
        live = LiveOrder(spec, mailbox)
        self.open[spec.order_id] = live
        self.risk.open_orders += 1
        if spec.side is Side.BUY:
            value = notional(spec.price, spec.size)
            self.buy_reserved[condition_id] = self.buy_reserved.get(condition_id, 0) + value
        return live

    async def on_adopted(self, adopted: OrderAdopted) -> None:
        """An order of ours live at the venue with no actor (found after a restart)."""
        if adopted.order_id in self.open or self.journal is None:
            return
        record = self.journal.state.orders.get(adopted.order_id)
        if record is None:
            return
        s = record.signed
        spec = OrderSpec(
            s.order_id, s.token_id, s.side, s.price, s.size, s.order_type, s.post_only,
            orjson.dumps(dict(s.body)),
        )  # fmt: skip
        live = await self._start(
            spec, s.strategy, s.condition_id, s.key, 0, record.fees, adopted=True
        )
        if s.order_type.rests and not s.key.startswith("take-"):
            self.quotes.setdefault((s.strategy, s.condition_id, s.key), live)
        if self.stopping.is_set():
            await self._cancel(live, "shutdown")

    async def _cancel(self, live: LiveOrder, reason: str) -> None:
        if live.cancel_requested:
            return
        live.cancel_requested = True
        await live.mailbox.send(CancelOrder(time.perf_counter_ns(), live.spec.order_id, reason))

    def on_closed(self, closed: OrderClosed) -> None:
        live = self.open.pop(closed.order_id, None)
        self.registry.closed(closed.order_id)
        if live is None:
            return
        self.risk.open_orders -= 1
        key = (closed.strategy, closed.condition_id, closed.key)
        if self.quotes.get(key) is live:
            del self.quotes[key]
        if live.spec.side is Side.BUY:
            value = notional(live.spec.price, live.spec.size)
            self.buy_reserved[closed.condition_id] -= value

    async def cancel_everything(self) -> list[str]:
        """Shutdown hook: ask every order actor to cancel, then cancel all at the venue."""
        for live in list(self.open.values()):
            await self._cancel(live, "shutdown")
        canceled = await self.gateway.cancel_all()
        if self.journal is not None:
            # The venue confirmed these cancels; their actors may be stopped before its
            # reports arrive, so the journal is told here (a graceful stop leaves no order
            # open in the journal).
            state = self.journal.state
            for order_id in canceled:
                order = state.orders.get(order_id)
                if order is not None and order.phase is not OrderPhase.CLOSED:
                    self.journal.closed(
                        order_id, OrderState.CANCELED, state.filled(order_id), "shutdown"
                    )
        return canceled
