"""Hand-written stubs for the Rust core (native/src/python.rs), checked by mypy.stubtest.

Prices are integer micro-USDC (1.00 = 1_000_000), sizes integer micro-shares. Sides are
0 (BUY, bids) and 1 (SELL, asks), the values of `engine.units.Side`. Negative ints raise
OverflowError, non-ints TypeError, bad ticks/prices/sides BookError.
"""

from collections.abc import Sequence
from typing import ClassVar, final

__all__ = ["BookError", "OrderBook", "__version__"]

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

    def best_bid(self) -> tuple[int, int] | None:
        """The highest bid as (price, size)."""

    def best_ask(self) -> tuple[int, int] | None:
        """The lowest ask as (price, size)."""

    def best(self) -> tuple[int | None, int | None]:
        """Best bid price and best ask price in one call."""

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
