"""One reading of the venue's answer about an order (engine/order_query.py), shared by
the OrderActor, the pair desk and the shutdown close-out: trades first, then the state;
NOT_FOUND only as the venue's word; a taker's killed remainder waits for its fills."""

from __future__ import annotations

from typing import Any

from engine.gateway import Resolution, VenueOrderState
from engine.journal import FillStatus, JournalOrder, SignedRecord
from engine.order_query import NOT_PLACED, order_fills, resolution_events
from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    OrderTracker,
    Reject,
    Submit,
    TradeStatus,
    TradeUpdate,
    VenueMatched,
)
from engine.orderfsm import OrderState
from engine.units import UNIT, OrderType, Side, format_units

MARKET = "0x" + "cd" * 32
YES = "1111"
OURS = "our-key"


def journal_order(
    order_id: str = "0xa", size: int = 10 * UNIT, order_type: OrderType = OrderType.GTC
) -> JournalOrder:
    body = {"order": {"timestamp": "1000000", "tokenId": YES}, "owner": OURS}
    signed = SignedRecord(
        order_id, "s", f"key-{order_id}", MARKET, YES, Side.BUY, 500_000, size,
        order_type, False, 0, 1, 1_000_000, body,
    )  # fmt: skip
    return JournalOrder(signed)


def maker_trade(
    order: JournalOrder, trade_id: str, size: int, status: str = "MATCHED"
) -> dict[str, Any]:
    """A foreign taker hits our resting order at our price (venue wire shape)."""
    s = order.signed
    leg = {
        "order_id": s.order_id, "owner": OURS, "maker_address": "0xours",
        "matched_amount": format_units(size), "price": format_units(s.price),
        "fee_rate_bps": "0", "asset_id": s.token_id, "outcome": "Up", "side": s.side.name,
    }  # fmt: skip
    return {
        "id": trade_id, "taker_order_id": "0xforeign", "market": MARKET, "asset_id": YES,
        "side": s.side.opposite.name, "size": format_units(size),
        "price": format_units(s.price), "fee_rate_bps": "0", "status": status,
        "match_time": "1000", "last_update": "1000", "outcome": "Up", "bucket_index": 0,
        "owner": OURS, "maker_address": "0xours", "transaction_hash": "0x00",
        "trader_side": "MAKER", "maker_orders": [leg],
    }  # fmt: skip


def answer(
    order: JournalOrder, state: VenueOrderState, *trades: dict[str, Any], matched: int = 0
) -> Resolution:
    return Resolution(order.order_id, state, None, tuple(trades), matched)


def run(events: list[Any], size: int = 10 * UNIT) -> OrderTracker:
    tracker = OrderTracker("0xa", size)
    tracker.apply(Submit())
    for event in events:
        tracker.apply(event)
    return tracker


def test_a_filled_order_gets_its_trades_before_it_finishes() -> None:
    order = journal_order()
    found = answer(
        order,
        VenueOrderState.FILLED,
        maker_trade(order, "t1", 4 * UNIT),
        maker_trade(order, "t2", 6 * UNIT, "CONFIRMED"),
        matched=10 * UNIT,
    )
    events = resolution_events(found, order)
    assert events == [
        TradeUpdate("t1", 4 * UNIT, TradeStatus.MATCHED),
        TradeUpdate("t2", 6 * UNIT, TradeStatus.CONFIRMED),
        VenueMatched(),
    ]
    tracker = run(events)
    assert (tracker.state, tracker.filled) == (OrderState.FILLED, 10 * UNIT)


def test_a_canceled_order_keeps_its_partial_fill() -> None:
    order = journal_order()
    found = answer(order, VenueOrderState.CANCELED, maker_trade(order, "t1", 3 * UNIT))
    tracker = run(resolution_events(found, order))
    assert (tracker.state, tracker.filled) == (OrderState.CANCELED, 3 * UNIT)


def test_live_is_an_ack_and_not_found_is_the_venues_reject() -> None:
    order = journal_order()
    assert resolution_events(answer(order, VenueOrderState.LIVE), order) == [Ack()]
    assert resolution_events(answer(order, VenueOrderState.NOT_FOUND), order) == [
        Reject(NOT_PLACED)
    ]


def test_without_the_journaled_order_only_the_state_is_read() -> None:
    order = journal_order()
    found = answer(order, VenueOrderState.FILLED, maker_trade(order, "t1", 10 * UNIT))
    assert resolution_events(found, None) == [VenueMatched()]


def test_a_failed_trade_is_passed_on_failed_and_not_counted_as_traded() -> None:
    order = journal_order(order_type=OrderType.FAK)
    found = answer(
        order,
        VenueOrderState.CANCELED,
        maker_trade(order, "t1", 2 * UNIT, "FAILED"),
        matched=2 * UNIT,
    )
    events = resolution_events(found, order, rests=False)
    assert events == [TradeUpdate("t1", 2 * UNIT, TradeStatus.FAILED), Ack()]


def test_a_takers_killed_remainder_is_confirmed_only_once_its_fills_are_in_the_answer() -> None:
    order = journal_order(order_type=OrderType.FAK)
    short = answer(order, VenueOrderState.CANCELED, matched=4 * UNIT)
    assert resolution_events(short, order, rests=False) == [Ack()]
    covered = answer(
        order, VenueOrderState.CANCELED, maker_trade(order, "t1", 4 * UNIT), matched=4 * UNIT
    )
    events = resolution_events(covered, order, rests=False)
    assert events[-1] == CancelConfirmed()
    assert run(events).filled == 4 * UNIT
    # A resting order's CANCELED is final whatever the trades show.
    assert resolution_events(short, order)[-1] == CancelConfirmed()


def test_order_fills_leave_out_other_orders_legs() -> None:
    ours, other = journal_order("0xa"), journal_order("0xb")
    found = answer(
        ours, VenueOrderState.LIVE, maker_trade(ours, "t1", UNIT), maker_trade(other, "t2", UNIT)
    )
    fills = order_fills(found, ours)
    assert [(f.fill_id, f.order_id, f.status) for f in fills] == [("t1", "0xa", FillStatus.MATCHED)]
