"""Latency sniping: buy the outcome whose ask lags the fair value implied by spot.

An up/down market resolves Up iff the Chainlink reference at the window end is >= the
one at the window start (spec section 6). Spot moves first; the market's book follows a
beat later. With a fresh spot price and the window's price to beat, the native model
gives P(Up) (`fair_up_probability`); an outcome whose ask sits below its fair value by
more than the taker fee and a configured edge is bought at once (FOK or FAK), sized by
a fraction of Kelly on a configured bankroll and capped per take and per position.

Stale spot stops it: unless the board is RUNNING (primary fresh) and the price it shows
is at most `max_spot_age_s` old, it sends nothing. It keeps the newest SpotView and the
newest view of each market itself, so it can act on a spot move (`on_spot`) as well as
on a book change (`on_view`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine._native import edge_after_fees, fair_up_probability, kelly_fraction
from engine.config import LatencyConfig
from engine.messages import (
    MarketPhase,
    MarketView,
    SetQuotes,
    SpotView,
    TakeLeg,
    TakeOrders,
    TokenTop,
)
from engine.units import MIN_MARKETABLE_BUY, SIZE_STEP, UNIT, OrderType, Side, notional

_PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class Snipe:
    """One take the model wants: outcome 0 (Up) or 1 (Down), at `price` for `size`.

    `p_up` is the model's P(Up); `edge` the expected profit of the whole take in
    micro-USDC after the taker fee (a model output, so a float).
    """

    outcome: int
    token_id: str
    price: int
    size: int
    p_up: float
    edge: float


def spot_is_fresh(spot: SpotView | None, now_s: float, max_age_s: float) -> bool:
    """Whether this spot view may be traded on at `now_s`: board RUNNING, a price, and
    that price at most `max_age_s` old."""
    return (
        spot is not None
        and spot.health.tradable
        and spot.price is not None
        and spot.price_s is not None
        and now_s - spot.price_s <= max_age_s
    )


def _trades_on(view: MarketView, spot: SpotView) -> bool:
    """An up/down market on this spot's asset (slug `btc-updown-...`, outcomes Up, Down)."""
    outcomes = tuple(o.lower() for o in view.market.outcomes)
    return outcomes == ("up", "down") and view.market.slug.startswith(f"{spot.symbol.lower()}-")


def spot_up_probability(
    view: MarketView,
    spot: SpotView | None,
    sigma_per_sqrt_s: float,
    max_spot_age_s: float,
    now_s: float,
) -> float | None:
    """P(Up) of an up/down market on the spot's asset, from fresh spot against the
    window's price to beat; None when spot is stale, the market is not on its asset or
    the price to beat is unknown."""
    if not spot_is_fresh(spot, now_s, max_spot_age_s):
        return None
    assert spot is not None and spot.price is not None
    if not _trades_on(view, spot):
        return None
    beat = spot.beat_for(view.market.start_ts)
    if beat is None or beat <= 0:
        return None
    return fair_up_probability(spot.price, beat, sigma_per_sqrt_s, view.market.end_ts - now_s)


def evaluate(
    view: MarketView,
    spot: SpotView | None,
    holdings: tuple[int, int],
    config: LatencyConfig,
    now_s: float,
) -> Snipe | None:
    """The best take on this market now, or None. Pure: same inputs, same answer."""
    if view.phase is not MarketPhase.TRADING or not view.healthy:
        return None
    if view.market.end_ts - now_s <= config.stop_before_end_s:
        return None
    p_up = spot_up_probability(view, spot, config.sigma_per_sqrt_s, config.max_spot_age_s, now_s)
    if p_up is None:
        return None
    best: Snipe | None = None
    for outcome, top in enumerate((view.yes, view.no)):
        snipe = _size_take(view, top, outcome, p_up, holdings[outcome], config)
        if snipe is not None and (best is None or snipe.edge / snipe.size > best.edge / best.size):
            best = snipe
    return best


def _size_take(
    view: MarketView,
    top: TokenTop,
    outcome: int,
    p_up: float,
    held: int,
    config: LatencyConfig,
) -> Snipe | None:
    ask = top.best_ask
    if ask is None or top.ask_size <= 0 or not 0 < ask < UNIT:
        return None
    fees = view.market.fees
    rate, exponent = fees.rate_ppm, fees.exponent
    # Ask below fair minus fee minus edge, per share: the expected profit of one share.
    if edge_after_fees(p_up, ask, UNIT, rate, exponent, outcome=outcome) < config.min_edge_micro:
        return None
    fraction = kelly_fraction(
        p_up,
        ask,
        rate,
        exponent,
        outcome=outcome,
        multiplier=config.kelly_multiplier,
        cap=config.kelly_cap,
    )
    budget = config.bankroll_micro * int(fraction * _PPM) // _PPM
    size = min(
        budget * UNIT // ask,
        top.ask_size,
        config.max_size_micro,
        config.max_position_micro - held,
    )
    size -= size % SIZE_STEP
    if size <= 0 or notional(ask, size) < MIN_MARKETABLE_BUY:
        return None
    edge = edge_after_fees(p_up, ask, size, rate, exponent, outcome=outcome)
    if edge * UNIT < config.min_edge_micro * size:
        return None
    return Snipe(outcome, view.market.token_ids[outcome], ask, size, p_up, edge)


@dataclass
class LatencySniper:
    """The strategy: keeps the newest spot view and market views, and fires at most once
    per market per `cooldown_s`."""

    config: LatencyConfig
    name: str = "latency"
    spot: SpotView | None = None
    views: dict[str, MarketView] = field(default_factory=dict)
    _last_fired: dict[str, float] = field(default_factory=dict)

    def on_view(self, view: MarketView, holdings: tuple[int, int]) -> TakeOrders | None:
        cid = view.market.condition_id
        if view.phase in (MarketPhase.CLOSED, MarketPhase.RESOLVED):
            self.views.pop(cid, None)
            self._last_fired.pop(cid, None)
            return None
        self.views[cid] = view
        return self._decide(view, holdings, view.now_s, view.frame_ts_ns)

    def on_spot(
        self, spot: SpotView, holdings: Mapping[str, tuple[int, int]]
    ) -> Sequence[SetQuotes | TakeOrders]:
        self.spot = spot
        intents: list[SetQuotes | TakeOrders] = []
        now_s = spot.now_s
        for cid, view in list(self.views.items()):
            if now_s >= view.market.end_ts:
                del self.views[cid]
                continue
            intent = self._decide(view, holdings.get(cid, (0, 0)), now_s, spot.ts_ns)
            if intent is not None:
                intents.append(intent)
        return intents

    def _decide(
        self, view: MarketView, holdings: tuple[int, int], now_s: float, origin_ts_ns: int
    ) -> TakeOrders | None:
        cid = view.market.condition_id
        last = self._last_fired.get(cid)
        if last is not None and now_s - last < self.config.cooldown_s:
            return None
        snipe = evaluate(view, self.spot, holdings, self.config, now_s)
        if snipe is None:
            return None
        self._last_fired[cid] = now_s
        return TakeOrders(
            ts_ns=time.perf_counter_ns(),
            origin_ts_ns=origin_ts_ns,
            strategy=self.name,
            condition_id=cid,
            legs=(
                TakeLeg(
                    snipe.token_id,
                    Side.BUY,
                    snipe.price,
                    snipe.size,
                    OrderType(self.config.order_type),
                ),
            ),
        )
