"""PairExecutor under arbitrary venue interleavings (hypothesis state machine).

A trivial venue model holds the truth of every order the pair posts (live, matched,
canceled, rejected; its trades and their settlement status) and queues the news the
engine would get, which the machine delivers in any order and duplicates. Time moves in
jumps through the fill timeout, the three liquidation bands and the pre-settlement
window; the market and the confidence change at random. Checked after every step:

* never more than one live order per intent (each entry leg, the liquidation, the exit);
* the position equals the signed sum of the unique non-FAILED fills delivered;
* never silently one-legged: holdings that differ are only allowed while the legs are
  working or being canceled, while a liquidation order is live (or its re-post is
  scheduled), while exiting, or when the pair is HELD or ORPHANED on purpose;
* every liquidation price is one tick or more, priced by the band of its time to
  resolution, and steps down from the previous one within that band's range (or
  repeats it after a rejection, or sits on the one-tick floor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    CancelRefusal,
    CancelRejected,
    Expire,
    Reject,
    TrackerEvent,
    TradeStatus,
    TradeUpdate,
    VenueMatched,
)
from engine.pairs import (
    CENT,
    Cancel,
    Intent,
    MarketUpdate,
    PairEffect,
    PairExecutor,
    PairParams,
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
from engine.units import SIZE_STEP, UNIT, Side

TICK = 10_000
SIZE = 10 * UNIT
MIN = 5 * UNIT
T0 = 10_000.0
CROSSES = "invalid post-only order: order crosses book"

NEXT_STATUS: dict[TradeStatus, tuple[TradeStatus, ...]] = {
    TradeStatus.MATCHED: (TradeStatus.MINED, TradeStatus.CONFIRMED, TradeStatus.FAILED),
    TradeStatus.MINED: (TradeStatus.CONFIRMED, TradeStatus.RETRYING),
    TradeStatus.RETRYING: (TradeStatus.CONFIRMED, TradeStatus.FAILED),
    TradeStatus.CONFIRMED: (),
    TradeStatus.FAILED: (),
}

ONE_LEGGED_OK = {
    PairPhase.WORKING,
    PairPhase.UNWINDING,
    PairPhase.EXITING,
    PairPhase.HELD,
    PairPhase.ORPHANED,
}


@dataclass
class VenueOrder:
    size: int
    side: Side
    outcome: int
    status: str = "pending"  # pending, live, rejected, matched, canceled
    trades: dict[str, list[object]] = field(default_factory=dict)
    cancels_in_flight: int = 0

    def standing(self) -> int:
        return sum(int(str(s)) for s, st_ in self.trades.values() if st_ != TradeStatus.FAILED)


class PairExecutorMachine(RuleBasedStateMachine):
    @initialize(
        time_left=st.sampled_from([1_000.0, 700.0, 420.0, 200.0]),
        prices=st.sampled_from([(480_000, 500_000), (450_000, 540_000), (300_000, 650_000)]),
        failures=st.integers(0, 3),
        seed=st.integers(0, 2**16),
        opening=st.sampled_from(["none", "accepted", "entry filled", "both filled"]),
    )
    def start(
        self, time_left: float, prices: tuple[int, int], failures: int, seed: int, opening: str
    ) -> None:
        """A fresh pair; `opening` lets the venue act at once, so that deep paths (hedged,
        one-legged, pre-settlement) are reached within a run."""
        self.now = T0
        self.market: MarketUpdate | None = None
        self.book = PostOnlyBook(3)
        for _ in range(failures):
            self.book.record("0xc", crossed=True)
        self.spec = PairSpec("p", "0xc", ("yes", "no"), prices, SIZE, TICK, MIN, T0 + time_left)
        self.params = PairParams()
        self.pair = PairExecutor(self.spec, self.params, self.book, seed=seed)
        self.venue: dict[str, VenueOrder] = {}
        self.queue: list[tuple[str, TrackerEvent]] = []
        self.seen: dict[tuple[str, str], int] = {}
        self.failed: set[tuple[str, str]] = set()
        self.trade_serial = 0
        self.handle(Start())
        batch = self.pair.audit[0]
        assert batch.step == "post batch"
        assert (batch.note == "post-only") is (failures < 3)
        if opening != "none":
            for key in self.pending():
                self.venue[key].status = "live"
                self.queue.append((key, Ack()))
            entry, hedge = batch.keys
            for key in [entry, hedge][: ("accepted", "entry filled", "both filled").index(opening)]:
                self.match(key, SIZE)

    # -- engine side --

    def handle(self, event: Start | Tick | VenueUpdate | MarketUpdate) -> None:
        if isinstance(event, MarketUpdate):
            self.market = event
        before = self.pair.phase
        for effect in self.pair.handle(event, self.now):
            self.perform(effect)
        after = self.pair.phase
        if after is not before and after in (PairPhase.HELD, PairPhase.ORPHANED):
            self.check_hold_decision(after)

    def check_hold_decision(self, phase: PairPhase) -> None:
        """A leftover below the minimum is held when winning, orphaned when losing (by
        the confidence input, else the mid); a kept winner is held."""
        a, b = (max(x, 0) for x in self.pair.position())
        outcome = 0 if a > b else 1
        assert abs(a - b) > 0, "held or orphaned with nothing one-sided"
        if phase is PairPhase.HELD and outcome == self.pair.kept:
            return  # the winner kept before settlement
        assert abs(a - b) < MIN, "an excess that could rest was not liquidated"
        market = self.market
        if market is None:
            winning = False
        elif market.confidence is not None:
            winning = market.confidence[outcome] > 0.5
        else:
            mid = market.mid(outcome)
            winning = mid is not None and mid > UNIT // 2
        assert (phase is PairPhase.HELD) is winning, (phase, market)

    def perform(self, effect: PairEffect) -> None:
        match effect:
            case PostBatch(legs=legs):
                assert len(legs) == 2 and all(leg.side is Side.BUY for leg in legs)
                for leg in legs:
                    self.venue[leg.key] = VenueOrder(leg.size, leg.side, leg.outcome)
            case PostOrder(leg=leg):
                assert leg.key not in self.venue
                self.venue[leg.key] = VenueOrder(leg.size, leg.side, leg.outcome)
            case Cancel(key=key):
                self.venue[key].cancels_in_flight += 1
            case Query(key=key):
                self.report(key)

    def report(self, key: str) -> None:
        """What a query of the venue says about one order now."""
        order = self.venue[key]
        news: dict[str, TrackerEvent] = {
            "live": Ack(),
            "rejected": Reject("rejected"),
            "matched": VenueMatched(),
            "canceled": CancelConfirmed(),
        }
        if order.status in news:
            self.queue.append((key, news[order.status]))
        for trade_id, (size, status) in order.trades.items():
            self.queue.append((key, TradeUpdate(trade_id, int(str(size)), status)))  # type: ignore[arg-type]

    @rule(dt=st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 11.0, 15.0, 30.0, 121.0]))
    def time_passes(self, dt: float) -> None:
        """Mostly small jumps (so fills race the timeout and re-prices), sometimes a long
        one (the timeout, a band change)."""
        self.now += dt
        self.handle(Tick())

    @rule(
        bid=st.integers(1, 98),
        spread=st.integers(1, 3),
        confidence=st.sampled_from([None, (0.9, 0.1), (0.1, 0.9), (0.6, 0.4), (0.3, 0.7)]),
    )
    def market_moves(self, bid: int, spread: int, confidence: tuple[float, float] | None) -> None:
        ask = min(bid + spread, 99)
        self.handle(
            MarketUpdate(
                (bid * TICK, (100 - ask) * TICK),
                (ask * TICK, (100 - bid) * TICK),
                confidence,
            )
        )

    # -- venue side --

    def pending(self) -> list[str]:
        return sorted(k for k, o in self.venue.items() if o.status == "pending")

    def with_status(self, status: str) -> list[str]:
        return sorted(k for k, o in self.venue.items() if o.status == status)

    @precondition(lambda self: bool(self.pending()))
    @rule(data=st.data(), answer=st.sampled_from(["accept"] * 6 + ["cross", "balance"]))
    def venue_answers_a_post(self, data: st.DataObject, answer: str) -> None:
        key = data.draw(st.sampled_from(self.pending()))
        order = self.venue[key]
        if answer == "accept":
            order.status = "live"
            self.queue += [(key, Ack()), (key, Ack())]
        else:
            order.status = "rejected"
            text = CROSSES if answer == "cross" else "not enough balance / allowance"
            self.queue.append((key, Reject(text)))

    @precondition(lambda self: bool(self.with_status("live")))
    @rule(data=st.data(), shares=st.integers(1, 12))
    def venue_matches(self, data: st.DataObject, shares: int) -> None:
        self.match(data.draw(st.sampled_from(self.with_status("live"))), shares * UNIT)

    def match(self, key: str, wanted: int) -> None:
        order = self.venue[key]
        size = min(wanted, order.size - order.standing())
        trade_id = f"t{self.trade_serial}"
        self.trade_serial += 1
        order.trades[trade_id] = [size, TradeStatus.MATCHED]
        self.queue.append((key, TradeUpdate(trade_id, size, TradeStatus.MATCHED)))
        if order.standing() == order.size:
            order.status = "matched"
            self.queue.append((key, VenueMatched()))

    def open_trades(self) -> list[tuple[str, str]]:
        return sorted(
            (k, t)
            for k, o in self.venue.items()
            for t, (_, s) in o.trades.items()
            if NEXT_STATUS[s]  # type: ignore[index]
        )

    @precondition(lambda self: bool(self.open_trades()))
    @rule(data=st.data())
    def a_trade_settles_or_fails(self, data: st.DataObject) -> None:
        key, trade_id = data.draw(st.sampled_from(self.open_trades()))
        record = self.venue[key].trades[trade_id]
        new = data.draw(st.sampled_from(NEXT_STATUS[record[1]]))  # type: ignore[index]
        record[1] = new
        self.queue.append((key, TradeUpdate(trade_id, int(str(record[0])), new)))

    @precondition(lambda self: any(o.cancels_in_flight for o in self.venue.values()))
    @rule(data=st.data())
    def venue_answers_a_cancel(self, data: st.DataObject) -> None:
        keys = sorted(k for k, o in self.venue.items() if o.cancels_in_flight)
        self.answer_cancel(data.draw(st.sampled_from(keys)))

    def answer_cancel(self, key: str) -> None:
        order = self.venue[key]
        order.cancels_in_flight -= 1
        if order.status == "live":
            order.status = "canceled"
            self.queue += [(key, CancelConfirmed()), (key, CancelConfirmed())]
        elif order.status == "matched":
            self.queue.append((key, CancelRejected(CancelRefusal.ALREADY_FILLED)))
        else:
            self.queue.append((key, CancelRejected(CancelRefusal.NOT_FOUND)))

    @precondition(lambda self: bool(self.with_status("live")))
    @rule(data=st.data(), expire=st.booleans(), rare=st.integers(0, 5))
    def venue_cancels_or_expires_on_its_own(
        self, data: st.DataObject, expire: bool, rare: int
    ) -> None:
        if rare:
            return  # a venue-side cancel is rare; most draws do nothing
        key = data.draw(st.sampled_from(self.with_status("live")))
        self.venue[key].status = "canceled"
        self.queue.append((key, Expire() if expire else CancelConfirmed()))

    # -- the wire --

    @precondition(lambda self: bool(self.queue))
    @rule(data=st.data())
    def deliver_any(self, data: st.DataObject) -> None:
        self.deliver(data.draw(st.integers(0, len(self.queue) - 1)))

    def deliver(self, index: int) -> None:
        key, event = self.queue.pop(index)
        if isinstance(event, TradeUpdate):
            self.seen.setdefault((key, event.trade_id), event.size)
            if event.status is TradeStatus.FAILED:
                self.failed.add((key, event.trade_id))
        self.handle(VenueUpdate(key, event))

    @precondition(lambda self: bool(self.queue))
    @rule(data=st.data())
    def duplicate_any(self, data: st.DataObject) -> None:
        self.queue.append(self.queue[data.draw(st.integers(0, len(self.queue) - 1))])

    @rule()
    def periodic_reconciliation(self) -> None:
        for key in sorted(self.venue):
            self.report(key)

    # -- invariants --

    @invariant()
    def at_most_one_live_order_per_intent(self) -> None:
        for intent in Intent:
            live = self.pair.live_orders(intent)
            assert len(live) <= 1, (intent, [o.leg.key for o in live])

    @invariant()
    def position_is_the_sum_of_non_failed_fills(self) -> None:
        expected = [0, 0]
        for (key, trade_id), size in self.seen.items():
            if (key, trade_id) in self.failed:
                continue
            order = self.pair.orders[key]
            sign = 1 if order.leg.side is Side.BUY else -1
            expected[order.leg.outcome] += sign * size
        for order in self.pair.orders.values():
            sign = 1 if order.leg.side is Side.BUY else -1
            expected[order.leg.outcome] -= sign * order.tracker.parked
            assert order.tracker.filled <= order.leg.size
        assert self.pair.position() == tuple(expected)

    @invariant()
    def never_silently_one_legged(self) -> None:
        pair = self.pair
        a, b = (max(x, 0) for x in pair.position())
        phase = pair.phase
        if phase is PairPhase.WORKING:
            assert self.now < pair.deadline, "the fill timeout passed unnoticed"
        if abs(a - b) < SIZE_STEP or phase in ONE_LEGGED_OK:
            return
        if phase is PairPhase.LIQUIDATING:
            liq = pair._liq
            assert liq is not None
            assert pair.live_orders() or self.now < liq.repost_at, "liquidation stalled"
            return
        raise AssertionError(f"one-legged ({a}, {b}) in phase {phase.value}")

    @invariant()
    def liquidation_prices_step_down_within_their_band(self) -> None:
        posts = [r for r in self.pair.audit if r.step == "liquidate"]
        bands = {
            b.name: b for b in (self.params.patient, self.params.balanced, self.params.aggressive)
        }
        previous: tuple[int, int] | None = None  # (outcome, price)
        for record in posts:
            (price,) = record.prices
            band = bands[record.note]
            assert price >= TICK and price % TICK == 0
            assert band is self.params.band(self.spec.resolution_ts - record.at)
            outcome = self.pair.orders[record.keys[0]].leg.outcome
            if previous is not None and previous[0] == outcome:
                step = previous[1] - price
                lo, hi = band.step_cents
                assert step == 0 or lo * CENT <= step <= hi * CENT or price == TICK, (
                    previous[1],
                    price,
                    band.name,
                )
            previous = (outcome, price)

    def teardown(self) -> None:
        """Let the venue answer everything and time run out; the pair must end in a
        declared phase, hedged, flat, liquidating, liquidated, held or orphaned."""
        if not hasattr(self, "pair"):
            return
        for _ in range(40):
            for key in self.pending():
                self.venue[key].status = "live"
                self.queue += [(key, Ack())]
            for key in sorted(self.venue):
                while self.venue[key].cancels_in_flight:
                    self.answer_cancel(key)
            while self.queue:
                self.deliver(0)
            self.now += 30.0
            self.handle(Tick())
            self.never_silently_one_legged()
            self.at_most_one_live_order_per_intent()
        steps = {r.step for r in self.pair.audit}
        event(f"final phase {self.pair.phase.value}")
        for seen in ("liquidate", "pre-settlement exit", "keep winner", "unwind"):
            if seen in steps:
                event(f"went through {seen}")
        reprices = sum(1 for r in self.pair.audit if r.step == "liquidate")
        event(f"liquidation posts: {min(reprices, 3)}{'+' if reprices >= 3 else ''}")
        assert self.pair.phase in {
            PairPhase.HEDGED,
            PairPhase.FLAT,
            PairPhase.LIQUIDATING,
            PairPhase.LIQUIDATED,
            PairPhase.HELD,
            PairPhase.ORPHANED,
        }, self.pair.phase
        self.liquidation_prices_step_down_within_their_band()


TestPairExecutorMachine = PairExecutorMachine.TestCase
TestPairExecutorMachine.settings = settings()  # examples and steps from the profile
