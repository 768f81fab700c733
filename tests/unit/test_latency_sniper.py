"""LatencySniper as a pure strategy: it takes a lagging outcome when spot is fresh, sizes
by capped Kelly, and stops when its spot feed is stale."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._native import edge_after_fees, fair_up_probability
from engine.config import LatencyConfig
from engine.fees import FeeSchedule
from engine.health import Health
from engine.messages import (
    MarketInfo,
    MarketPhase,
    MarketView,
    SpotSource,
    SpotView,
    TakeOrders,
    TokenTop,
)
from engine.strategies.latency import LatencySniper, evaluate
from engine.units import SIZE_STEP, UNIT, OrderType, Side

START = 1_793_404_800
MARKET = MarketInfo(
    condition_id="0x" + "ab" * 32,
    slug=f"btc-updown-15m-{START}",
    token_ids=("1" * 77, "2" * 77),
    outcomes=("Up", "Down"),
    tick=10_000,
    min_size=5 * UNIT,
    fees=FeeSchedule(rate_ppm=70_000),
    start_ts=START,
    end_ts=START + 900,
)
BEAT = 95_000 * UNIT  # the price to beat, micro-USD
NOW = START + 600.0  # 300 s left
CONFIG = LatencyConfig(enabled=True, sigma_per_sqrt_s=0.0001, min_edge="0.02", cooldown_s=0)


def market_view(
    up_ask: int | None, down_ask: int | None, *, size: int = 500 * UNIT, now: float = NOW
) -> MarketView:
    def top(token: str, ask: int | None) -> TokenTop:
        return TokenTop(token, None, 0, ask, size if ask else 0)

    return MarketView(
        ts_ns=1,
        frame_ts_ns=1,
        market=MARKET,
        now_s=now,
        phase=MarketPhase.TRADING,
        healthy=True,
        yes=top(MARKET.token_ids[0], up_ask),
        no=top(MARKET.token_ids[1], down_ask),
    )


def spot_view(
    price: int | None,
    *,
    health: Health = Health.RUNNING,
    price_s: float | None = NOW,
    now: float = NOW,
    beats: tuple[tuple[int, int], ...] = ((START, BEAT),),
) -> SpotView:
    return SpotView(
        ts_ns=2,
        symbol="BTC",
        now_s=now,
        price=price,
        source=SpotSource.BINANCE if price is not None else None,
        health=health,
        price_s=price_s,
        reference=BEAT,
        reference_health=Health.RUNNING,
        price_to_beat=beats,
        sources=(),
    )


UP_MOVE = BEAT * 1003 // 1000  # spot 0.3% above the price to beat: P(Up) ~ 0.96


def test_spot_above_the_price_to_beat_makes_a_cheap_up_ask_a_take() -> None:
    sniper = LatencySniper(CONFIG)
    sniper.on_spot(spot_view(UP_MOVE), {})
    intent = sniper.on_view(market_view(600_000, 420_000), (0, 0))
    assert isinstance(intent, TakeOrders)
    [leg] = intent.legs
    assert (leg.token_id, leg.side, leg.price, leg.order_type) == (
        MARKET.token_ids[0],
        Side.BUY,
        600_000,
        OrderType.FOK,
    )
    assert leg.size > 0 and leg.size % SIZE_STEP == 0


def test_a_fairly_priced_book_is_left_alone() -> None:
    p_up = fair_up_probability(UP_MOVE, BEAT, 0.0001, 300)
    fair_up = int(p_up * UNIT) // 10_000 * 10_000
    sniper = LatencySniper(CONFIG)
    sniper.on_spot(spot_view(UP_MOVE), {})
    assert sniper.on_view(market_view(fair_up, UNIT - fair_up + 10_000), (0, 0)) is None


def test_the_down_side_is_taken_when_spot_falls() -> None:
    down_move = BEAT * 997 // 1000
    sniper = LatencySniper(CONFIG)
    sniper.on_spot(spot_view(down_move), {})
    intent = sniper.on_view(market_view(400_000, 600_000), (0, 0))
    assert intent is not None and intent.legs[0].token_id == MARKET.token_ids[1]


@pytest.mark.parametrize(
    ("name", "spot"),
    [
        ("fallback only (DEGRADED)", spot_view(UP_MOVE, health=Health.DEGRADED)),
        ("no source (ERROR)", spot_view(None, health=Health.ERROR, price_s=None)),
        ("before any data (STARTING)", spot_view(None, health=Health.STARTING, price_s=None)),
        ("price older than max_spot_age_s", spot_view(UP_MOVE, price_s=NOW - 10)),
        ("no price to beat for this window", spot_view(UP_MOVE, beats=((START - 900, BEAT),))),
    ],
)
def test_stale_or_incomplete_spot_stops_the_sniper(name: str, spot: SpotView) -> None:
    sniper = LatencySniper(CONFIG)
    assert sniper.on_spot(spot, {}) == []
    assert sniper.on_view(market_view(600_000, 420_000), (0, 0)) is None, name


def test_going_stale_after_a_take_stops_further_takes() -> None:
    sniper = LatencySniper(CONFIG)
    sniper.on_spot(spot_view(UP_MOVE), {})
    assert sniper.on_view(market_view(600_000, 420_000), (0, 0)) is not None
    stale = spot_view(None, health=Health.ERROR, price_s=None, now=NOW + 5)
    assert sniper.on_spot(stale, {}) == []
    assert sniper.on_view(market_view(600_000, 420_000, now=NOW + 5), (0, 0)) is None


def test_a_spot_move_fires_on_the_views_it_holds() -> None:
    sniper = LatencySniper(CONFIG)
    assert sniper.on_view(market_view(600_000, 420_000), (0, 0)) is None  # no spot yet
    [intent] = sniper.on_spot(spot_view(UP_MOVE), {})
    assert isinstance(intent, TakeOrders) and intent.condition_id == MARKET.condition_id
    assert intent.origin_ts_ns == 2  # the spot view that triggered it


def test_no_takes_near_the_end_closed_markets_or_unhealthy_books() -> None:
    sniper = LatencySniper(CONFIG)
    late = START + 900 - 1.0
    sniper.on_spot(spot_view(UP_MOVE, now=late, price_s=late), {})
    assert sniper.on_view(market_view(600_000, 420_000, now=late), (0, 0)) is None
    view = market_view(600_000, 420_000)
    sniper = LatencySniper(CONFIG)
    sniper.on_spot(spot_view(UP_MOVE), {})
    assert sniper.on_view(replace(view, healthy=False), (0, 0)) is None
    assert sniper.on_view(replace(view, phase=MarketPhase.CLOSED), (0, 0)) is None
    assert sniper.views == {}


def test_size_is_capped_by_kelly_max_size_the_book_and_the_position() -> None:
    spot = spot_view(UP_MOVE)
    view = market_view(600_000, None, size=1_000 * UNIT)
    small_bankroll = LatencyConfig(
        enabled=True, sigma_per_sqrt_s=0.0001, bankroll=100, kelly_cap=0.05, max_size=1000
    )
    snipe = evaluate(view, spot, (0, 0), small_bankroll, NOW)
    # Kelly (a quarter of ~0.9) is past the 5% cap: $5 of $100 at 0.60 is 8.33 shares.
    assert snipe is not None and snipe.size == 8_330_000
    capped = LatencyConfig(enabled=True, sigma_per_sqrt_s=0.0001, max_size=7, bankroll=10_000)
    snipe = evaluate(view, spot, (0, 0), capped, NOW)
    assert snipe is not None and snipe.size == 7 * UNIT
    thin = evaluate(market_view(600_000, None, size=3 * UNIT), spot, (0, 0), capped, NOW)
    assert thin is not None and thin.size == 3 * UNIT
    full = LatencyConfig(enabled=True, sigma_per_sqrt_s=0.0001, max_position=50)
    assert evaluate(view, spot, (50 * UNIT, 0), full, NOW) is None
    nearly = evaluate(view, spot, (48 * UNIT, 0), full, NOW)
    assert nearly is not None and nearly.size == 2 * UNIT


def test_cooldown_limits_one_take_per_market() -> None:
    sniper = LatencySniper(LatencyConfig(enabled=True, sigma_per_sqrt_s=0.0001, cooldown_s=5))
    sniper.on_spot(spot_view(UP_MOVE), {})
    assert sniper.on_view(market_view(600_000, 420_000), (0, 0)) is not None
    assert sniper.on_view(market_view(600_000, 420_000, now=NOW + 1), (0, 0)) is None


def test_fak_when_configured() -> None:
    sniper = LatencySniper(
        LatencyConfig(enabled=True, sigma_per_sqrt_s=0.0001, order_type="FAK", cooldown_s=0)
    )
    sniper.on_spot(spot_view(UP_MOVE), {})
    intent = sniper.on_view(market_view(600_000, 420_000), (0, 0))
    assert intent is not None and intent.legs[0].order_type is OrderType.FAK


@settings(max_examples=300)
@given(
    spot_bp=st.integers(-100, 100),
    up_ask=st.integers(1, 99),
    down_ask=st.integers(1, 99),
    seconds_left=st.floats(3, 900),
)
def test_every_take_clears_fees_and_the_configured_edge(
    spot_bp: int, up_ask: int, down_ask: int, seconds_left: float
) -> None:
    now = START + 900 - seconds_left
    spot = spot_view(BEAT * (10_000 + spot_bp) // 10_000, now=now, price_s=now)
    view = market_view(up_ask * 10_000, down_ask * 10_000, now=now)
    snipe = evaluate(view, spot, (0, 0), CONFIG, now)
    if snipe is None:
        return
    assert snipe.price == (up_ask if snipe.outcome == 0 else down_ask) * 10_000
    exact = edge_after_fees(snipe.p_up, snipe.price, snipe.size, 70_000, 1, outcome=snipe.outcome)
    assert exact >= CONFIG.min_edge_micro * snipe.size / UNIT
    win = snipe.p_up if snipe.outcome == 0 else 1 - snipe.p_up
    assert snipe.price < win * UNIT - CONFIG.min_edge_micro
    assert 0 < snipe.size <= CONFIG.max_size_micro and snipe.size % SIZE_STEP == 0
