"""PairDesk: the actor that runs the session's atomic entry+hedge pairs over the network.

Each pair is an engine.pairs.PairExecutor (the pure state machine); the desk only does
its I/O. It signs every order, journals it BEFORE sending, registers its id so that the
user channel routes the order's fills and reports here, posts a pair's two legs in ONE
POST /orders, and feeds every venue answer back to the executor as a tracker event.
Timers are the executors' own deadlines, on the session clock.

Entries come from market views (EntryRule, engine/pair_desk_core.py) or from EnterPair
messages, and pass the engine's RiskGate leg by leg with the desk's own reservations
(plus the order manager's, if given): the kill switch, the open-order count, the
per-market notional and free cash all apply, and nothing new starts once `stopping` is
set. A "submit unknown" is never re-sent: the order is resolved by id, and a venue that
cannot be asked is asked again later, never read as "not found".

Two mailboxes: `mailbox` (BLOCK) carries what must not be lost (fills, order reports,
EnterPair, CashUpdate); `views` (CONFLATE by market, and by symbol for spot) is where
MarketActors and the spot board publish, with send_nowait, like a strategy's. Each view
carries the confidence the pre-settlement exit reads (engine/pair_desk_core.py
`confidence`: the book's odds, or the spot model).
"""

from __future__ import annotations

import itertools
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from engine.client.errors import MalformedResponse, SubmitUnknown, TransportError, VenueError
from engine.clock import SessionClock
from engine.config import PairsConfig
from engine.gateway import OrderSpec, PostResult, Resolution
from engine.journal import Journal
from engine.mailbox import Mailbox, Overflow, Resync
from engine.messages import (
    CashUpdate,
    EnterPair,
    Fill,
    FillVoided,
    MarketInfo,
    MarketPhase,
    MarketView,
    OrderReport,
    PairFinished,
    SpotView,
)
from engine.order_factory import OrderFactory, OrderIntent
from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    CancelRefusal,
    CancelRejected,
    CancelUnanswered,
    Reject,
    TrackerEvent,
)
from engine.order_tracker import (
    SubmitUnknown as TrackerSubmitUnknown,
)
from engine.orderfsm import InvalidTransition, OrderState
from engine.pair_desk_core import (
    EntryRule,
    FillSizes,
    confidence,
    market_update,
    news_event,
    resolution_events,
)
from engine.pairs import (
    AuditRecord,
    Cancel,
    MarketUpdate,
    OrderLeg,
    PairAnomaly,
    PairEffect,
    PairEvent,
    PairExecutor,
    PairPhase,
    PairSpec,
    PostBatch,
    PostOnlyBook,
    PostOrder,
    Query,
    Start,
    Tick,
    VenueUpdate,
)
from engine.reconcile import VenueDataError
from engine.registry import OrderMeta, OrderRegistry
from engine.risk import RiskGate
from engine.stats import EngineStats
from engine.units import Side, notional

log = logging.getLogger("polyengine.pairs")

STRATEGY = "pairs"
"""The strategy name of pairs the desk enters itself (journal, registry, ledger)."""
AUDIT_KEPT = 10_000
DESK_MAILBOX_CAPACITY = 4096
VIEWS_MAILBOX_CAPACITY = 256
MIN_RETICK_S = 0.25
"""Session seconds between two ticks of one pair whose deadline stays in the past (an
order it waits on is still closing): the venue's answer, not a busy loop, moves it."""


def desk_mailbox() -> Mailbox[Any]:
    """Order news, EnterPair and CashUpdate: BLOCK, nothing of it may be dropped."""
    return Mailbox("pair-desk", DESK_MAILBOX_CAPACITY, Overflow.BLOCK)


def views_mailbox() -> Mailbox[Any]:
    """Market views and spot views: the newest per market (and per spot symbol) wins
    (MarketActors and the spot board send without waiting)."""
    return Mailbox(
        "pair-desk:views",
        VIEWS_MAILBOX_CAPACITY,
        Overflow.CONFLATE,
        key=_view_key,
    )


def _view_key(view: MarketView | SpotView) -> str:
    if isinstance(view, SpotView):
        return f"spot:{view.symbol}"
    return view.market.condition_id


class PairGateway(Protocol):
    """What the desk needs of the venue (engine.client.gateway.NetworkGateway has it)."""

    async def post_order(self, order: OrderSpec) -> PostResult: ...

    async def post_orders(self, orders: Sequence[OrderSpec]) -> list[PostResult]: ...

    async def cancel_order(self, order_id: str) -> bool: ...

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution: ...


@dataclass(slots=True)
class DeskStats:
    """Pairs by how they came to rest (a pair counts once per resting phase it reaches)."""

    started: int = 0
    refused: int = 0
    denied: int = 0
    hedged: int = 0
    flat: int = 0
    liquidated: int = 0
    held: int = 0
    orphaned: int = 0
    anomalies: int = 0
    unknown_news: int = 0
    queries_failed: int = 0
    denials: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Pair:
    executor: PairExecutor
    strategy: str
    market: MarketInfo
    audited: int = 0
    published: PairPhase | None = None
    ticked: float = -1e18

    def due(self) -> float | None:
        deadline = self.executor.next_deadline()
        return None if deadline is None else max(deadline, self.ticked + MIN_RETICK_S)


@dataclass(slots=True)
class _Order:
    pair_id: str
    key: str
    spec: OrderSpec
    condition_id: str
    reserved: int  # notional reserved against risk (BUY orders)
    closed: bool = False


class PairDesk:
    def __init__(
        self,
        mailbox: Mailbox[Any],
        gateway: PairGateway,
        factory: OrderFactory,
        registry: OrderRegistry,
        journal: Journal,
        markets: dict[str, MarketInfo],
        clock: SessionClock,
        config: PairsConfig,
        stats: EngineStats,
        stopping: trio.Event,
        *,
        seed: int,
        risk: RiskGate,
        initial_cash: int,
        views: Mailbox[Any] | None = None,
        out: Mailbox[Any] | None = None,
        reserved_elsewhere: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        """`risk` is the engine's RiskGate (shared with the order manager, so the open
        order count and the kill switch are the session's); `reserved_elsewhere` gives
        the notional of other components' open BUY orders by condition id (the order
        manager's `buy_reserved`), so that free cash and market exposure count them."""
        self.mailbox = mailbox
        self.views = views
        self.gateway = gateway
        self.factory = factory
        self.registry = registry
        self.journal = journal
        self.markets = markets
        self.clock = clock
        self.config = config
        self.params = config.params()
        self.stats = stats
        self.stopping = stopping
        self.seed = seed
        self.risk = risk
        self.cash = initial_cash
        self.out = out
        self.reserved_elsewhere = reserved_elsewhere
        self.book = PostOnlyBook(self.params.post_only_failures, self.params.post_only)
        self.entry = EntryRule(config)
        self.pairs: dict[str, _Pair] = {}
        self.orders: dict[str, _Order] = {}  # venue order id -> order
        self.ids: dict[str, str] = {}  # executor key -> venue order id
        self.order_ids: dict[str, str] = {}
        """Every key's venue order id, kept after its pair retires (for the audit trail)."""
        self.reserved: dict[str, int] = {}  # condition id -> notional of our open BUYs
        self.audit: deque[AuditRecord] = deque(maxlen=AUDIT_KEPT)
        self.desk_stats = DeskStats()
        self.fill_sizes = FillSizes()
        self.views_seen: dict[str, MarketView] = {}
        """The newest view of each market (a spot move re-reads its confidence)."""
        self.spot: SpotView | None = None
        self._serial = itertools.count(1)
        self._queries: dict[str, tuple[str, float]] = {}  # key -> (pair id, retry at)
        self._lock = trio.Lock()
        self._changed = trio.Event()

    # --- running ------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._pump, self.mailbox)
            if self.views is not None:
                nursery.start_soon(self._pump, self.views)
            nursery.start_soon(self._timers)
            task_status.started()

    async def _pump(self, box: Mailbox[Any]) -> None:
        while True:
            message = await box.receive()
            async with self._lock:
                await self.on_message(message)
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _timers(self) -> None:
        """Tick each pair at its deadline, and ask again about orders the venue could not
        be asked about."""
        while True:
            changed = self._changed
            due = self.next_deadline()
            if due is not None:
                with trio.move_on_at(self.clock.trio_time_of(due)):
                    await changed.wait()
            else:
                await changed.wait()
            async with self._lock:
                await self.on_time()

    def next_deadline(self) -> float | None:
        times = [t for _pid, t in self._queries.values()]
        for pair in self.pairs.values():
            deadline = pair.due()
            if deadline is not None:
                times.append(deadline)
        return min(times) if times else None

    async def on_time(self) -> None:
        now = self.clock.now_s()
        for key, (pair_id, at) in list(self._queries.items()):
            if at <= now and pair_id in self.pairs:
                del self._queries[key]
                await self._query(self.pairs[pair_id], key)
        for pair in list(self.pairs.values()):
            deadline = pair.due()
            if deadline is not None and deadline <= now:
                pair.ticked = now
                await self._handle(pair, Tick())
        self._retire_finished()

    # --- messages -----------------------------------------------------------------

    async def on_message(self, message: Any) -> None:
        match message:
            case MarketView():
                await self.on_view(message)
            case SpotView():
                await self.on_spot(message)
            case EnterPair():
                await self.enter(message)
            case Fill() | FillVoided() | OrderReport():
                await self.on_news(message)
            case CashUpdate(cash=cash):
                self.cash = cash
            case Resync():
                pass
            case _:
                log.warning("pair desk: ignored a %s", type(message).__name__)

    async def on_view(self, view: MarketView) -> None:
        cid = view.market.condition_id
        self.markets.setdefault(cid, view.market)
        if view.phase is MarketPhase.RESOLVED:
            self.views_seen.pop(cid, None)
        else:
            self.views_seen[cid] = view
        update = self._update(view)
        running_here = False
        for pair in list(self.pairs.values()):
            if pair.market.condition_id == cid:
                running_here |= not pair.executor.phase.at_rest
                await self._handle(pair, update)
        now = self.clock.now_s()
        decision = self.entry.decide(
            view, now, running_here, self.running(), self.stopping.is_set()
        )
        if decision.prices is None:
            return
        await self.enter(
            EnterPair(
                time.perf_counter_ns(),
                view.frame_ts_ns,
                STRATEGY,
                f"pair{next(self._serial)}",
                cid,
                decision.prices,
                self.config.size_micro,
            ),
            update=update,
        )

    async def on_spot(self, spot: SpotView) -> None:
        """A new spot price moves the spot model's confidence: every running pair sees
        its market again with it."""
        self.spot = spot
        for pair in list(self.pairs.values()):
            view = self.views_seen.get(pair.market.condition_id)
            if view is not None:
                await self._handle(pair, self._update(view))
        self._retire_finished()

    def _update(self, view: MarketView) -> MarketUpdate:
        return market_update(view, confidence(view, self.spot, self.config, self.clock.now_s()))

    def running(self) -> int:
        return sum(1 for p in self.pairs.values() if not p.executor.phase.at_rest)

    async def enter(self, intent: EnterPair, update: MarketUpdate | None = None) -> bool:
        """Start a pair if the risk gate allows both legs; False if it did not start."""
        if self.stopping.is_set():
            return False
        if intent.pair_id in self.pairs:
            log.warning("pair %s already exists; EnterPair ignored", intent.pair_id)
            return False
        market = self.markets.get(intent.condition_id)
        if market is None:
            log.warning("pair %s: unknown market %s", intent.pair_id, intent.condition_id)
            return False
        try:
            spec = PairSpec(
                intent.pair_id,
                market.condition_id,
                market.token_ids,
                intent.prices,
                intent.size,
                market.tick,
                market.min_size,
                float(market.end_ts),
            )
        except ValueError as exc:
            log.warning("pair %s refused: %s", intent.pair_id, exc)
            self._deny(str(exc).split(":")[0])
            return False
        denied = self._risk_denies(
            market.condition_id, [(Side.BUY, p, intent.size) for p in intent.prices]
        )
        if denied:
            log.info("pair %s denied by risk: %s", intent.pair_id, denied)
            self._deny(denied)
            return False
        seed = zlib.crc32(f"{self.seed}:{intent.pair_id}".encode())
        executor = PairExecutor(spec, self.params, self.book, seed)
        pair = _Pair(executor, intent.strategy, market)
        self.pairs[intent.pair_id] = pair
        self.desk_stats.started += 1
        if update is not None:
            await self._handle(pair, update)
        await self._handle(pair, Start())
        self._retire_finished()
        return True

    def _deny(self, reason: str) -> None:
        self.desk_stats.denied += 1
        self.desk_stats.denials[reason] = self.desk_stats.denials.get(reason, 0) + 1
        self.stats.orders_denied += 1
        self.stats.count_rejection(f"denied: {reason}")

    def _risk_denies(self, condition_id: str, legs: list[tuple[Side, int, int]]) -> str:
        """The risk gate's verdict on these legs together ("" if allowed)."""
        others = dict(self.reserved_elsewhere()) if self.reserved_elsewhere else {}
        market = self.reserved.get(condition_id, 0) + others.get(condition_id, 0)
        total = sum(self.reserved.values()) + sum(others.values())
        added = 0
        for index, (side, price, size) in enumerate(legs):
            saved = self.risk.open_orders
            self.risk.open_orders += index  # the legs before this one
            try:
                check = self.risk.check(
                    side, price, size, market + added, self.cash - total - added
                )
            finally:
                self.risk.open_orders = saved
            if not check.allowed:
                return check.reason
            if side is Side.BUY:
                added += notional(price, size)
        return ""

    async def on_news(self, message: Fill | FillVoided | OrderReport) -> None:
        order = self.orders.get(message.order_id)
        if order is None or order.pair_id not in self.pairs:
            self.desk_stats.unknown_news += 1
            return
        event = news_event(message, self.fill_sizes)
        if event is not None:
            await self._feed(self.pairs[order.pair_id], order.key, event)
            self._retire_finished()

    # --- the executors ------------------------------------------------------------

    async def _feed(self, pair: _Pair, key: str, event: TrackerEvent) -> None:
        await self._handle(pair, VenueUpdate(key, event))

    async def _handle(self, pair: _Pair, event: PairEvent) -> None:
        """One event into a pair, then perform what it asks (which may feed more)."""
        try:
            effects = pair.executor.handle(event, self.clock.now_s())
        except InvalidTransition as exc:
            # The venue said something the order's table does not allow (a stale query
            # answer): logged, the pair goes on with what it knew.
            self.desk_stats.anomalies += 1
            log.warning("pair %s: %s ignored: %s", pair.executor.spec.pair_id, event, exc)
            effects = []
        # What this step closed is journaled before acting on it: the journal then says
        # an order was done before the one that replaces it was signed and sent.
        self._after(pair)
        for effect in effects:
            await self._perform(pair, effect)
        self._after(pair)

    async def _perform(self, pair: _Pair, effect: PairEffect) -> None:
        match effect:
            case PostBatch(legs=legs):
                await self._post(pair, legs)
            case PostOrder(leg=leg):
                await self._post(pair, (leg,))
            case Cancel(key=key):
                await self._cancel(pair, key, "pair")
            case Query(key=key):
                await self._query(pair, key)
            case PairAnomaly(key=key, text=text):
                self.desk_stats.anomalies += 1
                log.warning("pair %s: order %s: %s", pair.executor.spec.pair_id, key, text)

    async def _post(self, pair: _Pair, legs: tuple[OrderLeg, ...]) -> None:
        """Sign, journal, register, then one request for all the legs."""
        cid = pair.market.condition_id
        if self.stopping.is_set():
            denied = "the session is stopping"
        else:
            denied = self._risk_denies(cid, [(leg.side, leg.price, leg.size) for leg in legs])
        if denied:
            self._deny(denied)
            for leg in legs:
                await self._feed(pair, leg.key, Reject(f"denied by risk: {denied}"))
            return
        specs: list[OrderSpec] = []
        for leg in legs:
            spec = self.factory.sign(
                OrderIntent(
                    pair.market,
                    leg.token_id,
                    leg.side,
                    leg.price,
                    leg.size,
                    leg.order_type,
                    leg.post_only,
                )
            )
            self.journal.signed(
                spec.order_id, spec.body, strategy=pair.strategy, key=leg.key, condition_id=cid,
                token_id=leg.token_id, side=leg.side, price=leg.price, size=leg.size,
                order_type=leg.order_type, post_only=leg.post_only, fees=pair.market.fees,
            )  # fmt: skip
            self.registry.register(OrderMeta(spec, pair.strategy, cid, leg.key), self.mailbox)
            reserved = notional(leg.price, leg.size) if leg.side is Side.BUY else 0
            self.orders[spec.order_id] = _Order(
                pair.executor.spec.pair_id, leg.key, spec, cid, reserved
            )
            self.ids[leg.key] = self.order_ids[leg.key] = spec.order_id
            log.info("pair %s: %s is order %s", pair.executor.spec.pair_id, leg.key, spec.order_id)
            self.reserved[cid] = self.reserved.get(cid, 0) + reserved
            self.risk.open_orders += 1
            specs.append(spec)
        self.stats.orders_sent += len(specs)
        results = await self._send(specs)
        for leg, spec, result in zip(legs, specs, results, strict=True):
            await self._answered(pair, leg.key, spec, result)

    async def _send(self, specs: list[OrderSpec]) -> list[PostResult | None]:
        """The venue's answers, None for an order whose outcome is unknown."""
        try:
            if len(specs) == 1:
                return [await self.gateway.post_order(specs[0])]
            return list(await self.gateway.post_orders(specs))
        except (SubmitUnknown, MalformedResponse) as exc:
            log.warning("pair orders %s: outcome unknown (%s)", [s.order_id for s in specs], exc)
            return [None for _ in specs]
        except TransportError as exc:
            if exc.sent:
                return [None for _ in specs]
            return [PostResult(False, f"not sent: {exc.text}", s.order_id, "") for s in specs]
        except VenueError as exc:
            # Refused before processing (401, 404, ...): not placed, in the venue's words.
            return [PostResult(False, str(exc), s.order_id, "") for s in specs]

    async def _answered(
        self, pair: _Pair, key: str, spec: OrderSpec, result: PostResult | None
    ) -> None:
        if result is None:
            self.stats.orders_unknown += 1
            self.journal.submitted(spec.order_id, "unknown")
            await self._feed(pair, key, TrackerSubmitUnknown())
        elif result.success:
            self.journal.submitted(
                spec.order_id, "accepted", status=result.status, matched=result.matched
            )
            await self._feed(pair, key, Ack())
        else:
            self.stats.orders_rejected += 1
            self.stats.count_rejection(result.error.split(":")[0][:80])
            self.journal.submitted(spec.order_id, "rejected", error=result.error)
            await self._feed(pair, key, Reject(result.error))

    async def _cancel(self, pair: _Pair, key: str, reason: str) -> None:
        order_id = self.ids[key]
        self.journal.cancel_requested(order_id, reason)
        self.stats.cancels_sent += 1
        try:
            canceled = await self.gateway.cancel_order(order_id)
        except VenueError as exc:
            log.warning("pair order %s: cancel unanswered (%s)", order_id, exc)
            await self._feed(pair, key, CancelUnanswered())
            return
        if canceled:
            await self._feed(pair, key, CancelConfirmed())
        else:
            # Not live at the venue: matched, already canceled, or never arrived. The
            # tracker asks by id rather than guess.
            await self._feed(
                pair, key, CancelRejected(CancelRefusal.NOT_FOUND, "venue: not canceled")
            )

    async def _query(self, pair: _Pair, key: str) -> None:
        order_id = self.ids[key]
        managed = pair.executor.orders.get(key)
        unknown_submit = managed is not None and managed.tracker.state is OrderState.UNKNOWN
        try:
            found = await self.gateway.resolve_unknown(order_id, pair.market.condition_id)
            events = resolution_events(found, self.journal.state.orders.get(order_id))
        except (VenueError, VenueDataError) as exc:
            # Could not ask (or not read the answer): never "not found". Ask again later.
            self.desk_stats.queries_failed += 1
            log.warning("pair order %s: could not ask the venue (%s)", order_id, exc)
            retry = self.clock.now_s() + self.config.query_retry_s
            self._queries[key] = (pair.executor.spec.pair_id, retry)
            return
        self.stats.count_query(found.state.value, unknown_submit=unknown_submit)
        for event in events:
            await self._feed(pair, key, event)

    # --- bookkeeping after each step ------------------------------------------------

    def _after(self, pair: _Pair) -> None:
        executor = pair.executor
        for key, managed in executor.orders.items():
            order_id = self.ids.get(key)
            if order_id is None:
                continue  # not signed yet (posted right after this step)
            order = self.orders[order_id]
            tracker = managed.tracker
            if tracker.state.terminal and not order.closed:
                order.closed = True
                self.journal.closed(order_id, tracker.state, tracker.filled, tracker.error)
                self.registry.closed(order_id)
                self.risk.open_orders -= 1
                self.reserved[order.condition_id] -= order.reserved
                self._queries.pop(key, None)
        for record in executor.audit[pair.audited :]:
            self._audit(record)
        pair.audited = len(executor.audit)
        phase = executor.phase
        if (phase.at_rest or phase is PairPhase.REFUSED) and phase is not pair.published:
            pair.published = phase
            self._rested(pair)

    def _retire_finished(self) -> None:
        """Forget pairs at rest with nothing live, nothing to wait for and no market
        update that could make them act (their audit trail stays in `audit`). Only
        between steps, never inside one."""
        now = self.clock.now_s()
        for pair_id, pair in list(self.pairs.items()):
            executor = pair.executor
            phase = executor.phase
            if not (phase.at_rest or phase is PairPhase.REFUSED) or executor.live_orders():
                continue
            if phase is PairPhase.REFUSED or (
                executor.next_deadline() is None and not executor.watches_market(now)
            ):
                self._retire(pair_id)

    def _audit(self, record: AuditRecord) -> None:
        self.audit.append(record)
        ids = [self.ids.get(k, "-") for k in record.keys]
        log.info(
            "pair %s at %.3f: %s (%s) keys=%s orders=%s sizes=%s prices=%s %s",
            record.pair_id, record.at, record.step, record.phase.value, list(record.keys),
            ids, list(record.sizes), list(record.prices), record.note,
        )  # fmt: skip

    def _rested(self, pair: _Pair) -> None:
        executor = pair.executor
        phase = executor.phase
        counter = {
            PairPhase.REFUSED: "refused",
            PairPhase.HEDGED: "hedged",
            PairPhase.FLAT: "flat",
            PairPhase.LIQUIDATED: "liquidated",
            PairPhase.HELD: "held",
            PairPhase.ORPHANED: "orphaned",
        }[phase]
        setattr(self.desk_stats, counter, getattr(self.desk_stats, counter) + 1)
        self.entry.cool_down(pair.market.condition_id, self.clock.now_s())
        if self.out is not None:
            finished = PairFinished(
                time.perf_counter_ns(),
                pair.strategy,
                executor.spec.pair_id,
                pair.market.condition_id,
                phase.value,
                executor.position(),
                executor.may_retry,
            )
            try:
                self.out.send_nowait(finished)
            except trio.WouldBlock:
                log.warning("pair %s: PairFinished dropped (mailbox full)", executor.spec.pair_id)

    def _retire(self, pair_id: str) -> None:
        pair = self.pairs.pop(pair_id)
        for key in pair.executor.orders:
            order_id = self.ids.pop(key, None)
            if order_id is not None:
                self.orders.pop(order_id, None)
                self.fill_sizes.forget(order_id)

    # --- shutdown -------------------------------------------------------------------

    async def cancel_everything(self) -> list[str]:
        """Shutdown hook: cancel every live order of every pair; returns the ids the
        venue confirmed canceled."""
        canceled: list[str] = []
        async with self._lock:
            for pair in list(self.pairs.values()):
                for managed in pair.executor.live_orders():
                    key = managed.leg.key
                    order_id = self.ids.get(key)
                    if order_id is None:
                        continue
                    self.journal.cancel_requested(order_id, "shutdown")
                    self.stats.cancels_sent += 1
                    try:
                        confirmed = await self.gateway.cancel_order(order_id)
                    except VenueError as exc:
                        log.warning("pair order %s: shutdown cancel failed (%s)", order_id, exc)
                        continue
                    if confirmed:
                        canceled.append(order_id)
                        await self._feed(pair, key, CancelConfirmed())
        return canceled

    def summary(self) -> dict[str, Any]:
        """Counts for the session report."""
        s = self.desk_stats
        return {
            "started": s.started, "refused": s.refused, "denied": s.denied,
            "hedged": s.hedged, "flat": s.flat, "liquidated": s.liquidated, "held": s.held,
            "orphaned": s.orphaned, "anomalies": s.anomalies, "running": self.running(),
            "audit_records": len(self.audit),
        }  # fmt: skip


__all__ = [
    "STRATEGY",
    "DeskStats",
    "PairDesk",
    "PairGateway",
    "desk_mailbox",
    "views_mailbox",
]
