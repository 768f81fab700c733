"""The venue's taker fee formula, in integer units.

fee_usdc = shares * rate * (p * (1 - p)) ** exponent, charged to the taker only and
rounded to 5 decimal places (docs.polymarket.com /trading/fees; spec section 7). In
CLOB V2 the fee is debited in collateral and the shares received are not reduced.
Rates are held in parts per million so that 0.07 and 0.072 are exact.

Makers pay nothing and, where the market has a rebate share (`rebate_ppm`; crypto
markets 20%), receive that share of the taker fee their liquidity earned (spec
section 7). The matching engine accrues and pays it; see MatchingEngine.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from engine.units import UNIT

FEE_QUANTUM = 10
"""Fees are rounded to 5 decimals: multiples of 10 micro-USDC."""


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A market's fee parameters: `rate_ppm` (70_000 = 0.07), the exponent, and the
    makers' rebate share of taker fees, `rebate_ppm` (200_000 = 20%; 0 = no rebates).
    """

    rate_ppm: int = 70_000
    exponent: int = 1
    taker_only: bool = True
    rebate_ppm: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.rate_ppm <= UNIT:
            raise ValueError(f"fee rate_ppm must be in [0, 1000000], got {self.rate_ppm}")
        if not 0 <= self.rebate_ppm <= UNIT:
            raise ValueError(f"rebate_ppm must be in [0, 1000000], got {self.rebate_ppm}")
        if self.exponent < 0:
            raise ValueError(f"fee exponent must be >= 0, got {self.exponent}")

    def taker_fee(self, price: int, size: int) -> int:
        """Fee in micro-USDC for a taker trading `size` micro-shares at `price`.

        Rounded half-up to 5 decimals, so a tiny trade can round to zero as on the venue.
        """
        if size <= 0 or self.rate_ppm == 0:
            return 0
        p = Fraction(price, UNIT)
        exact = Fraction(size) * Fraction(self.rate_ppm, UNIT) * (p * (1 - p)) ** self.exponent
        quanta = exact / FEE_QUANTUM
        rounded = int(quanta + Fraction(1, 2))  # half-up; quanta >= 0
        return rounded * FEE_QUANTUM

    def maker_rebate(self, taker_fee: int) -> int:
        """A maker leg's rebate: its taker fee times the share, floored to the micro-USDC.

        Flooring per leg means the venue never pays out more than it collected; the
        sub-micro remainders stay in the fee account.
        """
        return taker_fee * self.rebate_ppm // UNIT

    def max_taker_fee(self, limit_price: int, side_is_buy: bool, size: int) -> int:
        """An upper bound on the fee of any fill of this order, used to reserve balance.

        p(1-p) peaks at 0.5, so a BUY limited at 0.7 may fill at 0.5 and pay more than
        at 0.7; the bound takes the worst price the order can trade at.
        """
        half = UNIT // 2
        if side_is_buy:
            worst = half if limit_price >= half else limit_price
        else:
            worst = half if limit_price <= half else limit_price
        return self.taker_fee(worst, size)


NO_FEES = FeeSchedule(rate_ppm=0)
