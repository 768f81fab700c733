"""What the venue's answer to a targeted query about one order means for its tracker.

The OrderActor (actors/order.py), the pair desk (actors/pair_desk.py) and the shutdown
close-out (engine/closeout.py) all ask the venue about an order by id
(`VenueGateway.resolve_unknown`) and read its `Resolution` through this one function, so
that the three agree on what "LIVE", "FILLED", "CANCELED" and "NOT_FOUND" mean.
"""

from __future__ import annotations

from engine.gateway import Resolution, VenueOrderState
from engine.journal import FillRecord, FillStatus, JournalOrder
from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    Reject,
    TrackerEvent,
    TradeStatus,
    TradeUpdate,
    VenueMatched,
)
from engine.reconcile import fills_of_trade

NOT_PLACED = "not placed (the venue has no such order)"
"""The reject text of an order the venue says it never had (NOT_FOUND)."""


def order_fills(found: Resolution, order: JournalOrder) -> list[FillRecord]:
    """This order's fills in the venue's answer, keyed like the user channel's (a
    taker's part against maker leg i is "<trade id>#i"); other orders' legs are left out."""
    journaled = {order.order_id: order}
    return [
        fill
        for trade in found.trades
        for fill in fills_of_trade(trade, journaled)[0]
        if fill.order_id == found.order_id and fill.size > 0
    ]


def resolution_events(
    found: Resolution, order: JournalOrder | None, *, rests: bool = True
) -> list[TrackerEvent]:
    """The tracker events a query's answer stands for, in the order to apply them.

    * The order's own trades first (they need the journaled order, for its side, fees
      and fill keys; without it the fills come from the user channel alone), so a
      FILLED or CANCELED order has its fills before it finishes.
    * Then its state: LIVE is an ack; FILLED is "fully matched"; CANCELED is a confirmed
      cancel; NOT_FOUND a reject. NOT_FOUND is only ever the venue's answer: "could not
      ask" raises in `resolve_unknown`, before this.
    * A taker order (`rests` False: FOK/FAK) the venue reports CANCELED after matching
      more than these trades carry is only acked: its remainder was killed, and the
      cancel is confirmed once the missing fills have arrived (the caller knows
      `found.size_matched`), so the order never finishes short of its fills.
    """
    events: list[TrackerEvent] = []
    traded = 0
    for fill in order_fills(found, order) if order is not None else []:
        events.append(TradeUpdate(fill.fill_id, fill.size, TradeStatus.parse(fill.status.value)))
        if fill.status is not FillStatus.FAILED:
            traded += fill.size
    match found.state:
        case VenueOrderState.LIVE:
            events.append(Ack())
        case VenueOrderState.FILLED:
            events.append(VenueMatched())
        case VenueOrderState.CANCELED:
            if rests or found.size_matched <= traded:
                events.append(CancelConfirmed())
            else:
                events.append(Ack())
        case VenueOrderState.NOT_FOUND:
            events.append(Reject(NOT_PLACED))
    return events


__all__ = ["NOT_PLACED", "order_fills", "resolution_events"]
