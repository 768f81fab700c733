"""Hand-written stubs for the Rust core (native/src/python/*.rs), checked by mypy.stubtest.

Prices are integer micro-USDC (1.00 = 1_000_000), sizes integer micro-shares. Sides are
0 (BUY, bids) and 1 (SELL, asks), the values of `engine.units.Side`. Negative ints raise
OverflowError, non-ints TypeError, bad ticks/prices/sides BookError; the models raise
VpinError, QuoteError and FairValueError, and signing SignError (all ValueError).
"""

from collections.abc import Sequence
from typing import ClassVar, final

__all__ = [
    "BookError",
    "FairValueError",
    "FrameError",
    "FrameSummary",
    "MarketBooks",
    "OrderBook",
    "OrderSigner",
    "Quote",
    "QuoteError",
    "QuoteParams",
    "SignError",
    "SignedOrder",
    "Vpin",
    "VpinError",
    "__version__",
    "edge_after_fees",
    "fair_up_probability",
    "frame_markets",
    "kelly_fraction",
    "l2_hmac_signature",
    "limit_order_amounts",
    "market_order_amounts",
    "quote",
    "recover_clob_auth_signer",
    "recover_digest_signer",
    "recover_order_signer",
    "taker_fee",
]

__version__: str

class BookError(ValueError):
    """An order book rejected an input: bad tick, price off grid or out of range, bad side."""

@final
class OrderBook:
    """The order book of one outcome token on a fixed tick grid."""

    __hash__: ClassVar[None]  # type: ignore[assignment]

    def __new__(cls, tick: int) -> OrderBook:
        """An empty book; `tick` must be one of engine.units.VALID_TICKS (else BookError)."""

    @property
    def tick(self) -> int:
        """The tick size of the grid, in micro-USDC."""

    def apply_snapshot(
        self, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]
    ) -> None:
        """Replace the whole book with (price, size) levels; all or nothing.

        Size 0 levels are ignored; a repeated price keeps its last size.
        """

    def apply_change(self, side: int, price: int, size: int) -> None:
        """Set the total size at `price` on `side`; size 0 removes the level."""

    def apply_changes(self, changes: Sequence[tuple[int, int, int]]) -> None:
        """Apply (side, price, size) changes in order, in one call; all or nothing."""

    def apply_deltas(self, deltas: bytes) -> int:
        """Apply packed (side, price, size) deltas in one call; all or nothing.

        `deltas` holds little-endian u64 triples, 24 bytes each (for example
        `array("Q", flat).tobytes()` on a little-endian machine). Returns how many were
        applied; BookError for a bad length, side or price.
        """

    def best_bid(self) -> tuple[int, int] | None:
        """The highest bid as (price, size)."""

    def best_ask(self) -> tuple[int, int] | None:
        """The lowest ask as (price, size)."""

    def best(self) -> tuple[int | None, int | None]:
        """Best bid price and best ask price in one call."""

    def top(self) -> tuple[int | None, int, int | None, int]:
        """(best bid, bid size, best ask, ask size) in one call; sizes 0 for an empty side."""

    def microprice(self) -> int | None:
        """Size-weighted mid of the top of book, floored to a micro; None if a side is empty.

        (bid * ask_size + ask * bid_size) // (bid_size + ask_size).
        """

    def imbalance(self, levels: int) -> float | None:
        """(bid depth - ask depth) / (bid depth + ask depth) over `levels` levels per side.

        In [-1, 1]; None when both sides are empty.
        """

    def mid(self) -> int | None:
        """Midpoint of best bid and best ask, exact in micro; None if a side is empty."""

    def spread(self) -> int | None:
        """Best ask minus best bid (<= 0 when crossed or locked); None if a side is empty."""

    def depth(self, side: int, levels: int) -> int:
        """Total size over the best `levels` non-empty levels of `side`."""

    def levels(self, side: int, n: int) -> list[tuple[int, int]]:
        """The best `n` non-empty levels of `side` as (price, size), best first."""

    def level_count(self, side: int) -> int:
        """Number of non-empty levels on `side`."""

    def complement(self) -> OrderBook:
        """The other outcome's book: bids = asks at 1 - p, asks = bids at 1 - p (a copy)."""

    def clear(self) -> None:
        """Remove every level, keeping the tick."""

    def is_crossed(self) -> bool:
        """Whether best bid >= best ask (a stale or inconsistent book)."""

    def __eq__(self, value: object, /) -> bool:
        """Same tick and the same levels on both sides."""

class FrameError(ValueError):
    """A market-channel frame could not be parsed or applied; the books are unchanged."""

@final
class MarketBooks:
    """The books of a set of outcome tokens (a market's two), fed by raw frames.

    Queries take the asset id; an id these books do not hold raises KeyError.
    """

    def __new__(cls, tick: int, asset_ids: Sequence[str]) -> MarketBooks:
        """Empty books on the grid of `tick` (micro) for each asset id, in this order.

        BookError for a tick the venue does not use or an asset id given twice.
        """

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """The asset ids, in the order given."""

    def __len__(self) -> int: ...
    def __contains__(self, key: str, /) -> bool: ...
    def __getitem__(self, key: str, /) -> OrderBook:
        """A copy of one token's book."""

    def apply_frame(self, frame: bytes) -> FrameSummary:
        """Parse one raw market-channel frame and apply all of it, in one call.

        Events for other tokens are skipped. After a price_change event each token's
        book is compared with the venue's best bid/ask in that token's last entry (and
        after a best_bid_ask event with its prices); a disagreement is reported in
        `FrameSummary.mismatches`. FrameError for a malformed frame (nothing applied).
        """

    def apply_snapshot(
        self,
        asset_id: str,
        bids: Sequence[tuple[int, int]],
        asks: Sequence[tuple[int, int]],
        tick: int | None = None,
    ) -> None:
        """Replace a token's book with a snapshot (REST /book), on the grid of `tick`."""

    def apply_deltas(self, asset_id: str, deltas: bytes) -> int:
        """Apply packed (side, price, size) u64 deltas to a token's book; see OrderBook."""

    def tick(self, asset_id: str) -> int:
        """The tick of a token's book, in micro."""

    def best(self, asset_id: str) -> tuple[int | None, int | None]:
        """Best bid price and best ask price of a token, in one call."""

    def top(self, asset_id: str) -> tuple[int | None, int, int | None, int]:
        """(best bid, bid size, best ask, ask size); sizes 0 for an empty side."""

    def mid(self, asset_id: str) -> int | None:
        """Midpoint of a token's best bid and ask (exact), or None."""

    def microprice(self, asset_id: str) -> int | None:
        """Size-weighted mid of a token's top of book (floored), or None."""

    def spread(self, asset_id: str) -> int | None:
        """Best ask minus best bid of a token (<= 0 when crossed), or None."""

    def depth(self, asset_id: str, side: int, levels: int) -> int:
        """Total size over the best `levels` levels of one side of a token's book."""

    def imbalance(self, asset_id: str, levels: int) -> float | None:
        """(bid depth - ask depth) / (bid depth + ask depth) over `levels` levels, or None."""

    def levels(self, asset_id: str, side: int, n: int) -> list[tuple[int, int]]:
        """The best `n` levels of one side of a token's book, best first."""

    def complement(self, asset_id: str) -> OrderBook:
        """A token's book seen from the other outcome (bids = asks at 1 - p), as a copy."""

    def memory_bytes(self) -> int:
        """Bytes held by the books and their id index."""

@final
class FrameSummary:
    """What one frame did to the books. Tuples are built when a field is read."""

    @property
    def text(self) -> str | None:
        """The text of the venue's non-JSON frames ("PONG", "NO NEW ASSETS"), else None."""

    @property
    def events(self) -> int:
        """Events in the frame that concern these books."""

    @property
    def ignored(self) -> int:
        """Events skipped: other tokens, or kinds that change no book (new_market)."""

    @property
    def changed(self) -> tuple[tuple[str, int | None, int | None], ...]:
        """Each changed book once: (asset_id, best bid, best ask) after the frame."""

    @property
    def trades(self) -> tuple[tuple[str, int, int, int], ...]:
        """last_trade_price events: (asset_id, price, size, taker side 0 BUY / 1 SELL)."""

    @property
    def mismatches(
        self,
    ) -> tuple[tuple[str, tuple[int | None, int | None], tuple[int | None, int | None]], ...]:
        """Integrity failures: (asset_id, book's (bid, ask), venue's (bid, ask))."""

    @property
    def tick_changes(self) -> tuple[tuple[str, int, int], ...]:
        """Books moved to another grid and emptied: (asset_id, old tick, new tick)."""

    @property
    def resolved(self) -> str | None:
        """Winning asset id of a market_resolved for these tokens ("" if none named)."""

    @property
    def needs_resync(self) -> bool:
        """Whether the books must be rebuilt from snapshots (mismatch or tick_size_change)."""

def frame_markets(frame: bytes) -> list[str]:
    """The distinct `market` ids of a frame's events, in order; [] for text frames.

    For routing a frame without decoding it in Python. FrameError if it is malformed.
    """

# Models: VPIN, Avellaneda-Stoikov quotes, fair value, fees and Kelly sizing
# (native/src/{vpin,quote,fair}.rs, bound in native/src/python/models.rs).

class VpinError(ValueError):
    """VPIN rejected a parameter or a trade (the state is then unchanged)."""

class QuoteError(ValueError):
    """Quoting rejected a parameter or a market state."""

class FairValueError(ValueError):
    """A fair-value, fee or sizing function rejected its input."""

@final
class Vpin:
    """Streaming VPIN (Easley, Lopez de Prado and O'Hara 2012) over volume buckets.

    Fed by real trades only: book updates are not traded volume, and feeding them would
    fill buckets at the pace of quoting. A trade larger than what is left in the bucket
    is split across bucket edges. Classification of each trade's volume:
    "bulk": a share Phi(dp / sigma) is buys, dp the change from the previous trade price
    and sigma the sample deviation of the last `sigma_window` changes (this one
    included); with fewer than 2 changes or sigma 0: 1 on a rise, 0 on a fall, 1/2 flat.
    "tick": all buys on an uptick, all sells on a downtick, previous direction when flat.
    "side": the venue's taker side (0 bought, 1 sold), required on every trade.
    VPIN = mean |buy - sell| over the last `window` full buckets / `bucket_volume`.
    """

    def __new__(
        cls, bucket_volume: int, window: int, sigma_window: int = 50, classification: str = "bulk"
    ) -> Vpin:
        """bucket_volume >= 1 micro-shares, 1 <= window <= 2**20, 2 <= sigma_window <= 2**16."""

    @property
    def bucket_volume(self) -> int:
        """Bucket size in micro-shares."""

    @property
    def window(self) -> int:
        """Number of buckets VPIN averages over."""

    @property
    def sigma_window(self) -> int:
        """Number of price changes sigma is estimated over."""

    @property
    def classification(self) -> str:
        """The classification: "bulk", "tick" or "side"."""

    @property
    def value(self) -> float | None:
        """VPIN in [0, 1], or None until `window` buckets have filled."""

    @property
    def sigma(self) -> float | None:
        """Sample deviation of the recent price changes in micro; None before 2 changes."""

    @property
    def buckets(self) -> int:
        """Full buckets so far."""

    @property
    def filled(self) -> int:
        """Volume in the bucket being filled, in micro-shares."""

    def on_trade(self, price: int, size: int, side: int | None = None) -> float | None:
        """Add one trade and return VPIN (None until the first window is full).

        price <= 2**40 micro, size >= 1 micro-shares; side (0 taker bought, 1 taker
        sold) is used only by "side" classification, which requires it.
        """

    def on_trades(self, trades: Sequence[tuple[int, int, int | None]]) -> float | None:
        """Add (price, size, side) trades in order, all or nothing; VPIN after the last."""

@final
class QuoteParams:
    """Validated Avellaneda-Stoikov (2008) quoting parameters.

    reservation r = s - q * gamma * sigma**2 * tau + flow_skew * flow, spread
    delta = (gamma * sigma**2 * tau + (2 / gamma) * ln(1 + gamma / k)) * regime_multiplier
    * competitor_multiplier * (1 + vpin_widening * vpin), with sigma scaled by
    volatility_multiplier; prices in price units (1.00 = 1.0), q in shares.
    """

    def __new__(
        cls,
        tick: int,
        size: int,
        gamma: float,
        k: float,
        *,
        vpin_widening: float = 0.0,
        flow_skew: float = 0.0,
        volatility_multiplier: float = 1.0,
        regime_multiplier: float = 1.0,
        competitor_multiplier: float = 1.0,
    ) -> QuoteParams:
        """tick in VALID_TICKS; gamma, k and the multipliers > 0; vpin_widening, flow_skew >= 0."""

    @property
    def tick(self) -> int:
        """Tick of the market, in micro."""

    @property
    def size(self) -> int:
        """Requested order size in micro-shares."""

    @property
    def quote_size(self) -> int:
        """Size every quote carries: `size` cut to the 0.01 step, at least 5 shares."""

    @property
    def gamma(self) -> float:
        """Risk aversion."""

    @property
    def k(self) -> float:
        """Fill-intensity decay (fills arrive at A * exp(-k * distance))."""

    @property
    def vpin_widening(self) -> float:
        """a in the spread factor (1 + a * vpin)."""

    @property
    def flow_skew(self) -> float:
        """c in the reservation shift c * flow, in price units."""

    @property
    def volatility_multiplier(self) -> float:
        """Scales sigma (so the spread and the inventory skew)."""

    @property
    def regime_multiplier(self) -> float:
        """Spread multiplier for the market regime."""

    @property
    def competitor_multiplier(self) -> float:
        """Spread multiplier for competition."""

@final
class Quote:
    """A two-sided quote in micro on the tick grid (bid rounded down, ask up, clamped into
    [tick, 1 - tick], bid < ask, bid < best ask, ask > best bid); None: no quote there."""

    __hash__: ClassVar[None]  # type: ignore[assignment]

    @property
    def bid(self) -> int | None: ...
    @property
    def ask(self) -> int | None: ...
    @property
    def size(self) -> int:
        """Micro-shares for each side."""

    @property
    def reservation(self) -> float:
        """The model's reservation price in micro, before rounding."""

    @property
    def spread(self) -> float:
        """The model's total spread in micro, before rounding."""

    def __eq__(self, value: object, /) -> bool: ...

def quote(
    params: QuoteParams,
    mid: int,
    best_bid: int | None,
    best_ask: int | None,
    inventory: int,
    seconds_left: float,
    sigma: float,
    vpin: float | None = None,
    flow: float = 0.0,
) -> Quote:
    """The quote for one market state.

    mid: center price in micro (book mid or a fair value), <= 1_000_000; best_bid,
    best_ask: the current book; inventory: signed micro-shares of the quoted outcome;
    seconds_left >= 0 to resolution; sigma >= 0 in price units per sqrt(second); vpin in
    [0, 1] or None (no widening); flow in [-1, 1], positive = buying pressure.
    """

def fair_up_probability(
    spot: int, start: int, sigma_per_sqrt_s: float, seconds_left: float
) -> float:
    """P(Up) = Phi(ln(spot / start) / (sigma * sqrt(seconds_left))), driftless log walk.

    spot and start >= 1 in one integer unit; with seconds_left <= 0 or sigma 0 the
    answer is exact: 1.0 iff spot >= start (the venue's rule), else 0.0.
    """

def taker_fee(price: int, size: int, rate_ppm: int, exponent: int) -> int:
    """size * rate * (p(1 - p))**exponent in micro-USDC, rounded half-up to 5 decimals.

    Equal to engine.fees.FeeSchedule(rate_ppm, exponent).taker_fee(price, size) for
    0 <= price <= 1_000_000 and 0 <= rate_ppm <= 1_000_000.
    """

def edge_after_fees(
    probability: float, price: int, size: int, rate_ppm: int, exponent: int, *, outcome: int = 0
) -> float:
    """Expected profit in micro-USDC of a taker buy of `size` of `outcome` at `price`.

    probability = P(outcome 0: Yes/Up wins); outcome 1 buys No/Down (wins with
    1 - probability) at No's own price. win * size - price * size / 1e6 - taker_fee.
    """

def kelly_fraction(
    probability: float,
    price: int,
    rate_ppm: int,
    exponent: int,
    *,
    outcome: int = 0,
    multiplier: float = 1.0,
    cap: float = 1.0,
) -> float:
    """Fraction of bankroll to spend buying `outcome` at `price` (0 < price < 1_000_000).

    f* = (q - c) / (1 - c), q the win probability and c the price plus the unrounded
    taker fee per share; then min(multiplier * f*, cap). 0.0 when there is no edge.
    """

# Orders: amounts, signing, recovery, request authentication (native/src/python/sign.rs).
# Amounts follow polymarket-client 0.14.0 exactly; tick is one of VALID_TICKS, prices
# must be on its grid within [tick, 1_000_000 - tick]; sizes and amounts are floored to
# 2 decimals (10_000 micro), must not floor to 0 and are at most 10**15 micro.

class SignError(ValueError):
    """An order or signature was rejected: bad amounts, price, tick, side, token id,
    account set-up, order type, or a malformed signature."""

def limit_order_amounts(side: int, price: int, size: int, tick: int) -> tuple[int, int]:
    """(maker_amount, taker_amount) in micro of a limit order of `size` micro-shares."""

def market_order_amounts(side: int, amount: int, price: int, tick: int) -> tuple[int, int]:
    """(maker_amount, taker_amount) in micro of a market order at worst `price`.

    BUY spends `amount` micro-USDC, SELL sells `amount` micro-shares.
    """

@final
class SignedOrder:
    """A signed order: id, signature, amounts, and the exact `POST /order` body."""

    @property
    def order_id(self) -> str:
        """The venue's order id: 0x + 64 hex, the EIP-712 digest of the Order."""

    @property
    def signature(self) -> str:
        """0x + hex of the 65-byte signature (317 bytes for signature type 3)."""

    @property
    def maker_amount(self) -> int:
        """Micro units given: USDC for BUY, shares for SELL."""

    @property
    def taker_amount(self) -> int:
        """Micro units received: shares for BUY, USDC for SELL."""

    @property
    def body(self) -> bytes:
        """Compact JSON body, byte-identical to polymarket-client's (HMAC these bytes)."""

@final
class OrderSigner:
    """A private key with its account set-up; signs CLOB V2 orders and ClobAuth.

    signature_type 0 (EOA): maker = signer = the key's address; funder None or it.
    1 (POLY_PROXY), 2 (GNOSIS_SAFE): maker = funder (proxy/Safe), signer = the key.
    3 (POLY_1271): maker = signer = funder (the deposit wallet the key owns); the
    signature is the 317-byte ERC-7739 wrapping. Only chain_id 137 is supported.
    The key is never shown by repr and is zeroized when the signer is dropped.
    """

    def __new__(
        cls,
        private_key: bytes,
        *,
        signature_type: int = 0,
        funder: str | None = None,
        chain_id: int = 137,
    ) -> OrderSigner: ...
    @property
    def address(self) -> str:
        """The key's own (EOA) address, EIP-55: POLY_ADDRESS and the API key's owner."""

    @property
    def maker(self) -> str:
        """The orders' maker (who holds the funds), EIP-55."""

    @property
    def signer(self) -> str:
        """The orders' signer field (the EOA, or the deposit wallet for type 3), EIP-55."""

    @property
    def signature_type(self) -> int:
        """0 EOA, 1 POLY_PROXY, 2 GNOSIS_SAFE, 3 POLY_1271."""

    @property
    def chain_id(self) -> int:
        """The chain the orders are signed for (137)."""

    def sign_limit_order(
        self,
        token_id: str,
        side: int,
        price: int,
        size: int,
        tick: int,
        *,
        neg_risk: bool,
        exchange_version: int,
        order_type: str,
        post_only: bool,
        salt: int,
        timestamp_ms: int,
        owner: str,
        expiration: int = 0,
        builder: bytes | None = None,
    ) -> SignedOrder:
        """Build and sign a limit order of `size` micro-shares at `price` micro-USDC.

        token_id: canonical decimal uint256. exchange_version 2 signs for the CTF
        exchange (neg_risk picks the neg-risk one), 3 for ExchangeV3 (neg_risk ignored).
        order_type GTC/GTD/FOK/FAK; post_only only with GTC/GTD; expiration (unix s)
        only and always with GTD. salt < 2**53; owner is the API key; builder 32 bytes.
        """

    def sign_market_order(
        self,
        token_id: str,
        side: int,
        amount: int,
        price: int,
        tick: int,
        *,
        neg_risk: bool,
        exchange_version: int,
        order_type: str,
        salt: int,
        timestamp_ms: int,
        owner: str,
        builder: bytes | None = None,
    ) -> SignedOrder:
        """Build and sign a FOK/FAK market order: BUY spends `amount` micro-USDC, SELL
        sells `amount` micro-shares, at worst `price` (on the tick grid)."""

    def clob_auth_signature(self, timestamp: int, nonce: int = 0) -> str:
        """The L1 POLY_SIGNATURE (ClobAuth EIP-712) for `timestamp` (unix s), 0x hex."""

def recover_digest_signer(digest: bytes, signature: bytes) -> str:
    """The EIP-55 address whose key made a 65-byte signature (v 27/28 or 0/1, low s)
    over a 32-byte digest; SignError if malformed."""

def recover_order_signer(
    *,
    salt: int,
    maker: str,
    signer: str,
    token_id: str,
    maker_amount: int,
    taker_amount: int,
    side: int,
    signature_type: int,
    timestamp_ms: int,
    signature: str,
    exchange_version: int,
    neg_risk: bool,
    metadata: str = "0x0000000000000000000000000000000000000000000000000000000000000000",
    builder: str = "0x0000000000000000000000000000000000000000000000000000000000000000",
    chain_id: int = 137,
) -> tuple[str, str]:
    """Check a posted order's signature: (order_id, address of the key that signed).

    Types 0-2: the venue requires the address == signer. Type 3: the 317-byte wrapper
    is checked against the order and exchange, and the address is the deposit wallet's
    owner. SignError for a malformed signature.
    """

def recover_clob_auth_signer(
    address: str, timestamp: str, nonce: int, signature: str, *, chain_id: int = 137
) -> str:
    """The EIP-55 address that signed L1 headers (POLY_ADDRESS, the POLY_TIMESTAMP text,
    POLY_NONCE, POLY_SIGNATURE); valid when it equals `address`."""

def l2_hmac_signature(
    secret: str, timestamp: int, method: str, path: str, body: bytes | None = None
) -> str:
    """The L2 POLY_SIGNATURE: URL-safe base64 HMAC-SHA256 of timestamp + method + path
    (no host, no query) + the exact body bytes, keyed by the base64 API secret."""
