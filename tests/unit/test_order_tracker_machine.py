"""OrderTracker under every interleaving the venue can produce (hypothesis state machine).

A trivial model of the venue (the truth: is the order live, matched, canceled; which
trades exist and at what status) produces the messages the engine would receive. They
sit in a queue the machine delivers in any order, duplicates and drops (a disconnect);
`reconcile` re-sends what a query of the venue would say, as the reconciler does. After
every step: filled <= size, filled + parked equals the unique non-FAILED trades
delivered, the fill effects add up to filled, terminal states never change, and a
repeated event changes nothing. At the end everything is delivered and the tracker must
agree with the venue exactly, and an order the engine wanted canceled is not live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    CancelRefusal,
    CancelRejected,
    CancelRequest,
    CancelUnanswered,
    Expire,
    FillBooked,
    FillUnbooked,
    OrderTracker,
    Reject,
    SendCancel,
    Submit,
    SubmitUnknown,
    TrackerEffect,
    TrackerEvent,
    TradeStatus,
    TradeUpdate,
    VenueMatched,
)
from engine.orderfsm import OrderState
from engine.units import UNIT

SIZE = 10 * UNIT
CROSSES = "invalid post-only order: order crosses book"

NEXT_STATUS: dict[TradeStatus, tuple[TradeStatus, ...]] = {
    TradeStatus.MATCHED: (
        TradeStatus.MINED,
        TradeStatus.RETRYING,
        TradeStatus.CONFIRMED,
        TradeStatus.FAILED,
    ),
    TradeStatus.MINED: (TradeStatus.CONFIRMED, TradeStatus.FAILED),
    TradeStatus.RETRYING: (TradeStatus.CONFIRMED, TradeStatus.FAILED),
    TradeStatus.CONFIRMED: (),
    TradeStatus.FAILED: (),
}


class Post(Enum):
    PENDING = "pending"  # in flight: the venue has not seen it yet
    LOST = "lost"  # never reaches the venue
    DONE = "done"


class Truth(Enum):
    NONE = "none"
    LIVE = "live"
    REJECTED = "rejected"
    MATCHED = "matched"
    CANCELED = "canceled"
    EXPIRED = "expired"


@dataclass
class Venue:
    """What the venue really did with the order (the model)."""

    post: Post = Post.PENDING
    status: Truth = Truth.NONE
    reject_text: str = ""
    trades: dict[str, list[object]] = field(default_factory=dict)  # id -> [size, status]
    cancels_in_flight: int = 0

    def standing(self) -> int:
        return sum(
            int(str(size)) for size, status in self.trades.values() if status != TradeStatus.FAILED
        )


class OrderTrackerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tracker = OrderTracker("0xorder", SIZE)
        self.venue = Venue()
        self.queue: list[tuple[TrackerEvent, bool]] = []  # (event, is a DELETE's answer)
        self.awaiting_cancel_answers = 0
        self.abandoned_cancels = 0  # timed out before the venue answered: answer discarded
        self.seen: dict[str, int] = {}
        self.failed: set[str] = set()
        self.booked_total = 0
        self.first_terminal: OrderState | None = None
        self.timed_out = False
        self.next_trade = 0

    # -- engine side --

    def apply(self, event: TrackerEvent) -> list[TrackerEffect]:
        effects = self.tracker.apply(event)
        if isinstance(event, TradeUpdate):
            self.seen.setdefault(event.trade_id, event.size)
            if event.status is TradeStatus.FAILED:
                self.failed.add(event.trade_id)
        for effect in effects:
            match effect:
                case SendCancel():
                    self.venue.cancels_in_flight += 1
                    self.awaiting_cancel_answers += 1
                case FillBooked(size=size):
                    self.booked_total += size
                case FillUnbooked(size=size):
                    self.booked_total -= size
        self.check_repeat_changes_nothing(event)
        return effects

    def snapshot(self) -> tuple[object, ...]:
        t = self.tracker
        trades = tuple(sorted((k, v.size, v.status, v.booked) for k, v in t.trades.items()))
        return (t.state, t.filled, t.cancel_wanted, trades, t.parked)

    def check_repeat_changes_nothing(self, event: TrackerEvent) -> None:
        before = self.snapshot()
        assert self.tracker.apply(event) == [], f"repeating {event} had effects"
        assert self.snapshot() == before, f"repeating {event} changed the tracker"

    @initialize()
    def submit(self) -> None:
        self.apply(Submit())

    @precondition(lambda self: not self.timed_out)
    @rule()
    def submit_times_out(self) -> None:
        """The POST's answer does not come back in time (it may still come later)."""
        self.timed_out = True
        self.apply(SubmitUnknown())

    @rule()
    def engine_requests_cancel(self) -> None:
        self.apply(CancelRequest())

    # -- venue side --

    @precondition(lambda self: self.venue.post is Post.PENDING)
    @rule()
    def venue_accepts(self) -> None:
        self.venue.post, self.venue.status = Post.DONE, Truth.LIVE
        self.send(Ack(), Ack())  # the POST answer and the PLACEMENT event

    @precondition(lambda self: self.venue.post is Post.PENDING)
    @rule(text=st.sampled_from([CROSSES, "not enough balance / allowance"]))
    def venue_rejects(self, text: str) -> None:
        self.venue.post, self.venue.status, self.venue.reject_text = (
            Post.DONE,
            Truth.REJECTED,
            text,
        )
        self.send(Reject(text))

    @precondition(lambda self: self.venue.post is Post.PENDING)
    @rule()
    def post_is_lost(self) -> None:
        self.venue.post = Post.LOST

    @precondition(lambda self: self.venue.status is Truth.LIVE)
    @rule(shares=st.integers(1, 10))
    def venue_matches(self, shares: int) -> None:
        size = min(shares * UNIT, SIZE - self.venue.standing())
        trade_id = f"t{self.next_trade}"
        self.next_trade += 1
        self.venue.trades[trade_id] = [size, TradeStatus.MATCHED]
        self.send(TradeUpdate(trade_id, size, TradeStatus.MATCHED))
        if self.venue.standing() == SIZE:
            self.venue.status = Truth.MATCHED
            self.send(VenueMatched())

    @precondition(lambda self: any(NEXT_STATUS[s] for _, s in self.venue.trades.values()))
    @rule(data=st.data())
    def trade_settles(self, data: st.DataObject) -> None:
        open_ids = sorted(k for k, (_, s) in self.venue.trades.items() if NEXT_STATUS[s])  # type: ignore[index]
        trade_id = data.draw(st.sampled_from(open_ids))
        size, status = self.venue.trades[trade_id]
        new = data.draw(st.sampled_from(NEXT_STATUS[status]))  # type: ignore[index]
        self.venue.trades[trade_id][1] = new
        self.send(TradeUpdate(trade_id, int(str(size)), new))

    @precondition(lambda self: self.venue.cancels_in_flight > 0)
    @rule()
    def venue_answers_cancel(self) -> None:
        self.venue.cancels_in_flight -= 1
        answer: TrackerEvent
        if self.venue.status is Truth.LIVE:
            self.venue.status = Truth.CANCELED
            answer = CancelConfirmed()
            self.send(CancelConfirmed())  # the CANCELLATION event
        elif self.venue.status is Truth.MATCHED:
            answer = CancelRejected(CancelRefusal.ALREADY_FILLED, "matched")
        else:
            answer = CancelRejected(CancelRefusal.NOT_FOUND, "not found")
        if self.abandoned_cancels:
            self.abandoned_cancels -= 1  # the engine stopped waiting for this answer
        else:
            self.queue.append((answer, True))

    @precondition(lambda self: self.awaiting_cancel_answers > 0)
    @rule()
    def cancel_times_out(self) -> None:
        """A DELETE goes unanswered in time; the shell drops its late answer, if any."""
        self.awaiting_cancel_answers -= 1
        for index, (_, is_answer) in enumerate(self.queue):
            if is_answer:
                del self.queue[index]
                break
        else:
            if self.abandoned_cancels < self.venue.cancels_in_flight:
                self.abandoned_cancels += 1
        self.apply(CancelUnanswered())

    @precondition(lambda self: self.venue.status is Truth.LIVE)
    @rule()
    def venue_expires_or_cancels_on_its_own(self) -> None:
        self.venue.status = Truth.EXPIRED
        self.send(Expire())

    @precondition(lambda self: self.venue.status is Truth.LIVE)
    @rule()
    def venue_cancels_on_its_own(self) -> None:
        self.venue.status = Truth.CANCELED
        self.send(CancelConfirmed())

    # -- the wire --

    def send(self, *events: TrackerEvent) -> None:
        self.queue += [(event, False) for event in events]

    def deliver(self, index: int) -> None:
        event, is_answer = self.queue.pop(index)
        if is_answer:
            self.awaiting_cancel_answers -= 1
        self.apply(event)

    @precondition(lambda self: bool(self.queue))
    @rule(data=st.data())
    def deliver_any(self, data: st.DataObject) -> None:
        self.deliver(data.draw(st.integers(0, len(self.queue) - 1)))

    @precondition(lambda self: bool(self.queue))
    @rule(data=st.data())
    def duplicate_any(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(self.queue) - 1))
        self.send(self.queue[index][0])  # a re-sent event, never a second HTTP answer

    @rule()
    def disconnect_drops_everything_in_flight(self) -> None:
        self.queue.clear()

    @rule()
    def reconcile(self) -> None:
        """What a targeted query (order by id, trades by order) would report now."""
        venue = self.venue
        match venue.status:
            case Truth.NONE if venue.post is Post.LOST:
                self.send(Reject("order not found at the venue"))
            case Truth.LIVE:
                self.send(Ack())
            case Truth.REJECTED:
                self.send(Reject(venue.reject_text))
            case Truth.MATCHED:
                self.send(VenueMatched())
            case Truth.CANCELED:
                self.send(CancelConfirmed())
            case Truth.EXPIRED:
                self.send(Expire())
        for trade_id, (size, status) in venue.trades.items():
            self.send(TradeUpdate(trade_id, int(str(size)), status))  # type: ignore[arg-type]

    # -- invariants --

    @invariant()
    def the_model_counts_cancel_answers_right(self) -> None:
        assert self.awaiting_cancel_answers >= 0
        assert 0 <= self.abandoned_cancels <= self.venue.cancels_in_flight

    @invariant()
    def filled_never_exceeds_size(self) -> None:
        assert 0 <= self.tracker.filled <= SIZE

    @invariant()
    def filled_plus_parked_is_the_unique_non_failed_fills(self) -> None:
        expected = sum(size for k, size in self.seen.items() if k not in self.failed)
        assert self.tracker.filled + self.tracker.parked == expected

    @invariant()
    def fill_effects_add_up_to_filled(self) -> None:
        assert self.booked_total == self.tracker.filled

    @invariant()
    def terminal_states_never_change(self) -> None:
        state = self.tracker.state
        if self.first_terminal is not None:
            assert state is self.first_terminal
        elif state.terminal:
            self.first_terminal = state

    def teardown(self) -> None:
        """Let everything arrive; the tracker must then agree with the venue."""
        if self.venue.post is Post.PENDING:
            self.venue_accepts()
        for _ in range(8):
            while self.venue.cancels_in_flight:
                self.venue_answers_cancel()
            while self.queue:
                self.deliver(0)
            while self.awaiting_cancel_answers:
                self.cancel_times_out()  # answers lost to a disconnect
            self.reconcile()
            while self.queue:
                self.deliver(0)
            if not self.venue.cancels_in_flight:
                break
        assert not self.venue.cancels_in_flight
        t, venue = self.tracker, self.venue
        assert t.parked == 0
        assert t.filled == venue.standing()
        expected = {
            Truth.MATCHED: {OrderState.FILLED},
            Truth.CANCELED: {OrderState.CANCELED},
            Truth.EXPIRED: {OrderState.EXPIRED},
            Truth.REJECTED: {OrderState.REJECTED},
            Truth.NONE: {OrderState.REJECTED},
            Truth.LIVE: {OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED},
        }[venue.status]
        assert t.state in expected, (t.state, venue.status)
        if t.cancel_wanted:
            assert venue.status is not Truth.LIVE, "a wanted cancel was never sent"


TestOrderTrackerMachine = OrderTrackerMachine.TestCase
TestOrderTrackerMachine.settings = settings()  # examples and steps from the profile
