"""OrderActor: one order's life, from submit to a terminal state, on the order state table.

It signs its order natively (the id is the EIP-712 digest), registers the id so that
reports racing the response find it, and is ready only then. It submits through the
venue gateway, follows the venue's reports about its id, cancels
when told and counts a cancel as done only when the venue confirms it. Fills are booked
by the portfolio from the user channel, not here, so a fill that arrives after this actor
has finished is still counted (exactly once, by trade and order id).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import trio

from engine.client.errors import SubmitUnknown, VenueError
from engine.gateway import OrderSpec, VenueGateway, VenueOrderState
from engine.mailbox import Mailbox, Resync
from engine.messages import CancelOrder, Fill, OrderClosed, OrderReport
from engine.order_factory import OrderFactory, OrderIntent
from engine.orderfsm import OrderEvent, OrderState, next_state
from engine.registry import OrderMeta, OrderRegistry
from engine.stats import EngineStats

log = logging.getLogger("polyengine.order")

OrderInput = Fill | OrderReport | CancelOrder

CANCEL_RETRY_S = 1.0
"""Session seconds before a cancel that failed is sent again."""

UNKNOWN_QUERY_S = 2.0
"""Session seconds an UNKNOWN order waits for the user channel before asking the venue
by its hash (and between asks when the venue cannot be asked)."""


class OrderActor:
    def __init__(
        self,
        intent: OrderIntent,
        strategy: str,
        key: str,
        origin_ts_ns: int,
        factory: OrderFactory,
        registry: OrderRegistry,
        mailbox: Mailbox[OrderInput],
        gateway: VenueGateway,
        closed_out: Mailbox[Any],
        stats: EngineStats,
    ) -> None:
        self.intent = intent
        self.factory = factory
        self.registry = registry
        self.spec: OrderSpec | None = None
        self.strategy = strategy
        self.condition_id = intent.market.condition_id
        self.key = key
        self.origin_ts_ns = origin_ts_ns
        self.mailbox = mailbox
        self.gateway = gateway
        self.closed_out = closed_out
        self.stats = stats
        self.state = OrderState.INITIALIZED
        self.filled = 0
        self.error = ""
        self._trades: set[str] = set()
        self._cancel_sent = False
        self._matched_at_once: int | None = None
        """What the venue matched before answering a FOK/FAK (None until it answered)."""
        self._cancel_failed = False
        """The last cancel could not be sent or answered: it is sent again after a pause."""
        self._cancel_wanted = False
        """A cancel asked for while UNKNOWN: sent once the venue says what the order is."""

    def on(self, event: OrderEvent) -> None:
        new = next_state(self.state, event)
        if new is not None:
            self.state = new

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        spec = self.factory.sign(self.intent)
        self.spec = spec
        self.registry.register(
            OrderMeta(spec, self.strategy, self.condition_id, self.key), self.mailbox
        )
        task_status.started()
        try:
            await self._submit(spec)
            while not self.state.terminal:
                self._settle_taker_remainder()
                if self.state.terminal:
                    break
                if self.state is OrderState.UNKNOWN:
                    await self._resolve_unknown(spec)
                    continue
                if self.state is OrderState.PENDING_CANCEL and not self._cancel_sent:
                    await self._cancel(spec)
                    continue
                with trio.move_on_after(CANCEL_RETRY_S if self._cancel_failed else math.inf):
                    self.handle(spec, await self.mailbox.receive())
                    continue
                self._cancel_sent = self._cancel_failed = False  # ask again
        finally:
            with trio.CancelScope(shield=True):
                await self.closed_out.send(
                    OrderClosed(
                        time.perf_counter_ns(),
                        spec.order_id,
                        self.strategy,
                        self.condition_id,
                        self.key,
                        self.state.value,
                        self.filled,
                    )
                )

    def _settle_taker_remainder(self) -> None:
        """A FOK/FAK never rests: once the fills the venue reported have arrived, the
        unfilled remainder (if any) was killed by the venue, which is a cancellation."""
        expected = self._matched_at_once
        if expected is None or self.intent.order_type.rests:
            return
        if self.filled >= expected and self.filled < self.intent.size:
            self.on(OrderEvent.CANCELED)

    async def _submit(self, spec: OrderSpec) -> None:
        self.on(OrderEvent.SUBMIT)
        if self.origin_ts_ns:
            self.stats.frame_to_order.record(time.perf_counter_ns() - self.origin_ts_ns)
        self.stats.orders_sent += 1
        sent_ns = time.perf_counter_ns()
        try:
            result = await self.gateway.post_order(spec)
        except SubmitUnknown as exc:
            # Never re-sent: the venue may hold it. Its hash will tell (user channel or a
            # targeted query); until then the order counts against the risk limits.
            self.stats.orders_unknown += 1
            log.warning("order %s: outcome unknown (%s); resolving by hash", spec.order_id, exc)
            self.on(OrderEvent.SUBMIT_UNKNOWN)
            return
        self.stats.order_round_trip.record(time.perf_counter_ns() - sent_ns)
        if not result.success:
            self.error = result.error
            self.stats.orders_rejected += 1
            self.stats.count_rejection(result.error.split(":")[0][:80])
            self.on(OrderEvent.REJECT)
            return
        self._matched_at_once = result.matched
        if self.state is OrderState.SUBMITTED:
            self.on(OrderEvent.ACCEPT)

    async def _resolve_unknown(self, spec: OrderSpec) -> None:
        """UNKNOWN: the user channel may speak first (a fill, a placement); otherwise ask
        the venue by hash. "Could not ask" leaves it UNKNOWN and asks again later."""
        with trio.move_on_after(0 if self._cancel_wanted else UNKNOWN_QUERY_S):
            self.handle(spec, await self.mailbox.receive())
            return
        try:
            found = await self.gateway.resolve_unknown(spec.order_id, self.condition_id)
        except VenueError as exc:
            log.warning("order %s: could not ask the venue (%s)", spec.order_id, exc)
            await trio.sleep(UNKNOWN_QUERY_S)
            return
        self.stats.unknown_resolved[found.state.value] = (
            self.stats.unknown_resolved.get(found.state.value, 0) + 1
        )
        match found.state:
            case VenueOrderState.NOT_FOUND:
                self.error = "not placed (the venue has no such order)"
                self.on(OrderEvent.REJECT)
            case VenueOrderState.CANCELED if found.size_matched == 0:
                self.on(OrderEvent.CANCELED)
            case _:
                # Live, filled or partly filled: accepted; its fills come through the user
                # channel (and its REST backfill), which the portfolio books exactly once.
                self.on(OrderEvent.ACCEPT)
                if found.state is VenueOrderState.CANCELED:
                    self._matched_at_once = found.size_matched
        if self._cancel_wanted and not self.state.terminal:
            self.on(OrderEvent.CANCEL_REQUEST)
            await self._cancel(spec)

    def handle(self, spec: OrderSpec, message: OrderInput | Resync) -> None:
        match message:
            case Fill(trade_id=trade_id, size=size):
                if trade_id in self._trades:
                    return  # the same fill again
                self._trades.add(trade_id)
                self.filled += size
                full = self.filled >= spec.size
                self.on(OrderEvent.FULL_FILL if full else OrderEvent.PARTIAL_FILL)
            case OrderReport(kind="CANCELLATION"):
                self.on(OrderEvent.CANCELED)
            case OrderReport(kind="PLACEMENT") if self.state is OrderState.UNKNOWN:
                self.on(OrderEvent.ACCEPT)  # the venue holds it after all
            case OrderReport():
                pass
            case CancelOrder() if self.state is OrderState.UNKNOWN:
                self._cancel_wanted = True
            case CancelOrder():
                if self.state in (
                    OrderState.ACCEPTED,
                    OrderState.PARTIALLY_FILLED,
                    OrderState.SUBMITTED,
                ):
                    self.on(OrderEvent.CANCEL_REQUEST)
            case Resync():
                pass

    async def _cancel(self, spec: OrderSpec) -> None:
        """Ask the venue; if it says the order is gone, its reports decide what happened."""
        self._cancel_sent = True
        self.stats.cancels_sent += 1
        try:
            canceled = await self.gateway.cancel_order(spec.order_id)
        except VenueError as exc:
            # Could not ask (after the client's own retries): the order may still rest.
            # A cancel is safe to repeat, so ask again later; reports may settle it first.
            log.warning("order %s: cancel failed (%s); will retry", spec.order_id, exc)
            self._cancel_failed = True
            return
        if canceled:
            self.on(OrderEvent.CANCELED)
        # Not canceled means matched or already finished: its reports will follow.
