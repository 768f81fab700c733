"""Spot prices, pure: parsing each source, backoff, staleness, the board's choice of
source, and the price to beat at each window start."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config import SpotConfig
from engine.health import Health
from engine.messages import SpotReading, SpotSource
from engine.spot import (
    PriceToBeat,
    SourceState,
    SpotBoard,
    SpotParseError,
    parse_binance,
    parse_coinbase_ticker,
    parse_rtds,
    parse_usd_micro,
)

BINANCE, COINBASE, CHAINLINK = SpotSource.BINANCE, SpotSource.COINBASE, SpotSource.CHAINLINK
T0 = 1_793_404_800  # a window start (multiple of 900)


def reading(
    source: SpotSource, price: int, at: float, ts_ms: int | None = None, kind: str = "trade"
) -> SpotReading:
    if source is CHAINLINK:
        kind = "reference"
    return SpotReading(0, source, "BTC", kind, price, ts_ms, at)


def board() -> SpotBoard:
    return SpotBoard.from_config(
        SpotConfig(binance_max_age_s=2, coinbase_max_age_s=5, chainlink_max_age_s=5)
    )


# --- parsing ------------------------------------------------------------------------------


def test_prices_parse_exactly_to_micro_usd() -> None:
    assert parse_usd_micro("43000.10") == 43_000_100_000
    assert parse_usd_micro("43000.10000000") == 43_000_100_000
    assert parse_usd_micro("1.0000015") == 1_000_002  # half-even at the 7th decimal
    assert parse_usd_micro(95_000) == 95_000_000_000


@pytest.mark.parametrize(
    "bad", ["", "abc", "-1", "0", "0.0000004", "1e40", "NaN", "Infinity", None, True, 1.5]
)
def test_bad_prices_are_refused_with_a_clear_error(bad: object) -> None:
    with pytest.raises(SpotParseError):
        parse_usd_micro(bad)


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**7), places=6))
def test_any_six_decimal_price_round_trips(value: Decimal) -> None:
    assert Decimal(parse_usd_micro(str(value))) / 10**6 == value


def test_binance_combined_trade_and_book_ticker() -> None:
    trade = {"e": "trade", "E": 1, "s": "BTCUSDT", "t": 9, "p": "43000.10", "q": "0.1", "T": 5}
    combined = orjson.dumps({"stream": "btcusdt@trade", "data": trade})
    [quote] = parse_binance(combined, "btcusdt")
    assert (quote.kind, quote.price, quote.source_ts_ms) == ("trade", 43_000_100_000, 5)
    book = {"u": 1, "s": "BTCUSDT", "b": "43000.00", "B": "1", "a": "43000.03", "A": "1"}
    [mid] = parse_binance(orjson.dumps({"stream": "btcusdt@bookTicker", "data": book}), "btcusdt")
    assert (mid.kind, mid.price, mid.source_ts_ms) == ("book", 43_000_015_000, None)
    # A raw (not combined) aggTrade parses the same way.
    agg = {"e": "aggTrade", "s": "BTCUSDT", "a": 1, "p": "1.5", "q": "1", "T": 7, "m": True}
    assert parse_binance(orjson.dumps(agg), "btcusdt")[0].price == 1_500_000


def test_binance_ignores_other_symbols_and_subscription_results() -> None:
    other = {"e": "trade", "s": "ETHUSDT", "p": "3000", "T": 1}
    assert parse_binance(orjson.dumps(other), "btcusdt") == []
    assert parse_binance(b'{"result":null,"id":1}', "btcusdt") == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1,2]",
        b'{"stream":"x","data":[1]}',
        b'{"e":"trade","s":"BTCUSDT","p":"1.0"}',  # no trade time
        b'{"e":"trade","s":"BTCUSDT","p":"x","T":1}',
        b'{"s":"BTCUSDT","b":"2","a":"1"}',  # crossed
        b'{"p":"1","T":1}',  # no symbol
    ],
)
def test_malformed_binance_messages_raise_parse_errors(raw: bytes) -> None:
    with pytest.raises(SpotParseError):
        parse_binance(raw, "btcusdt")


def test_coinbase_ticker_price_and_time() -> None:
    body = {"price": "95000.12", "time": "2026-11-01T00:00:01.500000Z", "bid": "1", "ask": "2"}
    quote = parse_coinbase_ticker(orjson.dumps(body))
    assert quote.price == 95_000_120_000
    assert quote.source_ts_ms == 1_793_491_201_500
    with pytest.raises(SpotParseError):
        parse_coinbase_ticker(b'{"price":"1","time":"yesterday"}')
    with pytest.raises(SpotParseError):
        parse_coinbase_ticker(b'{"message":"NotFound"}')


def test_rtds_update_prefers_full_accuracy_and_reads_value_exactly() -> None:
    update = {
        "topic": "crypto_prices_chainlink",
        "type": "update",
        "timestamp": 2,
        "payload": {"symbol": "btc/usd", "timestamp": 1000, "value": 61035.86},
    }
    [quote] = parse_rtds(orjson.dumps(update), "crypto_prices_chainlink", "btc/usd")
    assert (quote.price, quote.source_ts_ms) == (61_035_860_000, 1000)
    update["payload"] |= {"full_accuracy_value": "61035861234560000000000"}  # type: ignore[operator]
    [exact] = parse_rtds(orjson.dumps(update), "crypto_prices_chainlink", "btc/usd")
    assert exact.price == 61_035_861_235  # 61035.86123456 rounded half-even to the micro


def test_rtds_backfill_gives_every_point_and_pong_gives_nothing() -> None:
    backfill = {
        "topic": "crypto_prices_chainlink",
        "type": "subscribe",
        "payload": {"symbol": "btc/usd", "data": [{"timestamp": 1000, "value": 1.5}] * 3},
    }
    quotes = parse_rtds(orjson.dumps(backfill), "crypto_prices_chainlink", "btc/usd")
    assert [q.price for q in quotes] == [1_500_000] * 3
    assert parse_rtds("PONG", "crypto_prices_chainlink", "btc/usd") == []
    other = dict(backfill, topic="crypto_prices")
    assert parse_rtds(orjson.dumps(other), "crypto_prices_chainlink", "btc/usd") == []
    bad = dict(backfill, payload={"symbol": "btc/usd", "data": "x"})
    with pytest.raises(SpotParseError):
        parse_rtds(orjson.dumps(bad), "crypto_prices_chainlink", "btc/usd")


# --- staleness ----------------------------------------------------------------------------


@given(
    max_age=st.floats(0.1, 60),
    factor=st.floats(1, 10),
    age=st.floats(0, 1000),
)
def test_a_source_is_running_while_fresh_then_degraded_then_error(
    max_age: float, factor: float, age: float
) -> None:
    state = SourceState(max_age, factor)
    assert state.health(0.0) is Health.STARTING
    state.on_reading(reading(BINANCE, 1, at=0.0))
    health = state.health(age)
    if age <= max_age:
        assert health is Health.RUNNING
    elif age <= max_age * factor:
        assert health is Health.DEGRADED
    else:
        assert health is Health.ERROR


def test_an_older_point_does_not_replace_a_newer_price() -> None:
    state = SourceState(5.0)
    state.on_reading(reading(CHAINLINK, 2, at=10.0, ts_ms=9_000))
    state.on_reading(reading(CHAINLINK, 1, at=11.0, ts_ms=5_000))  # a backfilled point
    assert state.latest is not None and state.latest.price == 2


# --- the board ----------------------------------------------------------------------------


def test_board_prefers_fresh_primary_then_fallback_then_nothing() -> None:
    spot = board()
    assert spot.view(0.0, 0).health is Health.STARTING
    spot.update(reading(BINANCE, 100, at=10.0))
    spot.update(reading(COINBASE, 99, at=10.0))
    view = spot.view(11.0, 0)
    assert (view.price, view.source, view.health) == (100, BINANCE, Health.RUNNING)
    view = spot.view(13.0, 0)  # Binance 3 s old (max 2), Coinbase fresh
    assert (view.price, view.source, view.health) == (99, COINBASE, Health.DEGRADED)
    assert dict(view.sources)[BINANCE] is Health.DEGRADED
    view = spot.view(16.0, 0)  # both stale
    assert (view.price, view.source, view.health) == (None, None, Health.ERROR)
    spot.update(reading(BINANCE, 101, at=16.0))  # primary back: RUNNING again
    assert (spot.view(16.5, 0).price, spot.view(16.5, 0).health) == (101, Health.RUNNING)


@given(
    st.lists(
        st.tuples(st.sampled_from([BINANCE, COINBASE]), st.floats(0, 100)),
        max_size=12,
    ),
    st.floats(0, 120),
)
def test_board_health_is_running_only_on_a_fresh_primary(
    events: list[tuple[SpotSource, float]], now: float
) -> None:
    spot = board()
    last: dict[SpotSource, float] = {}
    for source, at in sorted(events, key=lambda e: e[1]):
        spot.update(reading(source, 1 + int(at), at=at))
        last[source] = at
    view = spot.view(now, 0)
    fresh_primary = BINANCE in last and now - last[BINANCE] <= 2
    fresh_fallback = COINBASE in last and now - last[COINBASE] <= 5
    assert (view.health is Health.RUNNING) == fresh_primary
    if fresh_primary:
        assert view.source is BINANCE
    elif fresh_fallback:
        assert (view.source, view.health) == (COINBASE, Health.DEGRADED)
    elif last:
        assert (view.price, view.health) == (None, Health.ERROR)
    else:
        assert view.health is Health.STARTING


def test_the_reference_is_kept_apart_from_the_tradable_price() -> None:
    spot = board()
    spot.update(reading(CHAINLINK, 500, at=10.0, ts_ms=10_000))
    view = spot.view(10.5, 0)
    assert (view.price, view.health, view.reference) == (None, Health.STARTING, 500)
    assert view.reference_health is Health.RUNNING


# --- price to beat ------------------------------------------------------------------------


def test_price_to_beat_is_the_first_reference_at_or_after_the_window_start() -> None:
    beats = PriceToBeat(grid_s=300, tolerance_s=5)
    beats.on_reading((T0 - 1) * 1000, 10)  # before the start: belongs to the last window
    beats.on_reading((T0 + 2) * 1000, 12)
    beats.on_reading((T0 + 1) * 1000 + 500, 11)  # arrives later, but is earlier
    beats.on_reading((T0 + 3) * 1000, 13)
    assert beats.get(T0) == 11
    beats.on_reading(T0 * 1000, 9)  # exactly at the start: the true price to beat
    assert beats.get(T0) == 9
    assert beats.get(T0 + 300) is None


def test_a_reference_too_long_after_the_start_is_no_price_to_beat() -> None:
    beats = PriceToBeat(grid_s=300, tolerance_s=5)
    beats.on_reading((T0 + 60) * 1000, 12)
    assert beats.get(T0) is None


@given(st.lists(st.tuples(st.integers(0, 4_000), st.integers(1, 10**12)), max_size=40))
def test_price_to_beat_matches_a_naive_recompute(points: list[tuple[int, int]]) -> None:
    beats = PriceToBeat(grid_s=300, tolerance_s=5, keep=100)
    for offset_ms, price in points:
        beats.on_reading(T0 * 1000 + offset_ms * 100, price)
    for start in range(T0, T0 + 600, 300):
        candidates = [
            (T0 * 1000 + off * 100, price)
            for off, price in points
            if 0 <= T0 * 1000 + off * 100 - start * 1000 <= 5_000
        ]
        # The earliest point wins; among equal times, the first one seen.
        expected = None
        if candidates:
            first_time = min(c[0] for c in candidates)
            expected = next(p for t, p in candidates if t == first_time)
        assert beats.get(start) == expected


def test_price_to_beat_keeps_only_recent_windows() -> None:
    beats = PriceToBeat(grid_s=300, tolerance_s=5, keep=2)
    for n in range(4):
        beats.on_reading((T0 + 300 * n) * 1000, n + 1)
    assert beats.items() == ((T0 + 600, 3), (T0 + 900, 4))


def test_board_publishes_prices_to_beat_on_its_views() -> None:
    spot = board()
    spot.update(reading(CHAINLINK, 777, at=float(T0), ts_ms=T0 * 1000))
    view = spot.view(float(T0), 0)
    assert view.beat_for(T0) == 777
    assert view.beat_for(T0 + 900) is None


def test_a_source_that_never_sends_turns_from_starting_to_error() -> None:
    spot = board()  # Binance: max age 2 s, ERROR after 3 x that
    spot.start(100.0)
    assert spot.view(105.0, 0).health is Health.STARTING
    view = spot.view(107.0, 0)
    assert dict(view.sources)[BINANCE] is Health.ERROR
    assert dict(view.sources)[COINBASE] is Health.STARTING  # 5 s x 3 of grace
    assert view.health is Health.ERROR
