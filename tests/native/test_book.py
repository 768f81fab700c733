"""Behaviour of the native order book through its Python API, plus a replay of real frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine._native import BookError, OrderBook
from engine.units import UNIT, VALID_TICKS, Side, parse_units

BID, ASK = int(Side.BUY), int(Side.SELL)

# Real market-WS frames (SOURCES.md section 2), read in place from the shared data folder
# that sits beside the repository (../shared/data).
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
FRAMES = (
    SHARED_DATA
    / "adriancova__polymarket-bot-v2/tools/bench/host/tests/fixtures"
    / "market-ws-frames-h1-run-8.jsonl"
)


def cent_book() -> OrderBook:
    book = OrderBook(10_000)
    book.apply_snapshot(
        [(400_000, 5_000_000), (450_000, 7_000_000), (300_000, 1_000_000)],
        [(550_000, 3_000_000), (600_000, 4_000_000)],
    )
    return book


def test_new_book_is_empty_with_its_tick() -> None:
    for tick in VALID_TICKS:
        book = OrderBook(tick)
        assert book.tick == tick
        assert book.best() == (None, None)
        assert book.best_bid() is None and book.best_ask() is None
        assert book.mid() is None and book.spread() is None
        assert book.depth(BID, 10) == 0 and book.levels(ASK, 10) == []
        assert book.level_count(BID) == book.level_count(ASK) == 0
        assert not book.is_crossed()


@pytest.mark.parametrize("tick", [0, 1, 50, 200, 3_000, 50_000, UNIT])
def test_invalid_tick_raises_book_error(tick: int) -> None:
    with pytest.raises(BookError, match="invalid tick"):
        OrderBook(tick)


def test_book_error_is_a_value_error() -> None:
    assert issubclass(BookError, ValueError)
    assert BookError.__module__ == "engine._native"


def test_snapshot_replaces_everything() -> None:
    book = cent_book()
    assert book.best() == (450_000, 550_000)
    book.apply_snapshot([(200_000, 1)], [])
    assert book.levels(BID, 10) == [(200_000, 1)]
    assert book.best_ask() is None
    assert book.level_count(BID) == 1 and book.level_count(ASK) == 0


def test_snapshot_ignores_zero_sizes_and_keeps_the_last_duplicate() -> None:
    book = OrderBook(10_000)
    book.apply_snapshot([(400_000, 0), (300_000, 2), (300_000, 9)], [(700_000, 1)])
    assert book.levels(BID, 10) == [(300_000, 9)]
    assert book.level_count(BID) == 1


def test_change_sets_the_new_total_and_zero_removes() -> None:
    book = cent_book()
    book.apply_change(BID, 450_000, 9)
    assert book.best_bid() == (450_000, 9)
    book.apply_change(BID, 450_000, 0)
    assert book.best_bid() == (400_000, 5_000_000)
    book.apply_change(ASK, 550_000, 0)
    assert book.best_ask() == (600_000, 4_000_000)
    book.apply_change(ASK, 500_000, 2)
    assert book.best_ask() == (500_000, 2)
    # Removing an absent level is a no-op.
    book.apply_change(ASK, 900_000, 0)
    assert book.level_count(ASK) == 2


def test_sides_accept_the_units_enum() -> None:
    book = OrderBook(10_000)
    book.apply_change(Side.BUY, 100_000, 1)
    book.apply_change(Side.SELL, 900_000, 2)
    assert book.best() == (100_000, 900_000)
    assert book.depth(Side.SELL, 1) == 2


def test_apply_changes_applies_in_order() -> None:
    book = OrderBook(1_000)
    book.apply_changes([(BID, 499_000, 1), (BID, 499_000, 3), (ASK, 501_000, 2), (BID, 498_000, 4)])
    assert book.levels(BID, 5) == [(499_000, 3), (498_000, 4)]
    assert book.best_ask() == (501_000, 2)
    book.apply_changes([])
    assert book.level_count(BID) == 2


def test_mid_spread_depth_levels() -> None:
    book = OrderBook(100)
    book.apply_snapshot(
        [(499_900, 10), (499_800, 20), (400_000, 30)],
        [(500_000, 1), (500_100, 2), (999_900, 3)],
    )
    assert book.mid() == 499_950
    assert book.spread() == 100
    assert [book.depth(BID, n) for n in (0, 1, 2, 3, 99)] == [0, 10, 30, 60, 60]
    assert book.depth(ASK, 2**63) == 6
    assert book.levels(ASK, 2) == [(500_000, 1), (500_100, 2)]
    assert book.levels(BID, 0) == []
    assert book.levels(BID, 10) == [(499_900, 10), (499_800, 20), (400_000, 30)]


def test_mid_is_exact_on_the_finest_grid() -> None:
    book = OrderBook(100)
    book.apply_snapshot([(100, 1)], [(200, 1)])
    assert book.mid() == 150


def test_crossed_and_locked_books() -> None:
    book = OrderBook(10_000)
    book.apply_snapshot([(500_000, 1)], [(500_000, 1)])
    assert book.is_crossed() and book.spread() == 0
    book.apply_change(BID, 520_000, 1)
    assert book.is_crossed() and book.spread() == -20_000
    book.apply_change(BID, 520_000, 0)
    book.apply_change(BID, 500_000, 0)
    assert not book.is_crossed()


def test_complement_is_the_other_outcome_view() -> None:
    book = OrderBook(5_000)
    book.apply_snapshot([(450_000, 10), (400_000, 20)], [(505_000, 3), (600_000, 4)])
    other = book.complement()
    assert other.tick == 5_000
    # BUY YES at p is SELL NO at 1 - p, and SELL YES at p is BUY NO at 1 - p.
    assert other.levels(BID, 10) == [(495_000, 3), (400_000, 4)]
    assert other.levels(ASK, 10) == [(550_000, 10), (600_000, 20)]
    assert other.mid() == UNIT - (book.mid() or 0)
    assert other.spread() == book.spread()
    assert other.complement() == book
    # The complement is a copy: changing it leaves the original alone.
    other.clear()
    assert book.level_count(BID) == 2


def test_clear_keeps_the_tick() -> None:
    book = cent_book()
    book.clear()
    assert book == OrderBook(10_000)
    assert book.tick == 10_000


def test_equality_and_no_hash() -> None:
    assert cent_book() == cent_book()
    assert cent_book() != OrderBook(10_000)
    assert OrderBook(10_000) != OrderBook(1_000)
    with pytest.raises(TypeError):
        hash(OrderBook(10_000))


def test_repr_shows_the_top() -> None:
    assert repr(cent_book()) == (
        "OrderBook(tick=10000, best_bid=450000, best_ask=550000, bid_levels=3, ask_levels=2)"
    )


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (405_000, "not a multiple of the tick"),
        (1, "not a multiple of the tick"),
        (0, "outside"),
        (UNIT, "outside"),
        (2 * UNIT, "outside"),
        (2**64 - 1, "not a multiple of the tick"),
    ],
)
def test_bad_prices_raise_book_error_and_leave_the_book_alone(price: int, message: str) -> None:
    book = cent_book()
    with pytest.raises(BookError, match=message):
        book.apply_change(BID, price, 1)
    with pytest.raises(BookError, match=message):
        book.apply_snapshot([(100_000, 1)], [(price, 1)])
    with pytest.raises(BookError, match=message):
        book.apply_changes([(BID, 100_000, 1), (ASK, price, 1)])
    assert book == cent_book()


def test_bad_side_raises_book_error() -> None:
    book = cent_book()
    with pytest.raises(BookError, match="invalid side 2"):
        book.apply_change(2, 400_000, 1)
    with pytest.raises(BookError, match="invalid side"):
        book.apply_changes([(BID, 100_000, 1), (7, 400_000, 1)])
    for call in (book.depth, book.levels):
        with pytest.raises(BookError, match="invalid side"):
            call(5, 1)
    with pytest.raises(BookError, match="invalid side"):
        book.level_count(3)
    assert book == cent_book()


def test_bad_types_and_ranges_raise_python_errors() -> None:
    book = cent_book()
    bad: Any = 1.5
    pair: Any = (BID, 400_000)
    triple: Any = (400_000, 1, 2)
    with pytest.raises(OverflowError):
        book.apply_change(-1, 400_000, 1)
    with pytest.raises(OverflowError):
        book.apply_change(BID, -400_000, 1)
    with pytest.raises(OverflowError):
        book.apply_change(BID, 400_000, 2**64)
    with pytest.raises(OverflowError):
        book.depth(BID, -1)
    with pytest.raises(OverflowError):
        OrderBook(-100)
    with pytest.raises(TypeError):
        book.apply_change(BID, bad, 1)
    with pytest.raises(TypeError):
        book.apply_snapshot(bad, [])
    # A tuple of the wrong length is a ValueError from PyO3's conversion, not a BookError.
    with pytest.raises(ValueError, match="expected tuple of length 2"):
        book.apply_snapshot([triple], [])
    with pytest.raises(ValueError, match="expected tuple of length 3"):
        book.apply_changes([pair])
    text: Any = "400000"
    with pytest.raises(TypeError):
        book.apply_snapshot(text, [])
    assert book == cent_book()


def test_largest_size_is_accepted() -> None:
    book = OrderBook(100)
    book.apply_change(BID, 100, 2**64 - 1)
    assert book.best_bid() == (100, 2**64 - 1)


# --- Replay of real venue frames ---------------------------------------------------------


def frames() -> Iterator[Any]:
    """Decoded JSON payloads of the recorded frames, skipping text frames such as PONG."""
    for line in FRAMES.read_bytes().splitlines():
        payload = orjson.loads(line)["payloadUtf8"]
        try:
            yield orjson.loads(payload)
        except orjson.JSONDecodeError:
            assert payload == "PONG"


def levels_in_micro(levels: list[dict[str, str]]) -> list[tuple[int, int]]:
    return [(parse_units(level["price"]), parse_units(level["size"])) for level in levels]


def apply_book_event(books: dict[str, OrderBook], event: dict[str, Any]) -> None:
    """A `book` event replaces that asset's book (the first one also fixes its tick)."""
    asset = event["asset_id"]
    if asset not in books:
        books[asset] = OrderBook(parse_units(event["tick_size"]))
    bids, asks = levels_in_micro(event["bids"]), levels_in_micro(event["asks"])
    books[asset].apply_snapshot(bids, asks)
    assert books[asset].level_count(BID) == len(bids)
    assert books[asset].level_count(ASK) == len(asks)


@pytest.mark.skipif(not FRAMES.exists(), reason=f"recorded frames not found at {FRAMES}")
def test_replay_matches_the_venue_best_bid_and_ask() -> None:
    books: dict[str, OrderBook] = {}
    checked = 0
    for message in frames():
        events = message if isinstance(message, list) else [message]
        for event in events:
            match event["event_type"]:
                case "book":
                    apply_book_event(books, event)
                case "price_change":
                    for change in event["price_changes"]:
                        book = books[change["asset_id"]]
                        book.apply_change(
                            Side.parse(change["side"]),
                            parse_units(change["price"]),
                            parse_units(change["size"]),
                        )
                        expected = (
                            parse_units(change["best_bid"]),
                            parse_units(change["best_ask"]),
                        )
                        assert book.best() == expected, change
                        assert not book.is_crossed()
                        checked += 1
                case "last_trade_price":
                    pass
                case other:
                    raise AssertionError(f"unexpected event type {other!r}")
    assert len(books) == 2
    assert checked == 40


@pytest.mark.skipif(not FRAMES.exists(), reason=f"recorded frames not found at {FRAMES}")
def test_replay_batched_per_frame_equals_replay_per_change() -> None:
    """One apply_changes call per asset per frame ends in the same books."""
    single: dict[str, OrderBook] = {}
    batched: dict[str, OrderBook] = {}
    for message in frames():
        events = message if isinstance(message, list) else [message]
        for event in events:
            if event["event_type"] == "book":
                apply_book_event(single, event)
                apply_book_event(batched, event)
            elif event["event_type"] == "price_change":
                per_asset: dict[str, list[tuple[int, int, int]]] = {}
                for change in event["price_changes"]:
                    triple = (
                        int(Side.parse(change["side"])),
                        parse_units(change["price"]),
                        parse_units(change["size"]),
                    )
                    single[change["asset_id"]].apply_change(*triple)
                    per_asset.setdefault(change["asset_id"], []).append(triple)
                for asset, changes in per_asset.items():
                    batched[asset].apply_changes(changes)
                assert single == batched
    assert single and single == batched
