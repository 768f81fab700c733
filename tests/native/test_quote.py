"""Avellaneda-Stoikov quotes: behaviour through the Python API, and a property test
against the formula written out in Python (integer outputs exactly equal)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from models_reference import ReferenceQuoteParams, reference_quote

from engine._native import Quote, QuoteError, QuoteParams, quote
from engine.units import MIN_ORDER_SIZE, SIZE_STEP, UNIT, VALID_TICKS

CENT = 10_000


def params(**overrides: Any) -> QuoteParams:
    return QuoteParams(CENT, 10 * UNIT, 0.1, 50.0, **overrides)


def test_flat_inventory_quotes_symmetrically_around_the_mid() -> None:
    # delta = (2 / 0.1) ln(1 + 0.1 / 50) = 0.03996: 0.48002 -> 0.48, 0.51998 -> 0.52.
    q = quote(params(), 500_000, None, None, 0, 600.0, 0.0)
    assert (q.bid, q.ask, q.size) == (480_000, 520_000, 10 * UNIT)
    assert q.reservation == 500_000.0
    assert q.spread == pytest.approx(2 / 0.1 * math.log1p(0.1 / 50) * UNIT, rel=1e-15)


def test_inventory_skews_the_reservation_by_q_gamma_sigma2_tau() -> None:
    long = quote(params(), 500_000, None, None, 50 * UNIT, 600.0, 0.001)
    short = quote(params(), 500_000, None, None, -50 * UNIT, 600.0, 0.001)
    # 50 shares * 0.1 * 0.001**2 * 600 = 0.003.
    assert long.reservation == pytest.approx(497_000.0, rel=1e-12)
    assert short.reservation == pytest.approx(503_000.0, rel=1e-12)
    assert (long.bid, long.ask) == (470_000, 520_000)
    assert (short.bid, short.ask) == (480_000, 530_000)


def test_risk_term_shrinks_to_nothing_at_resolution() -> None:
    early = quote(params(), 500_000, None, None, 50 * UNIT, 900.0, 0.002)
    late = quote(params(), 500_000, None, None, 50 * UNIT, 0.0, 0.002)
    assert early.spread > late.spread
    assert late.reservation == 500_000.0
    assert late.spread == pytest.approx(2 / 0.1 * math.log1p(0.1 / 50) * UNIT, rel=1e-15)


def test_toxicity_regime_and_competitors_multiply_the_spread() -> None:
    base = quote(params(), 500_000, None, None, 0, 600.0, 0.0)
    wide = quote(
        params(vpin_widening=2.0, regime_multiplier=1.5, competitor_multiplier=0.5),
        500_000,
        None,
        None,
        0,
        600.0,
        0.0,
        vpin=0.5,
    )
    assert wide.spread == pytest.approx(base.spread * 1.5 * 0.5 * 2.0, rel=1e-15)
    assert (wide.bid, wide.ask) == (470_000, 530_000)
    # VPIN unknown (None) means no widening.
    unknown = quote(params(vpin_widening=2.0), 500_000, None, None, 0, 600.0, 0.0)
    assert unknown == base


def test_volatility_multiplier_scales_sigma() -> None:
    scaled = quote(params(volatility_multiplier=2.0), 500_000, None, None, UNIT, 60.0, 0.01)
    direct = quote(params(), 500_000, None, None, UNIT, 60.0, 0.02)
    assert scaled == direct


def test_buying_flow_lifts_the_reservation() -> None:
    q = quote(params(flow_skew=0.01), 500_000, None, None, 0, 600.0, 0.0, flow=1.0)
    assert q.reservation == pytest.approx(510_000.0, rel=1e-12)
    assert (q.bid, q.ask) == (490_000, 530_000)


def test_quotes_are_clamped_to_the_grid_and_never_lock() -> None:
    top = quote(params(), UNIT, None, None, 0, 600.0, 0.0)
    assert (top.bid, top.ask) == (980_000, 990_000)
    bottom = quote(params(), 0, None, None, 0, 600.0, 0.0)
    assert (bottom.bid, bottom.ask) == (CENT, 20_000)
    # A reservation far above 1.00 clamps both sides to 0.99; the bid steps down.
    far = quote(params(), UNIT, None, None, -(10**6) * UNIT, 600.0, 0.01)
    assert (far.bid, far.ask) == (980_000, 990_000)


def test_quotes_never_cross_the_book() -> None:
    q = quote(params(), 500_000, 530_000, 470_000, 0, 600.0, 0.0)  # a crossed book
    assert (q.bid, q.ask) == (460_000, 540_000)
    # Best prices off the cent grid: the bid goes below 0.475, the ask above 0.525.
    off_grid = quote(params(), 500_000, 525_000, 475_000, 0, 600.0, 0.0)
    assert (off_grid.bid, off_grid.ask) == (470_000, 530_000)
    nowhere = quote(params(), 500_000, UNIT - CENT, CENT, 0, 600.0, 0.0)
    assert (nowhere.bid, nowhere.ask) == (None, None)


def test_size_is_on_the_step_and_at_least_five_shares() -> None:
    assert params().quote_size == 10 * UNIT
    assert QuoteParams(CENT, 1, 0.1, 50.0).quote_size == MIN_ORDER_SIZE
    assert QuoteParams(CENT, 12_345_678, 0.1, 50.0).quote_size == 12_340_000


def test_parameters_and_result_accessors() -> None:
    p = params(vpin_widening=1.0, flow_skew=0.002)
    assert (p.tick, p.size, p.gamma, p.k) == (CENT, 10 * UNIT, 0.1, 50.0)
    assert (p.vpin_widening, p.flow_skew) == (1.0, 0.002)
    assert (p.volatility_multiplier, p.regime_multiplier, p.competitor_multiplier) == (1, 1, 1)
    assert repr(p).startswith("QuoteParams(tick=10000, size=10000000, gamma=0.1")
    q = quote(p, 500_000, None, None, 0, 1.0, 0.0)
    assert isinstance(q, Quote)
    assert repr(q).startswith("Quote(bid=480000, ask=520000, size=10000000")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tick": 3},
        {"gamma": 0.0},
        {"gamma": math.nan},
        {"k": -1.0},
        {"k": math.inf},
        {"gamma": 1e-320},
        {"vpin_widening": -0.1},
        {"flow_skew": -0.1},
        {"volatility_multiplier": 0.0},
        {"regime_multiplier": math.inf},
        {"competitor_multiplier": -2.0},
    ],
)
def test_bad_parameters_raise_quote_error(kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {"tick": CENT, "size": UNIT, "gamma": 0.1, "k": 50.0}
    with pytest.raises(QuoteError):
        QuoteParams(**(base | kwargs))


@pytest.mark.parametrize(
    "state",
    [
        {"mid": UNIT + 1},
        {"best_bid": UNIT + 1},
        {"best_ask": UNIT + 1},
        {"seconds_left": -1.0},
        {"seconds_left": math.nan},
        {"sigma": -0.1},
        {"sigma": math.inf},
        {"vpin": 1.5},
        {"vpin": -0.1},
        {"flow": 1.5},
        {"sigma": 1e200, "inventory": 1},
    ],
)
def test_bad_states_raise_quote_error(state: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "mid": 500_000,
        "best_bid": None,
        "best_ask": None,
        "inventory": 0,
        "seconds_left": 60.0,
        "sigma": 0.001,
    }
    with pytest.raises(QuoteError):
        quote(params(), **(base | state))


def test_quote_error_is_a_value_error() -> None:
    assert issubclass(QuoteError, ValueError)
    assert QuoteError.__module__ == "engine._native"


# Property: native equals the reference on random states ----------------------------------

finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    tick = draw(st.sampled_from(VALID_TICKS))
    p = {
        "tick": tick,
        "size": draw(st.integers(0, 10**10)),
        "gamma": draw(st.floats(1e-4, 20.0, **finite)),
        "k": draw(st.floats(1e-2, 1e4, **finite)),
        "vpin_widening": draw(st.floats(0.0, 5.0, **finite)),
        "flow_skew": draw(st.floats(0.0, 0.05, **finite)),
        "volatility_multiplier": draw(st.floats(0.1, 5.0, **finite)),
        "regime_multiplier": draw(st.floats(0.1, 5.0, **finite)),
        "competitor_multiplier": draw(st.floats(0.1, 5.0, **finite)),
    }
    grid = st.integers(0, UNIT // tick).map(lambda i: i * tick)
    prices = st.one_of(grid, st.integers(0, UNIT))
    state = {
        "mid": draw(prices),
        "best_bid": draw(st.one_of(st.none(), prices)),
        "best_ask": draw(st.one_of(st.none(), prices)),
        "inventory": draw(
            st.one_of(st.integers(-1000 * UNIT, 1000 * UNIT), st.integers(-(2**52), 2**52))
        ),
        "seconds_left": draw(st.one_of(st.just(0.0), st.floats(0.0, 3_600.0, **finite))),
        "sigma": draw(st.one_of(st.just(0.0), st.floats(0.0, 0.02, **finite))),
        "vpin": draw(st.one_of(st.none(), st.floats(0.0, 1.0, **finite))),
        "flow": draw(st.floats(-1.0, 1.0, **finite)),
    }
    return p, state


@settings(max_examples=1_000, deadline=None)
@given(cases())
def test_native_quote_matches_the_reference(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    p, state = case
    q = quote(QuoteParams(**p), **state)
    bid, ask, size, reservation, spread = reference_quote(ReferenceQuoteParams(**p), **state)
    assert (q.bid, q.ask, q.size) == (bid, ask, size)
    assert math.isclose(q.reservation, reservation, rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(q.spread, spread, rel_tol=1e-12)
    # What any quote guarantees, whatever the model said.
    tick = p["tick"]
    assert size >= MIN_ORDER_SIZE and size % SIZE_STEP == 0
    for price in (q.bid, q.ask):
        assert price is None or (price % tick == 0 and tick <= price <= UNIT - tick)
    if q.bid is not None and q.ask is not None:
        assert q.bid < q.ask
    if q.bid is not None and state["best_ask"] is not None:
        assert q.bid < state["best_ask"]
    if q.ask is not None and state["best_bid"] is not None:
        assert q.ask > state["best_bid"]
