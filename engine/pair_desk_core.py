"""The pair desk's decisions, pure: when to enter a pair, how likely each outcome is to
win (for the pre-settlement exit), and what venue news means for an order's tracker.
The actor (actors/pair_desk.py) only does the I/O around these.

A targeted query's answer is read by `engine.order_query.resolution_events`, the one
mapping the OrderActor and the shutdown close-out share (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import PairsConfig
from engine.messages import Fill, FillVoided, MarketPhase, MarketView, OrderReport, SpotView
from engine.order_query import NOT_PLACED, resolution_events
from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    TrackerEvent,
    TradeStatus,
    TradeUpdate,
)
from engine.pairs import MarketUpdate
from engine.strategies.latency import spot_up_probability
from engine.units import UNIT

# --- entries ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryDecision:
    """Enter at `prices` (per outcome), or not, with the reason (for the report)."""

    prices: tuple[int, int] | None
    reason: str = ""


class EntryRule:
    """When a market view calls for a new pair: the market is tradable with enough time
    left, its best asks sum to at most the threshold, no pair of the desk is running in
    it, the market's cooldown has passed and fewer than `max_open_pairs` are running.

    Each leg is posted `entry_offset_ticks` under its best ask (never below one tick), so
    the posted prices sum to at most what the trigger measured.
    """

    def __init__(self, config: PairsConfig) -> None:
        self.config = config
        self.threshold = config.params().threshold
        self._cooldown_until: dict[str, float] = {}

    def cool_down(self, condition_id: str, now: float) -> None:
        """A pair of this market came to rest (or was refused): wait before the next."""
        self._cooldown_until[condition_id] = now + self.config.cooldown_s

    def decide(
        self, view: MarketView, now: float, running_here: bool, running: int, stopping: bool
    ) -> EntryDecision:
        market = view.market
        if stopping:
            return EntryDecision(None, "stopping")
        if not view.healthy or view.phase is not MarketPhase.TRADING:
            return EntryDecision(None, "market not tradable")
        if market.end_ts - now < self.config.min_time_left_s:
            return EntryDecision(None, "too close to the end")
        if running_here:
            return EntryDecision(None, "a pair is running in this market")
        if running >= self.config.max_open_pairs:
            return EntryDecision(None, "max_open_pairs reached")
        if now < self._cooldown_until.get(market.condition_id, 0.0):
            return EntryDecision(None, "cooling down")
        asks = (view.yes.best_ask, view.no.best_ask)
        if asks[0] is None or asks[1] is None:
            return EntryDecision(None, "no ask on one side")
        if asks[0] + asks[1] > self.threshold:
            return EntryDecision(None, f"asks sum {asks[0] + asks[1]} above {self.threshold}")
        size = self.config.size_micro
        if size < market.min_size:
            return EntryDecision(None, f"size {size} below the market minimum {market.min_size}")
        tick = market.tick
        offset = self.config.entry_offset_ticks * tick
        prices = (
            _on_grid(asks[0] - offset, tick),
            _on_grid(asks[1] - offset, tick),
        )
        return EntryDecision(prices)


def _on_grid(price: int, tick: int) -> int:
    return min(max(price // tick * tick, tick), UNIT - tick)


def market_update(view: MarketView, confidence: tuple[float, float] | None = None) -> MarketUpdate:
    return MarketUpdate(
        (view.yes.best_bid, view.no.best_bid),
        (view.yes.best_ask, view.no.best_ask),
        confidence,
    )


# --- confidence: how likely each outcome is to win -------------------------------------


def book_confidence(view: MarketView) -> tuple[float, float] | None:
    """The market's own odds: each outcome's mid over the sum of both mids (the two
    books of a binary market price complementary claims). None unless both outcomes
    have a bid and an ask."""
    mids: list[int] = []
    for top in (view.yes, view.no):
        if top.best_bid is None or top.best_ask is None:
            return None
        mids.append(top.best_bid + top.best_ask)
    total = mids[0] + mids[1]
    if total <= 0:
        return None
    return mids[0] / total, mids[1] / total


def spot_confidence(
    view: MarketView, spot: SpotView | None, config: PairsConfig, now_s: float
) -> tuple[float, float] | None:
    """P(Up), P(Down) from spot against the window's price to beat (the model the
    latency strategy trades on). None unless the market is an up/down market on the
    spot's asset, spot is fresh and the price to beat is known."""
    p_up = spot_up_probability(view, spot, config.sigma_per_sqrt_s, config.max_spot_age_s, now_s)
    return None if p_up is None else (p_up, 1.0 - p_up)


def confidence(
    view: MarketView, spot: SpotView | None, config: PairsConfig, now_s: float
) -> tuple[float, float] | None:
    """What the pre-settlement exit reads: with `confidence = "spot"` the spot model
    while spot is fresh, else (and with "book") the book's odds."""
    if config.confidence == "spot":
        found = spot_confidence(view, spot, config, now_s)
        if found is not None:
            return found
    return book_confidence(view)


# --- venue news -> tracker events -------------------------------------------------------


class FillSizes:
    """Sizes of the fills seen per (fill id, order id): a FillVoided names only the ids,
    and the tracker needs the size the trade was booked with."""

    def __init__(self) -> None:
        self._sizes: dict[tuple[str, str], int] = {}

    def seen(self, fill: Fill) -> None:
        self._sizes.setdefault((fill.trade_id, fill.order_id), fill.size)

    def size(self, trade_id: str, order_id: str) -> int | None:
        return self._sizes.get((trade_id, order_id))

    def forget(self, order_id: str) -> None:
        for key in [k for k in self._sizes if k[1] == order_id]:
            del self._sizes[key]


def news_event(message: Fill | FillVoided | OrderReport, sizes: FillSizes) -> TrackerEvent | None:
    """What one routed user-channel message means for the order's tracker (None: nothing).

    A booked Fill is a MATCHED trade; a voided one is the same trade FAILED. A PLACEMENT
    is an ack and a CANCELLATION a confirmed cancel; an UPDATE only repeats what the
    fills say (its "matched" may run ahead of the fills, so it does not finish the order).
    """
    match message:
        case Fill():
            sizes.seen(message)
            return TradeUpdate(message.trade_id, message.size, TradeStatus.MATCHED)
        case FillVoided(trade_id=trade_id, order_id=order_id):
            size = sizes.size(trade_id, order_id)
            if size is None:
                return None  # never booked here: nothing to void
            return TradeUpdate(trade_id, size, TradeStatus.FAILED)
        case OrderReport(kind="PLACEMENT"):
            return Ack()
        case OrderReport(kind="CANCELLATION"):
            return CancelConfirmed()
    return None


__all__ = [
    "NOT_PLACED",
    "EntryDecision",
    "EntryRule",
    "FillSizes",
    "book_confidence",
    "confidence",
    "market_update",
    "news_event",
    "resolution_events",
    "spot_confidence",
]
