"""VPIN: behaviour through the Python API, and a property test against a naive replay."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from models_reference import MAX_PRICE, ReferenceVpin, normal_cdf

from engine._native import Vpin, VpinError

BUY, SELL = 0, 1


def test_none_until_the_first_window_of_buckets_is_full() -> None:
    vpin = Vpin(10, 2, classification="side")
    assert vpin.on_trade(500_000, 10, BUY) is None  # bucket 1: |10 - 0| = 10
    assert vpin.on_trade(500_000, 5, BUY) is None
    assert vpin.on_trade(500_000, 5, SELL) == 0.5  # bucket 2: |5 - 5| = 0
    assert vpin.value == 0.5
    assert (vpin.buckets, vpin.filled) == (2, 0)


def test_a_trade_larger_than_the_room_left_is_split_across_buckets() -> None:
    vpin = Vpin(10, 3, classification="side")
    vpin.on_trade(1, 4, SELL)
    # 6 buys close bucket 1 (|6 - 4| = 2), 20 fill two more (10 each), 5 stay open.
    assert vpin.on_trade(1, 31, BUY) == pytest.approx(22 / 30, abs=1e-15)
    assert (vpin.buckets, vpin.filled) == (3, 5)


def test_a_huge_trade_only_keeps_the_last_window_of_buckets() -> None:
    vpin = Vpin(1, 4, classification="side")
    vpin.on_trades([(1, 3, SELL), (1, 2**64 - 1, BUY)])
    assert vpin.buckets == 2**64 - 1  # the count saturates
    assert vpin.value == 1.0


def test_the_value_stays_in_the_unit_interval() -> None:
    vpin = Vpin(7, 3, sigma_window=3)
    prices = [500_000, 510_000, 490_000, 490_000, 530_000, 10_000, 990_000]
    for i in range(200):
        value = vpin.on_trade(prices[i % len(prices)], 1 + i % 11)
        assert value is None or 0.0 <= value <= 1.0


def test_bulk_classification_uses_phi_of_the_standardized_change() -> None:
    vpin = Vpin(1_000, 1, sigma_window=10)
    vpin.on_trade(100, 1)  # no previous price: half buys
    vpin.on_trade(102, 1)  # one change, no deviation yet: all buys
    vpin.on_trade(101, 1)  # changes [2, -1]
    assert vpin.sigma == math.sqrt(4.5)
    third = normal_cdf(-1 / math.sqrt(4.5))
    vpin.on_trade(104, 997)  # changes [2, -1, 3]
    sigma = math.sqrt(26 / 6)
    assert vpin.sigma == pytest.approx(sigma, rel=1e-15)
    buys = 0.5 + 1.0 + third + 997 * normal_cdf(3 / sigma)
    assert vpin.value == pytest.approx(abs(2 * buys - 1_000) / 1_000, rel=1e-12)


def test_tick_rule_keeps_the_last_direction_on_a_zero_tick() -> None:
    vpin = Vpin(1, 1, classification="tick")
    assert [vpin.on_trade(p, 1) for p in (50, 51, 51, 49, 49)] == [0.0, 1.0, 1.0, 1.0, 1.0]


def test_side_is_ignored_unless_the_classification_is_side() -> None:
    with_sides, without = Vpin(5, 2), Vpin(5, 2)
    for i, price in enumerate([10, 12, 11, 15, 9, 9, 20]):
        assert with_sides.on_trade(price, 3, i % 2) == without.on_trade(price, 3)


def test_parameters_and_accessors() -> None:
    vpin = Vpin(50_000_000, 50)
    assert (vpin.bucket_volume, vpin.window, vpin.sigma_window) == (50_000_000, 50, 50)
    assert vpin.classification == "bulk"
    assert vpin.value is None and vpin.sigma is None
    assert repr(vpin).startswith("Vpin(bucket_volume=50000000, window=50")


@pytest.mark.parametrize(
    "args",
    [
        (0, 1, 50, "bulk"),
        (1, 0, 50, "bulk"),
        (1, 2**20 + 1, 50, "bulk"),
        (1, 1, 1, "bulk"),
        (1, 1, 2**16 + 1, "bulk"),
        (1, 1, 50, "book"),
    ],
)
def test_bad_parameters_raise_vpin_error(args: tuple[int, int, int, str]) -> None:
    with pytest.raises(VpinError):
        Vpin(*args)


def test_vpin_error_is_a_value_error() -> None:
    assert issubclass(VpinError, ValueError)
    assert VpinError.__module__ == "engine._native"


@pytest.mark.parametrize(
    ("classification", "trade", "message"),
    [
        ("bulk", (1, 0, None), "size"),
        ("bulk", (MAX_PRICE + 1, 1, None), "price"),
        ("bulk", (1, 1, 2), "side"),
        ("side", (1, 1, None), "side"),
    ],
)
def test_a_rejected_trade_changes_nothing(
    classification: str, trade: tuple[int, int, int | None], message: str
) -> None:
    vpin = Vpin(10, 1, classification=classification)
    vpin.on_trade(7, 9, BUY)
    with pytest.raises(VpinError, match=message):
        vpin.on_trade(*trade)
    with pytest.raises(VpinError, match=message):
        vpin.on_trades([(7, 1, BUY), trade])
    assert (vpin.buckets, vpin.filled, vpin.sigma) == (0, 9, None)
    vpin.on_trade(7, 1, BUY)
    assert (vpin.buckets, vpin.filled) == (1, 0)


def test_negative_and_non_int_inputs_are_type_errors() -> None:
    vpin = Vpin(10, 1)
    with pytest.raises(OverflowError):
        vpin.on_trade(-1, 1)
    with pytest.raises(TypeError):
        vpin.on_trade(0.5, 1)  # type: ignore[arg-type]


# Property: native equals the naive replay after every step ------------------------------

Trade = tuple[int, int, int | None]


@st.composite
def streams(draw: st.DrawFn) -> tuple[tuple[int, int, int, str], list[tuple[Any, ...]]]:
    """Parameters and steps. Prices come mostly from a small pool (so zero changes and
    repeated moves are common); sizes reach several buckets so trades split."""
    classification = draw(st.sampled_from(["bulk", "tick", "side"]))
    bucket = draw(st.one_of(st.integers(1, 20), st.integers(1, 10**9)))
    window = draw(st.integers(1, 6))
    sigma_window = draw(st.integers(2, 8))
    pool = draw(st.lists(st.integers(0, 1_000_000), min_size=1, max_size=5))
    prices = st.one_of(st.sampled_from(pool), st.integers(0, MAX_PRICE))
    sizes = st.one_of(st.integers(1, bucket), st.integers(1, 12 * bucket))
    sides = st.sampled_from([BUY, SELL])
    if classification != "side":
        sides = st.one_of(st.none(), sides)
    trades = st.tuples(prices, sizes, sides)
    bad = st.one_of(
        st.tuples(prices, st.just(0), sides),
        st.tuples(st.integers(MAX_PRICE + 1, 2**64 - 1), sizes, sides),
        st.tuples(prices, sizes, st.integers(2, 2**64 - 1)),
        *([st.tuples(prices, sizes, st.none())] if classification == "side" else []),
    )
    step = st.one_of(
        st.tuples(st.just("trade"), trades),
        st.tuples(st.just("batch"), st.lists(trades, max_size=4)),
        st.tuples(st.just("bad"), bad),
        st.tuples(st.just("bad_batch"), st.lists(trades, max_size=3), bad),
    )
    steps = draw(st.lists(step, min_size=1, max_size=30))
    return (bucket, window, sigma_window, classification), steps


def same_float(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def assert_same(vpin: Vpin, ref: ReferenceVpin) -> None:
    assert same_float(vpin.value, ref.value(), 1e-9), (vpin.value, ref.value())
    assert vpin.buckets == ref.buckets
    assert vpin.filled == ref.filled
    assert same_float(vpin.sigma, ref.sigma, 1e-12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_native_vpin_matches_a_naive_replay_after_every_step(
    case: tuple[tuple[int, int, int, str], list[tuple[Any, ...]]],
) -> None:
    params, steps = case
    vpin, ref = Vpin(*params), ReferenceVpin(*params)
    for step in steps:
        match step:
            case ("trade", trade):
                assert same_float(vpin.on_trade(*trade), ref.on_trade(*trade), 1e-9)
            case ("batch", trades):
                assert same_float(vpin.on_trades(trades), ref.on_trades(trades), 1e-9)
            case ("bad", trade):
                with pytest.raises(VpinError):
                    vpin.on_trade(*trade)
                with pytest.raises(ValueError):
                    ref.on_trade(*trade)
            case ("bad_batch", trades, trade):
                with pytest.raises(VpinError):
                    vpin.on_trades([*trades, trade])
                with pytest.raises(ValueError):
                    ref.on_trades([*trades, trade])
            case _:
                raise AssertionError(f"unknown step {step!r}")
        assert_same(vpin, ref)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 4),
    st.lists(st.tuples(st.integers(0, 100), st.integers(1, 10**4)), min_size=1, max_size=8),
)
def test_long_streams_stay_exact_after_many_window_turns(
    bucket: int, window: int, trades: list[tuple[int, int]]
) -> None:
    """Many buckets per trade: the running sum is re-summed every `window` buckets, so
    it never drifts from a fresh sum."""
    vpin, ref = Vpin(bucket, window, 3, "tick"), ReferenceVpin(bucket, window, 3, "tick")
    for price, size in trades:
        vpin.on_trade(price, size)
        ref.trades.append((price, size, None))
    imbalances, filled = ref.buckets_and_rest()
    assert (vpin.buckets, vpin.filled) == (len(imbalances), filled)
    assert same_float(vpin.value, ref.value(), 1e-12)
