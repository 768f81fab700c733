"""CLOB V2 order bodies: parse the JSON, check amounts, derive the engine's price and size.

A POST /order body is `{"order": {...signed fields...}, "owner", "orderType",
"postOnly"?, "deferExec"?}` in any key order (spec sections 4 and 11.3). V1 bodies (with
`nonce`/`feeRateBps`/`taker`, no `timestamp`/`metadata`/`builder`) are answered
`order_version_mismatch`, as production does since CLOB V2.

Amounts are integers in 6-decimal units. A BUY gives `makerAmount` collateral for
`takerAmount` shares; a SELL gives shares for collateral. Limit orders (GTC/GTD) must
name an exact price: maker/taker lands on the market's tick grid, shares carry at most 2
decimals and collateral at most tick decimals + 2. Market orders (FOK/FAK) carry a
worst price that may be off the grid (25 USDC for 41.6666 shares): the engine gets the
tick price the client rounded from (BUY: maker/taker floored to the tick; SELL: ceiled)
and whole 0.01 shares (a market BUY's taker amount floored), so it never spends more
than `makerAmount` nor sells for less than `takerAmount`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_hex_address

from engine.units import SIZE_STEP, UNIT, OrderType, Side
from engine.venue.matching import ERR_TICK
from engine.venue.server.signing import OrderStruct, SignatureError, parse_hex

ERR_VERSION_MISMATCH = "order_version_mismatch"
ERR_PAYLOAD = "Invalid order payload"
ERR_OWNER = "the order owner has to be the owner of the API KEY"
ERR_SIGNER = "the order signer address has to be the address of the API KEY"
ERR_SIGNATURE = "invalid signature"
ERR_SIGNATURE_TYPE = "invalid signature type"
ERR_WALLET = "maker address not allowed, please use the deposit wallet flow"
ERR_BUY_PRECISION = (
    "invalid amounts, the buy orders maker amount supports a max accuracy of {maker} "
    "decimals, taker amount a max of 2 decimals"
)
ERR_MARKET_BUY_PRECISION = (
    "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 "
    "decimals, taker amount a max of 4 decimals"
)
ERR_SELL_PRECISION = (
    "invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, "
    "taker amount a max of {taker} decimals"
)

MAX_BATCH = 15
"""POST /orders takes at most this many orders."""

_V2_FIELDS = (
    "salt",
    "maker",
    "signer",
    "tokenId",
    "makerAmount",
    "takerAmount",
    "side",
    "signatureType",
    "timestamp",
    "metadata",
    "builder",
    "signature",
)
_V1_ONLY_FIELDS = ("taker", "nonce", "feeRateBps")


class OrderRejected(Exception):
    """An order refused before it reaches the book: HTTP `status` with the venue's text."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """A parsed POST /order body: the signed struct plus what travels beside it."""

    struct: OrderStruct
    signature: bytes
    side: Side
    expiration: int
    order_type: OrderType
    post_only: bool
    owner: str

    @property
    def token_id(self) -> str:
        return str(self.struct.token_id)


def _int_field(order: dict[str, Any], name: str) -> int:
    value = order.get(name)
    if isinstance(value, bool):
        raise OrderRejected(ERR_PAYLOAD)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdigit():
        number = int(value)
    else:
        raise OrderRejected(ERR_PAYLOAD)
    if not 0 <= number < 2**256:
        raise OrderRejected(ERR_PAYLOAD)
    return number


def _address_field(order: dict[str, Any], name: str) -> str:
    """A 0x address, lower-cased (compared, not displayed: no checksum needed)."""
    value = order.get(name)
    if not isinstance(value, str) or not is_hex_address(value):
        raise OrderRejected(ERR_PAYLOAD)
    return value.lower()


def _bytes_field(order: dict[str, Any], name: str, length: int | None) -> bytes:
    value = order.get(name)
    if not isinstance(value, str):
        raise OrderRejected(ERR_PAYLOAD)
    try:
        raw = parse_hex(value, what=name)
    except SignatureError:
        raise OrderRejected(ERR_PAYLOAD) from None
    if length is not None and len(raw) != length:
        raise OrderRejected(ERR_PAYLOAD)
    return raw


def parse_order_body(body: Any) -> SignedOrder:
    """Parse one order body; OrderRejected with the venue's text if it is not V2-valid."""
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise OrderRejected(ERR_PAYLOAD)
    order: dict[str, Any] = body["order"]
    if any(f in order for f in _V1_ONLY_FIELDS) or not all(f in order for f in _V2_FIELDS[8:11]):
        raise OrderRejected(ERR_VERSION_MISMATCH)
    if not all(f in order for f in _V2_FIELDS):
        raise OrderRejected(ERR_PAYLOAD)
    side_text = order.get("side")
    if side_text not in ("BUY", "SELL"):
        raise OrderRejected(ERR_PAYLOAD)
    side = Side.parse(side_text)
    signature_type = order.get("signatureType")
    if isinstance(signature_type, bool) or not isinstance(signature_type, int):
        raise OrderRejected(ERR_PAYLOAD)
    if signature_type not in (0, 1, 2, 3):
        raise OrderRejected(ERR_SIGNATURE_TYPE)
    struct = OrderStruct(
        salt=_int_field(order, "salt"),
        maker=_address_field(order, "maker"),
        signer=_address_field(order, "signer"),
        token_id=_int_field(order, "tokenId"),
        maker_amount=_int_field(order, "makerAmount"),
        taker_amount=_int_field(order, "takerAmount"),
        side=int(side),
        signature_type=signature_type,
        timestamp=_int_field(order, "timestamp"),
        metadata=_bytes_field(order, "metadata", 32),
        builder=_bytes_field(order, "builder", 32),
    )
    signature = _bytes_field(order, "signature", None)
    expiration = _int_field(order, "expiration") if "expiration" in order else 0
    order_type_text = body.get("orderType", "GTC")
    try:
        order_type = OrderType(order_type_text)
    except ValueError:
        raise OrderRejected(ERR_PAYLOAD) from None
    post_only = body.get("postOnly", False)
    defer = body.get("deferExec", False)
    owner = body.get("owner")
    if not isinstance(post_only, bool) or not isinstance(defer, bool) or not isinstance(owner, str):
        raise OrderRejected(ERR_PAYLOAD)
    return SignedOrder(struct, signature, side, expiration, order_type, post_only, owner)


def tick_decimals(tick: int) -> int:
    """Decimal places of a tick in micro units: 10_000 (0.01) -> 2, 2_500 (0.0025) -> 4."""
    places = 6
    while tick % 10 == 0:
        tick //= 10
        places -= 1
    return places


def _has_decimals(amount: int, places: int) -> bool:
    """Whether a micro-unit amount has at most `places` decimals."""
    return bool(amount % 10 ** (6 - places) == 0)


def order_terms(order: SignedOrder, tick: int) -> tuple[int, int]:
    """(price, size) in micro units for the matching engine, or OrderRejected.

    See the module docstring for the rules; the engine then checks the grid, minimums,
    balances and the book.
    """
    maker, taker = order.struct.maker_amount, order.struct.taker_amount
    if maker <= 0 or taker <= 0:
        raise OrderRejected(ERR_PAYLOAD)
    amount_places = min(tick_decimals(tick) + 2, 6)
    limit = order.order_type.rests
    if order.side is Side.BUY:
        limit_shape = _has_decimals(taker, 2) and _has_decimals(maker, amount_places)
        if limit:
            if not limit_shape:
                raise OrderRejected(ERR_BUY_PRECISION.format(maker=amount_places))
            price, rest = divmod(maker * UNIT, taker)
            if rest or price % tick:
                raise OrderRejected(ERR_TICK)
            return price, taker
        market_shape = _has_decimals(maker, 2) and _has_decimals(taker, 4)
        if not (limit_shape or market_shape):
            raise OrderRejected(ERR_MARKET_BUY_PRECISION)
        return (maker * UNIT // taker) // tick * tick, taker // SIZE_STEP * SIZE_STEP
    if not (_has_decimals(maker, 2) and _has_decimals(taker, amount_places)):
        raise OrderRejected(ERR_SELL_PRECISION.format(taker=amount_places))
    price, rest = divmod(taker * UNIT, maker)
    if limit:
        if rest or price % tick:
            raise OrderRejected(ERR_TICK)
        return price, maker
    ceiled = -(-taker * UNIT // maker)
    return -(-ceiled // tick) * tick, maker
