"""Replays of real recorded market-channel frames (shared/data, see SOURCES.md 1, 2, 5).

The books must reproduce the venue's own best_bid/best_ask wherever the recording states
them. `apply_frame` checks each token once per price_change event, against its last
entry; replaying every entry as a frame of its own checks after every single change.
Counts are asserted exactly, so a change in coverage shows up here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine._native import FrameError, MarketBooks
from engine.units import parse_units

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ADRIANCOVA = SHARED_DATA / "adriancova__polymarket-bot-v2"
H1_RUN_8 = ADRIANCOVA / "tools/bench/host/tests/fixtures/market-ws-frames-h1-run-8.jsonl"
V2_SESSION = ADRIANCOVA / "test/fixtures/venue/protocol-v2/ws-market-v2-session.jsonl"
JONAH = SHARED_DATA / "jonahgrigoryan__polymarket-15m-arb-bot/reports/sessions"
NAUTILUS = SHARED_DATA / "nautechsystems__nautilus_trader"

needs = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"no shared data at {SHARED_DATA}")


@dataclass
class Tally:
    """Integrity checks made and matched, per frame and per single change."""

    checks: int = 0
    matched: int = 0
    entry_checks: int = 0
    entry_matched: int = 0


def stated_tokens(frame: bytes, books: MarketBooks) -> int:
    """How many (event, token) checks a frame makes: tokens of ours with best prices."""
    if frame in (b"PONG", b"NO NEW ASSETS"):
        return 0
    payload = orjson.loads(frame)
    events = payload if isinstance(payload, list) else [payload]
    stated = [
        {c["asset_id"] for c in e["price_changes"] if c["asset_id"] in books and "best_bid" in c}
        for e in events
        if e.get("event_type") == "price_change"
    ]
    return sum(len(tokens) for tokens in stated)


def replay(frames: list[bytes], books: MarketBooks, single: MarketBooks, tally: Tally) -> None:
    """Apply each frame to `books`, and each of its price-change entries on its own to
    `single` (other events as they are), counting checks and matches in both."""
    for frame in frames:
        checks = stated_tokens(frame, books)
        summary = books.apply_frame(frame)
        tally.checks += checks
        tally.matched += checks - len(summary.mismatches)
        for piece in split_entries(frame):
            checks = stated_tokens(piece, single)
            summary = single.apply_frame(piece)
            tally.entry_checks += checks
            tally.entry_matched += checks - len(summary.mismatches)


def split_entries(frame: bytes) -> Iterator[bytes]:
    """The frame's events one by one, with price_change events cut into one entry each."""
    if frame in (b"PONG", b"NO NEW ASSETS"):
        yield frame
        return
    payload = orjson.loads(frame)
    for event in payload if isinstance(payload, list) else [payload]:
        if event.get("event_type") == "price_change":
            for entry in event["price_changes"]:
                yield orjson.dumps({**event, "price_changes": [entry]})
        else:
            yield orjson.dumps(event)


def rest_levels(levels: list[dict[str, str]]) -> list[tuple[int, int]]:
    return [(parse_units(level["price"]), parse_units(level["size"])) for level in levels]


@needs
def test_adriancova_h1_run_8_reproduces_every_best_bid_and_ask() -> None:
    """28 frames of one market: a snapshot pair, 20 price_change frames of two entries
    (YES and its NO mirror), PONGs, and later re-snapshots with trades."""
    lines = H1_RUN_8.read_bytes().splitlines()
    frames = [orjson.loads(line)["payloadUtf8"].encode() for line in lines]
    first = orjson.loads(frames[0])
    assets = [event["asset_id"] for event in first]
    books, single, tally = MarketBooks(10_000, assets), MarketBooks(10_000, assets), Tally()
    replay(frames, books, single, tally)
    assert (tally.checks, tally.matched) == (40, 40)
    assert (tally.entry_checks, tally.entry_matched) == (40, 40)
    assert books.apply_frame(frames[17]).text == "PONG"
    trades = [t for f in frames if b"last_trade_price" in f for t in books.apply_frame(f).trades]
    assert trades == [(assets[1], 510_000, 20_000_000, 0), (assets[0], 500_000, 50_000_000, 0)]


@needs
def test_adriancova_v2_session_book_pongs_and_new_market() -> None:
    """A live CLOB-V2 capture: an empty `"version":"v2"` book, PONGs, a new_market."""
    records = [orjson.loads(line) for line in V2_SESSION.read_bytes().splitlines()]
    frames = [r["data"].encode() for r in records if r["dir"] == "recv"]
    asset = orjson.loads(frames[0])[0]["asset_id"]
    books = MarketBooks(10_000, [asset])
    summaries = [books.apply_frame(frame) for frame in frames]
    assert summaries[0].changed == ((asset, None, None),)
    assert [s.text for s in summaries].count("PONG") == 5
    assert sum(s.ignored for s in summaries) == 1  # the new_market


def jonah_runs() -> list[Path]:
    return sorted(p for p in JONAH.iterdir() if (p / "raw_messages.jsonl").exists())


@needs
def test_jonahgrigoryan_sessions_reproduce_every_best_bid_and_ask() -> None:
    """Ten recorder runs over BTC/ETH/SOL 15-minute markets: REST /book snapshots (no
    event_type; applied as a resync would, with their tick_size) and WS frames in
    receive order. The recorder samples bursts after each connect, so its streams are
    not gap-free; every stated best price is still reproduced, because each burst
    starts with `book` snapshots of the tokens it then changes."""
    tally = Tally()
    snapshots = ws_frames = 0
    for run in jonah_runs():
        markets = [orjson.loads(line) for line in (run / "markets.jsonl").read_bytes().splitlines()]
        assets = [o["token_id"] for m in markets for o in m["outcomes"]]
        books, single = MarketBooks(10_000, assets), MarketBooks(10_000, assets)
        lines = (run / "raw_messages.jsonl").read_bytes().splitlines()
        records = [orjson.loads(line) for line in lines]
        records.sort(key=lambda r: r["ingest_seq"])
        for record in records:
            if record["source"] != "polymarket_clob":
                continue
            frame = record["payload"].encode()
            payload: Any = orjson.loads(frame)
            if isinstance(payload, dict) and "event_type" not in payload:
                snapshots += 1
                bids, asks = rest_levels(payload["bids"]), rest_levels(payload["asks"])
                tick = parse_units(payload["tick_size"])
                for target in (books, single):
                    target.apply_snapshot(payload["asset_id"], bids, asks, tick=tick)
                continue
            ws_frames += 1
            replay([frame], books, single, tally)
    assert (snapshots, ws_frames) == (552, 186)
    assert (tally.checks, tally.matched) == (170, 170)
    assert (tally.entry_checks, tally.entry_matched) == (170, 170)


def nautilus_frame(name: str) -> bytes:
    for folder in ("crates_test_data", "tests_resources/ws_messages"):
        path = NAUTILUS / folder / name
        if path.exists():
            return path.read_bytes()
    raise FileNotFoundError(name)


@needs
def test_nautilus_book_then_legacy_price_change() -> None:
    """A real 2024 book (tick 0.001) and a real single-change price_change (the format
    before the array form), for the same asset."""
    book = nautilus_frame("book.json")
    asset = orjson.loads(book)["asset_id"]
    books = MarketBooks(1_000, [asset])
    summary = books.apply_frame(book)
    assert books[asset].level_count(0) == 76 and books[asset].level_count(1) == 86
    assert summary.changed == ((asset, *books.best(asset)),)
    books.apply_frame(nautilus_frame("price_change.json"))
    assert (514_000, 21_574_080_000) in books.levels(asset, 1, 100)


@needs
def test_nautilus_adapter_samples() -> None:
    """The Rust adapter's market fixtures; mostly hand-made, so only their parsing is
    checked (their best prices are not a sequence that a book could reproduce)."""
    yes = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
    books = MarketBooks(10_000, [yes])
    summary = books.apply_frame(nautilus_frame("ws_market_book_msg.json"))
    assert summary.changed == ((yes, 500_000, 510_000),)
    trade = books.apply_frame(nautilus_frame("ws_market_last_trade_msg.json")).trades
    assert trade == ((yes, 510_000, 25_000_000, 0),)
    ticks = books.apply_frame(nautilus_frame("ws_market_tick_size_msg.json"))
    assert ticks.tick_changes == ((yes, 10_000, 10_000),) and ticks.needs_resync
    resolved = nautilus_frame("ws_market_resolved_msg.json")
    winner = orjson.loads(resolved)["winning_asset_id"]
    assert MarketBooks(10_000, [winner]).apply_frame(resolved).resolved == winner
    assert books.apply_frame(nautilus_frame("ws_market_new_market_msg.json")).ignored == 1
    best = nautilus_frame("ws_market_best_bid_ask_msg.json")
    other = orjson.loads(best)["asset_id"]
    stated = MarketBooks(10_000, [other]).apply_frame(best).mismatches
    assert stated == ((other, (None, None), (730_000, 770_000)),)
    # The edited v2 sample: three BUY entries, the last at 0.7 while the venue says the
    # best bid is 0.6; no real book ends that way, so the check fails as it should.
    v2 = nautilus_frame("price_change_v2.json")
    token = orjson.loads(v2)["price_changes"][0]["asset_id"]
    assert MarketBooks(100_000, [token]).apply_frame(v2).mismatches == (
        (token, (700_000, None), (600_000, 700_000)),
    )


@needs
@pytest.mark.parametrize("name", ["ws_book_snapshot.json", "ws_last_trade.json", "ws_quotes.json"])
def test_nautilus_payloads_without_event_type_are_rejected(name: str) -> None:
    """Parsed-struct fixtures lacking `event_type` are not market-channel events."""
    with pytest.raises(FrameError, match="no event_type"):
        MarketBooks(10_000, ["1"]).apply_frame(nautilus_frame(name))
