"""OrderTracker, one rule per test: how one order's state and fills follow the venue."""

from __future__ import annotations

import pytest

from engine.order_tracker import (
    Ack,
    Anomaly,
    CancelConfirmed,
    CancelRefusal,
    CancelRejected,
    CancelRequest,
    CancelUnanswered,
    Expire,
    FillBooked,
    FillUnbooked,
    Finished,
    OrderTracker,
    QueryOrder,
    Reject,
    SendCancel,
    Submit,
    SubmitUnknown,
    TradeStatus,
    TradeUpdate,
    VenueMatched,
)
from engine.orderfsm import InvalidTransition, OrderState
from engine.units import UNIT

M, C, F = TradeStatus.MATCHED, TradeStatus.CONFIRMED, TradeStatus.FAILED


def sent(size: int = 10 * UNIT) -> OrderTracker:
    tracker = OrderTracker("0xabc", size)
    tracker.apply(Submit())
    return tracker


def live(size: int = 10 * UNIT) -> OrderTracker:
    tracker = sent(size)
    tracker.apply(Ack())
    return tracker


def test_fills_are_booked_once_per_trade_id_and_finish_the_order() -> None:
    t = live()
    assert t.apply(TradeUpdate("a", 4 * UNIT, M)) == [FillBooked("0xabc", "a", 4 * UNIT)]
    assert t.state is OrderState.PARTIALLY_FILLED
    assert t.apply(TradeUpdate("a", 4 * UNIT, C)) == []  # the same trade, settling
    effects = t.apply(TradeUpdate("b", 6 * UNIT, M))
    assert effects == [
        FillBooked("0xabc", "b", 6 * UNIT),
        Finished("0xabc", OrderState.FILLED, 10 * UNIT),
    ]
    assert t.filled == 10 * UNIT


def test_a_failed_trade_is_voided_and_a_filled_order_stays_filled() -> None:
    t = live()
    t.apply(TradeUpdate("a", 10 * UNIT, M))
    assert t.state is OrderState.FILLED
    assert t.apply(TradeUpdate("a", 10 * UNIT, F)) == [FillUnbooked("0xabc", "a", 10 * UNIT)]
    assert t.state is OrderState.FILLED
    assert t.filled == 0


def test_an_older_status_arriving_late_changes_nothing() -> None:
    t = live()
    t.apply(TradeUpdate("a", 3 * UNIT, F))
    assert t.apply(TradeUpdate("a", 3 * UNIT, M)) == []
    assert t.filled == 0


def test_a_confirmed_trade_reported_failed_is_kept_and_flagged() -> None:
    t = live()
    t.apply(TradeUpdate("a", 3 * UNIT, C))
    (effect,) = t.apply(TradeUpdate("a", 3 * UNIT, F))
    assert isinstance(effect, Anomaly)
    assert t.filled == 3 * UNIT


def test_a_trade_that_does_not_fit_waits_for_the_failure_that_frees_room() -> None:
    t = live()
    t.apply(TradeUpdate("a", 10 * UNIT, M))
    # the venue failed "a" and re-matched as "b", but "b" is heard of first
    (effect,) = t.apply(TradeUpdate("b", 10 * UNIT, M))
    assert isinstance(effect, Anomaly)
    assert (t.filled, t.parked) == (10 * UNIT, 10 * UNIT)
    effects = t.apply(TradeUpdate("a", 10 * UNIT, F))
    assert FillUnbooked("0xabc", "a", 10 * UNIT) in effects
    assert FillBooked("0xabc", "b", 10 * UNIT) in effects
    assert (t.filled, t.parked) == (10 * UNIT, 0)


def test_a_fill_before_the_ack_is_applied_and_the_ack_after_it_changes_nothing() -> None:
    t = sent()
    t.apply(TradeUpdate("a", 2 * UNIT, M))
    assert t.state is OrderState.PARTIALLY_FILLED
    assert t.apply(Ack()) == []
    assert (t.state, t.filled) == (OrderState.PARTIALLY_FILLED, 2 * UNIT)


def test_every_accepted_order_is_acked_twice_without_harm() -> None:
    t = live()
    assert t.apply(Ack()) == []
    assert t.state is OrderState.ACCEPTED


def test_a_cancel_is_done_only_when_the_venue_confirms_it() -> None:
    t = live()
    assert t.apply(CancelRequest()) == [SendCancel("0xabc")]
    assert t.state is OrderState.PENDING_CANCEL
    assert t.apply(CancelRequest()) == []  # already asked
    assert t.apply(CancelConfirmed()) == [Finished("0xabc", OrderState.CANCELED, 0)]


def test_a_late_fill_after_the_cancel_is_booked_and_the_state_stays() -> None:
    t = live()
    t.apply(CancelRequest())
    t.apply(CancelConfirmed())
    assert t.apply(TradeUpdate("a", 3 * UNIT, M)) == [FillBooked("0xabc", "a", 3 * UNIT)]
    assert (t.state, t.filled) == (OrderState.CANCELED, 3 * UNIT)


def test_a_cancel_rejected_because_filled_waits_for_the_fills_without_recanceling() -> None:
    t = live()
    t.apply(CancelRequest())
    assert t.apply(CancelRejected(CancelRefusal.ALREADY_FILLED)) == []
    assert t.state is OrderState.ACCEPTED
    assert t.apply(Ack()) == []  # no second cancel: the venue said it is matched
    assert t.apply(VenueMatched()) == [Finished("0xabc", OrderState.FILLED, 0)]


def test_a_cancel_not_found_asks_the_venue_and_recancels_when_the_order_shows_up() -> None:
    t = sent()
    t.apply(CancelRequest())  # before the POST's answer
    effects = t.apply(CancelRejected(CancelRefusal.NOT_FOUND))
    assert effects == [QueryOrder("0xabc", "cancel answered: order not found")]
    assert t.state is OrderState.PENDING_CANCEL  # "not found" is not "gone"
    assert t.apply(Ack()) == [SendCancel("0xabc")]  # it arrived after our cancel
    assert t.apply(Ack()) == []


def test_an_unanswered_cancel_is_never_read_as_a_refusal() -> None:
    t = live()
    t.apply(CancelRequest())
    assert t.apply(CancelUnanswered()) == [QueryOrder("0xabc", "cancel unanswered")]
    assert t.state is OrderState.PENDING_CANCEL
    assert t.apply(Ack()) == [SendCancel("0xabc")]  # a query says it still lives


def test_a_post_rejected_after_we_asked_to_cancel_it_is_rejected() -> None:
    t = sent()
    t.apply(CancelRequest())
    effects = t.apply(Reject("invalid post-only order: order crosses book"))
    assert effects == [Finished("0xabc", OrderState.REJECTED, 0)]
    assert t.error == "invalid post-only order: order crosses book"


def test_an_unknown_submit_is_queried_and_a_wanted_cancel_waits_for_the_answer() -> None:
    t = sent()
    assert t.apply(SubmitUnknown()) == [QueryOrder("0xabc", "submit outcome unknown")]
    assert t.apply(CancelRequest()) == []  # not sent while we do not know it exists
    assert t.apply(Ack()) == [SendCancel("0xabc")]
    assert t.state is OrderState.PENDING_CANCEL


def test_a_timeout_after_the_answer_changes_nothing() -> None:
    t = live()
    assert t.apply(SubmitUnknown()) == []
    assert t.state is OrderState.ACCEPTED


def test_an_expiry_implies_the_lost_ack() -> None:
    t = sent()
    t.apply(SubmitUnknown())
    assert t.apply(Expire()) == [Finished("0xabc", OrderState.EXPIRED, 0)]


def test_terminal_states_never_change() -> None:
    t = live()
    t.apply(CancelRequest())
    t.apply(CancelConfirmed())
    for event in (Ack(), VenueMatched(), Expire(), Reject("late"), CancelRequest()):
        t.apply(event)
        assert t.state is OrderState.CANCELED


def test_news_about_an_order_never_sent_is_an_error_and_changes_nothing() -> None:
    t = OrderTracker("0xabc", 10 * UNIT)
    with pytest.raises(InvalidTransition, match="never sent"):
        t.apply(TradeUpdate("a", UNIT, M))
    assert (t.state, t.filled, dict(t.trades)) == (OrderState.INITIALIZED, 0, {})


def test_a_reject_after_the_venue_took_the_order_is_a_contradiction() -> None:
    t = live()
    with pytest.raises(InvalidTransition):
        t.apply(Reject("?"))
    assert t.state is OrderState.ACCEPTED


def test_trade_statuses_parse_the_venue_spellings() -> None:
    assert TradeStatus.parse("TRADE_STATUS_CONFIRMED") is C
    assert TradeStatus.parse("failed") is F
    with pytest.raises(ValueError, match="unknown trade status"):
        TradeStatus.parse("LOST")
