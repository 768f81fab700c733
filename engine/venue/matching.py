"""The simulated venue's matching engine: pure, synchronous and deterministic.

It keeps one limit order book per outcome token and matches with price-time priority,
filling at the maker's price. An incoming order matches

* resting orders of the opposite side on the same token ("complementary"),
* for a BUY, resting BUYs on the other outcome whose prices sum with it to at least 1.00
  ("mint": the venue locks 1.00 of collateral per pair in the market's vault, the maker
  pays its own price q and the taker 1 - q, each receives its own token), and
* with `book_model="unified"`, for a SELL, resting SELLs on the other outcome whose
  prices sum with it to at most 1.00 ("merge": one pair per share is redeemed from the
  vault, the maker receives its own price q and the taker 1 - q).

All sources form one priority queue ordered by the taker's effective price (a SELL at a
costs a; a BUY of the other outcome at q costs 1 - q; a SELL of the other outcome at q
pays 1 - q), ties by arrival (FIFO).

Two book models (spec section 1):

* "unified" is the real venue: merges match, and every order shows in both outcomes'
  published books (a BUY YES at p is also a SELL NO at 1 - p), so `book`,
  `best_bid_ask` and the LevelChanged events are mirrored and never crossed.
* "per_token" (the default, used by the paper session) neither merges nor mirrors. This
  is deliberate: it is what lets the best asks of the two outcomes sum below 1.00 for a
  while, the condition parity arbitrage looks for.

Either way orders queue only in their own token's book; mirroring is a view.

Invariants (tests/venue/test_matching_props.py): no crossed published book, FIFO per
level, collateral conserved (deposits = balances + fees + unpaid rebates + vaults), each
market's vault equal to the shares of each outcome outstanding.

A matched trade whose settlement fails is undone with `void_trade`.

Money is integer micro units throughout (engine.units). Taker fees follow CLOB V2: the
taker pays `FeeSchedule.taker_fee(fill price, fill size)` in collateral per fill, makers
pay nothing, and fees accumulate in the venue fee account.

Maker rebates (spec section 7): when the market's schedule has a `rebate_ppm`, each maker
leg earns `FeeSchedule.maker_rebate(that leg's taker fee)`, i.e. floor(fee * rebate_ppm /
1e6) micro-USDC, moved at once from the fee account to an accrual of the maker's. The
venue pays rebates daily; the simulator's "day" is the market: every accrual of a market
is paid into the maker's free collateral when it resolves. Conservation therefore reads
deposits = balances + fee account + unpaid accruals + vaults, at every step.
"""

from __future__ import annotations

import bisect
import enum
import hashlib
import heapq
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from engine.fees import FeeSchedule
from engine.units import (
    MIN_MARKETABLE_BUY,
    MIN_ORDER_SIZE,
    SIZE_STEP,
    UNIT,
    VALID_TICKS,
    OrderType,
    Side,
    format_units,
    notional,
)

# The venue's own error texts (spec section 4 "Validation" and section 11.5).
ERR_MARKET_NOT_FOUND = "market not found"
ERR_MARKET_NOT_READY = "the market is not yet ready to process new orders"
ERR_MARKET_CLOSED = "the market is closed and no longer accepts orders"
ERR_DUPLICATED = (
    "order is invalid. Duplicated. Same order has already been placed, can't be placed again"
)
ERR_TICK = "order is invalid. Price breaks minimum tick size rules"
ERR_SIZE_PRECISION = "invalid amounts, the order size supports a max accuracy of 2 decimals"
ERR_MIN_SIZE = "order {order_id} is invalid. Size ({size}) lower than the minimum: {minimum}"
ERR_MARKETABLE_BUY_MIN = "invalid amount for a marketable BUY order (${amount}), min size: $1"
ERR_POST_ONLY_TYPE = "invalid post-only order: only GTC and GTD order types are allowed"
ERR_POST_ONLY_CROSSES = "invalid post-only order: order crosses book"
ERR_EXPIRATION = "invalid expiration"
ERR_FOK = "order couldn't be fully filled. FOK orders are fully filled or killed."
ERR_FAK = (
    "no orders found to match with FAK order. "
    "FAK orders are partially filled or killed if no match is found."
)
ERR_BALANCE = (
    "not enough balance / allowance: the balance is not enough -> "
    "balance: {balance}, order amount: {amount}"
)

GTD_MIN_LIFETIME_S = 60
"""A GTD order must live at least this long (the venue's security threshold)."""

DEFAULT_FEE_ACCOUNT = "venue-fees"

MatchKind = Literal["complementary", "mint", "merge"]
BookModel = Literal["per_token", "unified"]
"""How books match and publish: see the module docstring."""
SubmitStatus = Literal["live", "matched", "unmatched"]
CancelReason = Literal["user", "expired", "market_closed", "fok_killed"]


class OrderStatus(enum.StrEnum):
    """An order's state as the venue's OpenOrder reports it."""

    LIVE = "LIVE"
    MATCHED = "MATCHED"
    CANCELED = "CANCELED"
    INVALID = "INVALID"
    CANCELED_MARKET_RESOLVED = "CANCELED_MARKET_RESOLVED"


class MarketStatus(enum.StrEnum):
    """Market lifecycle: listed, trading, no longer trading, settled."""

    PENDING = "PENDING"
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    RESOLVED = "RESOLVED"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketSpec:
    """One binary market. Index 0 of `token_ids`/`outcomes` is YES/Up, index 1 NO/Down."""

    condition_id: str
    question: str
    slug: str
    token_ids: tuple[str, str]
    outcomes: tuple[str, str]
    tick: int
    min_size: int = MIN_ORDER_SIZE
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    start_ts: int
    end_ts: int
    neg_risk: bool = False
    """Multi-outcome markets settle through the neg-risk exchange (another EIP-712 domain)."""

    def __post_init__(self) -> None:
        if self.tick not in VALID_TICKS:
            raise ValueError(f"tick {self.tick} is not one of {VALID_TICKS}")
        if len(self.token_ids) != 2 or self.token_ids[0] == self.token_ids[1]:
            raise ValueError("a market needs two distinct token ids")
        if len(self.outcomes) != 2:
            raise ValueError("a market needs two outcomes")
        if self.min_size <= 0 or self.min_size % SIZE_STEP:
            raise ValueError(f"min_size must be a positive multiple of {SIZE_STEP}")
        if self.end_ts <= self.start_ts:
            raise ValueError("end_ts must be after start_ts")

    def outcome_index(self, token_id: str) -> int:
        """0 for the YES/Up token, 1 for NO/Down."""
        return self.token_ids.index(token_id)

    def other_token(self, token_id: str) -> str:
        return self.token_ids[1 - self.outcome_index(token_id)]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """What a client asks for. `expiration` is unix seconds, GTD only (0 otherwise)."""

    account: str
    token_id: str
    side: Side
    price: int
    size: int
    order_type: OrderType = OrderType.GTC
    post_only: bool = False
    expiration: int = 0
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class MakerLeg:
    """One resting order's part of a trade, at the maker's own price and token."""

    order_id: str
    account: str
    token_id: str
    side: Side
    price: int
    size: int
    match_kind: MatchKind


# Events, drained with MatchingEngine.drain_events(). Every field is an int or a string.


@dataclass(frozen=True, slots=True)
class LevelChanged:
    """A book level's new total size (0 = removed). `step` groups one operation's changes."""

    condition_id: str
    token_id: str
    side: Side
    price: int
    size: int
    ts_ms: int
    step: int = 0


@dataclass(frozen=True, slots=True)
class TradeExecuted:
    """One taker order's match against one or more makers (spec section 5).

    `token_id`, `side` and `size` are the taker's; `price` is the taker's effective price
    of the last (worst) leg, always on the tick grid; legs carry their exact prices.
    `fee` is the total taker fee of the trade.
    """

    trade_id: str
    condition_id: str
    taker_order_id: str
    taker_account: str
    token_id: str
    side: Side
    price: int
    size: int
    fee: int
    maker_legs: tuple[MakerLeg, ...]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class TradeVoided:
    """A matched trade failed settlement and its balance movements were reversed.

    The orders it consumed stay consumed (see MatchingEngine.void_trade).
    """

    trade_id: str
    condition_id: str
    ts_ms: int


class VoidError(ValueError):
    """A trade that cannot be voided: unknown, already void, or its proceeds have moved."""


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """An order (or the remainder of a partly filled taker) now rests on the book."""

    order_id: str
    account: str
    condition_id: str
    token_id: str
    side: Side
    price: int
    original_size: int
    size_matched: int
    order_type: OrderType
    expiration: int
    created_ms: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """A resting order was filled (partly or fully) as a maker."""

    order_id: str
    account: str
    condition_id: str
    token_id: str
    side: Side
    price: int
    original_size: int
    size_matched: int
    order_type: OrderType
    expiration: int
    created_ms: int
    trade_id: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """An order left the book unfilled: by the user, expiry, market close, or a FOK kill."""

    order_id: str
    account: str
    condition_id: str
    token_id: str
    side: Side
    price: int
    original_size: int
    size_matched: int
    order_type: OrderType
    expiration: int
    created_ms: int
    reason: CancelReason
    ts_ms: int


@dataclass(frozen=True, slots=True)
class TickSizeChanged:
    """The market's minimum tick changed; resting orders keep their prices."""

    condition_id: str
    old_tick: int
    new_tick: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class MarketResolved:
    """Settlement: `winner` is the winning outcome index, or None for a 50/50 split."""

    condition_id: str
    winner: int | None
    ts_ms: int


_OrderFields = tuple[str, str, str, str, Side, int, int, int, OrderType, int, int]
"""order_id, account, condition_id, token_id, side, price, original_size, size_matched,
order_type, expiration, created_ms: the leading fields of every order event."""

VenueEvent = (
    LevelChanged
    | TradeExecuted
    | OrderPlaced
    | OrderUpdated
    | OrderCancelled
    | MarketResolved
    | TickSizeChanged
    | TradeVoided
)


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The venue's answer to one order (the POST /order reply, in integers).

    `making_amount` is what the taker gave (collateral on a BUY, shares on a SELL) and
    `taking_amount` what it received, both before the fee, which is reported apart.
    A rejection has `success=False`, the venue's text in `error` and status "unmatched".
    """

    success: bool
    error: str
    order_id: str
    status: SubmitStatus
    trades: tuple[TradeExecuted, ...] = ()
    making_amount: int = 0
    taking_amount: int = 0
    fee: int = 0

    @property
    def trade_ids(self) -> tuple[str, ...]:
        return tuple(t.trade_id for t in self.trades)


@dataclass(frozen=True, slots=True)
class OrderView:
    """A read-only snapshot of an order. `arrival` orders orders in time (FIFO key)."""

    order_id: str
    account: str
    condition_id: str
    token_id: str
    side: Side
    price: int
    original_size: int
    size_matched: int
    order_type: OrderType
    expiration: int
    post_only: bool
    client_id: str | None
    created_ms: int
    arrival: int
    status: OrderStatus
    associate_trades: tuple[str, ...]

    @property
    def remaining(self) -> int:
        return self.original_size - self.size_matched


@dataclass(frozen=True, slots=True)
class Position:
    """Shares of one token: `free` to trade, `reserved` behind resting SELL orders."""

    free: int
    reserved: int

    @property
    def total(self) -> int:
        return self.free + self.reserved


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """Collateral (free and reserved behind resting BUYs) and positions per token.

    `rebates_accrued` are maker rebates earned in unresolved markets (not yet spendable);
    `rebates_paid` the total already paid into collateral.
    """

    account: str
    collateral_free: int
    collateral_reserved: int
    positions: dict[str, Position]
    rebates_accrued: int = 0
    rebates_paid: int = 0

    @property
    def collateral_total(self) -> int:
        return self.collateral_free + self.collateral_reserved

    def shares(self, token_id: str) -> int:
        pos = self.positions.get(token_id)
        return pos.total if pos is not None else 0


# Internal state.


@dataclass(slots=True, eq=False)
class _Order:
    order_id: str
    account: str
    spec: MarketSpec
    token_id: str
    side: Side
    price: int
    original_size: int
    order_type: OrderType
    expiration: int
    post_only: bool
    client_id: str | None
    created_ms: int
    arrival: int
    remaining: int
    reserved: int = 0
    status: OrderStatus = OrderStatus.LIVE
    trade_ids: list[str] = field(default_factory=list)

    @property
    def size_matched(self) -> int:
        return self.original_size - self.remaining


@dataclass(slots=True)
class _Account:
    free: int = 0
    reserved: int = 0
    shares_free: dict[str, int] = field(default_factory=dict)
    shares_reserved: dict[str, int] = field(default_factory=dict)
    rebates_paid: int = 0


@dataclass(slots=True)
class _Fill:
    maker: _Order
    size: int
    kind: MatchKind
    taker_price: int


class _BookSide:
    """One side of one token's book: FIFO queues per price, prices kept sorted ascending."""

    __slots__ = ("levels", "prices", "totals")

    def __init__(self) -> None:
        self.levels: dict[int, deque[_Order]] = {}
        self.totals: dict[int, int] = {}
        self.prices: list[int] = []

    def add(self, order: _Order) -> None:
        level = self.levels.get(order.price)
        if level is None:
            level = self.levels[order.price] = deque()
            self.totals[order.price] = 0
            bisect.insort(self.prices, order.price)
        level.append(order)
        self.totals[order.price] += order.remaining

    def remove(self, order: _Order) -> None:
        """Take a resting order out of its level (cancel or full fill)."""
        level = self.levels[order.price]
        level.remove(order)
        self.totals[order.price] -= order.remaining
        self._drop_if_empty(order.price)

    def reduce(self, price: int, size: int) -> None:
        self.totals[price] -= size

    def pop_front(self, price: int) -> None:
        self.levels[price].popleft()
        self._drop_if_empty(price)

    def _drop_if_empty(self, price: int) -> None:
        if not self.levels[price]:
            del self.levels[price]
            del self.totals[price]
            del self.prices[bisect.bisect_left(self.prices, price)]

    def total(self, price: int) -> int:
        return self.totals.get(price, 0)

    def highest(self) -> int | None:
        return self.prices[-1] if self.prices else None

    def lowest(self) -> int | None:
        return self.prices[0] if self.prices else None


class _Book:
    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids = _BookSide()
        self.asks = _BookSide()

    def side(self, side: Side) -> _BookSide:
        return self.bids if side is Side.BUY else self.asks


@dataclass(slots=True)
class _Market:
    spec: MarketSpec
    status: MarketStatus
    vault: int = 0
    winner: int | None = None
    rebates: dict[str, int] = field(default_factory=dict)
    """Unpaid maker rebates per account, paid at resolution."""


def buy_reservation(spec: MarketSpec, price: int, size: int) -> int:
    """Collateral a BUY of `size` at limit `price` holds: notional plus the fee bound."""
    return notional(price, size) + spec.fees.max_taker_fee(price, True, size)


class MatchingEngine:
    """Books, balances and settlement for a set of binary markets, in integer micro units.

    Every mutating call takes the time from the caller, so the same calls in the same
    order produce the same ids, fills and events.
    """

    def __init__(
        self,
        *,
        fee_account: str = DEFAULT_FEE_ACCOUNT,
        id_seed: str = "",
        book_model: BookModel = "per_token",
    ) -> None:
        if book_model not in ("per_token", "unified"):
            raise ValueError(f"book_model must be 'per_token' or 'unified', got {book_model!r}")
        self.fee_account = fee_account
        self.book_model: BookModel = book_model
        self._unified = book_model == "unified"
        self._trades: dict[str, TradeExecuted] = {}
        self._voided: set[str] = set()
        self._id_seed = id_seed
        self._markets: dict[str, _Market] = {}
        self._token_market: dict[str, str] = {}
        self._books: dict[str, _Book] = {}
        self._accounts: dict[str, _Account] = {}
        self._orders: dict[str, _Order] = {}
        self._open: dict[str, _Order] = {}
        self._events: list[VenueEvent] = []
        self._fees = 0
        self._trade_rebates: dict[str, tuple[int, ...]] = {}
        """Each trade's rebate per maker leg, in leg order (kept for void_trade)."""
        self._deposited = 0
        self._order_counter = 0
        self._trade_counter = 0
        self._arrival = 0
        self._step = 0
        self._now_ms = 0
        self._touched: dict[tuple[str, Side, int], None] = {}

    # Markets.

    def add_market(self, spec: MarketSpec, status: MarketStatus = MarketStatus.OPEN) -> None:
        """List a market; PENDING markets refuse orders until `open_market`."""
        if spec.condition_id in self._markets:
            raise ValueError(f"market {spec.condition_id} already listed")
        for token in spec.token_ids:
            if token in self._token_market:
                raise ValueError(f"token {token} already belongs to a market")
        self._markets[spec.condition_id] = _Market(spec, status)
        for token in spec.token_ids:
            self._token_market[token] = spec.condition_id
            self._books[token] = _Book()

    def open_market(self, condition_id: str) -> None:
        market = self._markets[condition_id]
        if market.status is not MarketStatus.PENDING:
            raise ValueError(f"market {condition_id} is {market.status}, not PENDING")
        market.status = MarketStatus.OPEN

    def set_tick(self, condition_id: str, tick: int, *, now_ms: int | None = None) -> None:
        """Change a market's minimum tick, as the venue does near 0 and 1 (spec section 1).

        New orders are validated on the new grid; resting orders stay where they are.
        """
        ts = self._clock(now_ms)
        market = self._markets[condition_id]
        old = market.spec.tick
        if tick == old:
            return
        market.spec = replace(market.spec, tick=tick)
        self._step += 1
        self._events.append(TickSizeChanged(condition_id, old, tick, ts))

    def close_market(self, condition_id: str, *, now_ms: int | None = None) -> list[str]:
        """Stop trading and cancel every resting order; returns the cancelled ids."""
        ts = self._clock(now_ms)
        market = self._markets[condition_id]
        if market.status is MarketStatus.RESOLVED:
            raise ValueError(f"market {condition_id} is already resolved")
        market.status = MarketStatus.CLOSED
        victims = [o for o in self._open.values() if o.spec.condition_id == condition_id]
        return self._cancel_many(victims, "market_closed", ts)

    def resolve_market(
        self, condition_id: str, winner: int | None, *, now_ms: int | None = None
    ) -> dict[str, int]:
        """Pay every share from the vault and remove the shares.

        A share of outcome `winner` pays 1.00, the other 0; `winner=None` is a 50/50
        resolution paying 0.50 per share of either outcome. Returns the payout of every
        account that held shares (0 for losers).
        """
        if winner not in (0, 1, None):
            raise ValueError(f"winner must be 0, 1 or None, got {winner!r}")
        ts = self._clock(now_ms)
        market = self._markets[condition_id]
        if market.status is MarketStatus.RESOLVED:
            raise ValueError(f"market {condition_id} is already resolved")
        if market.status is not MarketStatus.CLOSED:
            self.close_market(condition_id, now_ms=ts)
        spec = market.spec
        if winner is None:
            price_of = (UNIT // 2, UNIT // 2)
        else:
            price_of = (UNIT, 0) if winner == 0 else (0, UNIT)
        payouts: dict[str, int] = {}
        for name, account in self._accounts.items():
            held = False
            payout = 0
            for index, token in enumerate(spec.token_ids):
                shares = account.shares_free.pop(token, 0) + account.shares_reserved.pop(token, 0)
                if shares:
                    held = True
                    payout += notional(price_of[index], shares)
            if held:
                account.free += payout
                market.vault -= payout
                payouts[name] = payout
        for name, rebate in market.rebates.items():
            account = self._accounts[name]
            account.free += rebate
            account.rebates_paid += rebate
        market.rebates.clear()
        if market.vault:
            raise AssertionError(f"vault of {condition_id} left {market.vault} after settlement")
        market.status = MarketStatus.RESOLVED
        market.winner = winner
        self._step += 1
        self._events.append(MarketResolved(condition_id, winner, ts))
        return payouts

    def market(self, condition_id: str) -> MarketSpec:
        return self._markets[condition_id].spec

    def market_status(self, condition_id: str) -> MarketStatus:
        return self._markets[condition_id].status

    def market_winner(self, condition_id: str) -> int | None:
        return self._markets[condition_id].winner

    def market_for_token(self, token_id: str) -> MarketSpec | None:
        cid = self._token_market.get(token_id)
        return self._markets[cid].spec if cid is not None else None

    def markets(self) -> list[MarketSpec]:
        return [m.spec for m in self._markets.values()]

    def vault(self, condition_id: str) -> int:
        """Collateral locked behind the market's minted share pairs."""
        return self._markets[condition_id].vault

    # Accounts.

    def deposit(self, account: str, amount: int) -> None:
        if amount <= 0:
            raise ValueError(f"deposit must be positive, got {amount}")
        if account == self.fee_account:
            raise ValueError("the fee account cannot take deposits")
        self._account(account).free += amount
        self._deposited += amount

    def rebates_accrued(self, account: str | None = None) -> int:
        """Unpaid maker rebates of one account, or of all accounts."""
        return sum(
            amount
            for market in self._markets.values()
            for name, amount in market.rebates.items()
            if account is None or name == account
        )

    def balance(self, account: str) -> AccountBalance:
        if account == self.fee_account:
            return AccountBalance(account, self._fees, 0, {})
        acc = self._accounts.get(account) or _Account()
        accrued = self.rebates_accrued(account)
        tokens = list(acc.shares_free) + [
            t for t in acc.shares_reserved if t not in acc.shares_free
        ]
        positions = {
            t: Position(acc.shares_free.get(t, 0), acc.shares_reserved.get(t, 0)) for t in tokens
        }
        return AccountBalance(account, acc.free, acc.reserved, positions, accrued, acc.rebates_paid)

    def accounts(self) -> list[str]:
        return list(self._accounts)

    @property
    def fees_collected(self) -> int:
        """The fee account's balance: taker fees less the rebates moved out to makers."""
        return self._fees

    @property
    def total_deposited(self) -> int:
        return self._deposited

    # Orders.

    def submit(
        self, req: OrderRequest, now_ms: int, *, order_id: str | None = None
    ) -> SubmitResult:
        """Validate, match and (for GTC/GTD) rest an order. Rejections change nothing."""
        ts = self._clock(now_ms)
        self._order_counter += 1
        oid = order_id if order_id is not None else self._new_order_id(req, ts)
        error = self._validate_static(req, oid, ts)
        if error:
            return self._reject(oid, error)
        spec = self._spec_of(req.token_id)
        self._arrival += 1
        order = _Order(
            order_id=oid,
            account=req.account,
            spec=spec,
            token_id=req.token_id,
            side=req.side,
            price=req.price,
            original_size=req.size,
            order_type=req.order_type,
            expiration=req.expiration,
            post_only=req.post_only,
            client_id=req.client_id,
            created_ms=ts,
            arrival=self._arrival,
            remaining=req.size,
        )
        plan = self._plan(order)
        filled = sum(f.size for f in plan)
        if plan and req.post_only:
            return self._reject(oid, ERR_POST_ONLY_CROSSES)
        is_marketable = bool(plan) or not req.order_type.rests
        if req.side is Side.BUY and is_marketable:
            amount = notional(req.price, req.size)
            if amount < MIN_MARKETABLE_BUY:
                return self._reject(oid, ERR_MARKETABLE_BUY_MIN.format(amount=format_units(amount)))
        error = self._check_balance(order, plan, filled)
        if error:
            return self._reject(oid, error)
        if req.order_type is OrderType.FOK and filled < req.size:
            self._step += 1
            self._events.append(self._cancelled_event(order, "fok_killed", ts))
            return self._reject(oid, ERR_FOK)
        if req.order_type is OrderType.FAK and filled == 0:
            return self._reject(oid, ERR_FAK)
        return self._execute(order, plan, ts)

    def cancel(self, account: str, order_id: str, *, now_ms: int | None = None) -> bool:
        """Cancel one of `account`'s resting orders; False if not found, not own, or done."""
        ts = self._clock(now_ms)
        order = self._open.get(order_id)
        if order is None or order.account != account:
            return False
        self._cancel_many([order], "user", ts)
        return True

    def cancel_orders(
        self, account: str, order_ids: Iterable[str], *, now_ms: int | None = None
    ) -> list[str]:
        """Cancel several own resting orders at once; returns those actually cancelled."""
        ts = self._clock(now_ms)
        victims: list[_Order] = []
        for oid in order_ids:
            order = self._open.get(oid)
            if order is not None and order.account == account and order not in victims:
                victims.append(order)
        return self._cancel_many(victims, "user", ts)

    def cancel_all(self, account: str, *, now_ms: int | None = None) -> list[str]:
        ts = self._clock(now_ms)
        victims = [o for o in self._open.values() if o.account == account]
        return self._cancel_many(victims, "user", ts)

    def cancel_market(
        self,
        account: str,
        condition_id: str | None,
        token_id: str | None = None,
        *,
        now_ms: int | None = None,
    ) -> list[str]:
        """Cancel own orders in a market and/or token (None or "" means any)."""
        ts = self._clock(now_ms)
        victims = [
            o
            for o in self._open.values()
            if o.account == account
            and (not condition_id or o.spec.condition_id == condition_id)
            and (not token_id or o.token_id == token_id)
        ]
        return self._cancel_many(victims, "user", ts)

    def expire(self, now_s: int) -> list[str]:
        """Cancel every GTD order whose expiration is at or before `now_s`."""
        ts = self._clock(now_s * 1000)
        victims = [
            o
            for o in self._open.values()
            if o.order_type is OrderType.GTD and o.expiration <= now_s
        ]
        return self._cancel_many(victims, "expired", ts)

    def order(self, order_id: str) -> OrderView | None:
        order = self._orders.get(order_id)
        return self._view(order) if order is not None else None

    def open_orders(self, account: str | None = None) -> list[OrderView]:
        """Resting orders (of one account, or all), oldest first."""
        return [
            self._view(o) for o in self._open.values() if account is None or o.account == account
        ]

    # Book queries.

    def book(self, token_id: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated levels (price, size): bids best (highest) first, asks best (lowest) first."""
        book = self._books[token_id]
        if not self._unified:
            bids = [(p, book.bids.totals[p]) for p in reversed(book.bids.prices)]
            asks = [(p, book.asks.totals[p]) for p in book.asks.prices]
            return bids, asks
        other = self._books[self._spec_of(token_id).other_token(token_id)]
        bid_prices = set(book.bids.prices).union(UNIT - p for p in other.asks.prices)
        ask_prices = set(book.asks.prices).union(UNIT - p for p in other.bids.prices)
        bids = [(p, self._level_total(token_id, Side.BUY, p)) for p in sorted(bid_prices)]
        asks = [(p, self._level_total(token_id, Side.SELL, p)) for p in sorted(ask_prices)]
        return bids[::-1], asks

    def best_bid_ask(self, token_id: str) -> tuple[int | None, int | None]:
        """The published top of book (mirrored when unified)."""
        book = self._books[token_id]
        bid, ask = book.bids.highest(), book.asks.lowest()
        if self._unified:
            other = self._books[self._spec_of(token_id).other_token(token_id)]
            other_bid, other_ask = other.bids.highest(), other.asks.lowest()
            if other_ask is not None:
                bid = UNIT - other_ask if bid is None else max(bid, UNIT - other_ask)
            if other_bid is not None:
                ask = UNIT - other_bid if ask is None else min(ask, UNIT - other_bid)
        return bid, ask

    def level_orders(self, token_id: str, side: Side, price: int) -> list[OrderView]:
        """The resting orders on this token at one level, in queue (time) order.

        Only the token's own orders, also when unified: mirrored ones queue in theirs.
        """
        level = self._books[token_id].side(side).levels.get(price, deque())
        return [self._view(o) for o in level]

    def drain_events(self) -> list[VenueEvent]:
        events, self._events = self._events, []
        return events

    # Settlement failures.

    def trade(self, trade_id: str) -> TradeExecuted | None:
        return self._trades.get(trade_id)

    def void_trade(self, trade_id: str, now_ms: int) -> TradeVoided:
        """Reverse every balance movement of one trade, as if it had never matched.

        This is what a trade whose settlement FAILED means: collateral and shares go back
        to the taker and each maker (into their free balances), the taker fee leaves the
        fee account, mint or merge legs undo their change to the market's vault, and each
        maker's rebate is withdrawn: from its accrual while unpaid, from its free
        collateral once paid at resolution.
        The orders stay consumed (size_matched and status are kept, nothing goes back on
        the book): the venue does not resurrect orders behind a failed match, so a client
        that reverses the fill re-places if it still wants the trade.

        Refused with VoidError, changing nothing, when the trade is unknown or already
        void, or when someone no longer holds (free) what the trade gave them, since the
        reversal would then drive a balance negative.
        """
        ts = self._clock(now_ms)
        trade = self._trades.get(trade_id)
        if trade is None:
            raise VoidError(f"trade {trade_id} not found")
        if trade_id in self._voided:
            raise VoidError(f"trade {trade_id} is already void")
        cash: dict[str, int] = {}
        shares: dict[tuple[str, str], int] = {}
        vault = 0

        def move(account: str, amount: int, token: str, count: int) -> None:
            cash[account] = cash.get(account, 0) + amount
            shares[(account, token)] = shares.get((account, token), 0) + count

        market = self._markets[trade.condition_id]
        rebates = self._trade_rebates.get(trade_id) or (0,) * len(trade.maker_legs)
        unpaid = market.status is not MarketStatus.RESOLVED
        if not unpaid:
            for leg, rebate in zip(trade.maker_legs, rebates, strict=True):
                move(leg.account, -rebate, leg.token_id, 0)
        taker_sign = 1 if trade.side is Side.BUY else -1
        for leg in trade.maker_legs:
            taker_price = leg.price if leg.match_kind == "complementary" else UNIT - leg.price
            maker_sign = 1 if leg.side is Side.BUY else -1
            move(
                trade.taker_account,
                taker_sign * notional(taker_price, leg.size),
                trade.token_id,
                -taker_sign * leg.size,
            )
            move(
                leg.account,
                maker_sign * notional(leg.price, leg.size),
                leg.token_id,
                -maker_sign * leg.size,
            )
            if leg.match_kind == "mint":
                vault -= leg.size
            elif leg.match_kind == "merge":
                vault += leg.size
        # The taker paid the fee on a BUY and had it withheld on a SELL: refund either way.
        move(trade.taker_account, trade.fee, trade.token_id, 0)
        for account, amount in cash.items():
            free = self._account(account).free
            if free + amount < 0:
                raise VoidError(
                    f"trade {trade_id}: {account} holds {free} free collateral, "
                    f"reversal needs {-amount}"
                )
        for (account, token), count in shares.items():
            held = self._account(account).shares_free.get(token, 0)
            if held + count < 0:
                raise VoidError(
                    f"trade {trade_id}: {account} holds {held} free shares of {token}, "
                    f"reversal needs {-count}"
                )
        for account, amount in cash.items():
            self._account(account).free += amount
        for (account, token), count in shares.items():
            acc = self._account(account)
            self._credit_shares(acc, token, count)
            self._drop_zero(acc.shares_free, token)
        for leg, rebate in zip(trade.maker_legs, rebates, strict=True):
            if unpaid:
                self._take_accrual(market, leg.account, rebate)
            else:
                self._accounts[leg.account].rebates_paid -= rebate
        self._fees -= trade.fee - sum(rebates)
        market.vault += vault
        self._voided.add(trade_id)
        self._step += 1
        event = TradeVoided(trade_id, trade.condition_id, ts)
        self._events.append(event)
        return event

    # Internals: validation.

    def _validate_static(self, req: OrderRequest, oid: str, ts: int) -> str:
        """Checks that do not look at the book or balances, in the venue's order."""
        if req.post_only and not req.order_type.rests:
            return ERR_POST_ONLY_TYPE
        cid = self._token_market.get(req.token_id)
        if cid is None:
            return ERR_MARKET_NOT_FOUND
        market = self._markets[cid]
        if market.status is MarketStatus.PENDING:
            return ERR_MARKET_NOT_READY
        if market.status is not MarketStatus.OPEN:
            return ERR_MARKET_CLOSED
        if oid in self._orders:
            return ERR_DUPLICATED
        if req.order_type is OrderType.GTD:
            if req.expiration < ts // 1000 + GTD_MIN_LIFETIME_S:
                return ERR_EXPIRATION
        elif req.expiration != 0:
            return ERR_EXPIRATION
        spec = market.spec
        if req.order_type.rests:
            if req.price % spec.tick or not spec.tick <= req.price <= UNIT - spec.tick:
                return ERR_TICK
        elif req.price % VALID_TICKS[-1] or not 0 < req.price < UNIT:
            # FOK/FAK carry a worst price, which may be off the market's tick grid.
            return ERR_TICK
        if req.size > 0 and req.size % SIZE_STEP:
            return ERR_SIZE_PRECISION
        too_small = req.size < spec.min_size if req.order_type.rests else req.size <= 0
        if too_small:
            return ERR_MIN_SIZE.format(
                order_id=oid, size=format_units(req.size), minimum=format_units(spec.min_size)
            )
        return ""

    def _check_balance(self, order: _Order, plan: list[_Fill], filled: int) -> str:
        """Whether the account can pay for the order; the venue's text if not.

        A BUY needs its limit notional plus the fee bound. The exact cost of the fills
        plus the reservation of any resting remainder is also required; it is normally
        below the bound, but per-fill fee rounding can add a few micro-USDC.
        """
        acc = self._accounts.get(order.account) or _Account()
        spec = order.spec
        rest = order.original_size - filled if order.order_type.rests else 0
        if order.side is Side.BUY:
            exact = sum(self._taker_cost(f) + self._fee(spec, f) for f in plan)
            exact += buy_reservation(spec, order.price, rest) if rest else 0
            needed = max(exact, buy_reservation(spec, order.price, order.original_size))
            if acc.free < needed:
                return ERR_BALANCE.format(balance=acc.free, amount=needed)
            return ""
        have = acc.shares_free.get(order.token_id, 0)
        if have < order.original_size:
            return ERR_BALANCE.format(balance=have, amount=order.original_size)
        net = sum(notional(f.taker_price, f.size) - self._fee(spec, f) for f in plan)
        if acc.free + net < 0:
            return ERR_BALANCE.format(balance=acc.free, amount=-net)
        return ""

    # Internals: matching.

    def _plan(self, order: _Order) -> list[_Fill]:
        """The fills the order would get now, best first, without changing anything."""
        fills: list[_Fill] = []
        left = order.original_size
        for taker_price, maker, kind in self._candidates(order):
            if left == 0:
                break
            size = min(left, maker.remaining)
            fills.append(_Fill(maker, size, kind, taker_price))
            left -= size
        return fills

    def _candidates(self, order: _Order) -> Iterator[tuple[int, _Order, MatchKind]]:
        """Resting orders the taker can trade with, in priority order, lazily."""
        book = self._books[order.token_id]
        other = self._books[order.spec.other_token(order.token_id)]
        if order.side is Side.SELL:
            same_bids = self._bids_at_or_above(book.bids, order.price)
            if not self._unified:
                return same_bids
            merge = self._merge_asks(other.asks, order.price)
            return heapq.merge(same_bids, merge, key=lambda c: (-c[0], c[1].arrival))
        same = self._asks_at_or_below(book.asks, order.price)
        mint = self._mint_bids(other.bids, order.price)
        return heapq.merge(same, mint, key=lambda c: (c[0], c[1].arrival))

    @staticmethod
    def _asks_at_or_below(asks: _BookSide, limit: int) -> Iterator[tuple[int, _Order, MatchKind]]:
        for price in asks.prices:
            if price > limit:
                return
            for maker in asks.levels[price]:
                yield price, maker, "complementary"

    @staticmethod
    def _mint_bids(bids: _BookSide, limit: int) -> Iterator[tuple[int, _Order, MatchKind]]:
        for price in reversed(bids.prices):
            effective = UNIT - price
            if effective > limit:
                return
            for maker in bids.levels[price]:
                yield effective, maker, "mint"

    @staticmethod
    def _merge_asks(asks: _BookSide, limit: int) -> Iterator[tuple[int, _Order, MatchKind]]:
        """Asks of the other outcome a SELL at `limit` merges with (a + limit <= 1.00)."""
        for price in asks.prices:
            effective = UNIT - price
            if effective < limit:
                return
            for maker in asks.levels[price]:
                yield effective, maker, "merge"

    @staticmethod
    def _bids_at_or_above(bids: _BookSide, limit: int) -> Iterator[tuple[int, _Order, MatchKind]]:
        for price in reversed(bids.prices):
            if price < limit:
                return
            for maker in bids.levels[price]:
                yield price, maker, "complementary"

    def _execute(self, order: _Order, plan: list[_Fill], ts: int) -> SubmitResult:
        self._step += 1
        spec = order.spec
        taker = self._account(order.account)
        self._orders[order.order_id] = order
        legs: list[MakerLeg] = []
        updates: list[_Order] = []
        making = taking = fee_total = 0
        rebates: list[int] = []
        market = self._markets[spec.condition_id]
        trade_id = self._new_trade_id() if plan else ""
        for fill in plan:
            maker = fill.maker
            fee = self._fee(spec, fill)
            rebate = spec.fees.maker_rebate(fee)
            rebates.append(rebate)
            if rebate:
                market.rebates[maker.account] = market.rebates.get(maker.account, 0) + rebate
            cost = self._taker_cost(fill)
            if order.side is Side.BUY:
                taker.free -= cost + fee
                self._credit_shares(taker, order.token_id, fill.size)
                making += cost
                taking += fill.size
            else:
                taker.shares_free[order.token_id] -= fill.size
                taker.free += cost - fee
                making += fill.size
                taking += cost
            fee_total += fee
            self._fees += fee - rebate
            if fill.kind == "mint":
                market.vault += fill.size
            elif fill.kind == "merge":
                market.vault -= fill.size
            self._fill_maker(maker, fill, trade_id)
            order.remaining -= fill.size
            legs.append(
                MakerLeg(
                    maker.order_id,
                    maker.account,
                    maker.token_id,
                    maker.side,
                    maker.price,
                    fill.size,
                    fill.kind,
                )
            )
            if maker not in updates:
                updates.append(maker)
        self._drop_zero(taker.shares_free, order.token_id)
        trades: tuple[TradeExecuted, ...] = ()
        if plan:
            order.trade_ids.append(trade_id)
            trade = TradeExecuted(
                trade_id=trade_id,
                condition_id=spec.condition_id,
                taker_order_id=order.order_id,
                taker_account=order.account,
                token_id=order.token_id,
                side=order.side,
                price=plan[-1].taker_price,
                size=order.original_size - order.remaining,
                fee=fee_total,
                maker_legs=tuple(legs),
                ts_ms=ts,
            )
            trades = (trade,)
            self._trades[trade_id] = trade
            if any(rebates):
                self._trade_rebates[trade_id] = tuple(rebates)
            self._events.append(trade)
            for maker in updates:
                self._events.append(self._updated_event(maker, trade_id, ts))
        if order.remaining == 0:
            order.status = OrderStatus.MATCHED
        elif order.order_type.rests:
            self._rest(order, taker)
            self._events.append(self._placed_event(order, ts))
        else:
            order.status = OrderStatus.CANCELED  # FAK remainder is killed
        self._flush_levels(ts)
        status: SubmitStatus = "matched" if plan else "live"
        return SubmitResult(True, "", order.order_id, status, trades, making, taking, fee_total)

    def _fill_maker(self, maker: _Order, fill: _Fill, trade_id: str) -> None:
        acc = self._accounts[maker.account]
        spec = maker.spec
        book_side = self._books[maker.token_id].side(maker.side)
        maker.remaining -= fill.size
        book_side.reduce(maker.price, fill.size)
        self._touch(maker.token_id, maker.side, maker.price)
        if maker.side is Side.BUY:
            paid = notional(maker.price, fill.size)
            new_reserve = buy_reservation(spec, maker.price, maker.remaining)
            release = maker.reserved - paid - new_reserve
            acc.reserved -= maker.reserved - new_reserve
            acc.free += release
            maker.reserved = new_reserve
            self._credit_shares(acc, maker.token_id, fill.size)
        else:
            maker.reserved -= fill.size
            acc.shares_reserved[maker.token_id] -= fill.size
            self._drop_zero(acc.shares_reserved, maker.token_id)
            acc.free += notional(maker.price, fill.size)
        if trade_id not in maker.trade_ids:
            maker.trade_ids.append(trade_id)
        if maker.remaining == 0:
            book_side.pop_front(maker.price)
            maker.status = OrderStatus.MATCHED
            del self._open[maker.order_id]

    def _rest(self, order: _Order, acc: _Account) -> None:
        if order.side is Side.BUY:
            order.reserved = buy_reservation(order.spec, order.price, order.remaining)
            acc.free -= order.reserved
            acc.reserved += order.reserved
        else:
            order.reserved = order.remaining
            acc.shares_free[order.token_id] -= order.remaining
            self._drop_zero(acc.shares_free, order.token_id)
            acc.shares_reserved[order.token_id] = (
                acc.shares_reserved.get(order.token_id, 0) + order.remaining
            )
        self._books[order.token_id].side(order.side).add(order)
        self._open[order.order_id] = order
        self._touch(order.token_id, order.side, order.price)

    def _cancel_many(self, victims: list[_Order], reason: CancelReason, ts: int) -> list[str]:
        if not victims:
            return []
        self._step += 1
        status = {
            "user": OrderStatus.CANCELED,
            "expired": OrderStatus.INVALID,
            "market_closed": OrderStatus.CANCELED_MARKET_RESOLVED,
            "fok_killed": OrderStatus.CANCELED,
        }[reason]
        for order in victims:
            acc = self._accounts[order.account]
            self._books[order.token_id].side(order.side).remove(order)
            self._touch(order.token_id, order.side, order.price)
            if order.side is Side.BUY:
                acc.reserved -= order.reserved
                acc.free += order.reserved
            else:
                acc.shares_reserved[order.token_id] -= order.reserved
                self._drop_zero(acc.shares_reserved, order.token_id)
                self._credit_shares(acc, order.token_id, order.reserved)
            order.reserved = 0
            order.status = status
            del self._open[order.order_id]
            self._events.append(self._cancelled_event(order, reason, ts))
        self._flush_levels(ts)
        return [o.order_id for o in victims]

    # Internals: helpers.

    @staticmethod
    def _taker_cost(fill: _Fill) -> int:
        """Collateral the taker pays (BUY) or receives (SELL) for one fill, before fees."""
        return notional(fill.taker_price, fill.size)

    @staticmethod
    def _take_accrual(market: _Market, account: str, amount: int) -> None:
        """Withdraw part of an unpaid rebate accrual, dropping it when it reaches zero."""
        left = market.rebates.get(account, 0) - amount
        if left:
            market.rebates[account] = left
        else:
            market.rebates.pop(account, None)

    @staticmethod
    def _fee(spec: MarketSpec, fill: _Fill) -> int:
        return spec.fees.taker_fee(fill.taker_price, fill.size)

    def _touch(self, token_id: str, side: Side, price: int) -> None:
        self._touched[(token_id, side, price)] = None

    def _flush_levels(self, ts: int) -> None:
        """Emit one LevelChanged per level this operation touched, in first-touch order."""
        levels: Iterable[tuple[str, Side, int]] = self._touched
        if self._unified:
            # Every level shows in both books: its own, and the other outcome's mirror.
            mirrored: dict[tuple[str, Side, int], None] = {}
            for token, side, price in self._touched:
                mirrored[(token, side, price)] = None
                mirrored[self._mirror(token, side, price)] = None
            levels = mirrored
        for token, side, price in levels:
            cid = self._token_market[token]
            size = self._level_total(token, side, price)
            self._events.append(LevelChanged(cid, token, side, price, size, ts, self._step))
        self._touched.clear()

    def _mirror(self, token_id: str, side: Side, price: int) -> tuple[str, Side, int]:
        """Where a level of one outcome shows in the other's book: opposite side, 1 - p."""
        other = self._spec_of(token_id).other_token(token_id)
        return other, Side.SELL if side is Side.BUY else Side.BUY, UNIT - price

    def _level_total(self, token_id: str, side: Side, price: int) -> int:
        """A published level's size: own orders, plus the mirrored ones when unified."""
        size = self._books[token_id].side(side).total(price)
        if self._unified:
            other, other_side, other_price = self._mirror(token_id, side, price)
            size += self._books[other].side(other_side).total(other_price)
        return size

    def _reject(self, oid: str, error: str) -> SubmitResult:
        return SubmitResult(False, error, oid, "unmatched")

    def _clock(self, now_ms: int | None) -> int:
        if now_ms is not None:
            self._now_ms = now_ms
        return self._now_ms

    def _account(self, name: str) -> _Account:
        acc = self._accounts.get(name)
        if acc is None:
            acc = self._accounts[name] = _Account()
        return acc

    def _spec_of(self, token_id: str) -> MarketSpec:
        return self._markets[self._token_market[token_id]].spec

    @staticmethod
    def _credit_shares(acc: _Account, token_id: str, size: int) -> None:
        if size:
            acc.shares_free[token_id] = acc.shares_free.get(token_id, 0) + size

    @staticmethod
    def _drop_zero(shares: dict[str, int], token_id: str) -> None:
        if shares.get(token_id) == 0:
            del shares[token_id]

    def _new_order_id(self, req: OrderRequest, ts: int) -> str:
        text = (
            f"{self._id_seed}|order|{self._order_counter}|{req.account}|{req.token_id}|"
            f"{int(req.side)}|{req.price}|{req.size}|{req.order_type}|{req.expiration}|{ts}"
        )
        return "0x" + hashlib.sha256(text.encode()).hexdigest()

    def _new_trade_id(self) -> str:
        self._trade_counter += 1
        digest = hashlib.sha256(f"{self._id_seed}|trade|{self._trade_counter}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    @staticmethod
    def _view(order: _Order) -> OrderView:
        return OrderView(
            order_id=order.order_id,
            account=order.account,
            condition_id=order.spec.condition_id,
            token_id=order.token_id,
            side=order.side,
            price=order.price,
            original_size=order.original_size,
            size_matched=order.size_matched,
            order_type=order.order_type,
            expiration=order.expiration,
            post_only=order.post_only,
            client_id=order.client_id,
            created_ms=order.created_ms,
            arrival=order.arrival,
            status=order.status,
            associate_trades=tuple(order.trade_ids),
        )

    @staticmethod
    def _order_fields(order: _Order) -> _OrderFields:
        """The fields every order event starts with, in their declared order."""
        return (
            order.order_id,
            order.account,
            order.spec.condition_id,
            order.token_id,
            order.side,
            order.price,
            order.original_size,
            order.size_matched,
            order.order_type,
            order.expiration,
            order.created_ms,
        )

    @classmethod
    def _placed_event(cls, order: _Order, ts: int) -> OrderPlaced:
        return OrderPlaced(*cls._order_fields(order), ts)

    @classmethod
    def _updated_event(cls, order: _Order, trade_id: str, ts: int) -> OrderUpdated:
        return OrderUpdated(*cls._order_fields(order), trade_id, ts)

    @classmethod
    def _cancelled_event(cls, order: _Order, reason: CancelReason, ts: int) -> OrderCancelled:
        return OrderCancelled(*cls._order_fields(order), reason, ts)
