"""Order book figures: single changes through the native API (see frames.py for the rest)."""

from __future__ import annotations

import random
from collections.abc import Callable

from benches.harness import Bench
from engine._native import OrderBook

TICK = 10_000


def _book() -> OrderBook:
    book = OrderBook(TICK)
    book.apply_snapshot(
        [(p * TICK, 100_000_000) for p in range(30, 50)],
        [(p * TICK, 100_000_000) for p in range(51, 71)],
    )
    return book


def _change() -> Callable[[], object]:
    book = _book()
    rng = random.Random(1)
    changes = [
        (rng.randint(0, 1), rng.randint(30, 70) * TICK, rng.randint(0, 5) * 10_000_000)
        for _ in range(4096)
    ]
    changes = [(s, p, sz) for s, p, sz in changes if (s == 0) == (p < 500_000)]
    index = 0

    def apply_one() -> None:
        nonlocal index
        side, price, size = changes[index % len(changes)]
        index += 1
        book.apply_change(side, price, size)

    return apply_one


def benches() -> list[Bench]:
    return [Bench("book.change.native", _change)]
