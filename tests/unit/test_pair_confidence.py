"""How likely each outcome is to win, as the pair desk's pre-settlement exit reads it:
the book's own odds by default, the spot model against the price to beat on request
(falling back to the book while spot is stale or unknown)."""

from __future__ import annotations

import pytest

from engine.config import PairsConfig
from engine.fees import NO_FEES
from engine.health import Health
from engine.messages import MarketInfo, MarketPhase, MarketView, SpotSource, SpotView, TokenTop
from engine.pair_desk_core import book_confidence, confidence, spot_confidence
from engine.units import UNIT

START, END = 1_800_000_000, 1_800_000_900
INFO = MarketInfo(
    "0x" + "c1" * 32, "btc-updown-15m-1800000000", ("111", "222"), ("Up", "Down"),
    10_000, 5 * UNIT, NO_FEES, START, END,
)  # fmt: skip


def view(up: tuple[int | None, int | None], down: tuple[int | None, int | None]) -> MarketView:
    return MarketView(
        0, 0, INFO, END - 100.0, MarketPhase.TRADING, True,
        TokenTop("111", up[0], UNIT, up[1], UNIT), TokenTop("222", down[0], UNIT, down[1], UNIT),
    )  # fmt: skip


def spot(price: int, *, age_s: float = 0.5, beat: int | None = 100_000 * UNIT) -> SpotView:
    now = END - 100.0
    return SpotView(
        0, "BTC", now, price, SpotSource.BINANCE, Health.RUNNING, now - age_s,
        beat, Health.RUNNING, ((START, beat),) if beat is not None else (), (),
    )  # fmt: skip


def test_the_books_odds_are_each_mid_over_both_mids() -> None:
    up, down = book_confidence(view((880_000, 900_000), (90_000, 110_000))) or (0.0, 0.0)
    assert up == pytest.approx(0.89 / 0.99) and down == pytest.approx(0.10 / 0.99)
    assert up > 0.8


def test_a_book_missing_a_side_gives_no_odds() -> None:
    assert book_confidence(view((None, 900_000), (90_000, 110_000))) is None
    assert book_confidence(view((880_000, 900_000), (90_000, None))) is None


def test_the_spot_model_reads_spot_against_the_price_to_beat() -> None:
    config = PairsConfig(confidence="spot")
    above = spot_confidence(view((1, 2), (1, 2)), spot(100_500 * UNIT), config, END - 100.0)
    assert above is not None and above[0] > 0.8 and above[0] + above[1] == pytest.approx(1)
    below = spot_confidence(view((1, 2), (1, 2)), spot(99_500 * UNIT), config, END - 100.0)
    assert below is not None and below[1] > 0.8


def test_stale_spot_or_an_unknown_price_to_beat_falls_back_to_the_book() -> None:
    config = PairsConfig(confidence="spot")
    book = view((400_000, 420_000), (570_000, 590_000))
    now = END - 100.0
    assert spot_confidence(book, spot(100_500 * UNIT, age_s=10), config, now) is None
    assert spot_confidence(book, spot(100_500 * UNIT, beat=None), config, now) is None
    assert confidence(book, spot(100_500 * UNIT, age_s=10), config, now) == book_confidence(book)
    fresh = confidence(book, spot(100_500 * UNIT), config, now)
    assert fresh is not None and fresh[0] > 0.8  # spot says Up although the book leans Down


def test_the_book_is_the_default_source_even_with_spot_at_hand() -> None:
    book = view((400_000, 420_000), (570_000, 590_000))
    assert confidence(book, spot(100_500 * UNIT), PairsConfig(), END - 100.0) == book_confidence(
        book
    )
