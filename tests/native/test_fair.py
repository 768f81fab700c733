"""Fair value, fees and sizing: the taker fee equals engine.fees exactly, and the float
models match their Python statements on random inputs."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from models_reference import reference_edge, reference_fair_up, reference_kelly

from engine._native import (
    FairValueError,
    edge_after_fees,
    fair_up_probability,
    kelly_fraction,
    taker_fee,
)
from engine.fees import FeeSchedule
from engine.units import UNIT, VALID_TICKS
from engine.venue import scenario

finite = {"allow_nan": False, "allow_infinity": False}
probabilities = st.floats(0.0, 1.0, **finite)


# Fair value -------------------------------------------------------------------------------


def test_at_or_after_the_end_up_iff_spot_at_least_start() -> None:
    for seconds_left in (0.0, -1.0, -900.0):
        assert fair_up_probability(9_500_001, 9_500_000, 1e-4, seconds_left) == 1.0
        assert fair_up_probability(9_500_000, 9_500_000, 1e-4, seconds_left) == 1.0
        assert fair_up_probability(9_499_999, 9_500_000, 1e-4, seconds_left) == 0.0


def test_without_volatility_the_outcome_is_already_decided() -> None:
    assert fair_up_probability(100, 100, 0.0, 600.0) == 1.0
    assert fair_up_probability(99, 100, 0.0, 600.0) == 0.0


def test_at_the_money_with_time_left_is_a_coin_flip() -> None:
    assert fair_up_probability(9_500_000, 9_500_000, 1e-4, 1e-6) == 0.5
    assert fair_up_probability(9_500_000, 9_500_000, 1e-4, 900.0) == 0.5


def test_up_probability_is_phi_of_log_moneyness_over_sigma_root_tau() -> None:
    # ln(1.001) / (1e-4 * 30) ~ 0.3332 -> Phi ~ 0.6305.
    p = fair_up_probability(10_010, 10_000, 1e-4, 900.0)
    assert p == pytest.approx(0.5 * math.erfc(-math.log(1.001) / 3e-3 / math.sqrt(2)), rel=1e-15)
    assert p == pytest.approx(0.630_5, abs=1e-4)


def test_deep_tails_keep_their_relative_precision() -> None:
    p = fair_up_probability(9_000, 10_000, 1e-4, 900.0)  # z ~ -35: below 1e-250
    assert 0.0 < p < 1e-250


@settings(max_examples=1_000, deadline=None)
@given(
    st.integers(1, 2**53),
    st.integers(1, 2**53),
    st.one_of(st.just(0.0), st.floats(0.0, 1.0, **finite)),
    st.one_of(st.just(0.0), st.floats(-1e6, 1e6, **finite)),
)
def test_fair_up_probability_matches_the_reference(
    spot: int, start: int, sigma: float, seconds_left: float
) -> None:
    native = fair_up_probability(spot, start, sigma, seconds_left)
    assert math.isclose(
        native, reference_fair_up(spot, start, sigma, seconds_left), rel_tol=1e-12, abs_tol=1e-300
    )
    assert 0.0 <= native <= 1.0


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**8), st.integers(1, 10**8), st.floats(1e-6, 1e-2), st.floats(1.0, 900))
def test_fair_up_probability_agrees_with_the_simulated_venue(
    spot: int, start: int, sigma: float, seconds_left: float
) -> None:
    """The scenario's pure-Python model (1 + erf form) agrees up to its own rounding."""
    native = fair_up_probability(spot, start, sigma, seconds_left)
    python = scenario.fair_up_probability(spot, start, sigma, seconds_left)
    assert math.isclose(native, python, abs_tol=1e-15)


@pytest.mark.parametrize(
    "args",
    [
        (0, 1, 0.1, 1.0),
        (1, 0, 0.1, 1.0),
        (1, 1, -0.1, 1.0),
        (1, 1, math.nan, 1.0),
        (1, 1, math.inf, 1.0),
        (1, 1, 0.1, math.nan),
        (1, 1, 0.1, math.inf),
    ],
)
def test_bad_fair_value_inputs_raise(args: tuple[int, int, float, float]) -> None:
    with pytest.raises(FairValueError):
        fair_up_probability(*args)


def test_fair_value_error_is_a_value_error() -> None:
    assert issubclass(FairValueError, ValueError)
    assert FairValueError.__module__ == "engine._native"


# Fees -------------------------------------------------------------------------------------


def test_fee_examples_from_the_spec() -> None:
    hundred = 100 * UNIT
    assert taker_fee(500_000, hundred, 250_000, 2) == 1_562_500  # $1.5625
    assert taker_fee(100_000, hundred, 250_000, 2) == 202_500  # $0.2025
    assert taker_fee(990_000, hundred, 250_000, 2) == 2_450  # $0.00245 (5 dp)
    assert taker_fee(500_000, hundred, 70_000, 1) == 1_750_000  # $1.75


@settings(max_examples=2_000, deadline=None)
@given(
    st.integers(0, UNIT),
    st.one_of(st.integers(0, 10**12), st.integers(0, 2**63)),
    st.integers(0, UNIT),
    st.integers(0, 40),
)
def test_taker_fee_equals_engine_fees_exactly(
    price: int, size: int, rate_ppm: int, exponent: int
) -> None:
    expected = FeeSchedule(rate_ppm=rate_ppm, exponent=exponent).taker_fee(price, size)
    assert taker_fee(price, size, rate_ppm, exponent) == expected


@settings(max_examples=1_000, deadline=None)
@given(
    st.sampled_from(VALID_TICKS).flatmap(
        lambda tick: st.integers(1, UNIT // tick - 1).map(lambda i: i * tick)
    ),
    st.integers(1, 10**6).map(lambda n: n * 10_000),
    st.sampled_from([70_000, 72_000, 30_000, 40_000, 50_000, 250_000]),
    st.sampled_from([1, 2]),
)
def test_taker_fee_equals_engine_fees_on_venue_orders(
    price: int, size: int, rate_ppm: int, exponent: int
) -> None:
    expected = FeeSchedule(rate_ppm=rate_ppm, exponent=exponent).taker_fee(price, size)
    assert taker_fee(price, size, rate_ppm, exponent) == expected


def test_fee_rounding_is_half_up_at_the_fifth_decimal() -> None:
    assert taker_fee(500_000, 1_000, 20_000, 1) == 10  # exactly half a quantum
    assert taker_fee(500_000, 999, 20_000, 1) == 0


@pytest.mark.parametrize("args", [(UNIT + 1, 1, 0, 1), (1, 1, UNIT + 1, 1)])
def test_bad_fee_inputs_raise(args: tuple[int, int, int, int]) -> None:
    with pytest.raises(FairValueError):
        taker_fee(*args)


def test_a_fee_beyond_64_bits_raises() -> None:
    with pytest.raises(FairValueError, match="64 bits"):
        taker_fee(500_000, 2**64 - 1, UNIT, 0)


# Edge and Kelly ---------------------------------------------------------------------------


def test_edge_is_expected_payout_minus_cost_minus_fee() -> None:
    # 100 shares at 0.50 with P(Up) = 0.6: 60 - 50 - 1.75 dollars.
    assert edge_after_fees(0.6, 500_000, 100 * UNIT, 70_000, 1) == pytest.approx(8_250_000)
    # The same on Down loses: 40 - 50 - 1.75.
    down = edge_after_fees(0.6, 500_000, 100 * UNIT, 70_000, 1, outcome=1)
    assert down == pytest.approx(-11_750_000)
    # A maker pays no fee.
    assert edge_after_fees(0.6, 500_000, 100 * UNIT, 0, 1) == pytest.approx(10_000_000)


@settings(max_examples=1_000, deadline=None)
@given(
    probabilities,
    st.integers(0, UNIT),
    st.integers(0, 10**12),
    st.integers(0, UNIT),
    st.integers(0, 3),
    st.sampled_from([0, 1]),
)
def test_edge_after_fees_matches_the_reference(
    probability: float, price: int, size: int, rate_ppm: int, exponent: int, outcome: int
) -> None:
    native = edge_after_fees(probability, price, size, rate_ppm, exponent, outcome=outcome)
    expected = reference_edge(probability, price, size, rate_ppm, exponent, outcome)
    scale = max(1.0, size, price * size / UNIT)
    assert abs(native - expected) <= 1e-12 * scale


def test_kelly_is_q_minus_p_over_one_minus_p() -> None:
    assert kelly_fraction(0.6, 500_000, 0, 1) == pytest.approx(0.2, rel=1e-15)
    # The No side: P(Down) = 0.7 at 0.40 -> (0.7 - 0.4) / 0.6.
    assert kelly_fraction(0.3, 400_000, 0, 1, outcome=1) == pytest.approx(0.5, rel=1e-15)
    assert kelly_fraction(0.6, 500_000, 0, 1, multiplier=0.5) == pytest.approx(0.1, rel=1e-15)
    assert kelly_fraction(0.99, 100_000, 0, 1, cap=0.25) == 0.25


def test_kelly_is_zero_without_edge_after_fees() -> None:
    assert kelly_fraction(0.5, 500_000, 0, 1) == 0.0
    assert kelly_fraction(0.4, 500_000, 0, 1) == 0.0
    # 0.51 at 0.50 is an edge of 0.01, less than the 0.0175 fee per share.
    assert kelly_fraction(0.51, 500_000, 70_000, 1) == 0.0
    assert kelly_fraction(0.6, 500_000, 70_000, 1) > 0.0


@settings(max_examples=1_000, deadline=None)
@given(
    probabilities,
    st.integers(1, UNIT - 1),
    st.integers(0, UNIT),
    st.integers(0, 3),
    st.sampled_from([0, 1]),
    st.floats(0.0, 2.0, **finite),
    st.floats(0.0, 1.0, **finite),
)
def test_kelly_fraction_matches_the_reference(
    probability: float,
    price: int,
    rate_ppm: int,
    exponent: int,
    outcome: int,
    multiplier: float,
    cap: float,
) -> None:
    native = kelly_fraction(
        probability, price, rate_ppm, exponent, outcome=outcome, multiplier=multiplier, cap=cap
    )
    expected = reference_kelly(probability, price, rate_ppm, exponent, outcome, multiplier, cap)
    assert math.isclose(native, expected, rel_tol=1e-12, abs_tol=1e-15)
    assert 0.0 <= native <= cap
    # The No case is the Yes case with the complementary probability.
    mirrored = kelly_fraction(
        1.0 - probability, price, rate_ppm, exponent, multiplier=multiplier, cap=cap
    )
    no = kelly_fraction(
        probability, price, rate_ppm, exponent, outcome=1, multiplier=multiplier, cap=cap
    )
    assert no == mirrored


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0.5, 0, 0, 1), {}),
        ((0.5, UNIT, 0, 1), {}),
        ((1.5, 500_000, 0, 1), {}),
        ((math.nan, 500_000, 0, 1), {}),
        ((0.5, 500_000, UNIT + 1, 1), {}),
        ((0.5, 500_000, 0, 1), {"outcome": 2}),
        ((0.5, 500_000, 0, 1), {"multiplier": -1.0}),
        ((0.5, 500_000, 0, 1), {"cap": 1.5}),
    ],
)
def test_bad_kelly_inputs_raise(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(FairValueError):
        kelly_fraction(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1.5, 500_000, 1, 0, 1), {}),
        ((0.5, UNIT + 1, 1, 0, 1), {}),
        ((0.5, 500_000, 1, UNIT + 1, 1), {}),
        ((0.5, 500_000, 1, 0, 1), {"outcome": 2}),
    ],
)
def test_bad_edge_inputs_raise(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(FairValueError):
        edge_after_fees(*args, **kwargs)
