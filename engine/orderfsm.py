"""Order states and the one table of transitions between them (pure, no I/O).

An order moves only along the table; anything else raises InvalidTransition. Terminal
states absorb: a repeated or late event on a finished order changes nothing and is
reported as ignored rather than raising, because the venue does send duplicates.
Rows marked "reality" exist because the venue's events race each other.
"""

from __future__ import annotations

from enum import Enum


class OrderState(Enum):
    INITIALIZED = "initialized"
    DENIED = "denied"  # refused by our own risk gate; never left the engine
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    FILLED = "filled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # the submit's outcome is not known (timeout, lost response)

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


class OrderEvent(Enum):
    DENY = "deny"
    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FULL_FILL = "full_fill"
    CANCEL_REQUEST = "cancel_request"
    CANCELED = "canceled"
    CANCEL_REJECTED = "cancel_rejected"
    EXPIRE = "expire"
    SUBMIT_UNKNOWN = "submit_unknown"


TERMINAL = frozenset(
    {
        OrderState.DENIED,
        OrderState.CANCELED,
        OrderState.FILLED,
        OrderState.REJECTED,
        OrderState.EXPIRED,
    }
)

S = OrderState
E = OrderEvent

TRANSITIONS: dict[tuple[OrderState, OrderEvent], OrderState] = {
    (S.INITIALIZED, E.DENY): S.DENIED,
    (S.INITIALIZED, E.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, E.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, E.REJECT): S.REJECTED,
    (S.SUBMITTED, E.SUBMIT_UNKNOWN): S.UNKNOWN,
    # reality: a taker's fill can arrive before the POST response (spec 10.6).
    (S.SUBMITTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, E.FULL_FILL): S.FILLED,
    # reality: a FAK/FOK remainder is killed by the venue, reported as a cancellation.
    (S.SUBMITTED, E.CANCELED): S.CANCELED,
    (S.SUBMITTED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    # reality (added by the order-tracker fuzz, issue 6): every accepted order is acked
    # twice, by the POST answer and by the PLACEMENT event, in either order.
    (S.ACCEPTED, E.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, E.FULL_FILL): S.FILLED,
    (S.ACCEPTED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.ACCEPTED, E.CANCELED): S.CANCELED,  # venue-side cancel (heartbeat, market close)
    (S.ACCEPTED, E.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.ACCEPT): S.PARTIALLY_FILLED,  # reality: ack after first fill
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FULL_FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, E.CANCELED): S.CANCELED,
    (S.PARTIALLY_FILLED, E.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, E.ACCEPT): S.PENDING_CANCEL,  # reality: ack races our cancel
    # reality: fills that happened before the cancel reached the venue arrive after it.
    (S.PENDING_CANCEL, E.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.FULL_FILL): S.FILLED,
    (S.PENDING_CANCEL, E.CANCELED): S.CANCELED,
    # reality: the cancel lost the race; the order is still live (or about to fill).
    (S.PENDING_CANCEL, E.CANCEL_REJECTED): S.ACCEPTED,
    (S.PENDING_CANCEL, E.EXPIRE): S.EXPIRED,
    # reality (added by the order-tracker fuzz, issue 6): a cancel sent before the POST's
    # answer, and the answer is a reject (or a query proves the order never arrived).
    (S.PENDING_CANCEL, E.REJECT): S.REJECTED,
    # an UNKNOWN submit is resolved by what the venue later says about its hash.
    (S.UNKNOWN, E.ACCEPT): S.ACCEPTED,
    (S.UNKNOWN, E.REJECT): S.REJECTED,
    (S.UNKNOWN, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.UNKNOWN, E.FULL_FILL): S.FILLED,
    (S.UNKNOWN, E.CANCELED): S.CANCELED,
}


class InvalidTransition(ValueError):
    """An event that the table does not allow from the current state."""


def next_state(state: OrderState, event: OrderEvent) -> OrderState | None:
    """The state after `event`, or None when a terminal state ignores it.

    Raises InvalidTransition for an event the table does not allow.
    """
    if state.terminal:
        return None
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(f"{event.value} is not allowed in state {state.value}") from None
