"""The seeded scenario: deterministic, resolves by the spot path, and trades like a market."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from engine.units import UNIT
from engine.venue.matching import (
    MarketResolved,
    MarketStatus,
    MatchingEngine,
    TradeExecuted,
    VenueEvent,
)
from engine.venue.scenario import (
    WINDOW_S,
    Scenario,
    SpotPath,
    fair_up_probability,
    make_updown_market,
    normal_cdf,
    to_tick,
)

START = 1_800_000_000  # a multiple of 900
SEED = 7


@dataclass
class Run:
    """One stepped scenario run with per-second book observations."""

    scenario: Scenario
    engine: MatchingEngine
    events: list[VenueEvent] = field(default_factory=list)
    cpu_s: float = 0.0
    seconds: dict[str, int] = field(default_factory=dict)  # open seconds per market
    wide: dict[str, int] = field(default_factory=dict)  # token -> seconds with spread >= 3 ticks
    tight: dict[str, int] = field(default_factory=dict)  # token -> seconds with a 1-tick spread
    deep: dict[str, int] = field(default_factory=dict)  # token -> seconds with >= 2 levels a side
    asks_below_one: dict[str, int] = field(default_factory=dict)  # market -> seconds


def observe(run: Run) -> None:
    engine = run.engine
    for spec in run.scenario.markets:
        cid = spec.condition_id
        if engine.market_status(cid) is not MarketStatus.OPEN:
            continue
        run.seconds[cid] = run.seconds.get(cid, 0) + 1
        best_asks = []
        for token in spec.token_ids:
            bids, asks = engine.book(token)
            if bids and asks:
                spread = asks[0][0] - bids[0][0]
                if spread >= 3 * spec.tick:
                    run.wide[token] = run.wide.get(token, 0) + 1
                if spread == spec.tick:
                    run.tight[token] = run.tight.get(token, 0) + 1
            if len(bids) >= 2 and len(asks) >= 2:
                run.deep[token] = run.deep.get(token, 0) + 1
            best_asks.append(asks[0][0] if asks else UNIT)
        if sum(best_asks) < UNIT:
            run.asks_below_one[cid] = run.asks_below_one.get(cid, 0) + 1


def stepped_run(seed: int, windows: int = 2) -> Run:
    scenario = Scenario(seed, START, windows=windows)
    run = Run(scenario, MatchingEngine())
    t0 = time.process_time()
    for now in range(START, scenario.end_ts + 1):
        scenario.step(run.engine, now)
        run.events.extend(run.engine.drain_events())
        observe(run)
    run.cpu_s = time.process_time() - t0
    return run


@pytest.fixture(scope="module")
def run() -> Run:
    return stepped_run(SEED)


def test_same_seed_gives_the_same_event_stream(run: Run) -> None:
    again = Scenario(SEED, START)
    engine = MatchingEngine()
    again.run(engine)
    assert engine.drain_events() == run.events


def test_another_seed_gives_another_stream(run: Run) -> None:
    other = Scenario(SEED + 1, START, windows=1)
    engine = MatchingEngine()
    for now in range(START, START + 60):
        other.step(engine, now)
    events = engine.drain_events()
    assert events and events != run.events[: len(events)]


def test_markets_resolve_up_iff_spot_ends_at_or_above_its_start(run: Run) -> None:
    resolved = {e.condition_id: e.winner for e in run.events if isinstance(e, MarketResolved)}
    spot = run.scenario.spot
    assert len(resolved) == 2
    for spec in run.scenario.markets:
        up = spot.price_at(spec.end_ts) >= spot.price_at(spec.start_ts)
        assert resolved[spec.condition_id] == (0 if up else 1)


def test_resolution_follows_the_path_not_a_fixed_outcome() -> None:
    """Across many windows of one path both outcomes occur, each matching the spot move."""
    scenario = Scenario(3, START, windows=12, noise_traders=0, informed_traders=0)
    engine = MatchingEngine()
    scenario.run(engine)
    winners = [engine.market_winner(spec.condition_id) for spec in scenario.markets]
    assert set(winners) == {0, 1}
    for spec, winner in zip(scenario.markets, winners, strict=True):
        assert winner == scenario.winner(spec)


def test_a_flat_window_resolves_up() -> None:
    flat = SpotPath(1, vol_per_sqrt_s=0.0, jump_prob=0.0, start_ts=START)
    scenario = Scenario(1, START, windows=1, spot=flat)
    engine = MatchingEngine()
    scenario.run(engine)
    assert engine.market_winner(scenario.markets[0].condition_id) == 0


def test_two_windows_trade_on_both_tokens_of_every_market(run: Run) -> None:
    trades = [e for e in run.events if isinstance(e, TradeExecuted)]
    for spec in run.scenario.markets:
        for token in spec.token_ids:
            assert sum(1 for t in trades if t.token_id == token) >= 50
        kinds = {
            leg.match_kind
            for t in trades
            if t.condition_id == spec.condition_id
            for leg in t.maker_legs
        }
        assert kinds == {"mint", "complementary"}


def test_books_have_depth_and_spreads_vary(run: Run) -> None:
    for spec in run.scenario.markets:
        open_s = run.seconds[spec.condition_id]
        assert open_s == WINDOW_S
        for token in spec.token_ids:
            assert run.deep.get(token, 0) > open_s // 2
            assert 0 < run.wide.get(token, 0) < open_s
            assert run.tight.get(token, 0) > 0


def test_best_asks_sometimes_sum_below_one_but_not_usually(run: Run) -> None:
    total = sum(run.asks_below_one.values())
    assert 0 < total < sum(run.seconds.values()) // 4


def test_everything_settles_back_into_collateral(run: Run) -> None:
    engine = run.engine
    assert engine.open_orders() == []
    for spec in run.scenario.markets:
        assert engine.market_status(spec.condition_id) is MarketStatus.RESOLVED
        assert engine.vault(spec.condition_id) == 0
    balances = [engine.balance(a) for a in engine.accounts()]
    assert all(not b.positions and b.collateral_reserved == 0 for b in balances)
    held = sum(b.collateral_free for b in balances)
    assert held + engine.fees_collected == engine.total_deposited
    assert engine.fees_collected > 0


def test_a_two_window_run_is_cheap(run: Run) -> None:
    assert run.cpu_s < 5.0


def test_markets_stay_closed_before_their_window() -> None:
    scenario = Scenario(SEED, START, windows=2)
    engine = MatchingEngine()
    scenario.step(engine, START - 30)
    assert [engine.market_status(s.condition_id) for s in scenario.markets] == [
        MarketStatus.PENDING,
        MarketStatus.PENDING,
    ]
    scenario.step(engine, START)
    assert engine.market_status(scenario.markets[0].condition_id) is MarketStatus.OPEN
    assert engine.market_status(scenario.markets[1].condition_id) is MarketStatus.PENDING


def test_a_scenario_drives_a_single_engine(run: Run) -> None:
    with pytest.raises(ValueError):
        run.scenario.step(MatchingEngine(), run.scenario.end_ts)


def test_scenario_windows_must_start_on_the_grid() -> None:
    with pytest.raises(ValueError):
        Scenario(SEED, START + 1)


# Building blocks.


def test_spot_path_is_deterministic_and_query_order_free() -> None:
    a = SpotPath(5, start_ts=START)
    b = SpotPath(5, start_ts=START)
    late = a.price_at(START + 500)
    assert [b.price_at(START + t) for t in range(501)][-1] == late
    assert a.price_at(START) == 9_500_000 and a.price_at(START - 10) == 9_500_000
    assert isinstance(late, int) and late != a.price_at(START)
    assert SpotPath(6, start_ts=START).price_at(START + 500) != late


def test_spot_path_takes_a_decimal_dollar_start() -> None:
    assert SpotPath(1, Decimal("87123.45"), start_ts=START).price_at(START) == 8_712_345


def test_market_ids_look_like_the_venues() -> None:
    spec = make_updown_market(SEED, START)
    assert spec.slug == f"btc-updown-15m-{START}"
    assert spec.condition_id.startswith("0x") and len(spec.condition_id) == 66
    int(spec.condition_id, 16)
    for token in spec.token_ids:
        assert token.isdigit() and len(token) in (77, 78)
    assert spec.outcomes == ("Up", "Down")
    assert (spec.tick, spec.fees.rate_ppm, spec.fees.exponent) == (10_000, 70_000, 1)
    assert (spec.start_ts, spec.end_ts) == (START, START + 900)
    assert make_updown_market(SEED, START) == spec
    assert make_updown_market(SEED, START + 900).condition_id != spec.condition_id
    with pytest.raises(ValueError):
        make_updown_market(SEED, START + 60)


def test_normal_cdf() -> None:
    assert normal_cdf(0.0) == 0.5
    assert math.isclose(normal_cdf(1.959963984540054), 0.975, rel_tol=1e-12)
    assert math.isclose(normal_cdf(-1.0) + normal_cdf(1.0), 1.0)


def test_fair_probability_of_up() -> None:
    sigma = 0.0001
    assert fair_up_probability(100_000, 100_000, sigma, 600) == 0.5
    ups = [fair_up_probability(s, 100_000, sigma, 600) for s in (99_500, 99_900, 100_100, 100_500)]
    assert ups == sorted(ups) and ups[0] < 0.5 < ups[-1]
    # Less time left makes the same lead more decisive.
    assert fair_up_probability(100_100, 100_000, sigma, 60) > ups[2]
    assert fair_up_probability(100_000, 100_000, sigma, 0) == 1.0
    assert fair_up_probability(99_999, 100_000, sigma, 0) == 0.0


def test_to_tick_rounds_and_clamps() -> None:
    assert to_tick(0.574, 10_000) == 570_000
    assert to_tick(0.0, 10_000) == 10_000
    assert to_tick(1.0, 10_000) == 990_000


# Five-minute windows (spec section 6): a second series on the same spot path.


def test_five_minute_market_ids_and_times() -> None:
    spec = make_updown_market(SEED, START + 300, series="5m")
    assert spec.slug == f"btc-updown-5m-{START + 300}"
    assert (spec.start_ts, spec.end_ts) == (START + 300, START + 600)
    assert make_updown_market(SEED, START + 300, series="5m") == spec
    fifteen = make_updown_market(SEED, START)
    five = make_updown_market(SEED, START, series="5m")
    assert five.condition_id != fifteen.condition_id
    assert not set(five.token_ids) & set(fifteen.token_ids)
    with pytest.raises(ValueError, match="multiple of 300"):
        make_updown_market(SEED, START + 60, series="5m")
    with pytest.raises(ValueError, match="unknown series"):
        make_updown_market(SEED, START, series="1h")


def test_a_scenario_with_both_series_covers_the_span_with_each() -> None:
    scenario = Scenario(SEED, START, windows=2, series=("15m", "5m"))
    slugs = [spec.slug for spec in scenario.markets]
    assert slugs == [f"btc-updown-15m-{START + i * 900}" for i in range(2)] + [
        f"btc-updown-5m-{START + i * 300}" for i in range(6)
    ]
    assert scenario.end_ts == START + 1800
    # The 15m markets are the ones a 15m-only scenario lists, ids and all.
    assert scenario.markets[:2] == Scenario(SEED, START, windows=2).markets
    with pytest.raises(ValueError, match="series"):
        Scenario(SEED, START, series=("15m", "15m"))


def test_five_minute_markets_trade_and_resolve_by_the_spot_path() -> None:
    scenario = Scenario(SEED, START, windows=1, series=("15m", "5m"))
    engine = MatchingEngine()
    scenario.run(engine)
    events = engine.drain_events()
    resolved = {e.condition_id: e.winner for e in events if isinstance(e, MarketResolved)}
    traded = {e.condition_id for e in events if isinstance(e, TradeExecuted)}
    spot = scenario.spot
    fives = [spec for spec in scenario.markets if spec.end_ts - spec.start_ts == 300]
    assert len(fives) == 3 and len(resolved) == 4
    for spec in fives:
        up = spot.price_at(spec.end_ts) >= spot.price_at(spec.start_ts)
        assert resolved[spec.condition_id] == (0 if up else 1)
        assert spec.condition_id in traded
    held = sum(engine.balance(a).collateral_total for a in engine.accounts())
    assert held + engine.fees_collected + engine.rebates_accrued() == engine.total_deposited
