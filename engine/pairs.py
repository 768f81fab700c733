"""PairExecutor: the seed bots' atomic entry+hedge pair, as a pure state machine.

One pair buys both outcomes of one market (entry = outcome 0, hedge = outcome 1) in ONE
batch, when their prices add up to at most a threshold: holding both pays 1 at
resolution whatever happens. Everything else is about never ending up silently
one-legged:

* fill monitoring with a timeout: both filled is HEDGED; neither filled cancels both
  (FLAT, the caller may retry); one filled (fully or partly) cancels what is left and
  liquidates the excess of the filled leg with time-aware pricing (PATIENT, BALANCED,
  AGGRESSIVE bands by time to resolution; each re-price cancels the previous order and,
  once the venue confirms, posts the next one lower, never below one tick);
* minimum-size smart hold: an excess below the venue minimum cannot rest, so it is HELD
  to resolution when it is on the winning side and recorded ORPHANED when losing;
* pre-settlement exit between T-180 s and T-45 s: when confidence that one side wins
  exceeds the threshold, sell the losing side and hold the winner (and stop liquidating
  a leg that is the likely winner);
* a post-only crossing rejection counts against the market; after 3 in a row the market's
  pairs go GTC until one succeeds (`PostOnlyBook`, shared by the pairs of a market).

Functional core: `handle(event, now) -> list[effect]`. Every order is an OrderTracker
keyed by a client key the executor names ("<pair>:buy0", "<pair>:liq3"); the actor
signs and posts, maps the venue's order ids back to these keys, and feeds venue news
back as `VenueUpdate(key, tracker_event)`. It calls `handle(Tick(), now)` at
`next_deadline()`. Every step appends an AuditRecord to `audit`. Prices and sizes are
integer micro units; waits and price steps come from a seeded RNG (deterministic).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import Enum

from engine.order_tracker import (
    Anomaly,
    CancelRequest,
    FillBooked,
    FillUnbooked,
    Finished,
    OrderTracker,
    QueryOrder,
    Reject,
    SendCancel,
    Submit,
    TrackerEvent,
)
from engine.orderfsm import OrderState
from engine.units import SIZE_STEP, UNIT, OrderType, Side

CENT = 10_000
"""One cent in micro units: liquidation steps are counted in cents."""

POST_ONLY_CROSS_MARKERS = ("post-only", "post_only")


def is_post_only_cross(text: str) -> bool:
    """Whether a venue rejection means "this post-only order would have crossed the book"
    (venue text "invalid post-only order: order crosses book", code INVALID_POST_ONLY_ORDER)."""
    lower = text.lower()
    if "invalid_post_only_order" in lower and "type" not in lower:
        return True
    return any(m in lower for m in POST_ONLY_CROSS_MARKERS) and "cross" in lower


# --- parameters -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Band:
    """A liquidation pricing band: price steps (cents) and waits (seconds) drawn in ranges."""

    name: str
    step_cents: tuple[int, int]
    wait_s: tuple[float, float]


PATIENT = Band("patient", (1, 1), (10.0, 20.0))
BALANCED = Band("balanced", (2, 5), (6.0, 10.0))
AGGRESSIVE = Band("aggressive", (5, 10), (5.0, 10.0))


@dataclass(frozen=True, slots=True)
class PairParams:
    """Everything a pair needs to know from configuration (see config.PairsConfig)."""

    threshold: int = 990_000
    post_only: bool = True
    post_only_failures: int = 3
    fill_timeout_s: float = 120.0
    patient_above_s: float = 600.0
    aggressive_below_s: float = 300.0
    patient: Band = PATIENT
    balanced: Band = BALANCED
    aggressive: Band = AGGRESSIVE
    exit_from_s: float = 180.0
    exit_until_s: float = 45.0
    exit_confidence: float = 0.80

    def band(self, time_to_resolution_s: float) -> Band:
        if time_to_resolution_s > self.patient_above_s:
            return self.patient
        if time_to_resolution_s >= self.aggressive_below_s:
            return self.balanced
        return self.aggressive


class PostOnlyBook:
    """Post-only crossing failures per market: after `limit` in a row its pairs post GTC,
    until a batch is accepted (which resets the count). Shared by a market's pairs."""

    def __init__(self, limit: int = 3, enabled: bool = True) -> None:
        self.limit = limit
        self.enabled = enabled
        self._failures: dict[str, int] = {}

    def post_only(self, condition_id: str) -> bool:
        return self.enabled and self._failures.get(condition_id, 0) < self.limit

    def failures(self, condition_id: str) -> int:
        return self._failures.get(condition_id, 0)

    def record(self, condition_id: str, crossed: bool) -> None:
        if crossed:
            self._failures[condition_id] = self._failures.get(condition_id, 0) + 1
        else:
            self._failures.pop(condition_id, None)


# --- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairSpec:
    """One pair: BUY `size` of each outcome at `prices` (entry = 0, hedge = 1)."""

    pair_id: str
    condition_id: str
    token_ids: tuple[str, str]
    prices: tuple[int, int]
    size: int
    tick: int
    min_size: int
    resolution_ts: float

    def __post_init__(self) -> None:
        for price in self.prices:
            if price % self.tick or not self.tick <= price <= UNIT - self.tick:
                raise ValueError(f"pair {self.pair_id}: price {price} is off the tick grid")
        if self.size < self.min_size or self.size % SIZE_STEP:
            raise ValueError(
                f"pair {self.pair_id}: size {self.size} must be a multiple of {SIZE_STEP} "
                f"and at least the venue minimum {self.min_size}"
            )


@dataclass(frozen=True, slots=True)
class Start:
    """Post the pair (if its combined price is within the threshold)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: check timeouts, re-price, the pre-settlement window."""


@dataclass(frozen=True, slots=True)
class VenueUpdate:
    """News about one of the pair's orders, by the executor's key."""

    key: str
    event: TrackerEvent


@dataclass(frozen=True, slots=True)
class MarketUpdate:
    """The market as the strategy sees it: best bid/ask per outcome, and optionally the
    probability each outcome wins (a model's output, not money)."""

    bids: tuple[int | None, int | None]
    asks: tuple[int | None, int | None]
    confidence: tuple[float, float] | None = None

    def mid(self, outcome: int) -> int | None:
        bid, ask = self.bids[outcome], self.asks[outcome]
        return None if bid is None or ask is None else (bid + ask) // 2


PairEvent = Start | Tick | VenueUpdate | MarketUpdate


# --- effects --------------------------------------------------------------------------


class Intent(Enum):
    ENTRY0 = "entry0"
    ENTRY1 = "entry1"
    LIQUIDATE = "liquidate"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class OrderLeg:
    key: str
    intent: Intent
    outcome: int
    token_id: str
    side: Side
    price: int
    size: int
    order_type: OrderType
    post_only: bool


@dataclass(frozen=True, slots=True)
class PostBatch:
    """Post these orders in one request (POST /orders, up to 15)."""

    legs: tuple[OrderLeg, ...]


@dataclass(frozen=True, slots=True)
class PostOrder:
    leg: OrderLeg


@dataclass(frozen=True, slots=True)
class Cancel:
    key: str


@dataclass(frozen=True, slots=True)
class Query:
    """Ask the venue about this order before believing anything about it."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class PairAnomaly:
    key: str
    text: str


PairEffect = PostBatch | PostOrder | Cancel | Query | PairAnomaly


class PairPhase(Enum):
    IDLE = "idle"
    REFUSED = "refused"  # combined price above the threshold: nothing posted
    WORKING = "working"  # both legs posted, waiting for fills until the timeout
    UNWINDING = "unwinding"  # canceling what is left of the legs; waiting for the venue
    HEDGED = "hedged"  # equal holdings of both outcomes
    FLAT = "flat"  # nothing held; the caller may retry
    LIQUIDATING = "liquidating"  # selling the excess of one leg
    LIQUIDATED = "liquidated"  # the excess was sold
    EXITING = "exiting"  # pre-settlement: selling the losing side
    HELD = "held"  # one-legged on purpose: the winning side, held to resolution
    ORPHANED = "orphaned"  # a losing leftover below the minimum size, recorded

    @property
    def at_rest(self) -> bool:
        return self in _AT_REST


_AT_REST = frozenset(
    {
        PairPhase.HEDGED,
        PairPhase.FLAT,
        PairPhase.LIQUIDATED,
        PairPhase.HELD,
        PairPhase.ORPHANED,
    }
)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One step of a pair, with the orders, sizes and prices it concerned."""

    pair_id: str
    at: float
    step: str
    phase: PairPhase
    keys: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()
    prices: tuple[int, ...] = ()
    note: str = ""


@dataclass(slots=True)
class ManagedOrder:
    leg: OrderLeg
    tracker: OrderTracker
    posted_at: float
    band: Band | None = None  # liquidation orders: the band that priced them
    wait_s: float = 0.0


@dataclass(slots=True)
class _Liquidation:
    outcome: int
    price: int = 0  # last posted
    order: str | None = None
    reprice_at: float = 0.0
    repost_at: float = 0.0  # after a reject: not before
    step_next: bool = False  # the next post steps down (our re-price ended the last)
    posts: list[tuple[str, int, str]] = field(default_factory=list)  # (key, price, band)


# --- the executor ---------------------------------------------------------------------


class PairExecutor:
    def __init__(
        self,
        spec: PairSpec,
        params: PairParams | None = None,
        book: PostOnlyBook | None = None,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.params = params or PairParams()
        self.book = book or PostOnlyBook(self.params.post_only_failures, self.params.post_only)
        self.rng = random.Random(seed)
        self.phase = PairPhase.IDLE
        self.orders: dict[str, ManagedOrder] = {}
        self.audit: list[AuditRecord] = []
        self.market: MarketUpdate | None = None
        self.now = 0.0
        self.deadline = 0.0
        self.kept: int | None = None  # pre-settlement: the outcome held to resolution
        self._liq: _Liquidation | None = None
        self._liquidated_any = False
        self._exit_tried = False
        self._batch_judged = False
        self._settled_position: tuple[int, int] | None = None
        self._serial = 0
        self._effects: list[PairEffect] = []

    # -- views --

    def position(self) -> tuple[int, int]:
        """Shares held of each outcome: BUY fills minus SELL fills (FAILED trades excluded)."""
        held = [0, 0]
        for order in self.orders.values():
            sign = 1 if order.leg.side is Side.BUY else -1
            held[order.leg.outcome] += sign * order.tracker.filled
        return held[0], held[1]

    def _held(self) -> tuple[int, int]:
        """Shares that can be sold: a FAILED buy reported before the trades that replaced
        it can make the booked position dip below zero for a moment."""
        a, b = self.position()
        return max(a, 0), max(b, 0)

    def live_orders(self, intent: Intent | None = None) -> list[ManagedOrder]:
        return [
            o
            for o in self.orders.values()
            if o.tracker.live and (intent is None or o.leg.intent is intent)
        ]

    def time_to_resolution(self, now: float | None = None) -> float:
        return self.spec.resolution_ts - (self.now if now is None else now)

    def next_deadline(self) -> float | None:
        """When the actor should call `handle(Tick(), t)` next (None: only on news)."""
        times: list[float] = []
        if self.phase is PairPhase.WORKING:
            times.append(self.deadline)
        liq = self._liq
        if self.phase is PairPhase.LIQUIDATING and liq is not None:
            times.append(liq.reprice_at if self._live(liq.order) else liq.repost_at)
        end = self.spec.resolution_ts
        if self.phase is PairPhase.EXITING:
            times.append(end - self.params.exit_until_s)
        if self.phase in (PairPhase.HEDGED, PairPhase.LIQUIDATING) and not self._exit_tried:
            start = end - self.params.exit_from_s
            if self.now < start:
                times.append(start)
        return min(times) if times else None

    def watches_market(self, now: float) -> bool:
        """Whether a market update may still make this pair act: a hedged pair that has
        not tried its pre-settlement exit, until the exit window closes."""
        return (
            self.phase is PairPhase.HEDGED
            and not self._exit_tried
            and self.time_to_resolution(now) > self.params.exit_until_s
        )

    @property
    def may_retry(self) -> bool:
        return self.phase in (PairPhase.FLAT, PairPhase.REFUSED)

    # -- the one entry point --

    def handle(self, event: PairEvent, now: float) -> list[PairEffect]:
        """Apply one event at session time `now` (seconds); return the orders to post or
        cancel. Raises KeyError for news about an order this pair never made."""
        self.now = now
        self._effects = []
        match event:
            case Start():
                self._start()
            case VenueUpdate(key=key, event=news):
                self._venue(key, news)
            case MarketUpdate():
                self.market = event
            case Tick():
                pass
        self._step()
        return self._effects

    # -- internals: posting --

    def _key(self, what: str) -> str:
        self._serial += 1
        return f"{self.spec.pair_id}:{what}{self._serial}"

    def _record(
        self, step: str, orders: list[OrderLeg] | tuple[OrderLeg, ...] = (), note: str = ""
    ) -> None:
        self.audit.append(
            AuditRecord(
                self.spec.pair_id,
                self.now,
                step,
                self.phase,
                tuple(o.key for o in orders),
                tuple(o.size for o in orders),
                tuple(o.price for o in orders),
                note,
            )
        )

    def _track(self, leg: OrderLeg, band: Band | None = None, wait_s: float = 0.0) -> None:
        tracker = OrderTracker(leg.key, leg.size)
        tracker.apply(Submit())
        self.orders[leg.key] = ManagedOrder(leg, tracker, self.now, band, wait_s)

    def _start(self) -> None:
        if self.phase is not PairPhase.IDLE:
            return
        spec = self.spec
        total = spec.prices[0] + spec.prices[1]
        if total > self.params.threshold:
            self.phase = PairPhase.REFUSED
            self._record("refused", note=f"combined {total} above {self.params.threshold}")
            return
        post_only = self.book.post_only(spec.condition_id)
        legs = tuple(
            OrderLeg(
                self._key(f"buy{outcome}-"),
                (Intent.ENTRY0, Intent.ENTRY1)[outcome],
                outcome,
                spec.token_ids[outcome],
                Side.BUY,
                spec.prices[outcome],
                spec.size,
                OrderType.GTC,
                post_only,
            )
            for outcome in (0, 1)
        )
        for leg in legs:
            self._track(leg)
        self.phase = PairPhase.WORKING
        self.deadline = self.now + self.params.fill_timeout_s
        self._effects.append(PostBatch(legs))
        self._record("post batch", legs, "post-only" if post_only else "GTC fallback")

    def _post(self, leg: OrderLeg, step: str, band: Band | None = None, wait: float = 0) -> None:
        self._track(leg, band, wait)
        self._effects.append(PostOrder(leg))
        self._record(step, [leg], band.name if band else "")

    def _cancel(self, order: ManagedOrder, why: str) -> None:
        if not order.tracker.cancel_wanted:
            self._record("cancel", [order.leg], why)
        self._apply(order, CancelRequest())

    def _live(self, key: str | None) -> bool:
        return key is not None and self.orders[key].tracker.live

    # -- internals: venue news --

    def _venue(self, key: str, news: TrackerEvent) -> None:
        order = self.orders.get(key)
        if order is None:
            raise KeyError(f"pair {self.spec.pair_id}: no order {key!r}")
        self._apply(order, news)
        if order.leg.intent in (Intent.ENTRY0, Intent.ENTRY1):
            self._judge_batch()
        liq = self._liq
        if liq is not None and key == liq.order and isinstance(news, Reject):
            wait = self._band().wait_s
            liq.repost_at = self.now + self.rng.uniform(*wait)

    def _apply(self, order: ManagedOrder, news: TrackerEvent) -> None:
        for effect in order.tracker.apply(news):
            match effect:
                case SendCancel():
                    self._effects.append(Cancel(order.leg.key))
                case QueryOrder(reason=reason):
                    self._effects.append(Query(order.leg.key, reason))
                case FillBooked(trade_id=trade_id, size=size):
                    self._record("fill", [_sized(order.leg, size)], f"trade {trade_id}")
                case FillUnbooked(trade_id=trade_id, size=size):
                    self._record("fill voided", [_sized(order.leg, size)], f"trade {trade_id}")
                case Finished(state=state, filled=filled):
                    self._record("order done", [_sized(order.leg, filled)], state.value)
                case Anomaly(text=text):
                    self._effects.append(PairAnomaly(order.leg.key, text))
                    self._record("anomaly", [order.leg], text)

    def _judge_batch(self) -> None:
        """Once both entry legs have an answer: a post-only crossing counts against the
        market; a batch the venue took resets the count."""
        if self._batch_judged:
            return
        entries = [o for o in self.orders.values() if o.leg.intent in _ENTRY]
        if any(o.tracker.state in (OrderState.SUBMITTED, OrderState.UNKNOWN) for o in entries):
            return
        self._batch_judged = True
        crossed = any(
            o.tracker.state is OrderState.REJECTED and is_post_only_cross(o.tracker.error)
            for o in entries
        )
        taken = all(o.tracker.state is not OrderState.REJECTED for o in entries)
        if crossed or taken:
            self.book.record(self.spec.condition_id, crossed)
            self._record(
                "post-only crossed" if crossed else "batch accepted",
                note=f"failures now {self.book.failures(self.spec.condition_id)}",
            )

    # -- internals: the phases --

    def _step(self) -> None:
        phase = self.phase
        if phase in (PairPhase.IDLE, PairPhase.REFUSED):
            return
        if phase is PairPhase.WORKING:
            self._working()
        if self.phase is PairPhase.UNWINDING and not self.live_orders():
            self._settle("legs closed")
        if self.phase is PairPhase.LIQUIDATING:
            self._liquidating()
        if self.phase is PairPhase.EXITING:
            self._exiting()
        if self.phase.at_rest:
            if self.position() != self._settled_position:
                self._settle("position changed")
            self._maybe_exit()

    def _working(self) -> None:
        entries = [o for o in self.orders.values() if o.leg.intent in _ENTRY]
        if all(o.tracker.filled == o.leg.size for o in entries):
            self._settle("both legs filled")
            return
        dead = [o for o in entries if o.tracker.state.terminal and o.tracker.remaining]
        if self.now >= self.deadline or dead:
            why = "fill timeout" if self.now >= self.deadline else "a leg is dead"
            self.phase = PairPhase.UNWINDING
            for order in self.live_orders():
                self._cancel(order, why)
            self._record("unwind", note=why)
            if not self.live_orders():
                self._settle("legs closed")

    def _winning(self, outcome: int) -> bool:
        market = self.market
        if market is None:
            return False
        if market.confidence is not None:
            return market.confidence[outcome] > 0.5
        mid = market.mid(outcome)
        return mid is not None and mid > UNIT // 2

    def _settle(self, why: str) -> None:
        """Decide what the holdings call for; only with no entry or exit order live."""
        self._settled_position = self.position()
        held = self._held()
        a, b = held
        if self.kept is not None and held[self.kept] > held[1 - self.kept]:
            self._become(PairPhase.HELD, f"{why}; outcome {self.kept} kept to resolution")
            return
        if a == b:
            if a == 0:
                phase = PairPhase.LIQUIDATED if self._liquidated_any else PairPhase.FLAT
            else:
                phase = PairPhase.HEDGED
            self._become(phase, why)
            return
        outcome = 0 if a > b else 1
        excess = abs(a - b) // SIZE_STEP * SIZE_STEP
        if excess < self.spec.min_size:
            if self._winning(outcome):
                self._become(PairPhase.HELD, f"{why}; leftover {abs(a - b)} on the winning side")
            else:
                self._become(PairPhase.ORPHANED, f"{why}; leftover {abs(a - b)} losing")
            return
        if self._liq is None or self._liq.outcome != outcome:
            self._liq = _Liquidation(outcome)
        self._become(PairPhase.LIQUIDATING, f"{why}; excess {excess} of outcome {outcome}")
        self._liquidating()

    def _become(self, phase: PairPhase, why: str) -> None:
        if phase is not self.phase:
            self.phase = phase
            self._record(phase.value, note=why)

    def _band(self) -> Band:
        return self.params.band(self.time_to_resolution())

    def _liquidating(self) -> None:
        liq = self._liq
        assert liq is not None
        if self._live(liq.order):
            assert liq.order is not None
            order = self.orders[liq.order]
            held = self._held()
            excess = held[liq.outcome] - held[1 - liq.outcome]
            if order.tracker.remaining > excess:
                self._cancel(order, "the excess shrank")
            elif self._keep_winner(liq.outcome):
                self._cancel(order, "pre-settlement: this side is the likely winner")
            elif self.now >= liq.reprice_at and not order.tracker.cancel_wanted:
                liq.step_next = True
                self._cancel(order, "re-price")
            return
        if self.live_orders():
            return  # an entry leg is still closing
        a, b = self._held()
        outcome = 0 if a > b else 1
        excess = abs(a - b) // SIZE_STEP * SIZE_STEP
        if self.kept == outcome or outcome != liq.outcome or excess < self.spec.min_size:
            self._settle("liquidation order closed")
            return
        if self.now < liq.repost_at:
            return  # rejected: try again after a wait
        band = self._band()
        if liq.order is None:
            price = self._start_price(outcome)
        elif liq.step_next:
            step = max(self.rng.randint(*band.step_cents) * CENT, self.spec.tick)
            step = -(-step // self.spec.tick) * self.spec.tick
            price = max(self.spec.tick, liq.price - step)
        else:
            price = liq.price
        wait = self.rng.uniform(*band.wait_s)
        leg = OrderLeg(
            self._key("liq"),
            Intent.LIQUIDATE,
            outcome,
            self.spec.token_ids[outcome],
            Side.SELL,
            price,
            excess,
            OrderType.GTC,
            False,
        )
        liq.order, liq.price, liq.step_next = leg.key, price, False
        liq.reprice_at = self.now + wait
        liq.posts.append((leg.key, price, band.name))
        self._liquidated_any = True
        self._post(leg, "liquidate", band, wait)

    def _start_price(self, outcome: int) -> int:
        """Rest one tick under the best ask when it is known, else at our entry price."""
        tick = self.spec.tick
        ask = self.market.asks[outcome] if self.market else None
        price = ask - tick if ask is not None else self.spec.prices[outcome]
        price = price // tick * tick
        return min(max(price, tick), UNIT - tick)

    # -- internals: pre-settlement exit --

    def _exit_side(self) -> tuple[int, int] | None:
        """(winner, loser) when inside the window and confident enough, else None."""
        market = self.market
        left = self.time_to_resolution()
        if market is None or market.confidence is None:
            return None
        if not self.params.exit_until_s <= left <= self.params.exit_from_s:
            return None
        for winner in (0, 1):
            if market.confidence[winner] > self.params.exit_confidence:
                return winner, 1 - winner
        return None

    def _keep_winner(self, outcome: int) -> bool:
        side = self._exit_side()
        if side is None or side[0] != outcome:
            return False
        if self.kept is None:
            self.kept = outcome
            self._record("keep winner", note=f"outcome {outcome} is the likely winner")
        return True

    def _maybe_exit(self) -> None:
        if self.phase is not PairPhase.HEDGED or self._exit_tried:
            return
        side = self._exit_side()
        if side is None or self.market is None:
            return
        winner, loser = side
        held = self._held()
        bid = self.market.bids[loser]
        size = held[loser] // SIZE_STEP * SIZE_STEP
        if bid is None or size < self.spec.min_size:
            return
        self._exit_tried = True
        self.kept = winner
        leg = OrderLeg(
            self._key("exit"),
            Intent.EXIT,
            loser,
            self.spec.token_ids[loser],
            Side.SELL,
            max(bid // self.spec.tick * self.spec.tick, self.spec.tick),
            size,
            OrderType.GTC,
            False,
        )
        self.phase = PairPhase.EXITING
        self._post(leg, "pre-settlement exit")

    def _exiting(self) -> None:
        live = self.live_orders(Intent.EXIT)
        if not live:
            self._settle("exit order closed")
            return
        if self.time_to_resolution() < self.params.exit_until_s:
            for order in live:
                self._cancel(order, "exit window closed")


_ENTRY = (Intent.ENTRY0, Intent.ENTRY1)


def _sized(leg: OrderLeg, size: int) -> OrderLeg:
    return replace(leg, size=size)


__all__ = [
    "AGGRESSIVE",
    "BALANCED",
    "PATIENT",
    "AuditRecord",
    "Band",
    "Cancel",
    "Intent",
    "MarketUpdate",
    "OrderLeg",
    "PairAnomaly",
    "PairEffect",
    "PairEvent",
    "PairExecutor",
    "PairParams",
    "PairPhase",
    "PairSpec",
    "PostBatch",
    "PostOnlyBook",
    "PostOrder",
    "Query",
    "Start",
    "Tick",
    "VenueUpdate",
    "is_post_only_cross",
]
