"""Passive spread maker (from the seed bots): quote inside wide spreads, skewed by inventory.

It works in YES space on the complement view of both books: BUY NO at q is SELL YES at
1 - q, so the maker bids for YES and bids for NO and never needs inventory to sell.
A YES share plus a NO share redeem for 1.00, so only the net (YES - NO) is at risk; the
quotes lean against it by `skew_ticks_per_quote` ticks per `quote_size` of net
inventory, and the side that would grow it past `max_inventory` is not quoted. Quotes
are post-only, clamped inside [tick, 1 - tick] and never cross the other side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.config import MakerConfig
from engine.messages import MarketPhase, MarketView, QuoteTarget, SetQuotes
from engine.units import UNIT, Side


@dataclass(frozen=True, slots=True)
class YesSpace:
    """Best bid and ask for YES once both books are combined (None when a side is empty)."""

    bid: int | None
    ask: int | None


def complement_view(view: MarketView) -> YesSpace:
    """Combine the YES book with the mirrored NO book: bid = max(YES bid, 1 - NO ask)."""
    bids = [p for p in (view.yes.best_bid, _mirror(view.no.best_ask)) if p is not None]
    asks = [p for p in (view.yes.best_ask, _mirror(view.no.best_bid)) if p is not None]
    return YesSpace(max(bids) if bids else None, min(asks) if asks else None)


def _mirror(price: int | None) -> int | None:
    return None if price is None else UNIT - price


@dataclass
class SpreadMaker:
    config: MakerConfig
    name: str = "maker"
    _last: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)

    def on_view(self, view: MarketView, holdings: tuple[int, int]) -> SetQuotes | None:
        """The quotes wanted now; an empty set pulls them. None when nothing changed."""
        cid = view.market.condition_id
        targets = self._targets(view, holdings)
        wanted = (targets[0], targets[1])
        if self._last.get(cid, (None, None)) == wanted:
            return None
        self._last[cid] = wanted
        yes_token, no_token = view.market.token_ids
        size = self.config.quote_size_micro
        quotes: list[QuoteTarget] = []
        if wanted[0] is not None:
            quotes.append(QuoteTarget("bid-yes", yes_token, Side.BUY, wanted[0], size))
        if wanted[1] is not None:
            quotes.append(QuoteTarget("bid-no", no_token, Side.BUY, UNIT - wanted[1], size))
        return SetQuotes(
            ts_ns=time.perf_counter_ns(),
            origin_ts_ns=view.frame_ts_ns,
            strategy=self.name,
            condition_id=cid,
            quotes=tuple(quotes),
        )

    def _targets(
        self, view: MarketView, holdings: tuple[int, int]
    ) -> tuple[int | None, int | None]:
        """YES-space (bid, ask) to quote, each None when that side should not be quoted."""
        cfg = self.config
        tick = view.market.tick
        if (
            view.phase is not MarketPhase.TRADING
            or not view.healthy
            or view.time_left_s < cfg.stop_before_end_s
        ):
            return (None, None)
        book = complement_view(view)
        if book.bid is None or book.ask is None:
            return (None, None)
        last_bid, last_ask = self._last.get(view.market.condition_id, (None, None))
        # Our own quote at the top is not a reason to step up again: measure from the
        # level we stepped inside of.
        ref_bid = book.bid - tick if book.bid == last_bid else book.bid
        ref_ask = book.ask + tick if book.ask == last_ask else book.ask
        if ref_ask - ref_bid < cfg.min_spread_ticks * tick:
            return (None, None)
        net = holdings[0] - holdings[1]
        skew = int(net / cfg.quote_size_micro) * cfg.skew_ticks_per_quote * tick
        bid = min(ref_bid + tick - skew, ref_ask - tick)
        ask = max(ref_ask - tick - skew, ref_bid + tick)
        # Never cross anything resting, our own quotes included (a self-trade would mint).
        bid = max(min(bid, book.ask - tick), tick)
        ask = min(max(ask, book.bid + tick), UNIT - tick)
        if bid >= ask:
            return (None, None)
        quote_bid: int | None = bid
        quote_ask: int | None = ask
        if net >= cfg.max_inventory_micro:
            quote_bid = None  # buying more YES would grow the long
        if -net >= cfg.max_inventory_micro:
            quote_ask = None  # buying more NO would grow the short
        return (quote_bid, quote_ask)
