"""The shutdown close-out's decision (engine/closeout.py plan_closeout): what the venue's
answer about a journal-open order means for the journal."""

from __future__ import annotations

from test_order_query import answer, journal_order, maker_trade

from engine.closeout import fill_message, plan_closeout
from engine.gateway import VenueOrderState
from engine.journal import FillRecord, FillStatus
from engine.messages import Liquidity
from engine.orderfsm import OrderState
from engine.units import UNIT, OrderType


def test_a_canceled_order_closes_canceled_with_the_fills_the_journal_lacks() -> None:
    order = journal_order()
    found = answer(
        order,
        VenueOrderState.CANCELED,
        maker_trade(order, "t1", 2 * UNIT),
        maker_trade(order, "t2", 3 * UNIT),
    )
    known = {("t1", order.order_id): _record("t1", order.order_id, 2 * UNIT)}
    plan = plan_closeout(found, order, known)
    assert plan.state is OrderState.CANCELED
    assert plan.filled == 5 * UNIT
    assert [f.fill_key for f in plan.missing] == [("t2", order.order_id)]


def test_a_filled_order_closes_filled() -> None:
    order = journal_order()
    found = answer(order, VenueOrderState.FILLED, maker_trade(order, "t1", 10 * UNIT))
    plan = plan_closeout(found, order, {})
    assert (plan.state, plan.filled, len(plan.missing)) == (OrderState.FILLED, 10 * UNIT, 1)


def test_not_found_closes_rejected_and_live_is_not_closable() -> None:
    order = journal_order()
    assert plan_closeout(answer(order, VenueOrderState.NOT_FOUND), order, {}).state is (
        OrderState.REJECTED
    )
    live = plan_closeout(
        answer(order, VenueOrderState.LIVE, maker_trade(order, "t1", UNIT)), order, {}
    )
    assert live.state is None
    assert live.filled == UNIT


def test_a_failed_trade_is_never_booked_and_counts_nothing() -> None:
    order = journal_order()
    found = answer(order, VenueOrderState.CANCELED, maker_trade(order, "t1", UNIT, "FAILED"))
    plan = plan_closeout(found, order, {})
    assert (plan.state, plan.filled, plan.missing) == (OrderState.CANCELED, 0, ())


def test_a_takers_remainder_without_its_fills_stays_open() -> None:
    order = journal_order(order_type=OrderType.FAK)
    found = answer(order, VenueOrderState.CANCELED, matched=2 * UNIT)
    assert plan_closeout(found, order, {}).state is None


def test_an_answer_the_table_cannot_take_is_no_answer() -> None:
    """A trade, then "not found": contradictory, so the order stays open."""
    order = journal_order()
    found = answer(order, VenueOrderState.NOT_FOUND, maker_trade(order, "t1", UNIT))
    assert plan_closeout(found, order, {}).state is None


def test_a_missing_fill_goes_to_the_portfolio_on_its_journal_terms() -> None:
    record = _record("t1#0", "0xa", UNIT, liquidity="taker")
    fill = fill_message(record)
    assert (fill.trade_id, fill.order_id, fill.size, fill.fee, fill.match_time) == (
        "t1#0",
        "0xa",
        UNIT,
        record.fee,
        record.match_time,
    )
    assert fill.liquidity is Liquidity.TAKER


def _record(fill_id: str, order_id: str, size: int, liquidity: str = "maker") -> FillRecord:
    order = journal_order(order_id)
    s = order.signed
    return FillRecord(
        fill_id, fill_id.split("#")[0], order_id, s.strategy, s.condition_id, s.token_id,
        s.side, s.price, size, 7, liquidity, FillStatus.MATCHED, 1000,  # type: ignore[arg-type]
    )  # fmt: skip
