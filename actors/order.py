"""OrderActor: one order's life, from submit to a terminal state, on the order state table.

The bookkeeping is `engine.order_tracker.OrderTracker` (pure, fuzzed); this actor is its
shell. It takes an order the manager signed (the id is the EIP-712 digest), registers the
id so that reports racing the response find it, journals it as signed BEFORE sending (so
a crash after sending leaves its id for reconciliation), and is ready only then. It
submits once, turns what the venue says into tracker events and performs the tracker's
effects: cancels (journaled first, counted done only when the venue confirms), targeted
queries (an UNKNOWN submit, a refused or unanswered cancel; "could not ask" is asked
again later, never read as "no") and the journal's answer and closing records.

Fills are booked by the portfolio from the user channel, not here, so a fill that arrives
after this actor has finished is still counted (exactly once, by fill and order id); the
tracker follows them so the order knows when it is filled.

An adopted order (found live at the venue by reconciliation after a restart) starts
accepted and is never sent again.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import trio

from engine.client.errors import SubmitUnknown, VenueError
from engine.crashpoints import crash_point
from engine.fees import FeeSchedule
from engine.gateway import OrderSpec, VenueGateway, VenueOrderState
from engine.journal import Journal
from engine.mailbox import Mailbox, Resync
from engine.messages import CancelOrder, Fill, FillVoided, OrderClosed, OrderReport
from engine.order_query import resolution_events
from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    CancelRefusal,
    CancelRejected,
    CancelRequest,
    CancelUnanswered,
    OrderTracker,
    QueryOrder,
    Reject,
    SendCancel,
    Submit,
    TrackerEvent,
    TradeStatus,
    TradeUpdate,
    VenueMatched,
)
from engine.order_tracker import SubmitUnknown as SubmitUnknownEvent
from engine.orderfsm import InvalidTransition, OrderState
from engine.reconcile import VenueDataError
from engine.registry import OrderMeta, OrderRegistry
from engine.stats import EngineStats

log = logging.getLogger("polyengine.order")

OrderInput = Fill | FillVoided | OrderReport | CancelOrder

CANCEL_RETRY_S = 1.0
"""Session seconds before a cancel whose answer was lost is followed up (query, re-send)."""

UNKNOWN_QUERY_S = 2.0
"""Session seconds an UNKNOWN order waits for the user channel before asking the venue
by its hash (and between asks when the venue cannot be asked)."""


class OrderActor:
    def __init__(
        self,
        spec: OrderSpec,
        strategy: str,
        condition_id: str,
        key: str,
        origin_ts_ns: int,
        registry: OrderRegistry,
        mailbox: Mailbox[OrderInput],
        gateway: VenueGateway,
        closed_out: Mailbox[Any],
        stats: EngineStats,
        *,
        journal: Journal | None = None,
        fees: FeeSchedule | None = None,
        adopted: bool = False,
    ) -> None:
        self.spec = spec
        self.strategy = strategy
        self.condition_id = condition_id
        self.key = key
        self.origin_ts_ns = origin_ts_ns
        self.registry = registry
        self.mailbox = mailbox
        self.gateway = gateway
        self.closed_out = closed_out
        self.stats = stats
        self.journal = journal
        self.fees = fees or FeeSchedule(rate_ppm=0, exponent=0)
        self.adopted = adopted
        self.tracker = OrderTracker(spec.order_id, spec.size)
        self._matched_at_once: int | None = None
        """What the venue matched before answering a FOK/FAK (None until it answered)."""
        self._query_at: float | None = None
        """When (trio time) to ask the venue about this order; None: no query due."""
        self._cancels: list[SendCancel] = []

    @property
    def state(self) -> OrderState:
        return self.tracker.state

    @property
    def filled(self) -> int:
        return self.tracker.filled

    @property
    def error(self) -> str:
        return self.tracker.error

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        spec = self.spec
        self.registry.register(
            OrderMeta(spec, self.strategy, self.condition_id, self.key), self.mailbox
        )
        if not self.adopted and self.journal is not None:
            self.journal.signed(
                spec.order_id, spec.body, strategy=self.strategy, key=self.key,
                condition_id=self.condition_id, token_id=spec.token_id, side=spec.side,
                price=spec.price, size=spec.size, order_type=spec.order_type,
                post_only=spec.post_only, fees=self.fees,
            )  # fmt: skip
            crash_point("after_sign")
        task_status.started()
        try:
            if self.adopted:
                self.apply(Submit())
                self.apply(Ack())
            else:
                await self._submit(spec)
            while not self.state.terminal:
                self._settle_taker_remainder()
                if self.state.terminal:
                    break
                if self._cancels:
                    await self._send_cancel(self._cancels.pop(0))
                    continue
                now = trio.current_time()
                if self._query_at is not None and now >= self._query_at:
                    await self._query()
                    continue
                wait = math.inf if self._query_at is None else self._query_at - now
                with trio.move_on_after(wait):
                    self.handle(await self.mailbox.receive())
        finally:
            with trio.CancelScope(shield=True):
                if self.state.terminal and self.journal is not None:
                    self.journal.closed(spec.order_id, self.state, self.filled, self.error)
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

    # -- the tracker and its effects --

    def apply(self, event: TrackerEvent) -> None:
        """Feed the tracker; queue what it asks for. A contradiction is logged, kept out."""
        try:
            effects = self.tracker.apply(event)
        except InvalidTransition as exc:
            self.stats.count_rejection("order: contradictory venue news")
            log.warning("order %s: ignored %s (%s)", self.spec.order_id[:12], event, exc)
            return
        self._journal_outcome(event)
        for effect in effects:
            if isinstance(effect, SendCancel):
                self._cancels.append(effect)
            elif isinstance(effect, QueryOrder) and self._query_at is None:
                self._query_at = trio.current_time()

    def _journal_outcome(self, event: TrackerEvent) -> None:
        """The venue's answer to the post, once known: a reject, or news that proves it
        has the order (an ack, a fill, a match, a cancel confirmation). The journal keeps
        the first; later news changes nothing there."""
        if self.journal is None or self.adopted:
            return
        order_id = self.spec.order_id
        if isinstance(event, Reject):
            self.journal.submitted(order_id, "rejected", error=event.text)
        elif isinstance(event, Ack | VenueMatched | CancelConfirmed) or (
            isinstance(event, TradeUpdate) and event.status is not TradeStatus.FAILED
        ):
            self.journal.submitted(order_id, "accepted", status=self.state.value)

    def _settle_taker_remainder(self) -> None:
        """A FOK/FAK never rests: once the fills the venue reported have arrived, the
        unfilled remainder (if any) was killed by the venue, which is a cancellation."""
        expected = self._matched_at_once
        if expected is None or self.spec.order_type.rests:
            return
        if self.filled >= expected and self.filled < self.spec.size:
            self.apply(CancelConfirmed())

    async def _submit(self, spec: OrderSpec) -> None:
        self.apply(Submit())
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
            if self.journal is not None:
                self.journal.submitted(spec.order_id, "unknown", error=str(exc))
            self.apply(SubmitUnknownEvent())
            # Give the user channel a moment to speak first.
            self._query_at = trio.current_time() + UNKNOWN_QUERY_S
            return
        crash_point("after_send")
        self.stats.order_round_trip.record(time.perf_counter_ns() - sent_ns)
        if not result.success:
            self.stats.orders_rejected += 1
            self.stats.count_rejection(result.error.split(":")[0][:80])
            self.apply(Reject(result.error))
            return
        self._matched_at_once = result.matched
        self.apply(Ack())

    async def _query(self) -> None:
        """Ask the venue what it knows of this order by hash; "could not ask" asks again."""
        self._query_at = None
        unknown_submit = self.state is OrderState.UNKNOWN
        journaled = self.journal.state.orders.get(self.spec.order_id) if self.journal else None
        rests = self.spec.order_type.rests
        try:
            found = await self.gateway.resolve_unknown(self.spec.order_id, self.condition_id)
            events = resolution_events(found, journaled, rests=rests)
        except (VenueError, VenueDataError) as exc:
            log.warning("order %s: could not ask the venue (%s)", self.spec.order_id, exc)
            self._query_at = trio.current_time() + UNKNOWN_QUERY_S
            return
        self.stats.count_query(found.state.value, unknown_submit=unknown_submit)
        for event in events:
            self.apply(event)
        if found.state is VenueOrderState.CANCELED and not rests and found.size_matched:
            # A FOK/FAK's killed remainder: a cancellation once its fills are all in.
            self._matched_at_once = found.size_matched

    def handle(self, message: OrderInput | Resync) -> None:
        match message:
            case Fill(trade_id=fill_id, size=size):
                self.apply(TradeUpdate(fill_id, size, TradeStatus.MATCHED))
            case FillVoided(trade_id=fill_id):
                record = self.tracker.trades.get(fill_id)
                if record is not None:
                    self.apply(TradeUpdate(fill_id, record.size, TradeStatus.FAILED))
            case OrderReport(kind="CANCELLATION"):
                self.apply(CancelConfirmed())
            case OrderReport(kind="PLACEMENT"):
                if self.state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
                    self.apply(Ack())  # the venue holds it (the answer may still be on its way)
            case OrderReport(kind="UPDATE", size_matched=matched):
                if matched >= self.spec.size and not self.state.terminal:
                    if self.state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
                        self.apply(Ack())
                    self.apply(VenueMatched())
            case OrderReport():
                pass
            case CancelOrder(reason=reason):
                if self.tracker.live and not self.tracker.cancel_wanted:
                    if self.journal is not None:
                        self.journal.cancel_requested(self.spec.order_id, reason)
                        crash_point("after_cancel")
                    self.apply(CancelRequest())
                    if self.state is OrderState.UNKNOWN:
                        self._query_at = trio.current_time()  # find out now, then cancel
            case Resync():
                pass

    async def _send_cancel(self, _: SendCancel) -> None:
        """Ask the venue; a refusal or a lost answer is followed by a targeted query."""
        if self.state.terminal:
            return
        self.stats.cancels_sent += 1
        try:
            canceled = await self.gateway.cancel_order(self.spec.order_id)
        except VenueError as exc:
            # Could not ask (after the client's own retries): the order may still rest.
            log.warning("order %s: cancel unanswered (%s)", self.spec.order_id[:12], exc)
            self.apply(CancelUnanswered())
            if self._query_at is not None:
                self._query_at = trio.current_time() + CANCEL_RETRY_S
            return
        if canceled:
            self.apply(CancelConfirmed())
        else:
            # Matched, already gone, or not there yet: its reports or a query decide.
            self.apply(CancelRejected(CancelRefusal.NOT_FOUND, "not canceled"))
