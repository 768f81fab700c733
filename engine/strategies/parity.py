"""Parity arbitrage (from the seed bots): buy both outcomes when they cost less than 1.

A YES share and a NO share together redeem for exactly 1.00 at resolution, so buying
both at asks that sum, with the taker fees of both legs, to less than 1 minus a minimum
edge locks in the difference. Both legs are FOK at the visible ask and size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.config import ParityConfig
from engine.messages import MarketPhase, MarketView, TakeLeg, TakeOrders
from engine.units import MIN_MARKETABLE_BUY, SIZE_STEP, UNIT, OrderType, Side, notional


@dataclass(frozen=True, slots=True)
class ParityQuote:
    """The economics of buying `size` of both outcomes at the current asks."""

    size: int
    cost: int
    fees: int
    edge: int


def price_pair(view: MarketView, max_size: int) -> ParityQuote | None:
    """Cost, fees and locked-in edge of buying both outcomes now, or None if not possible."""
    ask_yes, ask_no = view.yes.best_ask, view.no.best_ask
    if ask_yes is None or ask_no is None:
        return None
    size = min(view.yes.ask_size, view.no.ask_size, max_size)
    size -= size % SIZE_STEP
    if size < view.market.min_size:
        return None
    cost = notional(ask_yes, size) + notional(ask_no, size)
    fees = view.market.fees.taker_fee(ask_yes, size) + view.market.fees.taker_fee(ask_no, size)
    payout = notional(UNIT, size)
    return ParityQuote(size=size, cost=cost, fees=fees, edge=payout - cost - fees)


@dataclass
class ParityArbitrage:
    config: ParityConfig
    name: str = "parity"
    _last_fired: dict[str, float] = field(default_factory=dict)

    def on_view(self, view: MarketView, holdings: tuple[int, int]) -> TakeOrders | None:
        """Both legs as FOK orders when the pair's edge clears min_edge per share."""
        if view.phase is not MarketPhase.TRADING or not view.healthy:
            return None
        last = self._last_fired.get(view.market.condition_id)
        if last is not None and view.now_s - last < self.config.cooldown_s:
            return None
        quote = price_pair(view, self.config.max_size_micro)
        if quote is None or quote.edge * UNIT < self.config.min_edge_micro * quote.size:
            return None
        ask_yes, ask_no = view.yes.best_ask, view.no.best_ask
        assert ask_yes is not None and ask_no is not None
        if min(notional(ask_yes, quote.size), notional(ask_no, quote.size)) < MIN_MARKETABLE_BUY:
            return None
        self._last_fired[view.market.condition_id] = view.now_s
        yes_token, no_token = view.market.token_ids
        return TakeOrders(
            ts_ns=time.perf_counter_ns(),
            origin_ts_ns=view.frame_ts_ns,
            strategy=self.name,
            condition_id=view.market.condition_id,
            legs=(
                TakeLeg(yes_token, Side.BUY, ask_yes, quote.size, OrderType.FOK),
                TakeLeg(no_token, Side.BUY, ask_no, quote.size, OrderType.FOK),
            ),
        )
