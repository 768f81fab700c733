"""Property test: the native book equals a plain-dict reference after every step."""

from __future__ import annotations

from typing import Any

from book_reference import ReferenceBook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine._native import BookError, OrderBook
from engine.units import UNIT, VALID_TICKS, Side

BID, ASK = int(Side.BUY), int(Side.SELL)
DEPTHS = (0, 1, 2, 3, 5, 10_000)

# Sizes stay below 2**62 so summing a whole side never reaches the native u64 saturation.
sizes = st.one_of(st.just(0), st.integers(1, 1_000), st.integers(1, 2**40))
sides = st.sampled_from([BID, ASK])


@st.composite
def scenario(draw: st.DrawFn) -> tuple[int, list[tuple[Any, ...]]]:
    """A tick and a list of steps whose prices come from a small pool on that grid, so
    levels (including the best) are often emptied and refilled."""
    tick = draw(st.sampled_from(VALID_TICKS))
    top = UNIT // tick - 1
    pool = draw(
        st.lists(
            st.one_of(st.integers(1, top), st.sampled_from([1, 2, top - 1, top])),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    prices = st.sampled_from(pool).map(lambda i: i * tick)
    bad_prices = st.sampled_from([0, UNIT, tick // 2, tick + 1, UNIT + tick, 2**64 - 1])
    levels = st.lists(st.tuples(prices, sizes), max_size=8)
    changes = st.lists(st.tuples(sides, prices, sizes), max_size=6)
    step = st.one_of(
        st.tuples(st.just("snapshot"), levels, levels),
        st.tuples(st.just("change"), sides, prices, sizes),
        st.tuples(st.just("change"), sides, prices, st.just(0)),
        st.tuples(st.just("changes"), changes),
        st.tuples(st.just("clear")),
        st.tuples(st.just("bad_change"), sides, bad_prices, sizes),
        st.tuples(st.just("bad_snapshot"), levels, bad_prices),
        st.tuples(st.just("bad_changes"), changes, bad_prices),
        st.tuples(st.just("bad_side"), changes, st.integers(2, 2**64 - 1)),
    )
    return tick, draw(st.lists(step, min_size=1, max_size=40))


def apply(book: OrderBook, ref: ReferenceBook, step: tuple[Any, ...]) -> None:
    """Apply one step to both books; invalid input must fail in both and change neither."""
    match step:
        case ("snapshot", bids, asks):
            book.apply_snapshot(bids, asks)
            ref.apply_snapshot(bids, asks)
        case ("change", side, price, size):
            book.apply_change(side, price, size)
            ref.apply_change(side, price, size)
        case ("changes", changes):
            book.apply_changes(changes)
            ref.apply_changes(changes)
        case ("clear",):
            book.clear()
            ref.clear()
        case ("bad_change", side, price, size):
            expect_rejected(book, ref, "apply_change", side, price, size)
        case ("bad_snapshot", levels, price):
            expect_rejected(book, ref, "apply_snapshot", levels, [*levels, (price, 1)])
        case ("bad_changes", changes, price):
            expect_rejected(book, ref, "apply_changes", [*changes, (ASK, price, 1)])
        case ("bad_side", changes, side):
            expect_rejected(book, ref, "apply_changes", [*changes, (side, UNIT // 2, 1)])
        case _:
            raise AssertionError(f"unknown step {step!r}")


def expect_rejected(book: OrderBook, ref: ReferenceBook, method: str, *args: Any) -> None:
    before = book.complement().complement()
    try:
        getattr(book, method)(*args)
    except BookError:
        pass
    else:
        raise AssertionError(f"{method}{args} was accepted")
    try:
        getattr(ref, method)(*args)
    except ValueError:
        pass
    else:
        raise AssertionError(f"reference accepted {method}{args}")
    assert book == before


def assert_same(book: OrderBook, ref: ReferenceBook) -> None:
    assert book.tick == ref.tick
    assert book.best_bid() == ref.best_bid()
    assert book.best_ask() == ref.best_ask()
    assert book.best() == ref.best()
    assert book.mid() == ref.mid()
    assert book.spread() == ref.spread()
    assert book.is_crossed() == ref.is_crossed()
    for side in (BID, ASK):
        assert book.level_count(side) == ref.level_count(side)
        for n in DEPTHS:
            assert book.depth(side, n) == ref.depth(side, n)
            assert book.levels(side, n) == ref.levels(side, n)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_native_book_matches_reference_after_every_step(
    case: tuple[int, list[tuple[Any, ...]]],
) -> None:
    tick, steps = case
    book, ref = OrderBook(tick), ReferenceBook(tick)
    for step in steps:
        apply(book, ref, step)
        assert_same(book, ref)
        other, ref_other = book.complement(), ref.complement()
        assert_same(other, ref_other)
        assert other.complement() == book
