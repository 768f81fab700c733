"""Hand-written stubs for the Rust core (native/src/python/*.rs), checked by mypy.stubtest.

Prices are integer micro-USDC (1.00 = 1_000_000), sizes integer micro-shares. Sides are
0 (BUY, bids) and 1 (SELL, asks), the values of `engine.units.Side`. Negative ints raise
OverflowError, non-ints TypeError, bad ticks/prices/sides BookError.
"""

from collections.abc import Sequence
from typing import ClassVar, final

__all__ = [
    "BookError",
    "FrameError",
    "FrameSummary",
    "MarketBooks",
    "OrderBook",
    "__version__",
    "frame_markets",
]

__version__: str

class BookError(ValueError):
    """An order book rejected an input: bad tick, price off grid or out of range, bad side."""

@final
class OrderBook:
    """The order book of one outcome token on a fixed tick grid."""

    __hash__: ClassVar[None]  # type: ignore[assignment]

    def __new__(cls, tick: int) -> OrderBook:
        """An empty book; `tick` must be one of engine.units.VALID_TICKS (else BookError)."""

    @property
    def tick(self) -> int:
        """The tick size of the grid, in micro-USDC."""

    def apply_snapshot(
        self, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]
    ) -> None:
        """Replace the whole book with (price, size) levels; all or nothing.

        Size 0 levels are ignored; a repeated price keeps its last size.
        """

    def apply_change(self, side: int, price: int, size: int) -> None:
        """Set the total size at `price` on `side`; size 0 removes the level."""

    def apply_changes(self, changes: Sequence[tuple[int, int, int]]) -> None:
        """Apply (side, price, size) changes in order, in one call; all or nothing."""

    def apply_deltas(self, deltas: bytes) -> int:
        """Apply packed (side, price, size) deltas in one call; all or nothing.

        `deltas` holds little-endian u64 triples, 24 bytes each (for example
        `array("Q", flat).tobytes()` on a little-endian machine). Returns how many were
        applied; BookError for a bad length, side or price.
        """

    def best_bid(self) -> tuple[int, int] | None:
        """The highest bid as (price, size)."""

    def best_ask(self) -> tuple[int, int] | None:
        """The lowest ask as (price, size)."""

    def best(self) -> tuple[int | None, int | None]:
        """Best bid price and best ask price in one call."""

    def top(self) -> tuple[int | None, int, int | None, int]:
        """(best bid, bid size, best ask, ask size) in one call; sizes 0 for an empty side."""

    def microprice(self) -> int | None:
        """Size-weighted mid of the top of book, floored to a micro; None if a side is empty.

        (bid * ask_size + ask * bid_size) // (bid_size + ask_size).
        """

    def imbalance(self, levels: int) -> float | None:
        """(bid depth - ask depth) / (bid depth + ask depth) over `levels` levels per side.

        In [-1, 1]; None when both sides are empty.
        """

    def mid(self) -> int | None:
        """Midpoint of best bid and best ask, exact in micro; None if a side is empty."""

    def spread(self) -> int | None:
        """Best ask minus best bid (<= 0 when crossed or locked); None if a side is empty."""

    def depth(self, side: int, levels: int) -> int:
        """Total size over the best `levels` non-empty levels of `side`."""

    def levels(self, side: int, n: int) -> list[tuple[int, int]]:
        """The best `n` non-empty levels of `side` as (price, size), best first."""

    def level_count(self, side: int) -> int:
        """Number of non-empty levels on `side`."""

    def complement(self) -> OrderBook:
        """The other outcome's book: bids = asks at 1 - p, asks = bids at 1 - p (a copy)."""

    def clear(self) -> None:
        """Remove every level, keeping the tick."""

    def is_crossed(self) -> bool:
        """Whether best bid >= best ask (a stale or inconsistent book)."""

    def __eq__(self, value: object, /) -> bool:
        """Same tick and the same levels on both sides."""

class FrameError(ValueError):
    """A market-channel frame could not be parsed or applied; the books are unchanged."""

@final
class MarketBooks:
    """The books of a set of outcome tokens (a market's two), fed by raw frames.

    Queries take the asset id; an id these books do not hold raises KeyError.
    """

    def __new__(cls, tick: int, asset_ids: Sequence[str]) -> MarketBooks:
        """Empty books on the grid of `tick` (micro) for each asset id, in this order.

        BookError for a tick the venue does not use or an asset id given twice.
        """

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """The asset ids, in the order given."""

    def __len__(self) -> int: ...
    def __contains__(self, key: str, /) -> bool: ...
    def __getitem__(self, key: str, /) -> OrderBook:
        """A copy of one token's book."""

    def apply_frame(self, frame: bytes) -> FrameSummary:
        """Parse one raw market-channel frame and apply all of it, in one call.

        Events for other tokens are skipped. After a price_change event each token's
        book is compared with the venue's best bid/ask in that token's last entry (and
        after a best_bid_ask event with its prices); a disagreement is reported in
        `FrameSummary.mismatches`. FrameError for a malformed frame (nothing applied).
        """

    def apply_snapshot(
        self,
        asset_id: str,
        bids: Sequence[tuple[int, int]],
        asks: Sequence[tuple[int, int]],
        tick: int | None = None,
    ) -> None:
        """Replace a token's book with a snapshot (REST /book), on the grid of `tick`."""

    def apply_deltas(self, asset_id: str, deltas: bytes) -> int:
        """Apply packed (side, price, size) u64 deltas to a token's book; see OrderBook."""

    def tick(self, asset_id: str) -> int:
        """The tick of a token's book, in micro."""

    def best(self, asset_id: str) -> tuple[int | None, int | None]:
        """Best bid price and best ask price of a token, in one call."""

    def top(self, asset_id: str) -> tuple[int | None, int, int | None, int]:
        """(best bid, bid size, best ask, ask size); sizes 0 for an empty side."""

    def mid(self, asset_id: str) -> int | None:
        """Midpoint of a token's best bid and ask (exact), or None."""

    def microprice(self, asset_id: str) -> int | None:
        """Size-weighted mid of a token's top of book (floored), or None."""

    def spread(self, asset_id: str) -> int | None:
        """Best ask minus best bid of a token (<= 0 when crossed), or None."""

    def depth(self, asset_id: str, side: int, levels: int) -> int:
        """Total size over the best `levels` levels of one side of a token's book."""

    def imbalance(self, asset_id: str, levels: int) -> float | None:
        """(bid depth - ask depth) / (bid depth + ask depth) over `levels` levels, or None."""

    def levels(self, asset_id: str, side: int, n: int) -> list[tuple[int, int]]:
        """The best `n` levels of one side of a token's book, best first."""

    def complement(self, asset_id: str) -> OrderBook:
        """A token's book seen from the other outcome (bids = asks at 1 - p), as a copy."""

    def memory_bytes(self) -> int:
        """Bytes held by the books and their id index."""

@final
class FrameSummary:
    """What one frame did to the books. Tuples are built when a field is read."""

    @property
    def text(self) -> str | None:
        """The text of the venue's non-JSON frames ("PONG", "NO NEW ASSETS"), else None."""

    @property
    def events(self) -> int:
        """Events in the frame that concern these books."""

    @property
    def ignored(self) -> int:
        """Events skipped: other tokens, or kinds that change no book (new_market)."""

    @property
    def changed(self) -> tuple[tuple[str, int | None, int | None], ...]:
        """Each changed book once: (asset_id, best bid, best ask) after the frame."""

    @property
    def trades(self) -> tuple[tuple[str, int, int, int], ...]:
        """last_trade_price events: (asset_id, price, size, taker side 0 BUY / 1 SELL)."""

    @property
    def mismatches(
        self,
    ) -> tuple[tuple[str, tuple[int | None, int | None], tuple[int | None, int | None]], ...]:
        """Integrity failures: (asset_id, book's (bid, ask), venue's (bid, ask))."""

    @property
    def tick_changes(self) -> tuple[tuple[str, int, int], ...]:
        """Books moved to another grid and emptied: (asset_id, old tick, new tick)."""

    @property
    def resolved(self) -> str | None:
        """Winning asset id of a market_resolved for these tokens ("" if none named)."""

    @property
    def needs_resync(self) -> bool:
        """Whether the books must be rebuilt from snapshots (mismatch or tick_size_change)."""

def frame_markets(frame: bytes) -> list[str]:
    """The distinct `market` ids of a frame's events, in order; [] for text frames.

    For routing a frame without decoding it in Python. FrameError if it is malformed.
    """
