"""Trade statuses from the user channel act once each, in bounded memory, in any order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.trade_status import (
    STATUSES,
    TradeAction,
    TradeState,
    TradeStatusTracker,
    decide,
    normalize_status,
)

BOOKS = (TradeAction.BOOK, TradeAction.BOOK_FINAL)


def test_the_normal_life_of_a_trade_books_once_and_confirms_once() -> None:
    tracker = TradeStatusTracker(10)
    assert tracker.observe("t", "MATCHED", 100) is TradeAction.BOOK
    assert tracker.observe("t", "MATCHED", 100) is TradeAction.NONE
    assert tracker.observe("t", "MINED", 100) is TradeAction.NONE
    assert tracker.observe("t", "CONFIRMED", 100) is TradeAction.CONFIRM
    assert tracker.observe("t", "CONFIRMED", 100) is TradeAction.NONE
    assert tracker.state("t") is TradeState.FINAL
    assert tracker.repeats == 2


def test_a_failed_trade_is_voided_once_after_its_match() -> None:
    tracker = TradeStatusTracker(10)
    assert tracker.observe("t", "MATCHED") is TradeAction.BOOK
    assert tracker.observe("t", "RETRYING") is TradeAction.NONE
    assert tracker.observe("t", "FAILED") is TradeAction.VOID
    assert tracker.observe("t", "FAILED") is TradeAction.NONE


def test_a_trade_first_seen_failed_books_nothing_even_if_its_match_follows() -> None:
    tracker = TradeStatusTracker(10)
    assert tracker.observe("t", "FAILED") is TradeAction.NONE
    assert tracker.observe("t", "MATCHED") is TradeAction.NONE
    assert tracker.state("t") is TradeState.VOIDED


def test_a_trade_first_seen_confirmed_is_booked_final_and_its_match_is_then_a_repeat() -> None:
    tracker = TradeStatusTracker(10)
    assert tracker.observe("t", "CONFIRMED") is TradeAction.BOOK_FINAL
    assert tracker.observe("t", "MATCHED") is TradeAction.NONE
    assert tracker.observe("t", "MINED") is TradeAction.NONE


def test_mined_or_retrying_first_seen_imply_a_match_and_book_provisionally() -> None:
    assert decide(None, "MINED") == (TradeAction.BOOK, TradeState.PROVISIONAL)
    assert decide(None, "RETRYING") == (TradeAction.BOOK, TradeState.PROVISIONAL)


def test_statuses_are_read_in_any_case_and_anything_else_is_an_error() -> None:
    assert normalize_status("confirmed") == "CONFIRMED"
    assert normalize_status("TRADE_STATUS_MINED") == "MINED"
    with pytest.raises(ValueError, match="unknown trade status 'SETTLED'"):
        normalize_status("SETTLED")


def test_the_backfill_window_starts_before_the_oldest_unsettled_trade() -> None:
    tracker = TradeStatusTracker(10)
    assert tracker.backfill_after(60) is None
    tracker.observe("a", "MATCHED", 1_000)
    tracker.observe("b", "MATCHED", 1_500)
    assert tracker.backfill_after(60) == 940
    tracker.observe("a", "CONFIRMED", 1_000)
    assert tracker.backfill_after(60) == 1_440
    tracker.observe("b", "FAILED", 1_500)
    assert tracker.backfill_after(60) == 1_440  # nothing pending: the latest match


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        TradeStatusTracker(0)


events = st.lists(
    st.tuples(st.integers(0, 30).map(lambda n: f"t{n}"), st.sampled_from(STATUSES)),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(events=events, capacity=st.integers(1, 40))
def test_memory_never_grows_past_capacity(events: list[tuple[str, str]], capacity: int) -> None:
    tracker = TradeStatusTracker(capacity)
    for trade, status in events:
        tracker.observe(trade, status)
        assert len(tracker) <= capacity


@settings(max_examples=300, deadline=None)
@given(events=events)
def test_a_repeated_trade_and_status_never_acts_twice_while_remembered(
    events: list[tuple[str, str]],
) -> None:
    tracker = TradeStatusTracker(1_000)  # retention covers every trade here
    acted: set[tuple[str, str]] = set()
    for trade, status in events:
        action = tracker.observe(trade, status)
        if action is not TradeAction.NONE:
            assert (trade, status) not in acted
            acted.add((trade, status))
        assert tracker.seen(trade, status)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[dict[str, bool], list[tuple[str, str]]]:
    """Trades that settle or fail, each status delivered one or more times, in any order
    (a subset of statuses may be missing, but each trade's final status arrives)."""
    fails = draw(st.dictionaries(st.integers(0, 20).map(lambda n: f"t{n}"), st.booleans()))
    stream: list[tuple[str, str]] = []
    for trade, failed in fails.items():
        path = ["MATCHED", "RETRYING", "FAILED"] if failed else ["MATCHED", "MINED", "CONFIRMED"]
        keep = [s for s in path[:-1] if draw(st.booleans())] + [path[-1]]
        for status in keep:
            stream.extend([(trade, status)] * draw(st.integers(1, 3)))
    return fails, draw(st.permutations(stream))


@settings(max_examples=400, deadline=None)
@given(case=deliveries())
def test_in_any_order_with_repeats_a_trade_ends_booked_exactly_when_it_did_not_fail(
    case: tuple[dict[str, bool], list[tuple[str, str]]],
) -> None:
    fails, stream = case
    tracker = TradeStatusTracker(1_000)
    booked: dict[str, int] = {}
    final: set[str] = set()
    for trade, status in stream:
        action = tracker.observe(trade, status)
        if action in BOOKS:
            booked[trade] = booked.get(trade, 0) + 1
        if action is TradeAction.VOID:
            booked[trade] -= 1
        if action in (TradeAction.BOOK_FINAL, TradeAction.CONFIRM):
            final.add(trade)
    for trade, failed in fails.items():
        assert booked.get(trade, 0) == (0 if failed else 1)
        assert (trade in final) == (not failed)
        assert max(booked.values(), default=0) <= 1
