"""A deliberately naive order book (two dicts) that the native book is checked against.

It states the intended semantics of `engine._native.OrderBook` in the plainest way:
sorting on every query, no incremental best tracking, no grid array.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.units import UNIT, VALID_TICKS, Side


class ReferenceBook:
    """Bids and asks as {price: size}; size is the level's total, 0 means absent."""

    def __init__(self, tick: int) -> None:
        if tick not in VALID_TICKS:
            raise ValueError(f"invalid tick {tick}")
        self.tick = tick
        self.sides: dict[Side, dict[int, int]] = {Side.BUY: {}, Side.SELL: {}}

    def check_price(self, price: int) -> None:
        if price % self.tick != 0 or not self.tick <= price <= UNIT - self.tick:
            raise ValueError(f"invalid price {price} for tick {self.tick}")

    @staticmethod
    def _set(levels: dict[int, int], price: int, size: int) -> None:
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)

    def apply_snapshot(
        self, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]
    ) -> None:
        for price, _ in [*bids, *asks]:
            self.check_price(price)
        self.clear()
        for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
            for price, size in levels:
                self._set(self.sides[side], price, size)

    def apply_change(self, side: int, price: int, size: int) -> None:
        self.check_price(price)
        self._set(self.sides[Side(side)], price, size)

    def apply_changes(self, changes: Sequence[tuple[int, int, int]]) -> None:
        for side, price, _ in changes:
            Side(side)
            self.check_price(price)
        for side, price, size in changes:
            self.apply_change(side, price, size)

    def clear(self) -> None:
        self.sides = {Side.BUY: {}, Side.SELL: {}}

    def levels(self, side: int, n: int) -> list[tuple[int, int]]:
        levels = self.sides[Side(side)]
        best_first = sorted(levels, reverse=Side(side) is Side.BUY)
        return [(price, levels[price]) for price in best_first[:n]]

    def best_bid(self) -> tuple[int, int] | None:
        top = self.levels(Side.BUY, 1)
        return top[0] if top else None

    def best_ask(self) -> tuple[int, int] | None:
        top = self.levels(Side.SELL, 1)
        return top[0] if top else None

    def best(self) -> tuple[int | None, int | None]:
        bid, ask = self.best_bid(), self.best_ask()
        return (bid[0] if bid else None, ask[0] if ask else None)

    def mid(self) -> int | None:
        bid, ask = self.best()
        if bid is None or ask is None:
            return None
        assert (bid + ask) % 2 == 0, "mid must be exact in micro"
        return (bid + ask) // 2

    def spread(self) -> int | None:
        bid, ask = self.best()
        return None if bid is None or ask is None else ask - bid

    def depth(self, side: int, n: int) -> int:
        return sum(size for _, size in self.levels(side, n))

    def level_count(self, side: int) -> int:
        return len(self.sides[Side(side)])

    def is_crossed(self) -> bool:
        bid, ask = self.best()
        return bid is not None and ask is not None and bid >= ask

    def complement(self) -> ReferenceBook:
        """BUY YES at p is SELL NO at 1 - p: mirror prices and swap sides."""
        other = ReferenceBook(self.tick)
        other.sides[Side.BUY] = {UNIT - p: s for p, s in self.sides[Side.SELL].items()}
        other.sides[Side.SELL] = {UNIT - p: s for p, s in self.sides[Side.BUY].items()}
        return other
