"""A seeded scenario for the simulated venue: BTC spot, up/down markets, traders.

Markets come in series of consecutive windows on one spot path: 15-minute windows
(`btc-updown-15m-{start}`, start % 900 == 0) and, when asked for, 5-minute ones
(`btc-updown-5m-{start}`, start % 300 == 0), spec section 6.

Everything is driven by `random.Random` instances derived from one seed, and traders act
in a fixed order, so the same seed and the same step times give the same order flow and,
through the deterministic MatchingEngine, the same event stream.

Liquidity comes only from the traders: noise traders bid around their (noisy) view of the
fair value, buy both outcomes (which mints pairs when their bids sum to 1.00 or more) and
later sell what they hold; informed traders take mispriced liquidity, dump the losing
side late in the window and buy both outcomes when that is clearly profitable after fees.
Since v1 never merges sellers, asks of the two outcomes can sum below 1.00 for a while;
nothing here forces it, and the informed traders close the deep gaps within seconds.
"""

from __future__ import annotations

import abc
import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from engine.fees import FeeSchedule
from engine.units import MIN_MARKETABLE_BUY, SIZE_STEP, UNIT, OrderType, Side, notional
from engine.venue.matching import (
    MarketSpec,
    MarketStatus,
    MatchingEngine,
    OrderRequest,
    buy_reservation,
)

WINDOW_S = 900
"""15-minute up/down windows start on multiples of 900 s."""

SERIES_S = {"15m": WINDOW_S, "5m": 300}
"""Window length in seconds of each up/down series; a window starts on a multiple of it."""

CRYPTO_TICK = 10_000
CRYPTO_FEES = FeeSchedule(rate_ppm=70_000, exponent=1)
"""The crypto taker schedule without maker rebates: what the paper session trades."""
CRYPTO_FEES_WITH_REBATES = FeeSchedule(rate_ppm=70_000, exponent=1, rebate_ppm=200_000)
"""The crypto schedule as the venue runs it: makers get 20% of taker fees back."""


def normal_cdf(x: float) -> float:
    """Standard normal CDF, pure Python."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def fair_up_probability(
    spot: int, start: int, sigma_per_sqrt_s: float, seconds_left: float
) -> float:
    """P(spot at the end >= start) under a driftless log random walk.

    At or after the end the answer is certain: Up iff spot >= start (ties go Up, as on
    the venue).
    """
    if seconds_left <= 0 or sigma_per_sqrt_s <= 0:
        return 1.0 if spot >= start else 0.0
    z = math.log(spot / start) / (sigma_per_sqrt_s * math.sqrt(seconds_left))
    return normal_cdf(z)


class SpotPath:
    """BTC spot in integer cents, one sample per second from `start_ts` (unix seconds).

    `start_price` is in cents (int) or dollars (Decimal, cut to the cent). The path is a
    Gaussian random walk in log price (`vol_per_sqrt_s` per sqrt(second)) with jumps of
    relative size ~N(0, jump_scale) arriving with probability `jump_prob` per second.
    Samples are generated lazily and cached, so any `price_at` order gives the same path.
    """

    def __init__(
        self,
        seed: int,
        start_price: int | Decimal = 9_500_000,
        vol_per_sqrt_s: float = 0.0001,
        jump_prob: float = 0.002,
        jump_scale: float = 0.0015,
        *,
        start_ts: int,
    ) -> None:
        cents = int(start_price * 100) if isinstance(start_price, Decimal) else start_price
        if cents <= 0:
            raise ValueError("start price must be positive")
        self.start_ts = start_ts
        self.vol_per_sqrt_s = vol_per_sqrt_s
        self.jump_prob = jump_prob
        self.jump_scale = jump_scale
        self._rng = random.Random(f"spot|{seed}")
        self._log = math.log(cents)
        self._cents = [cents]

    @property
    def sigma_per_sqrt_s(self) -> float:
        """Total volatility per sqrt(second), jumps included (what traders price with)."""
        return math.sqrt(self.vol_per_sqrt_s**2 + self.jump_prob * self.jump_scale**2)

    def price_at(self, t_s: float) -> int:
        """Spot in cents at second `floor(t_s)`; times before the start give the start."""
        index = max(0, int(t_s) - self.start_ts)
        while len(self._cents) <= index:
            step = self._rng.gauss(0.0, self.vol_per_sqrt_s)
            if self._rng.random() < self.jump_prob:
                step += self._rng.gauss(0.0, self.jump_scale)
            self._log += step
            self._cents.append(max(1, round(math.exp(self._log))))
        return self._cents[index]


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def make_updown_market(
    seed: int,
    start: int,
    *,
    asset: str = "btc",
    fees: FeeSchedule = CRYPTO_FEES,
    series: str = "15m",
) -> MarketSpec:
    """An up/down market of one series with ids derived from the seed and the window.

    The condition id is 0x + 64 hex and the token ids are 77-78 digit decimals, shaped
    like the venue's. 15m ids hash (seed, asset, start) as they always have, so existing
    runs keep their ids; other series add their name to the hash.
    """
    if series not in SERIES_S:
        raise ValueError(f"unknown series {series!r}; expected one of {sorted(SERIES_S)}")
    window = SERIES_S[series]
    if start % window:
        raise ValueError(f"window start {start} is not a multiple of {window}")
    key: tuple[object, ...] = (
        (seed, asset, start) if series == "15m" else (seed, asset, series, start)
    )
    cid = "0x" + _digest(*key, "condition").hex()
    tokens = []
    for outcome in ("up", "down"):
        value = int.from_bytes(_digest(*key, outcome))
        tokens.append(str(value if value >= 10**76 else value + 10**76))
    begin = datetime.fromtimestamp(start, UTC).strftime("%B %d, %H:%M")
    finish = datetime.fromtimestamp(start + window, UTC).strftime("%H:%M")
    return MarketSpec(
        condition_id=cid,
        question=f"Bitcoin Up or Down - {begin}-{finish} UTC",
        slug=f"{asset}-updown-{series}-{start}",
        token_ids=(tokens[0], tokens[1]),
        outcomes=("Up", "Down"),
        tick=CRYPTO_TICK,
        fees=fees,
        start_ts=start,
        end_ts=start + window,
    )


def to_tick(probability: float, tick: int) -> int:
    """The nearest valid price on the grid for a probability, clamped to [tick, 1 - tick]."""
    price = round(probability * UNIT / tick) * tick
    return min(max(price, tick), UNIT - tick)


def shares(count: int) -> int:
    return count * UNIT


def _ceil_to(value: int, step: int) -> int:
    return -(-value // step) * step


@dataclass(slots=True)
class MarketView:
    """What a trader sees of one open market at one step."""

    spec: MarketSpec
    fair_up: float
    seconds_left: float

    def fair(self, outcome: int) -> float:
        return self.fair_up if outcome == 0 else 1.0 - self.fair_up


@dataclass(slots=True)
class Trader(abc.ABC):
    """A scripted account. Subclasses decide; this class keeps track of own resting orders."""

    name: str
    rng: random.Random
    cash: int
    resting: dict[str, float] = field(default_factory=dict)

    @abc.abstractmethod
    def act(self, engine: MatchingEngine, view: MarketView, now_s: float) -> None:
        """Look at the market and maybe submit or cancel orders."""

    def submit(self, engine: MatchingEngine, req: OrderRequest, now_s: float) -> bool:
        result = engine.submit(req, round(now_s * 1000))
        filled = sum(t.size for t in result.trades)
        if result.success and req.order_type.rests and filled < req.size:
            self.resting[result.order_id] = now_s
        return result.success

    def cancel_stale(self, engine: MatchingEngine, now_s: float, max_age: float) -> None:
        for oid, placed in list(self.resting.items()):
            if now_s - placed >= max_age:
                engine.cancel(self.name, oid, now_ms=round(now_s * 1000))
                del self.resting[oid]

    def forget_market(self, engine: MatchingEngine, condition_id: str) -> None:
        """Stop tracking orders of a resolved market; other series' orders stay tracked."""
        for oid in list(self.resting):
            view = engine.order(oid)
            if view is None or view.condition_id == condition_id:
                del self.resting[oid]

    def free_shares(self, engine: MatchingEngine, token_id: str) -> int:
        pos = engine.balance(self.name).positions.get(token_id)
        return pos.free if pos is not None else 0

    def can_buy(self, engine: MatchingEngine, spec: MarketSpec, price: int, size: int) -> bool:
        return engine.balance(self.name).collateral_free >= buy_reservation(spec, price, size)


@dataclass(slots=True)
class NoiseTrader(Trader):
    """Random limit orders around a noisy fair value; sometimes marketable, sometimes sells.

    Starts with collateral only: shares come from its BUYs (minted against bids on the
    other outcome, or bought from sellers) and are later offered back.
    """

    activity: float = 0.25
    belief_sd: float = 0.015
    patience: float = 60.0
    marketable_prob: float = 0.1
    bid_ticks: tuple[int, int] = (0, 4)
    """How many ticks below its belief a resting BUY goes (inclusive range)."""
    ask_ticks: tuple[int, int] = (0, 4)
    """How many ticks above its belief a SELL goes (inclusive range)."""

    def act(self, engine: MatchingEngine, view: MarketView, now_s: float) -> None:
        rng = self.rng
        if rng.random() >= self.activity:
            return
        self.cancel_stale(engine, now_s, self.patience * (0.5 + rng.random()))
        spec = view.spec
        tick = spec.tick
        outcome = rng.randrange(2)
        token = spec.token_ids[outcome]
        belief = min(max(view.fair(outcome) + rng.gauss(0.0, self.belief_sd), 0.0), 1.0)
        held = self.free_shares(engine, token)
        if held >= spec.min_size and rng.random() < 0.4:
            offset = rng.randint(*self.ask_ticks) * tick
            price = to_tick(belief + offset / UNIT, tick)
            size = min(held, shares(rng.randint(5, 60)))
            req = OrderRequest(
                account=self.name, token_id=token, side=Side.SELL, price=price, size=size
            )
            self.submit(engine, req, now_s)
            return
        if rng.random() < self.marketable_prob:
            price = to_tick(belief + rng.randint(1, 3) * tick / UNIT, tick)
            order_type = OrderType.FAK if rng.random() < 0.5 else OrderType.GTC
        else:
            price = to_tick(belief - rng.randint(*self.bid_ticks) * tick / UNIT, tick)
            order_type = OrderType.GTC
        size = shares(rng.randint(5, 60))
        if notional(price, size) < MIN_MARKETABLE_BUY:
            size = _ceil_to(-(-MIN_MARKETABLE_BUY * UNIT // price), SIZE_STEP)
        if not self.can_buy(engine, spec, price, size):
            return
        req = OrderRequest(
            account=self.name,
            token_id=token,
            side=Side.BUY,
            price=price,
            size=size,
            order_type=order_type,
        )
        self.submit(engine, req, now_s)


@dataclass(slots=True)
class InformedTrader(Trader):
    """Trades toward the model's fair probability of Up, and dumps the loser late.

    Buys an outcome when it can be had (from asks, or minted against the other side's
    bids) at least `edge` below fair, sells holdings bid at least `edge` above fair, and
    in the last `dump_window` seconds offers a near-certain loser at a few cents. It also
    buys both outcomes when their asks plus taker fees cost at least `parity_margin`
    less than the 1.00 a pair pays, so deep parity gaps close within seconds while
    shallow ones (not worth the fees) linger.
    """

    activity: float = 0.3
    edge: float = 0.03
    dump_window: float = 180.0
    parity_margin: float = 0.01

    def act(self, engine: MatchingEngine, view: MarketView, now_s: float) -> None:
        rng = self.rng
        if rng.random() >= self.activity:
            return
        self.cancel_stale(engine, now_s, 45.0)
        if self.take_parity(engine, view.spec, now_s):
            return
        spec = view.spec
        tick = spec.tick
        outcome = rng.randrange(2)
        token = spec.token_ids[outcome]
        fair = view.fair(outcome)
        held = self.free_shares(engine, token)
        if view.seconds_left <= self.dump_window and fair < 0.1 and held >= spec.min_size:
            price = rng.randint(1, 4) * tick
            req = OrderRequest(
                account=self.name, token_id=token, side=Side.SELL, price=price, size=held
            )
            self.submit(engine, req, now_s)
            return
        best_bid, best_ask = engine.best_bid_ask(token)
        other_bid, _ = engine.best_bid_ask(spec.other_token(token))
        costs = [best_ask] if best_ask is not None else []
        if other_bid is not None:
            costs.append(UNIT - other_bid)
        cheapest = min(costs) if costs else None
        limit = to_tick(fair - self.edge, tick)
        if cheapest is not None and cheapest <= limit and fair - self.edge > 0:
            size = shares(rng.randint(10, 40))
            if notional(limit, size) >= MIN_MARKETABLE_BUY and self.can_buy(
                engine, spec, limit, size
            ):
                req = OrderRequest(
                    account=self.name,
                    token_id=token,
                    side=Side.BUY,
                    price=limit,
                    size=size,
                    order_type=OrderType.FAK,
                )
                self.submit(engine, req, now_s)
            return
        floor = to_tick(fair + self.edge, tick)
        if held > 0 and best_bid is not None and best_bid >= floor:
            size = min(held, shares(rng.randint(10, 40)))
            req = OrderRequest(
                account=self.name,
                token_id=token,
                side=Side.SELL,
                price=floor,
                size=size,
                order_type=OrderType.FAK,
            )
            self.submit(engine, req, now_s)

    def take_parity(self, engine: MatchingEngine, spec: MarketSpec, now_s: float) -> bool:
        """Buy the pair at the two best asks if that is worth more than it costs."""
        asks = [engine.book(token)[1] for token in spec.token_ids]
        if not asks[0] or not asks[1]:
            return False
        (up_price, up_size), (down_price, down_size) = asks[0][0], asks[1][0]
        size = min(up_size, down_size, shares(self.rng.randint(10, 40)))
        cost = sum(
            notional(price, size) + spec.fees.taker_fee(price, size)
            for price in (up_price, down_price)
        )
        if size * (1.0 - self.parity_margin) < cost:
            return False
        if min(notional(up_price, size), notional(down_price, size)) < MIN_MARKETABLE_BUY:
            return False
        if not self.can_buy(engine, spec, max(up_price, down_price), 2 * size):
            return False
        for token, price in zip(spec.token_ids, (up_price, down_price), strict=True):
            req = OrderRequest(
                account=self.name,
                token_id=token,
                side=Side.BUY,
                price=price,
                size=size,
                order_type=OrderType.FAK,
            )
            self.submit(engine, req, now_s)
        return True


class Scenario:
    """Consecutive BTC up/down windows with a spot path and a crowd of traders.

    `windows` 15-minute windows from `start_ts` span the run; each series in `series`
    ("15m", "5m") lists consecutive windows covering that span, all on the same spot path
    (3 five-minute windows per 15-minute one). Markets are ordered series by series,
    then by start, and traders act on every open market in that order.

    Call `step(engine, now_s)` at increasing times (or `run(engine)`): it opens markets at
    their start, lets every trader act in a fixed order, and at each window's end closes
    the market and resolves it Up (winner 0) iff spot at the end >= spot at the start.
    """

    def __init__(
        self,
        seed: int,
        start_ts: int,
        windows: int = 2,
        step_s: float = 1.0,
        *,
        noise_traders: int = 8,
        informed_traders: int = 2,
        noise_cash: int = 500 * UNIT,
        informed_cash: int = 2_000 * UNIT,
        spot: SpotPath | None = None,
        fees: FeeSchedule = CRYPTO_FEES,
        series: tuple[str, ...] = ("15m",),
    ) -> None:
        if not series or len(set(series)) != len(series) or not set(series) <= set(SERIES_S):
            raise ValueError(f"series must be distinct names from {sorted(SERIES_S)}: {series}")
        if start_ts % WINDOW_S:
            raise ValueError(f"start_ts {start_ts} is not a multiple of {WINDOW_S}")
        if windows < 1 or step_s <= 0:
            raise ValueError("need at least one window and a positive step")
        self.seed = seed
        self.start_ts = start_ts
        self.step_s = step_s
        self.spot = spot if spot is not None else SpotPath(seed, start_ts=start_ts)
        self.series = series
        span = windows * WINDOW_S
        self.markets = [
            make_updown_market(seed, start, fees=fees, series=name)
            for name in series
            for start in range(start_ts, start_ts + span, SERIES_S[name])
        ]
        self.traders: list[Trader] = []
        for i in range(noise_traders):
            rng = random.Random(f"noise|{seed}|{i}")
            self.traders.append(NoiseTrader(f"noise-{i}", rng, noise_cash))
        for i in range(informed_traders):
            rng = random.Random(f"informed|{seed}|{i}")
            self.traders.append(InformedTrader(f"informed-{i}", rng, informed_cash))
        self._engine: MatchingEngine | None = None

    @property
    def end_ts(self) -> int:
        return max(spec.end_ts for spec in self.markets)

    def attach(self, engine: MatchingEngine) -> None:
        """List the markets (PENDING) and fund the traders, once.

        A scenario drives one engine: its traders' generators and order lists advance
        with it, so a second engine needs a fresh Scenario with the same seed.
        """
        if self._engine is engine:
            return
        if self._engine is not None:
            raise ValueError("this scenario already drives another engine")
        self._engine = engine
        for spec in self.markets:
            engine.add_market(spec, MarketStatus.PENDING)
        for trader in self.traders:
            engine.deposit(trader.name, trader.cash)

    def fair_up(self, spec: MarketSpec, now_s: float) -> float:
        """The model probability that `spec` resolves Up, given spot at `now_s`."""
        start = self.spot.price_at(spec.start_ts)
        spot = self.spot.price_at(min(now_s, spec.end_ts))
        return fair_up_probability(spot, start, self.spot.sigma_per_sqrt_s, spec.end_ts - now_s)

    def winner(self, spec: MarketSpec) -> int:
        """0 (Up) iff spot at the window end >= spot at its start, else 1 (Down)."""
        up = self.spot.price_at(spec.end_ts) >= self.spot.price_at(spec.start_ts)
        return 0 if up else 1

    def step(self, engine: MatchingEngine, now_s: float) -> None:
        """Advance the world to `now_s`: market lifecycle, expiries, then every trader."""
        self.attach(engine)
        now_ms = round(now_s * 1000)
        self.spot.price_at(now_s)
        for spec in self.markets:
            status = engine.market_status(spec.condition_id)
            if status is MarketStatus.PENDING and spec.start_ts <= now_s < spec.end_ts:
                engine.open_market(spec.condition_id)
                self._refill_noise(engine)
            elif status is not MarketStatus.RESOLVED and now_s >= spec.end_ts:
                engine.close_market(spec.condition_id, now_ms=now_ms)
                engine.resolve_market(spec.condition_id, self.winner(spec), now_ms=now_ms)
                for trader in self.traders:
                    trader.forget_market(engine, spec.condition_id)
        engine.expire(int(now_s))
        for spec in self.markets:
            if engine.market_status(spec.condition_id) is not MarketStatus.OPEN:
                continue
            view = MarketView(spec, self.fair_up(spec, now_s), spec.end_ts - now_s)
            for trader in self.traders:
                trader.act(engine, view, now_s)

    def _refill_noise(self, engine: MatchingEngine) -> None:
        """New money replaces the crowd's losses at each window start.

        Noise traders lose to fees and to informed traders; without fresh deposits a long
        run would drain them and its liquidity with them. Top-ups are deposits, so the
        engine's conservation accounting still holds.
        """
        for trader in self.traders:
            if isinstance(trader, NoiseTrader):
                have = engine.balance(trader.name).collateral_total
                if have < trader.cash // 2:
                    engine.deposit(trader.name, trader.cash - have)

    def run(self, engine: MatchingEngine) -> None:
        """Step from the first window's start through the last window's resolution."""
        ticks = math.ceil((self.end_ts - self.start_ts) / self.step_s)
        for i in range(ticks + 1):
            self.step(engine, self.start_ts + i * self.step_s)
