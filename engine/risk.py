"""The risk gate: hard limits every order passes before it leaves the engine (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import RiskConfig
from engine.units import Side, notional


@dataclass(frozen=True, slots=True)
class RiskCheck:
    allowed: bool
    reason: str = ""


@dataclass
class RiskGate:
    """Counts what is open and exposed, and refuses what would break a limit.

    Exposure per market is the notional of open (resting and in-flight) BUY orders;
    free cash is the portfolio's cash less that notional over all markets. The kill
    switch refuses everything once tripped.
    """

    config: RiskConfig
    open_orders: int = 0
    killed: bool = False
    kill_reason: str = ""

    def check(
        self, side: Side, price: int, size: int, market_exposure: int, available_cash: int
    ) -> RiskCheck:
        cfg = self.config
        if self.killed:
            return RiskCheck(False, f"kill switch: {self.kill_reason}")
        if size > cfg.max_order_size_micro:
            return RiskCheck(False, "order size above risk.max_order_size")
        if self.open_orders >= cfg.max_open_orders:
            return RiskCheck(False, "risk.max_open_orders reached")
        if side is Side.BUY:
            value = notional(price, size)
            if market_exposure + value > cfg.max_notional_per_market_micro:
                return RiskCheck(False, "risk.max_notional_per_market reached")
            if value > available_cash:
                return RiskCheck(False, "not enough free cash")
        return RiskCheck(True)

    def kill(self, reason: str) -> None:
        self.killed = True
        self.kill_reason = reason
