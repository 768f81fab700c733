"""A deliberately plain model of `engine._native.MarketBooks.apply_frame`.

orjson decodes the frame, a tick-indexed list holds each side, and every query scans.
It states the semantics the native code must have, in the most direct way: the whole
frame is checked on a copy of the books and kept only if nothing was wrong.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from engine.units import UNIT, VALID_TICKS

BID, ASK = 0, 1
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]{1,6})?")
_TEXT_FRAMES = {b"PONG": "PONG", b"NO NEW ASSETS": "NO NEW ASSETS"}

Best = tuple[int | None, int | None]


class FrameRejected(ValueError):
    """The frame is malformed (the native code raises FrameError)."""


def micro(value: object) -> int:
    """A venue decimal string in micro units: digits, then at most 6 decimals."""
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise FrameRejected(f"not a decimal: {value!r}")
    whole, _, frac = value.partition(".")
    result = int(whole) * UNIT + int(frac.ljust(6, "0") or "0")
    if result >= 2**64:
        raise FrameRejected(f"too large: {value!r}")
    return result


def best_price(value: object) -> int | None:
    """A best_bid/best_ask field: "", "0" and "1" mean an empty side."""
    if value == "":
        return None
    price = micro(value)
    if price in (0, UNIT):
        return None
    if price > UNIT:
        raise FrameRejected(f"not a price: {value!r}")
    return price


def side(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.upper() in ("BUY", "SELL"):
        return BID if value.upper() == "BUY" else ASK
    raise FrameRejected(f"not a side: {value!r}")


def tick(value: object) -> int:
    result = micro(value)
    if result not in VALID_TICKS:
        raise FrameRejected(f"not a tick: {value!r}")
    return result


def text(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str):
        raise FrameRejected(f"{name} missing or not a string")
    return value


class RefBook:
    """One token's book: sizes indexed by price // tick; queries scan."""

    def __init__(self, tick_size: int) -> None:
        self.tick = tick_size
        self.sizes = ([0] * (UNIT // tick_size + 1), [0] * (UNIT // tick_size + 1))

    def on_grid(self, price: int) -> bool:
        return price % self.tick == 0 and self.tick <= price <= UNIT - self.tick

    def set(self, side_code: int, price: int, size: int) -> None:
        self.sizes[side_code][price // self.tick] = size

    def levels(self, side_code: int) -> list[tuple[int, int]]:
        indices = range(len(self.sizes[side_code]))
        ordered = reversed(indices) if side_code == BID else indices
        return [(i * self.tick, s) for i in ordered if (s := self.sizes[side_code][i])]

    def best(self) -> Best:
        bids, asks = self.levels(BID), self.levels(ASK)
        return (bids[0][0] if bids else None, asks[0][0] if asks else None)


@dataclass
class RefSummary:
    text: str | None = None
    events: int = 0
    ignored: int = 0
    changed: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    trades: list[tuple[str, int, int, int]] = field(default_factory=list)
    mismatches: list[tuple[str, Best, Best]] = field(default_factory=list)
    tick_changes: list[tuple[str, int, int]] = field(default_factory=list)
    resolved: str | None = None
    needs_resync: bool = False


class RefMarketBooks:
    def __init__(self, tick_size: int, asset_ids: list[str]) -> None:
        self.asset_ids = list(asset_ids)
        self.books = {asset: RefBook(tick_size) for asset in asset_ids}

    def apply_snapshot(
        self, asset: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
    ) -> None:
        book = RefBook(self.books[asset].tick)
        for side_code, levels in ((BID, bids), (ASK, asks)):
            for price, size in levels:
                assert book.on_grid(price)
                book.set(side_code, price, size)
        self.books[asset] = book

    def apply_frame(self, frame: bytes) -> RefSummary:
        stripped = frame.strip(b" \t\n\r\x0b\x0c")
        if stripped in _TEXT_FRAMES:
            return RefSummary(text=_TEXT_FRAMES[stripped])
        try:
            payload = orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            raise FrameRejected(str(exc)) from None
        if isinstance(payload, dict):
            events: list[Any] = [payload]
        elif isinstance(payload, list):
            events = payload
        else:
            raise FrameRejected("not an event object or array")
        work = copy.deepcopy(self.books)
        summary = RefSummary()
        touched: list[str] = []
        for event in events:
            if not isinstance(event, dict):
                raise FrameRejected("not an event object")
            self._event(work, event, summary, touched)
        summary.changed = [(a, *work[a].best()) for a in touched]
        self.books = work
        return summary

    def _event(
        self,
        books: dict[str, RefBook],
        event: dict[str, Any],
        summary: RefSummary,
        touched: list[str],
    ) -> None:
        # Arrays are checked whatever the event is, as the native reader does.
        levels = {name: self._levels(event[name]) for name in ("bids", "asks") if name in event}
        changes = self._changes(event["price_changes"]) if "price_changes" in event else None
        listed = event.get("assets_ids")
        names_ours = isinstance(listed, list) and any(a in books for a in listed)

        def touch(asset: str) -> None:
            if asset not in touched:
                touched.append(asset)

        kind = text(event, "event_type")
        ours = False
        if kind == "book":
            asset = text(event, "asset_id")
            if "bids" not in levels or "asks" not in levels:
                raise FrameRejected("book without bids and asks")
            new_tick = tick(event["tick_size"]) if "tick_size" in event else None
            if asset in books:
                ours = True
                old = books[asset].tick
                book = RefBook(new_tick or old)
                for side_code, name in ((BID, "bids"), (ASK, "asks")):
                    for price, size in levels[name]:
                        if not book.on_grid(price):
                            raise FrameRejected("level off the grid")
                        book.set(side_code, price, size)
                if book.tick != old:
                    summary.tick_changes.append((asset, old, book.tick))
                books[asset] = book
                touch(asset)
        elif kind == "price_change":
            if changes is None:
                changes = [self._change(event, with_best=False)]
            venue: dict[str, Best] = {}
            for asset, side_code, price, size, best in changes:
                if asset in books:
                    ours = True
                    if not books[asset].on_grid(price):
                        raise FrameRejected("change off the grid")
                    books[asset].set(side_code, price, size)
                    touch(asset)
                    if best is not None:
                        venue[asset] = best
            for asset, stated in venue.items():
                mine = books[asset].best()
                if mine != stated:
                    summary.mismatches.append((asset, mine, stated))
        elif kind == "last_trade_price":
            asset = text(event, "asset_id")
            trade = (micro(event.get("price")), micro(event.get("size")), side(event.get("side")))
            if asset in books:
                ours = True
                summary.trades.append((asset, *trade))
        elif kind == "tick_size_change":
            asset = text(event, "asset_id")
            new_tick = tick(event.get("new_tick_size"))
            if asset in books:
                ours = True
                summary.tick_changes.append((asset, books[asset].tick, new_tick))
                summary.needs_resync = True
                books[asset] = RefBook(new_tick)
                touch(asset)
        elif kind == "best_bid_ask":
            asset = text(event, "asset_id")
            stated = (best_price(event.get("best_bid")), best_price(event.get("best_ask")))
            if asset in books:
                ours = True
                mine = books[asset].best()
                if mine != stated:
                    summary.mismatches.append((asset, mine, stated))
        elif kind == "market_resolved":
            winner = text(event, "winning_asset_id") if "winning_asset_id" in event else ""
            if names_ours or winner in books:
                ours = True
                summary.resolved = winner
        if ours:
            summary.events += 1
        else:
            summary.ignored += 1
        if summary.mismatches:
            summary.needs_resync = True

    @staticmethod
    def _levels(value: object) -> list[tuple[int, int]]:
        if not isinstance(value, list):
            raise FrameRejected("levels not an array")
        result = []
        for level in value:
            if not isinstance(level, dict) or "price" not in level or "size" not in level:
                raise FrameRejected("bad level")
            result.append((micro(level["price"]), micro(level["size"])))
        return result

    def _changes(self, value: object) -> list[tuple[str, int, int, int, Best | None]]:
        if not isinstance(value, list):
            raise FrameRejected("price_changes not an array")
        return [self._change(entry, with_best=True) for entry in value]

    @staticmethod
    def _change(entry: object, *, with_best: bool) -> tuple[str, int, int, int, Best | None]:
        if not isinstance(entry, dict):
            raise FrameRejected("price_changes entry not an object")
        asset = text(entry, "asset_id")
        price, size = micro(entry.get("price")), micro(entry.get("size"))
        side_code = side(entry.get("side"))
        best: Best | None = None
        if "best_bid" in entry or "best_ask" in entry:
            if "best_bid" not in entry or "best_ask" not in entry:
                raise FrameRejected("one best price without the other")
            best = (best_price(entry["best_bid"]), best_price(entry["best_ask"]))
        return asset, side_code, price, size, best if with_best else None
