"""Deliberately naive pure-Python statements of the native models, for property tests.

Each says what `engine._native` computes in the plainest way: VPIN is recomputed from
scratch over every trade seen so far (exact `Fraction` variance, one bucket at a time),
the quote is the formula written out line by line, and fees come from
`engine.fees.FeeSchedule`, the engine's own integer oracle. Floats follow the same
operation order as the Rust code, so results agree to the last few ulps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from engine.fees import FeeSchedule
from engine.units import MIN_ORDER_SIZE, SIZE_STEP, UNIT, VALID_TICKS

MAX_PRICE = 1 << 40
GRID_SNAP = 1e-9


def normal_cdf(x: float) -> float:
    """Phi(x) through erfc, which keeps the lower tail's relative precision."""
    return 0.5 * math.erfc(-x * math.sqrt(0.5))


# VPIN ---------------------------------------------------------------------------------


def sample_deviation(changes: list[int]) -> float | None:
    """Sample standard deviation (n - 1), computed exactly, then one rounding."""
    n = len(changes)
    if n < 2:
        return None
    mean = Fraction(sum(changes), n)
    variance = sum((Fraction(x) - mean) ** 2 for x in changes) / (n - 1)
    return math.sqrt(float(variance))


def sign_fraction(change: int) -> float:
    return 1.0 if change > 0 else 0.0 if change < 0 else 0.5


@dataclass
class ReferenceVpin:
    """Keeps every accepted trade; every query replays them all from the start."""

    bucket_volume: int
    window: int
    sigma_window: int = 50
    classification: str = "bulk"

    def __post_init__(self) -> None:
        if self.bucket_volume < 1:
            raise ValueError("bucket_volume")
        if not 1 <= self.window <= 1 << 20:
            raise ValueError("window")
        if not 2 <= self.sigma_window <= 1 << 16:
            raise ValueError("sigma_window")
        if self.classification not in ("bulk", "tick", "side"):
            raise ValueError("classification")
        self.trades: list[tuple[int, int, int | None]] = []

    def check(self, price: int, size: int, side: int | None) -> None:
        if size < 1 or not 0 <= price <= MAX_PRICE or side not in (None, 0, 1):
            raise ValueError("bad trade")
        if self.classification == "side" and side is None:
            raise ValueError("missing side")

    def on_trade(self, price: int, size: int, side: int | None = None) -> float | None:
        self.check(price, size, side)
        self.trades.append((price, size, side))
        return self.value()

    def on_trades(self, trades: list[tuple[int, int, int | None]]) -> float | None:
        for trade in trades:
            self.check(*trade)
        self.trades.extend(trades)
        return self.value()

    def fractions(self) -> list[float]:
        """The buy share of every trade, from the whole price history."""
        out: list[float] = []
        changes: list[int] = []
        direction = 0.5
        for i, (price, _, side) in enumerate(self.trades):
            change = price - self.trades[i - 1][0] if i else None
            if change is not None:
                changes.append(change)
            if self.classification == "side":
                out.append(1.0 if side == 0 else 0.0)
            elif self.classification == "tick":
                if change is not None and change != 0:
                    direction = 1.0 if change > 0 else 0.0
                out.append(direction)
            elif change is None:
                out.append(0.5)
            else:
                sigma = sample_deviation(changes[-self.sigma_window :])
                if sigma is not None and sigma > 0:
                    out.append(normal_cdf(change / sigma))
                else:
                    out.append(sign_fraction(change))
        return out

    def buckets_and_rest(self) -> tuple[list[float], int]:
        """|buy - sell| of every full bucket, and the volume of the open bucket."""
        imbalances: list[float] = []
        filled, buy = 0, 0.0
        for (_, size, _), fraction in zip(self.trades, self.fractions(), strict=True):
            left = size
            while left:
                take = min(left, self.bucket_volume - filled)
                buy += take * fraction
                filled += take
                left -= take
                if filled == self.bucket_volume:
                    imbalances.append(abs(2.0 * buy - self.bucket_volume))
                    filled, buy = 0, 0.0
        return imbalances, filled

    def value(self) -> float | None:
        imbalances, _ = self.buckets_and_rest()
        if len(imbalances) < self.window:
            return None
        total = sum(imbalances[-self.window :])
        return min(1.0, max(0.0, total / (self.window * self.bucket_volume)))

    @property
    def buckets(self) -> int:
        return len(self.buckets_and_rest()[0])

    @property
    def filled(self) -> int:
        return self.buckets_and_rest()[1]

    @property
    def sigma(self) -> float | None:
        changes = [b[0] - a[0] for a, b in zip(self.trades, self.trades[1:], strict=False)]
        return sample_deviation(changes[-self.sigma_window :])


# Quotes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceQuoteParams:
    tick: int
    size: int
    gamma: float
    k: float
    vpin_widening: float = 0.0
    flow_skew: float = 0.0
    volatility_multiplier: float = 1.0
    regime_multiplier: float = 1.0
    competitor_multiplier: float = 1.0


def reference_quote(
    p: ReferenceQuoteParams,
    mid: int,
    best_bid: int | None,
    best_ask: int | None,
    inventory: int,
    seconds_left: float,
    sigma: float,
    vpin: float | None = None,
    flow: float = 0.0,
) -> tuple[int | None, int | None, int, float, float]:
    """(bid, ask, size, reservation, spread): Avellaneda-Stoikov, then the venue's grid."""
    assert p.tick in VALID_TICKS
    s = mid / UNIT
    q = inventory / UNIT
    sig = sigma * p.volatility_multiplier
    risk = p.gamma * sig * sig * seconds_left
    reservation = s - q * risk + p.flow_skew * flow
    toxicity = 1.0 + p.vpin_widening * (0.0 if vpin is None else vpin)
    liquidity = 2.0 / p.gamma * math.log1p(p.gamma / p.k)
    spread = (risk + liquidity) * p.regime_multiplier * p.competitor_multiplier * toxicity
    half = spread / 2.0
    last = UNIT // p.tick - 1
    per_unit = float(UNIT // p.tick)

    def clamp(x: float) -> float:
        """Into [1, last], the grid indices of tick ..= 1 - tick (inf included)."""
        return min(max(x, 1.0), float(last))

    bid = math.floor(clamp((reservation - half) * per_unit + GRID_SNAP))
    ask = math.ceil(clamp((reservation + half) * per_unit - GRID_SNAP))
    if ask <= bid:
        bid, ask = (bid, bid + 1) if bid < last else (last - 1, last)
    if best_ask is not None:
        # The highest grid index strictly below the best ask.
        bid = min(bid, -(-best_ask // p.tick) - 1)
    if best_bid is not None:
        ask = max(ask, best_bid // p.tick + 1)
    size = max(p.size - p.size % SIZE_STEP, MIN_ORDER_SIZE)
    return (
        bid * p.tick if bid >= 1 else None,
        ask * p.tick if ask <= last else None,
        size,
        reservation * UNIT,
        spread * UNIT,
    )


# Fair value, fees, sizing -----------------------------------------------------------


def reference_fair_up(spot: int, start: int, sigma: float, seconds_left: float) -> float:
    certain = 1.0 if spot >= start else 0.0
    if seconds_left <= 0:
        return certain
    scale = sigma * math.sqrt(seconds_left)
    if scale <= 0:
        return certain
    return normal_cdf(math.log(spot / start) / scale)


def reference_edge(
    probability: float, price: int, size: int, rate_ppm: int, exponent: int, outcome: int
) -> float:
    fee = FeeSchedule(rate_ppm=rate_ppm, exponent=exponent).taker_fee(price, size)
    win = probability if outcome == 0 else 1.0 - probability
    return win * size - price * size / UNIT - fee


def reference_kelly(
    probability: float,
    price: int,
    rate_ppm: int,
    exponent: int,
    outcome: int,
    multiplier: float,
    cap: float,
) -> float:
    win = probability if outcome == 0 else 1.0 - probability
    p = price / UNIT
    cost = p + rate_ppm / UNIT * (p * (1.0 - p)) ** float(exponent)
    if cost >= 1.0 or win <= cost:
        return 0.0
    return min((win - cost) / (1.0 - cost) * multiplier, cap)
