"""Money and quantity units: integers in the venue's 6-decimal units, never floats.

Prices are micro-USDC per share (0 < price < 1_000_000), sizes are micro-shares, and
cash is micro-USDC. Sizes the venue accepts have at most 2 decimals (multiples of
`SIZE_STEP`) and prices sit on a tick grid of at least 0.0001 (100 micro), so a
price times a size is always a whole number of micro-USDC: `notional` is exact.
"""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation

UNIT = 1_000_000
"""Micro units in one USDC or one share."""

SIZE_STEP = 10_000
"""Sizes carry at most 2 decimals on the venue (0.01 share)."""

MIN_ORDER_SIZE = 5 * UNIT
"""Resting orders must be at least 5 shares (`min_order_size`)."""

MIN_MARKETABLE_BUY = 1 * UNIT
"""A marketable BUY must be worth at least $1."""

VALID_TICKS: tuple[int, ...] = (100_000, 10_000, 5_000, 2_500, 1_000, 100)
"""Every tick size the venue uses (0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001), in micro."""


class Side(enum.IntEnum):
    """Order side. The integer values are the ones signed into CLOB V2 orders."""

    BUY = 0
    SELL = 1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @classmethod
    def parse(cls, text: str) -> Side:
        """Parse the venue's "BUY"/"SELL" (any case)."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"side must be BUY or SELL, got {text!r}") from None


class OrderType(enum.StrEnum):
    """Time in force as the venue names it: rest (GTC/GTD) or take now (FOK/FAK)."""

    GTC = "GTC"
    GTD = "GTD"
    FOK = "FOK"
    FAK = "FAK"

    @property
    def rests(self) -> bool:
        """Whether what is left after matching rests on the book."""
        return self in (OrderType.GTC, OrderType.GTD)


def parse_units(text: str | int | Decimal) -> int:
    """Parse a decimal string such as "0.57" or "12.5" into micro units, exactly.

    Raises ValueError for anything that is not a finite decimal with at most 6 places.
    """
    try:
        value = Decimal(text) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    scaled = value * UNIT
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than 6 decimal places: {text!r}")
    return int(scaled)


def format_units(value: int) -> str:
    """Render micro units as the shortest decimal string ("0.57", "10", "-1.5")."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), UNIT)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")


def to_decimal(value: int) -> Decimal:
    """Micro units as an exact Decimal (for display and JSON edges)."""
    return Decimal(value).scaleb(-6)


def notional(price: int, size: int) -> int:
    """Cash value of `size` micro-shares at `price`, in micro-USDC.

    Exact for venue-valid prices and sizes; raises ValueError if the product is not a
    whole number of micro-USDC, which means one of the inputs is off the venue's grid.
    """
    value, rest = divmod(price * size, UNIT)
    if rest:
        raise ValueError(f"notional of {size} @ {price} is not a whole micro-USDC")
    return value


def complement_price(price: int) -> int:
    """The price of the other outcome: BUY YES at p is SELL NO at 1 - p."""
    return UNIT - price


def is_on_tick(price: int, tick: int) -> bool:
    """Whether `price` is a multiple of `tick` strictly inside (0, 1) on that grid."""
    return price % tick == 0 and tick <= price <= UNIT - tick
