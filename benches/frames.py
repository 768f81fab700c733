"""Frame-to-book figures: raw market-channel frames applied to books, per frame, from Python.

All frame figures run the same deterministic stream: 20 outcome tokens (10 markets of
two), each pass starting with a `book` snapshot per token, then 1,000 `price_change`
frames of about 600 bytes with two entries (a YES change and its NO mirror, as the venue
sends them, with the venue's best prices) and a snapshot of one token every 50 frames.
The native and Python paths check the venue's best prices; setup verifies that all of
them match, so the figures measure the steady state, not resyncs.

- book.frame.native: bytes -> MarketBooks.apply_frame (parse, apply, check, summary).
- book.frame.python_ref: orjson.loads and a tuned pure-Python tick-indexed book (lists
  indexed by price // tick, incremental best), the best plain Python can do.
- book.frame.nautilus: nautilus_trader's own Polymarket path (msgspec decode into its
  adapter structs, OrderBookDeltas, OrderBook.apply, best prices; no integrity check);
  only when the optional `bench` extra is installed.
"""

from __future__ import annotations

import importlib
import random
import sys
from array import array
from collections.abc import Callable
from typing import Any

import orjson

from benches.harness import Bench
from engine._native import MarketBooks, OrderBook
from engine.units import UNIT, format_units

TICK = 10_000
MARKETS = 10
CHANGES = 1_000
SNAPSHOT_EVERY = 50

Levels = dict[int, int]


class Stream:
    """The synthetic frames and the token/market ids they use (built once, seeded)."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.markets = ["0x" + rng.randbytes(32).hex() for _ in range(MARKETS)]
        self.tokens = [
            (str(rng.randrange(10**76, 10**77)), str(rng.randrange(10**76, 10**77)))
            for _ in range(MARKETS)
        ]
        self.asset_ids = [token for pair in self.tokens for token in pair]
        # Per token: (bids, asks) as {price: size}; YES around 0.50, NO its mirror.
        self.books: dict[str, tuple[Levels, Levels]] = {}
        for yes, no in self.tokens:
            bids = {p * TICK: rng.randint(10, 5_000) * UNIT for p in range(30, 50)}
            asks = {p * TICK: rng.randint(10, 5_000) * UNIT for p in range(51, 71)}
            self.books[yes] = (bids, asks)
            self.books[no] = (
                {UNIT - p: s for p, s in asks.items()},
                {UNIT - p: s for p, s in bids.items()},
            )
        self.frames = [self.snapshot(asset, 0) for asset in self.asset_ids]
        for n in range(1, CHANGES + 1):
            market = rng.randrange(MARKETS)
            self.frames.append(self.price_change(rng, market, n))
            if n % SNAPSHOT_EVERY == 0:
                self.frames.append(self.snapshot(rng.choice(self.asset_ids), n))
        # The initial snapshots reset every book, so replaying the list from the top
        # is always consistent with the best prices stated in it.

    def best(self, asset: str) -> tuple[str, str]:
        bids, asks = self.books[asset]
        return (format_units(max(bids)) if bids else "0", format_units(min(asks)) if asks else "1")

    def snapshot(self, asset: str, n: int) -> bytes:
        bids, asks = self.books[asset]
        market = self.markets[self.asset_ids.index(asset) // 2]
        return orjson.dumps(
            {
                "market": market,
                "asset_id": asset,
                "timestamp": str(1_790_766_966_313 + n),
                "hash": f"{n:040x}",
                "bids": [
                    {"price": format_units(p), "size": format_units(s)}
                    for p, s in sorted(bids.items())
                ],
                "asks": [
                    {"price": format_units(p), "size": format_units(s)}
                    for p, s in sorted(asks.items(), reverse=True)
                ],
                "tick_size": "0.01",
                "event_type": "book",
                "last_trade_price": "",
            }
        )

    def price_change(self, rng: random.Random, market: int, n: int) -> bytes:
        """A YES change and its NO mirror, written the way the venue writes them."""
        yes, no = self.tokens[market]
        bid_side = rng.random() < 0.5
        price = rng.randrange(30, 50) * TICK if bid_side else rng.randrange(51, 71) * TICK
        size = 0 if rng.random() < 0.2 else rng.randint(1, 500_000) * 10_000
        entries = []
        for asset, side, at in ((yes, bid_side, price), (no, not bid_side, UNIT - price)):
            levels = self.books[asset][0 if side else 1]
            if size:
                levels[at] = size
            else:
                levels.pop(at, None)
            best_bid, best_ask = self.best(asset)
            entries.append(
                f'{{"asset_id":"{asset}", "price":"{format_units(at)}", '
                f'"size":"{format_units(size)}", "side":"{"BUY" if side else "SELL"}", '
                f'"hash":"{rng.randbytes(20).hex()}", "best_bid":"{best_bid}", '
                f'"best_ask":"{best_ask}"}}'
            )
        return (
            f'{{"market":"{self.markets[market]}", "price_changes":[{", ".join(entries)}], '
            f'"timestamp":"{1_790_766_981_628 + n}", "event_type":"price_change"}}'
        ).encode()


_STREAM: Stream | None = None


def stream() -> Stream:
    global _STREAM
    if _STREAM is None:
        _STREAM = Stream()
    return _STREAM


# --- native -------------------------------------------------------------------------


def _frame_native() -> Callable[[], object]:
    data = stream()
    books = MarketBooks(TICK, data.asset_ids)
    apply = books.apply_frame
    frames = data.frames
    mismatches = sum(len(apply(frame).mismatches) for frame in frames)
    assert mismatches == 0, f"{mismatches} integrity mismatches in the native pass"

    def run() -> None:
        for frame in frames:
            apply(frame)

    return run


# --- pure Python reference ------------------------------------------------------------


_MICRO: dict[str, int] = {}


def _micro(text: str) -> int:
    """A venue decimal string in micro units (validated: digits, at most 6 decimals).

    Memoized, as a tuned Python feed would do: prices repeat constantly.
    """
    value = _MICRO.get(text)
    if value is None:
        whole, _, frac = text.partition(".")
        if len(frac) > 6 or not whole.isdigit() or (frac and not frac.isdigit()):
            raise ValueError(text)
        value = int(whole) * UNIT + (int(frac) * 10 ** (6 - len(frac)) if frac else 0)
        if len(_MICRO) < 100_000:
            _MICRO[text] = value
    return value


def _best_text(text: str) -> int:
    """A best price as a grid index-free micro price; 0 for an empty side."""
    price = _micro(text) if text else 0
    return 0 if price == UNIT else price


class PyBook:
    """One token's book: sizes in lists indexed by price // tick, best tracked."""

    __slots__ = ("ask", "asks", "bid", "bids", "tick", "top")

    def __init__(self, tick: int) -> None:
        self.tick = tick
        self.top = UNIT // tick
        self.bids = [0] * (self.top + 1)
        self.asks = [0] * (self.top + 1)
        self.bid = 0  # best bid index, 0 = none
        self.ask = self.top  # best ask index, top = none

    def set_bid(self, index: int, size: int) -> None:
        self.bids[index] = size
        if size:
            if index > self.bid:
                self.bid = index
        elif index == self.bid:
            bids, i = self.bids, index - 1
            while i > 0 and not bids[i]:
                i -= 1
            self.bid = i

    def set_ask(self, index: int, size: int) -> None:
        self.asks[index] = size
        if size:
            if index < self.ask:
                self.ask = index
        elif index == self.ask:
            asks, i, top = self.asks, index + 1, self.top
            while i < top and not asks[i]:
                i += 1
            self.ask = i

    def snapshot(self, bids: list[dict[str, str]], asks: list[dict[str, str]]) -> None:
        self.bids = [0] * (self.top + 1)
        self.asks = [0] * (self.top + 1)
        self.bid, self.ask = 0, self.top
        tick = self.tick
        for level in bids:
            self.set_bid(_micro(level["price"]) // tick, _micro(level["size"]))
        for level in asks:
            self.set_ask(_micro(level["price"]) // tick, _micro(level["size"]))

    def best(self) -> tuple[int, int]:
        """Best bid and ask prices in micro, 0 for an empty side."""
        return (self.bid * self.tick, self.ask * self.tick if self.ask < self.top else 0)


def _frame_python() -> Callable[[], object]:
    data = stream()
    books = {asset: PyBook(TICK) for asset in data.asset_ids}
    loads = orjson.loads

    def apply(frame: bytes) -> int:
        """Apply one frame; returns the number of integrity mismatches."""
        payload = loads(frame)
        mismatches = 0
        for event in payload if isinstance(payload, list) else (payload,):
            kind = event["event_type"]
            if kind == "price_change":
                stated: dict[str, dict[str, str]] = {}
                for change in event["price_changes"]:
                    asset = change["asset_id"]
                    book = books.get(asset)
                    if book is None:
                        continue
                    index, size = _micro(change["price"]) // TICK, _micro(change["size"])
                    if change["side"] == "BUY":
                        book.set_bid(index, size)
                    else:
                        book.set_ask(index, size)
                    stated[asset] = change
                for asset, change in stated.items():
                    expected = (_best_text(change["best_bid"]), _best_text(change["best_ask"]))
                    mismatches += books[asset].best() != expected
            elif kind == "book":
                book = books.get(event["asset_id"])
                if book is not None:
                    book.snapshot(event["bids"], event["asks"])
        return mismatches

    frames = data.frames
    mismatches = sum(apply(frame) for frame in frames)
    assert mismatches == 0, f"{mismatches} integrity mismatches in the Python pass"

    def run() -> None:
        for frame in frames:
            apply(frame)

    return run


# --- nautilus_trader (optional) --------------------------------------------------------


def _nautilus() -> dict[str, Any] | None:
    """nautilus_trader's modules, or None when the optional `bench` extra is absent."""
    names = {
        "msgspec": "msgspec",
        "types": "nautilus_trader.adapters.polymarket.websocket.types",
        "schemas": "nautilus_trader.adapters.polymarket.schemas.book",
        "book": "nautilus_trader.model.book",
        "data": "nautilus_trader.model.data",
        "enums": "nautilus_trader.model.enums",
        "providers": "nautilus_trader.test_kit.providers",
    }
    try:
        return {key: importlib.import_module(name) for key, name in names.items()}
    except ImportError:
        return None


def _frame_nautilus() -> Callable[[], object]:
    """What nautilus_trader's Polymarket data client does per market frame: msgspec
    decode into its adapter structs, then per change a BookOrder, an OrderBookDelta in
    OrderBookDeltas, OrderBook.apply and the best prices (per snapshot: its
    parse_to_snapshot deltas into a fresh OrderBook). It makes no integrity check."""
    nt = _nautilus()
    assert nt is not None
    data = stream()
    schemas, model, enums = nt["schemas"], nt["data"], nt["enums"]
    instrument = nt["providers"].TestInstrumentProvider.binary_option()
    decode = nt["msgspec"].json.Decoder(nt["types"].MARKET_WS_MESSAGE).decode
    new_book = nt["book"].OrderBook
    l2, buy, sell = enums.BookType.L2_MBP, enums.OrderSide.BUY, enums.OrderSide.SELL
    update, delete = enums.BookAction.UPDATE, enums.BookAction.DELETE
    last = enums.RecordFlag.F_LAST
    books = {asset: new_book(instrument.id, l2) for asset in data.asset_ids}

    def apply(frame: bytes) -> None:
        message = decode(frame)
        if isinstance(message, schemas.PolymarketQuotes):
            ts_event = int(float(message.timestamp) * 1_000_000)
            for change in message.price_changes:
                order = model.BookOrder(
                    side=buy if change.side == "BUY" else sell,
                    price=instrument.make_price(float(change.price)),
                    size=instrument.make_qty(float(change.size)),
                    order_id=0,
                )
                delta = model.OrderBookDelta(
                    instrument_id=instrument.id,
                    action=update if order.size > 0 else delete,
                    order=order,
                    flags=last,
                    sequence=0,
                    ts_event=ts_event,
                    ts_init=0,
                )
                book = books[change.asset_id]
                book.apply(model.OrderBookDeltas(instrument.id, [delta]))
                book.best_bid_price()
                book.best_ask_price()
        else:
            deltas = message.parse_to_snapshot(instrument=instrument, ts_init=0)
            book = new_book(instrument.id, l2)
            book.apply_deltas(deltas)
            books[message.asset_id] = book
            book.best_bid_price()
            book.best_ask_price()

    frames = data.frames
    for frame in frames:
        apply(frame)

    def run() -> None:
        for frame in frames:
            apply(frame)

    return run


# --- batches and queries ---------------------------------------------------------------


def _delta_batch() -> Callable[[], object]:
    """Batches of 100 packed deltas on one book (ops = 100, so the figure is per delta)."""
    rng = random.Random(3)
    book = OrderBook(TICK)
    flat: list[int] = []
    for _ in range(100):
        bid = rng.random() < 0.5
        price = rng.randrange(30, 50) * TICK if bid else rng.randrange(51, 71) * TICK
        size = 0 if rng.random() < 0.2 else rng.randint(1, 500_000) * 10_000
        flat += [0 if bid else 1, price, size]
    packed = array("Q", flat)
    if sys.byteorder == "big":
        packed.byteswap()
    deltas = packed.tobytes()
    apply = book.apply_deltas

    def run() -> None:
        apply(deltas)

    return run


def _best() -> Callable[[], object]:
    """Sixteen calls per sample function, so the loop costs little of the figure."""
    book = OrderBook(TICK)
    book.apply_snapshot(
        [(p * TICK, 100_000_000) for p in range(30, 50)],
        [(p * TICK, 100_000_000) for p in range(51, 71)],
    )
    b = book.best

    def run() -> None:
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()
        b()

    return run


def benches() -> list[Bench]:
    frames = len(stream().frames)
    figures = [
        Bench("book.frame.native", _frame_native, ops=frames),
        Bench("book.frame.python_ref", _frame_python, ops=frames),
    ]
    if _nautilus() is not None:
        figures.append(Bench("book.frame.nautilus", _frame_nautilus, ops=frames))
    figures += [
        Bench("book.delta.batch100.native", _delta_batch, ops=100),
        Bench("book.best.native", _best, ops=16),
    ]
    return figures


def notes() -> list[str]:
    data = stream()
    sizes = [len(frame) for frame in data.frames if b"price_change" in frame]
    books = MarketBooks(1_000, [f"{i:077d}" for i in range(1_000)])
    found = [
        f"frame stream: {len(data.frames)} frames per pass, price_change frames "
        f"{min(sizes)}-{max(sizes)} bytes (mean {sum(sizes) // len(sizes)}), 20 tokens",
        f"memory: 1,000 books on a 0.001 grid hold {books.memory_bytes() / 2**20:.1f} MiB",
    ]
    if _nautilus() is None:
        found.append(
            "book.frame.nautilus skipped: nautilus_trader is not installed "
            "(pip install -e '.[bench]')"
        )
    return found
