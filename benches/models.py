"""Model figures: one VPIN trade and one quote, native against the best pure Python.

The Python versions below are what one would write without the Rust core: incremental
(O(1) per trade, exact integer sums, a running imbalance sum), locals cached, no
validation beyond what the native call does. They are checked against the native
results when a figure is built, so both sides compute the same thing.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable

from benches.harness import Bench
from engine._native import QuoteParams, Vpin, quote

UNIT = 1_000_000
TICK = 10_000
BUCKET = 1_000 * UNIT  # 1000 shares
WINDOW = 50
SIGMA_WINDOW = 50
STREAM = 1_024


class PyVpin:
    """VPIN with bulk volume classification, incremental, in pure Python."""

    __slots__ = (
        "bucket",
        "buy",
        "changes",
        "filled",
        "imbalance_sum",
        "imbalances",
        "last_price",
        "sigma_window",
        "square_sum",
        "sum",
        "window",
    )

    def __init__(self, bucket: int, window: int, sigma_window: int) -> None:
        self.bucket = bucket
        self.window = window
        self.sigma_window = sigma_window
        self.last_price: int | None = None
        self.changes: deque[int] = deque()
        self.sum = 0
        self.square_sum = 0
        self.filled = 0
        self.buy = 0.0
        self.imbalances: deque[float] = deque()
        self.imbalance_sum = 0.0

    def on_trade(self, price: int, size: int) -> float | None:
        if size < 1 or not 0 <= price <= 1 << 40:
            raise ValueError("bad trade")
        last, self.last_price = self.last_price, price
        if last is None:
            fraction = 0.5
        else:
            change = price - last
            fraction = 0.5  # Phi(0), whatever sigma is
            changes = self.changes
            if len(changes) == self.sigma_window:
                old = changes.popleft()
                self.sum -= old
                self.square_sum -= old * old
            changes.append(change)
            self.sum += change
            self.square_sum += change * change
            n = len(changes)
            if change and n > 1:
                variance = (n * self.square_sum - self.sum * self.sum) / (n * (n - 1))
                if variance > 0:
                    sigma = math.sqrt(variance)
                    fraction = 0.5 * math.erfc(-change / sigma * 0.7071067811865476)
                else:
                    fraction = 1.0 if change > 0 else 0.0
            elif change:
                fraction = 1.0 if change > 0 else 0.0
        bucket = self.bucket
        while size:
            take = min(size, bucket - self.filled)
            self.buy += take * fraction
            self.filled += take
            size -= take
            if self.filled == bucket:
                imbalance = abs(2.0 * self.buy - bucket)
                imbalances = self.imbalances
                if len(imbalances) == self.window:
                    self.imbalance_sum -= imbalances.popleft()
                imbalances.append(imbalance)
                self.imbalance_sum += imbalance
                self.filled, self.buy = 0, 0.0
        if len(self.imbalances) < self.window:
            return None
        return min(1.0, max(0.0, self.imbalance_sum / (self.window * bucket)))


def _trades() -> list[tuple[int, int]]:
    """A cent-grid random walk near 0.50 with 5-500 share trades (several per bucket)."""
    rng = random.Random(3)
    price, trades = 500_000, []
    for _ in range(STREAM):
        if rng.random() < 0.3:
            price = min(990_000, max(10_000, price + rng.choice((-TICK, TICK))))
        trades.append((price, rng.randint(500, 50_000) * 10_000))
    return trades


def _check_vpin_agrees(trades: list[tuple[int, int]]) -> None:
    native, python = Vpin(BUCKET, WINDOW, SIGMA_WINDOW), PyVpin(BUCKET, WINDOW, SIGMA_WINDOW)
    for _ in range(3):  # enough passes to fill the window
        for price, size in trades:
            a, b = native.on_trade(price, size), python.on_trade(price, size)
            assert (a is None) == (b is None)
            assert a is None or b is None or math.isclose(a, b, abs_tol=1e-9)
    assert native.value is not None


def _vpin(make_model: Callable[[], Vpin | PyVpin]) -> Callable[[], Callable[[], object]]:
    def make() -> Callable[[], object]:
        trades = _trades()
        _check_vpin_agrees(trades)
        on_trade = make_model().on_trade

        def run() -> None:
            for price, size in trades:
                on_trade(price, size)

        return run

    return make


def py_quote(
    tick: int,
    size: int,
    gamma: float,
    k: float,
    mid: int,
    best_bid: int | None,
    best_ask: int | None,
    inventory: int,
    seconds_left: float,
    sigma: float,
    vpin: float | None,
) -> tuple[int | None, int | None, int]:
    """The same Avellaneda-Stoikov quote as `engine._native.quote`, in pure Python."""
    if mid > UNIT or seconds_left < 0 or sigma < 0 or not (vpin is None or 0 <= vpin <= 1):
        raise ValueError("bad state")
    risk = gamma * sigma * sigma * seconds_left
    reservation = mid / UNIT - inventory / UNIT * risk
    spread = (risk + 2.0 / gamma * math.log1p(gamma / k)) * (1.0 + 2.0 * (vpin or 0.0))
    half = spread / 2.0
    last = UNIT // tick - 1
    per_unit = float(UNIT // tick)
    bid = math.floor(min(max((reservation - half) * per_unit + 1e-9, 1.0), last))
    ask = math.ceil(min(max((reservation + half) * per_unit - 1e-9, 1.0), last))
    if ask <= bid:
        bid, ask = (bid, bid + 1) if bid < last else (last - 1, last)
    if best_ask is not None:
        bid = min(bid, -(-best_ask // tick) - 1)
    if best_bid is not None:
        ask = max(ask, best_bid // tick + 1)
    return (bid * tick if bid >= 1 else None, ask * tick if ask <= last else None, size)


State = tuple[int, int | None, int | None, int, float, float, float | None]


def _states() -> list[State]:
    rng = random.Random(5)
    states: list[State] = []
    for _ in range(STREAM):
        mid = rng.randint(5, 95) * TICK
        states.append(
            (
                mid,
                mid - TICK * rng.randint(1, 3),
                mid + TICK * rng.randint(1, 3),
                rng.randint(-200, 200) * UNIT,
                rng.uniform(0.0, 900.0),
                rng.uniform(0.0, 0.002),
                rng.random(),
            )
        )
    return states


GAMMA, K, SIZE = 0.1, 50.0, 10 * UNIT


def _quote_native() -> Callable[[], object]:
    states = _states()
    params = QuoteParams(TICK, SIZE, GAMMA, K, vpin_widening=2.0)
    for state in states:
        q = quote(params, *state)
        assert (q.bid, q.ask, q.size) == py_quote(TICK, SIZE, GAMMA, K, *state)

    def run() -> None:
        for mid, bid, ask, inventory, seconds_left, sigma, vpin in states:
            quote(params, mid, bid, ask, inventory, seconds_left, sigma, vpin)

    return run


def _quote_python() -> Callable[[], object]:
    states = _states()

    def run() -> None:
        for mid, bid, ask, inventory, seconds_left, sigma, vpin in states:
            py_quote(TICK, SIZE, GAMMA, K, mid, bid, ask, inventory, seconds_left, sigma, vpin)

    return run


def benches() -> list[Bench]:
    def native_vpin() -> Vpin:
        return Vpin(BUCKET, WINDOW, SIGMA_WINDOW)

    def python_vpin() -> PyVpin:
        return PyVpin(BUCKET, WINDOW, SIGMA_WINDOW)

    return [
        Bench("vpin.trade.native", _vpin(native_vpin), ops=STREAM),
        Bench("vpin.trade.python_ref", _vpin(python_vpin), ops=STREAM),
        Bench("quote.native", _quote_native, ops=STREAM),
        Bench("quote.python_ref", _quote_python, ops=STREAM),
    ]
