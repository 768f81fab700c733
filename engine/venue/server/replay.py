"""Replay recorded market-channel frames through the server, byte for byte.

Recordings are JSONL with one received frame per line, in the shapes of the recorders
in shared/data: `{"receivedAt": ISO, "payloadUtf8": "<frame>"}` and
`{"source": "polymarket_clob", "recv_wall_ts": ms, "payload": "<frame>"}`. Only market
events are replayed (an object with `event_type`, or an array of them); the recorder's
PONGs and REST snapshots are skipped.

Each frame goes, unchanged, to every market subscriber of its assets. The server also
mirrors the replayed books (from `book` and `price_change`), so /book, /price and the
initial snapshot of a late subscriber answer for replayed assets like the venue would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import trio

from engine.units import Side, parse_units


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One frame as received: its raw bytes, when (unix ms), and the assets it concerns."""

    received_ms: int
    raw: bytes
    events: tuple[dict[str, Any], ...]

    @property
    def assets(self) -> list[str]:
        seen: dict[str, None] = {}
        for event in self.events:
            if "asset_id" in event:
                seen[str(event["asset_id"])] = None
            for change in event.get("price_changes", ()):
                seen[str(change["asset_id"])] = None
        return list(seen)


def _events(raw: bytes) -> tuple[dict[str, Any], ...]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ()
    items = value if isinstance(value, list) else [value]
    events = tuple(item for item in items if isinstance(item, dict) and "event_type" in item)
    return events if len(events) == len(items) else ()


def _received_ms(record: dict[str, Any]) -> int:
    if "recv_wall_ts" in record:
        return int(record["recv_wall_ts"])
    stamp = str(record.get("receivedAt", "")).replace("Z", "+00:00")
    return int(datetime.fromisoformat(stamp).timestamp() * 1000) if stamp else 0


def load_recording(path: Path) -> list[RecordedFrame]:
    """The replayable market frames of a recording, in file order."""
    frames: list[RecordedFrame] = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        record = orjson.loads(line)
        if "payloadUtf8" in record:
            text = record["payloadUtf8"]
        elif record.get("source") == "polymarket_clob":
            text = record["payload"]
        else:
            continue
        raw = text.encode()
        events = _events(raw)
        if events:
            frames.append(RecordedFrame(_received_ms(record), raw, events))
    return frames


@dataclass(slots=True)
class ReplayBook:
    """One replayed token's book as the recording describes it."""

    market: str
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    tick: int = 10_000
    min_size: int = 5_000_000
    last_trade: tuple[int, Side] | None = None

    def best(self) -> tuple[int | None, int | None]:
        return (max(self.bids) if self.bids else None, min(self.asks) if self.asks else None)

    def levels(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Best first, like MatchingEngine.book."""
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())


class ReplayBooks:
    """Books of replayed tokens, kept up to date from the frames as they are replayed."""

    def __init__(self) -> None:
        self.books: dict[str, ReplayBook] = {}

    def get(self, token_id: str) -> ReplayBook | None:
        return self.books.get(token_id)

    def apply(self, frame: RecordedFrame) -> None:
        for event in frame.events:
            self._apply(event)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["event_type"]
        if kind == "book":
            book = self._book(str(event["asset_id"]), str(event["market"]))
            book.bids = _levels(event.get("bids", ()))
            book.asks = _levels(event.get("asks", ()))
            if "tick_size" in event:
                book.tick = parse_units(str(event["tick_size"]))
        elif kind == "price_change":
            for change in event.get("price_changes", ()):
                book = self._book(str(change["asset_id"]), str(event["market"]))
                side = book.bids if change["side"] == "BUY" else book.asks
                price, size = parse_units(change["price"]), parse_units(change["size"])
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
        elif kind == "last_trade_price":
            book = self._book(str(event["asset_id"]), str(event["market"]))
            book.last_trade = (parse_units(str(event["price"])), Side.parse(event["side"]))
        elif kind == "tick_size_change":
            book = self._book(str(event["asset_id"]), str(event["market"]))
            book.tick = parse_units(str(event["new_tick_size"]))

    def _book(self, token_id: str, market: str) -> ReplayBook:
        book = self.books.get(token_id)
        if book is None:
            book = self.books[token_id] = ReplayBook(market)
        return book


def _levels(levels: Iterable[dict[str, str]]) -> dict[int, int]:
    return {parse_units(level["price"]): parse_units(level["size"]) for level in levels}


async def replay(
    frames: list[RecordedFrame],
    books: ReplayBooks,
    publish: Any,
    *,
    speed: float = 1.0,
) -> int:
    """Publish the frames in order, paced by their receive times divided by `speed`.

    `publish(raw, assets)` sends one frame (SimVenue.publish_market_frame); `speed` 0
    sends them back to back (yielding between frames). Returns the frames sent.
    """
    if not frames:
        return 0
    start = trio.current_time()
    first_ms = frames[0].received_ms
    for frame in frames:
        if speed > 0:
            await trio.sleep_until(start + (frame.received_ms - first_ms) / 1000 / speed)
        else:
            await trio.lowlevel.checkpoint()
        books.apply(frame)
        publish(frame.raw, frame.assets)
    return len(frames)
