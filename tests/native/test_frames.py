"""MarketBooks and the book queries through their Python API: what a caller can rely on."""

from __future__ import annotations

import resource
import sys
from array import array

import orjson
import pytest

from engine._native import BookError, FrameError, MarketBooks, OrderBook, frame_markets
from engine.units import UNIT, Side

BID, ASK = int(Side.BUY), int(Side.SELL)
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
MARKET = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"


def book_event(asset: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> dict:
    """A `book` event; levels are given best first and sent best last, as the venue does."""
    return {
        "event_type": "book",
        "asset_id": asset,
        "market": MARKET,
        "bids": [{"price": p, "size": s} for p, s in reversed(bids)],
        "asks": [{"price": p, "size": s} for p, s in reversed(asks)],
        "timestamp": "1703875200000",
        "hash": "0x0",
    }


def entry(asset: str, side: str, price: str, size: str, bid: str, ask: str) -> dict:
    return {
        "asset_id": asset,
        "price": price,
        "size": size,
        "side": side,
        "hash": "0x1",
        "best_bid": bid,
        "best_ask": ask,
    }


def price_change(*entries: dict) -> bytes:
    return orjson.dumps(
        {"event_type": "price_change", "market": MARKET, "price_changes": list(entries)}
    )


def seeded() -> MarketBooks:
    """YES 0.49/0.51 and its mirror NO 0.49/0.51, from one initial-dump array frame."""
    books = MarketBooks(10_000, [YES, NO])
    frame = [
        book_event(YES, [("0.49", "100"), ("0.48", "20")], [("0.51", "50")]),
        book_event(NO, [("0.49", "50")], [("0.51", "100"), ("0.52", "20")]),
    ]
    summary = books.apply_frame(orjson.dumps(frame))
    assert summary.changed == ((YES, 490_000, 510_000), (NO, 490_000, 510_000))
    return books


def test_a_price_change_is_applied_and_checked_in_one_call() -> None:
    books = seeded()
    summary = books.apply_frame(
        price_change(
            entry(YES, "BUY", "0.5", "200", "0.5", "0.51"),
            entry(NO, "SELL", "0.5", "200", "0.49", "0.5"),
        )
    )
    assert summary.events == 1 and summary.ignored == 0
    assert summary.changed == ((YES, 500_000, 510_000), (NO, 490_000, 500_000))
    assert summary.mismatches == () and not summary.needs_resync
    assert summary.trades == () and summary.tick_changes == () and summary.resolved is None
    assert books.top(YES) == (500_000, 200_000_000, 510_000, 50_000_000)


def test_a_disagreement_with_the_venue_is_reported_for_a_resync() -> None:
    books = seeded()
    summary = books.apply_frame(price_change(entry(YES, "BUY", "0.3", "1", "0.5", "0.51")))
    assert summary.mismatches == ((YES, (490_000, 510_000), (500_000, 510_000)),)
    assert summary.needs_resync


def test_text_frames_are_reported_as_text() -> None:
    books = seeded()
    for raw, text in [(b"PONG", "PONG"), (b"NO NEW ASSETS", "NO NEW ASSETS")]:
        summary = books.apply_frame(raw)
        assert summary.text == text and summary.events == 0 and summary.changed == ()
    assert repr(books.apply_frame(b"PONG")) == 'FrameSummary(text="PONG")'
    assert frame_markets(b"PONG") == []


def test_trades_ticks_and_resolution() -> None:
    books = seeded()
    frame = [
        {
            "event_type": "last_trade_price",
            "asset_id": NO,
            "market": MARKET,
            "price": "0.51",
            "size": "25.5",
            "side": "SELL",
        },
        {
            "event_type": "tick_size_change",
            "asset_id": YES,
            "market": MARKET,
            "old_tick_size": "0.01",
            "new_tick_size": "0.001",
        },
        {
            "event_type": "market_resolved",
            "market": MARKET,
            "assets_ids": [YES, NO],
            "winning_asset_id": YES,
            "winning_outcome": "Yes",
        },
    ]
    summary = books.apply_frame(orjson.dumps(frame))
    assert summary.trades == ((NO, 510_000, 25_500_000, ASK),)
    assert summary.tick_changes == ((YES, 10_000, 1_000),)
    assert summary.changed == ((YES, None, None),)
    assert summary.resolved == YES and summary.needs_resync
    assert books.tick(YES) == 1_000 and books.tick(NO) == 10_000


def test_frames_for_other_markets_are_skipped() -> None:
    books = seeded()
    other = {**book_event("1" * 77, [("0.1", "1")], []), "market": "0xother"}
    new_market = {"event_type": "new_market", "market": "0xnew", "assets_ids": ["a", "b"]}
    summary = books.apply_frame(orjson.dumps([other, new_market]))
    assert (summary.events, summary.ignored, summary.changed) == (0, 2, ())
    assert frame_markets(orjson.dumps([other, new_market, other])) == ["0xother", "0xnew"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b'{"event_type": "book", "market"', "malformed frame"),
        (b"[1, 2, 3]", "not an event object"),
        (price_change(entry(YES, "BUY", "0.5000001", "1", "0", "1")), "at most 6 places"),
        (price_change(entry(YES, "BUY", "0.505", "1", "0", "1")), "not a multiple of the tick"),
        (price_change(entry(YES, "HOLD", "0.5", "1", "0", "1")), "BUY or SELL"),
        (orjson.dumps({"event_type": "book", "asset_id": YES}), "without bids and asks"),
    ],
)
def test_malformed_frames_raise_frame_error_and_change_nothing(frame: bytes, message: str) -> None:
    books = seeded()
    before = [books[YES], books[NO]]
    with pytest.raises(FrameError, match=message):
        books.apply_frame(frame)
    assert [books[YES], books[NO]] == before
    assert issubclass(FrameError, ValueError)


def test_frame_markets_needs_a_market_on_every_event() -> None:
    with pytest.raises(FrameError, match="no market"):
        frame_markets(b'[{"market": "0xa"}, {"event_type": "book"}]')
    with pytest.raises(FrameError):
        frame_markets(b"not json")


def test_unknown_assets_raise_key_error_and_ids_must_be_unique() -> None:
    books = seeded()
    assert len(books) == 2 and YES in books and "x" not in books
    assert books.asset_ids == (YES, NO)
    with pytest.raises(KeyError):
        books.best("x")
    with pytest.raises(KeyError):
        books["x"]
    with pytest.raises(BookError, match="given twice"):
        MarketBooks(10_000, [YES, YES])
    with pytest.raises(BookError, match="invalid tick"):
        MarketBooks(3, [YES])


def test_queries_best_mid_microprice_spread_depth_imbalance() -> None:
    books = seeded()
    assert books.best(YES) == (490_000, 510_000)
    assert books.mid(YES) == 500_000
    # 0.49 x 100 against 0.51 x 50: the thinner ask pulls the microprice up.
    assert books.microprice(YES) == (490_000 * 50 + 510_000 * 100) // 150
    assert books.spread(YES) == 20_000
    assert books.depth(YES, BID, 1) == 100_000_000
    assert books.depth(YES, BID, 5) == 120_000_000
    assert books.imbalance(YES, 1) == pytest.approx((100 - 50) / 150)
    assert books.imbalance(YES, 5) == (120_000_000 - 50_000_000) / 170_000_000
    assert books.levels(YES, BID, 5) == [(490_000, 100_000_000), (480_000, 20_000_000)]
    assert books.complement(YES).best() == (490_000, 510_000)
    assert books.complement(NO).levels(BID, 5) == [(490_000, 100_000_000), (480_000, 20_000_000)]
    assert "2 books" in repr(books)


def test_queries_on_empty_books() -> None:
    book = OrderBook(10_000)
    assert book.top() == (None, 0, None, 0)
    assert book.microprice() is None and book.imbalance(5) is None
    book.apply_change(BID, 400_000, 3)
    assert book.imbalance(5) == 1.0 and book.microprice() is None
    assert book.top() == (400_000, 3, None, 0)


def test_microprice_is_exact_with_huge_sizes() -> None:
    book = OrderBook(100)
    book.apply_snapshot([(999_800, 2**64 - 1)], [(999_900, 2**64 - 1)])
    assert book.microprice() == 999_850


def test_snapshot_from_rest_replaces_one_book_and_can_regrid() -> None:
    books = seeded()
    books.apply_snapshot(YES, [(400_000, 1)], [(600_000, 2)])
    assert books.best(YES) == (400_000, 600_000)
    books.apply_snapshot(NO, [(499_000, 1)], [], tick=1_000)
    assert books.tick(NO) == 1_000 and books.best(NO) == (499_000, None)
    with pytest.raises(BookError):
        books.apply_snapshot(YES, [(405_000, 1)], [])
    assert books.best(YES) == (400_000, 600_000)


def packed(deltas: list[tuple[int, int, int]]) -> bytes:
    data = array("Q", [value for delta in deltas for value in delta])
    if sys.byteorder == "big":
        data.byteswap()
    return data.tobytes()


def test_packed_deltas_apply_in_one_call_all_or_nothing() -> None:
    book = OrderBook(1_000)
    assert book.apply_deltas(packed([(BID, 499_000, 5), (ASK, 501_000, 7), (BID, 499_000, 0)])) == 3
    assert book.best() == (None, 501_000)
    assert book.apply_deltas(b"") == 0
    before = book.levels(ASK, 10)
    with pytest.raises(BookError, match="24 bytes"):
        book.apply_deltas(b"\x00" * 23)
    with pytest.raises(BookError, match="invalid side 2"):
        book.apply_deltas(packed([(BID, 400_000, 1), (2, 400_000, 1)]))
    with pytest.raises(BookError, match="not a multiple"):
        book.apply_deltas(packed([(BID, 400_000, 1), (ASK, 400_500, 1)]))
    assert book.levels(ASK, 10) == before and book.best_bid() is None
    books = seeded()
    assert books.apply_deltas(YES, packed([(BID, 500_000, 1)])) == 1
    assert books.best(YES) == (500_000, 510_000)


def test_a_thousand_books_on_a_0_001_grid_take_under_50_mb() -> None:
    ids = [f"{i:077d}" for i in range(1_000)]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    books = MarketBooks(1_000, ids)
    # Touch every book (one level per side) so the memory is really in use.
    for asset in ids:
        books.apply_snapshot(asset, [(1_000, 1)], [(UNIT - 1_000, 1)])
    assert books.memory_bytes() < 50 * 2**20
    assert books.memory_bytes() >= 1_000 * 2 * 1_001 * 8  # two u64 ladders per book
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 50 * 1024
