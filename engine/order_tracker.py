"""OrderTracker: the pure bookkeeping of one order, driven by what the venue says.

Two things are tracked apart, because the venue reports them apart:

* the order's state, moved only along `engine.orderfsm`'s table, by order-level events
  (ack, reject, cancel answers, expiry, "fully matched") and by fills;
* its accounting, from trades keyed by trade id: `filled` is the sum of the unique
  trades whose latest status is not FAILED.

Rules (each one is a property the fuzz machine checks):

* `filled <= size`. A trade that does not fit is *parked*, not dropped: it only happens
  when the venue re-matched after a FAILED trade whose failure we have not heard of yet,
  and it is booked as soon as that failure frees room. `filled + parked` is always the
  sum of the unique non-FAILED trades seen.
* A trade's status only moves forward (MATCHED -> MINED/RETRYING -> CONFIRMED/FAILED);
  an older status arriving late, or the same status again, changes nothing. FAILED
  voids the trade: `filled` decreases and a FillUnbooked effect says so.
* FILLED + a FAILED trade: the order stays FILLED (terminal states never change; the
  venue does not reopen a matched order), while `filled` - and so the position - drops.
  The same holds for every terminal state: late fills after a cancel or an expiry are
  booked, the state stays.
* Every event is idempotent: applying it again at once changes nothing and returns no
  effects.
* A cancel counts as done only when the venue confirms it. A cancel answered "not
  found" leaves the order PENDING_CANCEL (the order may still arrive, or be gone with its
  reports lost): the tracker asks for a targeted query, and re-sends the cancel as soon
  as the venue shows the order alive. "Could not ask" is never read as "the venue said
  no"; a cancel whose answer is lost (CancelUnanswered) is handled the same way. A
  cancel wanted while the submit's outcome is UNKNOWN is held until the outcome
  is known.

Effects are data (SendCancel, QueryOrder, FillBooked, FillUnbooked, Finished, Anomaly);
the OrderActor performs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from engine.orderfsm import InvalidTransition, OrderEvent, OrderState, next_state

# --- venue facts --------------------------------------------------------------------


class TradeStatus(Enum):
    """A trade's settlement status: MATCHED -> MINED -> CONFIRMED, or -> RETRYING -> FAILED."""

    MATCHED = "MATCHED"
    MINED = "MINED"
    RETRYING = "RETRYING"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"

    @property
    def rank(self) -> int:
        """How far along the trade is; a status only replaces one of lower rank."""
        return _RANK[self]

    @property
    def final(self) -> bool:
        return self in (TradeStatus.CONFIRMED, TradeStatus.FAILED)

    @classmethod
    def parse(cls, text: str) -> TradeStatus:
        """The venue's status text ("MATCHED", "TRADE_STATUS_CONFIRMED", any case)."""
        name = text.upper().removeprefix("TRADE_STATUS_")
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown trade status {text!r}") from None


_RANK = {
    TradeStatus.MATCHED: 0,
    TradeStatus.MINED: 1,
    TradeStatus.RETRYING: 1,
    TradeStatus.CONFIRMED: 2,
    TradeStatus.FAILED: 2,
}


class CancelRefusal(Enum):
    """Why the venue did not cancel: the order was fully matched, or it does not know it."""

    ALREADY_FILLED = "already_filled"
    NOT_FOUND = "not_found"


# --- events (inputs) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submit:
    """The engine sent the order."""


@dataclass(frozen=True, slots=True)
class Deny:
    """The engine's own risk gate refused the order; it never left."""


@dataclass(frozen=True, slots=True)
class Ack:
    """The venue has the order (POST success, PLACEMENT, or a query saying it is live)."""


@dataclass(frozen=True, slots=True)
class Reject:
    """The venue refused the order (or a query proved it never arrived); `text` is the
    venue's own words."""

    text: str


@dataclass(frozen=True, slots=True)
class SubmitUnknown:
    """The submit's answer was lost (timeout, dropped connection)."""


@dataclass(frozen=True, slots=True)
class TradeUpdate:
    """A trade of this order, at some settlement status (re-sent at every status)."""

    trade_id: str
    size: int
    status: TradeStatus

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"trade {self.trade_id!r}: size must be positive, got {self.size}")


@dataclass(frozen=True, slots=True)
class VenueMatched:
    """The venue says the order is fully matched (UPDATE status MATCHED, or a query)."""


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """The engine wants the order gone."""


@dataclass(frozen=True, slots=True)
class CancelConfirmed:
    """The venue canceled the order (DELETE answer, CANCELLATION, or a query)."""


@dataclass(frozen=True, slots=True)
class CancelRejected:
    reason: CancelRefusal
    text: str = ""


@dataclass(frozen=True, slots=True)
class CancelUnanswered:
    """Our cancel's answer never came (timeout, dropped connection): could not ask."""


@dataclass(frozen=True, slots=True)
class Expire:
    """The venue expired the order (GTD)."""


TrackerEvent = (
    Submit
    | Deny
    | Ack
    | Reject
    | SubmitUnknown
    | TradeUpdate
    | VenueMatched
    | CancelRequest
    | CancelConfirmed
    | CancelRejected
    | CancelUnanswered
    | Expire
)


# --- effects (outputs) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendCancel:
    order_id: str


@dataclass(frozen=True, slots=True)
class QueryOrder:
    """Ask the venue about this order by id before believing it is gone or never was."""

    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class FillBooked:
    order_id: str
    trade_id: str
    size: int


@dataclass(frozen=True, slots=True)
class FillUnbooked:
    """A booked trade FAILED on chain: the position goes back down by `size` (the
    tracker's effect; `engine.messages.FillVoided` is the user channel's news of it)."""

    order_id: str
    trade_id: str
    size: int


@dataclass(frozen=True, slots=True)
class Finished:
    order_id: str
    state: OrderState
    filled: int


@dataclass(frozen=True, slots=True)
class Anomaly:
    """The venue contradicted itself; kept for reconciliation, nothing is lost."""

    order_id: str
    text: str


TrackerEffect = SendCancel | QueryOrder | FillBooked | FillUnbooked | Finished | Anomaly


@dataclass(slots=True)
class TradeRecord:
    size: int
    status: TradeStatus
    booked: bool
    """Counted in `filled` (False while FAILED or parked)."""


# --- the tracker ----------------------------------------------------------------------

_LIVE = (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED)


class OrderTracker:
    """One order's state and fills. Not thread-safe; one owner (its OrderActor)."""

    def __init__(self, order_id: str, size: int) -> None:
        if size <= 0:
            raise ValueError(f"order {order_id!r}: size must be positive, got {size}")
        self.order_id = order_id
        self.size = size
        self.state = OrderState.INITIALIZED
        self.filled = 0
        self.cancel_wanted = False
        self.error = ""
        self._trades: dict[str, TradeRecord] = {}
        self._order: list[str] = []  # arrival order, to book parked trades fairly
        self._resend_on_ack = False  # a cancel came back "not found" before any ack
        self._venue_matched = False  # the venue said fully matched: never cancel again

    # -- views --

    @property
    def trades(self) -> Mapping[str, TradeRecord]:
        return self._trades

    @property
    def parked(self) -> int:
        """Size of non-FAILED trades that did not fit in `size` (normally 0)."""
        return sum(
            t.size
            for t in self._trades.values()
            if not t.booked and t.status is not TradeStatus.FAILED
        )

    @property
    def remaining(self) -> int:
        return self.size - self.filled

    @property
    def live(self) -> bool:
        """Whether the order may still rest or match at the venue (not terminal)."""
        return not self.state.terminal and self.state is not OrderState.INITIALIZED

    # -- events --

    def apply(self, event: TrackerEvent) -> list[TrackerEffect]:
        """Apply one venue or engine event; return what the actor must do.

        Raises InvalidTransition for an event that contradicts the table (for example an
        ack before the order was sent); the tracker is then unchanged.
        """
        before = self.state
        effects: list[TrackerEffect] = []
        match event:
            case Submit():
                if self.state is OrderState.INITIALIZED:
                    self._move(OrderEvent.SUBMIT)
            case Deny():
                if self.state is not OrderState.DENIED:
                    self._move(OrderEvent.DENY)
            case Ack():
                self._require_sent(event)
                self._move(OrderEvent.ACCEPT)
                if self._resend_on_ack and self.state is OrderState.PENDING_CANCEL:
                    self._resend_on_ack = False
                    effects.append(SendCancel(self.order_id))
            case Reject(text=text):
                self._require_sent(event)
                if not self.state.terminal:
                    self._move(OrderEvent.REJECT)
                    self.error = text
            case SubmitUnknown():
                self._require_sent(event)
                if self.state is OrderState.SUBMITTED:
                    self._move(OrderEvent.SUBMIT_UNKNOWN)
                    effects.append(QueryOrder(self.order_id, "submit outcome unknown"))
            case TradeUpdate():
                self._require_sent(event)
                effects.extend(self._trade(event))
            case VenueMatched():
                self._require_sent(event)
                self._venue_matched = True
                self._move(OrderEvent.FULL_FILL)
            case CancelRequest():
                self._require_sent(event)
                self.cancel_wanted = True
            case CancelConfirmed():
                self._require_sent(event)
                self._move(OrderEvent.CANCELED)
            case CancelRejected(reason=reason):
                self._require_sent(event)
                effects.extend(self._cancel_rejected(reason))
            case CancelUnanswered():
                self._require_sent(event)
                effects.extend(self._cancel_unresolved("cancel unanswered"))
            case Expire():
                self._require_sent(event)
                if self.state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
                    # An expiry proves the venue had the order: the lost ack is implied.
                    self._move(OrderEvent.ACCEPT)
                self._move(OrderEvent.EXPIRE)
        effects.extend(self._drive_cancel())
        if self.state.terminal and not before.terminal:
            effects.append(Finished(self.order_id, self.state, self.filled))
        return effects

    # -- internals --

    def _require_sent(self, event: TrackerEvent) -> None:
        if self.state in (OrderState.INITIALIZED, OrderState.DENIED):
            raise InvalidTransition(
                f"{type(event).__name__} for order {self.order_id} that was never sent "
                f"(state {self.state.value})"
            )

    def _move(self, event: OrderEvent) -> None:
        new = next_state(self.state, event)
        if new is not None:
            self.state = new

    def _trade(self, update: TradeUpdate) -> list[TrackerEffect]:
        effects: list[TrackerEffect] = []
        record = self._trades.get(update.trade_id)
        if record is None:
            record = TradeRecord(update.size, update.status, booked=False)
            self._trades[update.trade_id] = record
            self._order.append(update.trade_id)
        else:
            if record.size != update.size:
                effects.append(
                    Anomaly(
                        self.order_id,
                        f"trade {update.trade_id} re-sent with size {update.size}, "
                        f"first seen with {record.size}; keeping the first",
                    )
                )
            if update.status.rank <= record.status.rank:
                if record.status.final and update.status.final and update.status != record.status:
                    effects.append(
                        Anomaly(
                            self.order_id,
                            f"trade {update.trade_id} is {record.status.value}, "
                            f"then reported {update.status.value}; keeping the first",
                        )
                    )
                return effects  # an older or repeated status: nothing changes
            record.status = update.status
        if record.status is TradeStatus.FAILED and record.booked:
            record.booked = False
            self.filled -= record.size
            effects.append(FillUnbooked(self.order_id, update.trade_id, record.size))
        effects.extend(self._book_parked())
        if self.state is OrderState.REJECTED and any(isinstance(e, FillBooked) for e in effects):
            effects.append(Anomaly(self.order_id, "fill on an order the venue rejected"))
        return effects

    def _book_parked(self) -> list[TrackerEffect]:
        """Book every unbooked, non-failed trade that fits, oldest first."""
        effects: list[TrackerEffect] = []
        for trade_id in self._order:
            record = self._trades[trade_id]
            if record.booked or record.status is TradeStatus.FAILED:
                continue
            if self.filled + record.size > self.size:
                effects.append(
                    Anomaly(
                        self.order_id,
                        f"trade {trade_id} of {record.size} exceeds the order's remaining "
                        f"{self.size - self.filled}; parked until a failed trade frees room",
                    )
                )
                continue
            record.booked = True
            self.filled += record.size
            effects.append(FillBooked(self.order_id, trade_id, record.size))
            self._move(
                OrderEvent.FULL_FILL if self.filled == self.size else OrderEvent.PARTIAL_FILL
            )
        return effects

    def _cancel_rejected(self, reason: CancelRefusal) -> list[TrackerEffect]:
        if self.state is not OrderState.PENDING_CANCEL:
            return []  # a stale answer: no cancel of ours is in flight
        if reason is CancelRefusal.ALREADY_FILLED:
            # The cancel lost the race: the fills (or a "matched" report) will finish it.
            self._venue_matched = True
            self._move(OrderEvent.CANCEL_REJECTED)
            return []
        # Not found: the cancel overtook the order, or the order is gone and its reports
        # were lost. Neither is "the order lives", so stay PENDING_CANCEL and ask.
        return self._cancel_unresolved("cancel answered: order not found")

    def _cancel_unresolved(self, why: str) -> list[TrackerEffect]:
        """The cancel settled nothing: query, and cancel again if the order shows up alive."""
        if self.state is not OrderState.PENDING_CANCEL or self._resend_on_ack:
            return []  # no cancel in flight, or the same news again
        self._resend_on_ack = True
        return [QueryOrder(self.order_id, why)]

    def _drive_cancel(self) -> list[TrackerEffect]:
        """Send the wanted cancel once the order is known to live and none is in flight."""
        if not self.cancel_wanted or self._venue_matched:
            return []
        if self.state in _LIVE or self.state is OrderState.SUBMITTED:
            self._move(OrderEvent.CANCEL_REQUEST)
            self._resend_on_ack = False
            return [SendCancel(self.order_id)]
        return []
