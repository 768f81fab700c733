"""Property test: MarketBooks.apply_frame equals a plain reference after every frame.

Random frames mix snapshots, price changes (with the venue's best prices right or
wrong), trades, tick changes, best_bid_ask, resolutions, other tokens' events, text
frames and malformed frames. After each one the native books and the reference must
agree on the summary, on every level of every book, and on whether the frame was
rejected (a rejected frame changes nothing).
"""

from __future__ import annotations

from typing import Any

import orjson
from frames_reference import FrameRejected, RefMarketBooks, RefSummary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine._native import FrameError, FrameSummary, MarketBooks
from engine.units import UNIT, VALID_TICKS, format_units

BID, ASK = 0, 1
ASSETS = ["7" * 77, "5" * 78]
OTHER = "9" * 77
TICK = 10_000

Json = dict[str, Any]


def price_text(draw: st.DrawFn, tick: int) -> str:
    """A price on one of the grids in play (so tick changes make some of them invalid)."""
    grid = draw(st.sampled_from([tick, 10_000, 1_000]))
    return format_units(draw(st.integers(1, UNIT // grid - 1)) * grid)


def size_text(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.just("0"),
            st.integers(1, 10_000).map(str),
            st.integers(1, 10**9).map(format_units),
        )
    )


@st.composite
def level(draw: st.DrawFn, tick: int) -> Json:
    return {"price": price_text(draw, tick), "size": size_text(draw)}


@st.composite
def event(draw: st.DrawFn) -> Json:
    asset = draw(st.sampled_from([*ASSETS, OTHER]))
    tick = draw(st.sampled_from([TICK, 1_000]))
    kind = draw(
        st.sampled_from(["book", "price_change", "trade", "tick", "best", "resolved", "new_market"])
    )
    market = "0x" + "ab" * 32
    if kind == "book":
        book: Json = {
            "event_type": "book",
            "asset_id": asset,
            "market": market,
            "bids": draw(st.lists(level(tick), max_size=6)),
            "asks": draw(st.lists(level(tick), max_size=6)),
            "timestamp": "1",
            "hash": "h",
        }
        if draw(st.booleans()):
            book["tick_size"] = format_units(draw(st.sampled_from([TICK, 1_000, 5_000])))
        return book
    if kind == "price_change":
        entries = []
        for _ in range(draw(st.integers(1, 4))):
            entry = {
                "asset_id": draw(st.sampled_from([*ASSETS, OTHER])),
                "price": price_text(draw, tick),
                "size": size_text(draw),
                "side": draw(st.sampled_from(["BUY", "SELL", "buy"])),
                "hash": "x",
            }
            if draw(st.integers(0, 4)):
                entry["best_bid"] = draw(st.sampled_from(["0", "", price_text(draw, tick)]))
                entry["best_ask"] = draw(st.sampled_from(["1", "", price_text(draw, tick)]))
            entries.append(entry)
        return {"market": market, "price_changes": entries, "event_type": "price_change"}
    if kind == "trade":
        return {
            "event_type": "last_trade_price",
            "asset_id": asset,
            "market": market,
            "price": price_text(draw, tick),
            "size": size_text(draw),
            "side": draw(st.sampled_from(["BUY", "SELL"])),
            "fee_rate_bps": "0",
        }
    if kind == "tick":
        new = draw(st.sampled_from(VALID_TICKS))
        return {
            "event_type": "tick_size_change",
            "asset_id": asset,
            "market": market,
            "old_tick_size": "0.01",
            "new_tick_size": format_units(new),
        }
    if kind == "best":
        return {
            "event_type": "best_bid_ask",
            "asset_id": asset,
            "market": market,
            "best_bid": draw(st.sampled_from(["0", price_text(draw, tick)])),
            "best_ask": draw(st.sampled_from(["1", price_text(draw, tick)])),
            "spread": "0.01",
        }
    if kind == "resolved":
        return {
            "event_type": "market_resolved",
            "market": market,
            "assets_ids": draw(st.sampled_from([ASSETS, [OTHER]])),
            "winning_asset_id": draw(st.sampled_from([*ASSETS, OTHER, ""])),
        }
    return {"event_type": "new_market", "market": market, "assets_ids": ASSETS, "id": "1"}


def corrupt(draw: st.DrawFn, frame: bytes, events: list[Json]) -> bytes:
    """Damage a frame: its JSON, a decimal, a side, a tick, a type or a required field."""
    how = draw(st.sampled_from(["truncate", "garbage", "decimal", "field", "type", "tick"]))
    if how == "truncate" and len(frame) > 1:
        return frame[: draw(st.integers(0, len(frame) - 1))]
    if how == "garbage":
        at = draw(st.integers(0, len(frame)))
        return frame[:at] + draw(st.sampled_from([b",", b"}", b"x", b"[", b'"'])) + frame[at:]
    target = draw(st.sampled_from(events))
    holder = target["price_changes"][0] if target.get("price_changes") else target
    if how == "decimal" and "price" in holder:
        holder["price"] = draw(st.sampled_from(["0.1234567", "1e-2", "-0.5", ".5", "0,5"]))
    elif how == "field":
        for name in ("asset_id", "event_type", "side", "size", "bids"):
            if name in holder:
                del holder[name]
                break
    elif how == "type" and "asset_id" in holder:
        holder["asset_id"] = draw(st.sampled_from([None, 7, ["x"]]))
    elif how == "tick":
        target["event_type"] = "tick_size_change"
        target["asset_id"] = ASSETS[0]
        target["new_tick_size"] = draw(st.sampled_from(["0.02", "0.00001", "1"]))
    return orjson.dumps(events if len(events) > 1 else events[0])


@st.composite
def frame(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(["one", "array", "text", "malformed"]))
    if shape == "text":
        return draw(st.sampled_from([b"PONG", b"NO NEW ASSETS", b" PONG\n"]))
    events = draw(st.lists(event(), min_size=1, max_size=4))
    encoded = orjson.dumps(events if shape != "one" else events[0])
    if shape == "malformed":
        return corrupt(draw, encoded, events)
    return encoded


def summary_of(summary: FrameSummary) -> RefSummary:
    return RefSummary(
        text=summary.text,
        events=summary.events,
        ignored=summary.ignored,
        changed=list(summary.changed),
        trades=list(summary.trades),
        mismatches=list(summary.mismatches),
        tick_changes=list(summary.tick_changes),
        resolved=summary.resolved,
        needs_resync=summary.needs_resync,
    )


def assert_same_books(books: MarketBooks, ref: RefMarketBooks) -> None:
    for asset in ASSETS:
        book, expected = books[asset], ref.books[asset]
        assert books.tick(asset) == book.tick == expected.tick
        assert book.levels(BID, 10_000) == expected.levels(BID)
        assert book.levels(ASK, 10_000) == expected.levels(ASK)
        assert books.best(asset) == expected.best()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame(), min_size=1, max_size=12))
def test_native_frames_match_the_reference_after_every_frame(frames: list[bytes]) -> None:
    books, ref = MarketBooks(TICK, ASSETS), RefMarketBooks(TICK, ASSETS)
    for raw in frames:
        try:
            expected: RefSummary | None = ref.apply_frame(raw)
        except FrameRejected:
            expected = None
        try:
            got: RefSummary | None = summary_of(books.apply_frame(raw))
        except FrameError:
            got = None
        assert got == expected, raw
        assert_same_books(books, ref)
