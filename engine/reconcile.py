"""Reconciliation (pure): the journal matched with what the venue says, and the fixes.

Inputs are the journal's state and the venue's answers in the venue's own shapes: open
orders (OpenOrder dicts), our account's trades (Trade dicts with `maker_orders` legs),
balances, and answers to targeted per-order lookups. Any answer may be `CouldNotAsk`:
the query failed, which is never read as "the venue has nothing". The result lists the
journal records that bring the journal in line with the venue (fills missed, fills that
failed or never happened, orders adopted or closed, baselines), the orders that need a
targeted lookup before they may be declared gone, and the mismatches no record can fix
(foreign orders or fills on the account, positions or cash that still differ): those
halt trading.

The round is done in two passes: the first returns `needs_lookup` (journal orders the
venue's open orders no longer list); the caller asks for each by id and calls again with
`lookups`. An order is closed only on the venue's word: a terminal status from a lookup,
or "not found" together with a trade history covering the order's whole life.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, final

from engine.journal import (
    AdoptedRecord,
    BaselineRecord,
    ClosedRecord,
    FillRecord,
    FillStatus,
    JournalOrder,
    JournalState,
    OrderPhase,
    Record,
    SettlementRecord,
)
from engine.orderfsm import OrderState
from engine.units import UNIT, Side, format_units, parse_units


class VenueDataError(ValueError):
    """A venue answer that does not have the documented shape (the venue's text kept)."""


@dataclass(frozen=True, slots=True)
class CouldNotAsk:
    """The venue could not be asked (timeout, 5xx, connection lost): no answer at all."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"could not ask the venue for {self.what}: {self.reason}"


@final
class NotFound:
    """The venue answered a lookup by id: no such order."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_FOUND"


NOT_FOUND: Final = NotFound()

Lookup = Mapping[str, Any] | NotFound | CouldNotAsk


@dataclass(frozen=True, slots=True)
class VenueTrades:
    """Every trade of the account with match_time > `after` (all of them when None)."""

    trades: Sequence[Mapping[str, Any]]
    after: int | None = None

    def covers(self, match_time: int) -> bool:
        return self.after is None or match_time > self.after


@dataclass(frozen=True, slots=True)
class VenueBalances:
    """Collateral and conditional-token balances (integer micro units), as asked."""

    collateral: int
    tokens: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """The fields of an OpenOrder that reconciliation uses."""

    order_id: str
    status: str
    token_id: str
    condition_id: str
    side: Side
    price: int
    original_size: int
    size_matched: int


LIVE_STATUSES = frozenset({"LIVE", "DELAYED"})
CANCELED_STATUSES = frozenset(
    {
        "CANCELED",
        "CANCELED_MARKET_RESOLVED",
        "UNMATCHED",
        "CANCELED_NOT_ENOUGH_BALANCE",
        "CANCELED_MARKET_NOT_FOUND",
        "CANCELED_EXPIRED_ORDER",
        "CANCELED_ORDER_TIMED_OUT",
    }
)


def parse_open_order(data: Mapping[str, Any]) -> VenueOrder:
    """An OpenOrder dict (GET /data/orders, /data/order/{id}); VenueDataError if malformed."""
    try:
        return VenueOrder(
            order_id=str(data["id"]),
            status=str(data["status"]).upper().removeprefix("ORDER_STATUS_"),
            token_id=str(data["asset_id"]),
            condition_id=str(data.get("market") or ""),
            side=Side.parse(str(data["side"])),
            price=parse_units(str(data["price"])),
            original_size=parse_units(str(data["original_size"])),
            size_matched=parse_units(str(data.get("size_matched") or "0")),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise VenueDataError(f"malformed open order {dict(data)!r}: {exc}") from None


def fills_of_trade(
    trade: Mapping[str, Any], orders: Mapping[str, JournalOrder]
) -> tuple[list[FillRecord], list[str]]:
    """Our fills in one Trade (spec 2 and 5), and descriptions of foreign legs.

    Keys follow the user channel's: a maker leg is (trade id, maker order id); the taker's
    part against maker leg i is ("<trade id>#i", taker order id), at that leg's price
    (mirrored, 1 - p, when the maker holds the other outcome: a mint or a merge). A leg
    of this account (taker side, or a maker leg owned like the trade) whose order the
    journal never signed is foreign.
    """
    try:
        trade_id = str(trade["id"])
        status = FillStatus.parse(str(trade["status"]))
        match_time = int(str(trade["match_time"]))
        taker_id = str(trade["taker_order_id"])
        taker_asset = str(trade["asset_id"])
        taker_side = Side.parse(str(trade["side"]))
        legs = trade.get("maker_orders") or []
        ours_as_taker = str(trade.get("trader_side", "")).upper() == "TAKER"
        owner = str(trade.get("owner") or "")
        fills: list[FillRecord] = []
        foreign: list[str] = []
        taker = orders.get(taker_id)
        if taker is None and ours_as_taker:
            foreign.append(f"trade {trade_id}: taker order {taker_id} was never signed here")
        merged: dict[tuple[str, str], FillRecord] = {}
        for index, leg in enumerate(legs):
            size = parse_units(str(leg["matched_amount"]))
            leg_price = parse_units(str(leg["price"]))
            leg_asset = str(leg["asset_id"])
            if taker is not None:
                price = leg_price if leg_asset == taker_asset else UNIT - leg_price
                fee = taker.fees.taker_fee(price, size)
                fill = _fill(taker, f"{trade_id}#{index}", trade_id, taker_asset, taker_side,
                             price, size, fee, "taker", status, match_time)  # fmt: skip
                merged[fill.fill_key] = fill
            maker_id = str(leg["order_id"])
            maker = orders.get(maker_id)
            if maker is None:
                if owner and str(leg.get("owner") or "") == owner and not ours_as_taker:
                    foreign.append(
                        f"trade {trade_id}: maker order {maker_id} was never signed here"
                    )
                continue
            side = Side.parse(str(leg["side"]))
            fill = _fill(maker, trade_id, trade_id, leg_asset, side, leg_price, size, 0,
                         "maker", status, match_time)  # fmt: skip
            known = merged.get(fill.fill_key)
            if known is not None:  # the same order twice in one trade: one fill, summed
                fill = replace(fill, size=known.size + fill.size)
            merged[fill.fill_key] = fill
        fills.extend(merged.values())
    except (KeyError, ValueError, TypeError) as exc:
        raise VenueDataError(f"malformed trade {trade.get('id')!r}: {exc}") from None
    return fills, foreign


def _fill(
    order: JournalOrder,
    fill_id: str,
    trade_id: str,
    token_id: str,
    side: Side,
    price: int,
    size: int,
    fee: int,
    liquidity: str,
    status: FillStatus,
    match_time: int,
) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        trade_id=trade_id,
        order_id=order.order_id,
        strategy=order.signed.strategy,
        condition_id=order.signed.condition_id,
        token_id=token_id,
        side=side,
        price=price,
        size=size,
        fee=fee,
        liquidity="taker" if liquidity == "taker" else "maker",
        status=status,
        match_time=match_time,
    )


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A difference no journal record can explain; `kind` names the check."""

    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The outcome of one pass: records to journal, lookups to make, what differs."""

    booked: tuple[FillRecord, ...] = ()
    """Fills at the venue the journal missed (each key once)."""
    updated: tuple[FillRecord, ...] = ()
    """Known fills whose settlement status moved (FAILED ones are reversals)."""
    voided: tuple[FillRecord, ...] = ()
    """Journal fills the venue does not list within the range it answered for (FAILED)."""
    adopted: tuple[AdoptedRecord, ...] = ()
    closed: tuple[ClosedRecord, ...] = ()
    baseline: BaselineRecord | None = None
    needs_lookup: tuple[str, ...] = ()
    could_not_ask: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()
    """Differences explained by trades still settling: checked again next round."""
    unverified: tuple[str, ...] = ()
    """Baselines inferred (a token first seen with fills already booked)."""
    mismatches: tuple[Mismatch, ...] = ()
    settled: tuple[SettlementRecord, ...] = ()
    """Resolutions read from the venue that the journal had not settled yet."""

    @property
    def complete(self) -> bool:
        """Every question was answered (nothing failed, no lookup outstanding)."""
        return not self.needs_lookup and not self.could_not_ask

    @property
    def halt(self) -> bool:
        return bool(self.mismatches)

    @property
    def ok(self) -> bool:
        return self.complete and not self.halt

    @property
    def records(self) -> tuple[Record, ...]:
        """The corrections, in the order to journal them."""
        out: list[Record] = [*self.booked, *self.updated, *self.voided]
        out += [*self.adopted, *self.closed, *self.settled]
        if self.baseline is not None:
            out.append(self.baseline)
        return tuple(out)

    @property
    def reversals(self) -> tuple[FillRecord, ...]:
        return tuple(f for f in (*self.updated, *self.voided) if f.status is FillStatus.FAILED)

    def message(self) -> str:
        """One line for the operator: every mismatch, or what is left open."""
        if self.mismatches:
            details = "; ".join(m.detail for m in self.mismatches)
            return f"reconciliation mismatch, trading halted: {details}"
        if not self.complete:
            parts = [*self.could_not_ask]
            if self.needs_lookup:
                parts.append(f"{len(self.needs_lookup)} orders need a lookup by id")
            return "reconciliation incomplete: " + "; ".join(parts)
        return "reconciliation ok"


def tokens_to_query(journal: JournalState, extra: Iterable[str] = ()) -> list[str]:
    """Conditional tokens whose balances a round needs: every token the journal knows
    (orders, fills, baselines) plus the session's own."""
    return sorted(journal.tokens | set(extra))


@dataclass
class _Pass:
    journal: JournalState
    state: JournalState
    exclude: Collection[str]
    settling: Collection[str] = ()
    mismatches: list[Mismatch] = field(default_factory=list)
    could_not_ask: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    needs_lookup: list[str] = field(default_factory=list)
    booked: list[FillRecord] = field(default_factory=list)
    updated: list[FillRecord] = field(default_factory=list)
    voided: list[FillRecord] = field(default_factory=list)
    adopted: list[AdoptedRecord] = field(default_factory=list)
    closed: list[ClosedRecord] = field(default_factory=list)
    settled: list[SettlementRecord] = field(default_factory=list)

    def mismatch(self, kind: str, detail: str) -> None:
        self.mismatches.append(Mismatch(kind, detail))


def reconcile(
    journal: JournalState,
    open_orders: Sequence[Mapping[str, Any]] | CouldNotAsk,
    trades: VenueTrades | CouldNotAsk,
    balances: VenueBalances | CouldNotAsk,
    lookups: Mapping[str, Lookup] | None = None,
    *,
    exclude: Collection[str] = (),
    settling: Collection[str] = (),
    settlements: Sequence[SettlementRecord] = (),
) -> Reconciliation:
    """Match the journal with the venue's answers (see the module docstring).

    `exclude` names orders a running order actor owns right now: they are not adopted,
    closed or looked up (their actor follows them), but their fills are still checked.
    `settling` names tokens whose market has closed and whose settlement the engine has
    not yet heard of: the venue may already have redeemed them, so a difference in their
    positions (and in cash) is deferred, not a mismatch.
    `settlements` are resolutions read from the venue (engine/resolutions.py): each one
    the journal has not settled is applied after the fills and orders, so it redeems the
    fills booked in this pass too, and is returned for journaling (a genesis pass takes
    none: its baseline is read after any redemption). `balances` must hold every token of
    `tokens_to_query(journal)`. Raises
    VenueDataError for an answer without the documented shape.
    """
    p = _Pass(journal, journal.copy(), exclude, settling)
    genesis = not journal.has_baseline
    answered_trades = not isinstance(trades, CouldNotAsk)
    if isinstance(trades, CouldNotAsk):
        p.could_not_ask.append(str(trades))
    elif not genesis:
        _match_fills(p, trades)
    for fill in (*p.booked, *p.updated, *p.voided):
        p.state.apply(fill)
    if isinstance(open_orders, CouldNotAsk):
        p.could_not_ask.append(str(open_orders))
    else:
        _match_orders(p, open_orders, trades, lookups or {})
    decided: list[Record] = [*p.adopted, *p.closed]
    for record in decided:
        p.state.apply(record)
    if not genesis:
        for settlement in settlements:
            if p.state.apply(settlement):
                p.settled.append(settlement)
    baseline: BaselineRecord | None = None
    if isinstance(balances, CouldNotAsk):
        p.could_not_ask.append(str(balances))
    elif answered_trades:
        assert not isinstance(trades, CouldNotAsk)
        baseline = _genesis(p, trades, balances) if genesis else _match_balances(p, balances)
    return Reconciliation(
        booked=tuple(p.booked),
        updated=tuple(p.updated),
        voided=tuple(p.voided),
        adopted=tuple(p.adopted),
        closed=tuple(p.closed),
        baseline=baseline,
        needs_lookup=tuple(p.needs_lookup),
        could_not_ask=tuple(p.could_not_ask),
        deferred=tuple(p.deferred),
        unverified=tuple(p.unverified),
        mismatches=tuple(p.mismatches),
        settled=tuple(p.settled),
    )


def _new_trade(journal: JournalState, trade_id: str, match_time: int) -> bool:
    """Whether a trade is after the baseline (older ones are already in it)."""
    if journal.trades_after is None:
        return True
    return match_time > journal.trades_after and trade_id not in journal.boundary_trades


def _match_fills(p: _Pass, trades: VenueTrades) -> None:
    venue: dict[tuple[str, str], FillRecord] = {}
    for trade in trades.trades:
        trade_id, match_time = _trade_time(trade)
        if not _new_trade(p.journal, trade_id, match_time):
            continue
        fills, foreign = fills_of_trade(trade, p.journal.orders)
        for text in foreign:
            p.mismatch("foreign_fill", text)
        for fill in fills:
            venue[fill.fill_key] = fill
    for key, fill in venue.items():
        known = p.journal.fills.get(key)
        if known is None:
            p.booked.append(fill)
        elif known.status != fill.status:
            if known.status.final:
                p.mismatch(
                    "fill_status",
                    f"fill {key[0]} of order {key[1]} is {known.status} here "
                    f"but {fill.status} at the venue",
                )
            else:
                p.updated.append(replace(known, status=fill.status))
        elif (known.size, known.price, known.side) != (fill.size, fill.price, fill.side):
            p.mismatch(
                "fill",
                f"fill {key[0]} of order {key[1]}: journal {_leg(known)}, venue {_leg(fill)}",
            )
    for key, fill in p.journal.fills.items():
        if (
            key not in venue
            and fill.status is not FillStatus.FAILED
            and trades.covers(fill.match_time)
            and _new_trade(p.journal, fill.trade_id, fill.match_time)
        ):
            p.voided.append(replace(fill, status=FillStatus.FAILED))


def _trade_time(trade: Mapping[str, Any]) -> tuple[str, int]:
    try:
        return str(trade["id"]), int(str(trade["match_time"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise VenueDataError(f"malformed trade {dict(trade)!r}: {exc}") from None


def _leg(fill: FillRecord) -> str:
    return f"{fill.side.name} {format_units(fill.size)}@{format_units(fill.price)}"


def _match_orders(
    p: _Pass,
    open_orders: Sequence[Mapping[str, Any]],
    trades: VenueTrades | CouldNotAsk,
    lookups: Mapping[str, Lookup],
) -> None:
    listed = {o.order_id: o for o in (parse_open_order(raw) for raw in open_orders)}
    for order_id, venue in listed.items():
        order = p.journal.orders.get(order_id)
        if order is None:
            p.mismatch(
                "foreign_order",
                f"order {order_id} ({venue.side.name} {format_units(venue.original_size)}@"
                f"{format_units(venue.price)} of token {venue.token_id}) is open at the venue "
                "but was never signed here: cancel it or use another account",
            )
        elif order_id not in p.exclude:
            _decide(p, order, venue, trades)
    for order in p.journal.orders.values():
        if order.order_id in listed or order.order_id in p.exclude:
            continue
        if order.phase is OrderPhase.CLOSED:
            continue
        answer = lookups.get(order.order_id)
        if answer is None:
            p.needs_lookup.append(order.order_id)
        elif isinstance(answer, CouldNotAsk):
            p.could_not_ask.append(str(answer))
        elif isinstance(answer, NotFound):
            _not_found(p, order, trades)
        else:
            venue = parse_open_order(answer)
            if venue.order_id != order.order_id:
                raise VenueDataError(f"asked for order {order.order_id}, got {venue.order_id}")
            _decide(p, order, venue, trades)


def _decide(
    p: _Pass, order: JournalOrder, venue: VenueOrder, trades: VenueTrades | CouldNotAsk
) -> None:
    """What the venue's word about one of our orders means for the journal."""
    status = venue.status
    if (venue.token_id, venue.side, venue.price, venue.original_size) != (
        order.signed.token_id,
        order.signed.side,
        order.signed.price,
        order.signed.size,
    ):
        p.mismatch(
            "order",
            f"order {order.order_id}: signed {order.signed.side.name} "
            f"{format_units(order.signed.size)}@{format_units(order.signed.price)}, the venue "
            f"has {venue.side.name} {format_units(venue.original_size)}@"
            f"{format_units(venue.price)}",
        )
        return
    _check_filled(p, order, venue.size_matched, trades)
    if status in LIVE_STATUSES:
        if order.phase is not OrderPhase.LIVE:
            p.adopted.append(AdoptedRecord(order.order_id, status, venue.size_matched))
        return
    if status == "MATCHED" or (
        status in CANCELED_STATUSES and venue.size_matched >= venue.original_size
    ):
        terminal = OrderState.FILLED
    elif status in CANCELED_STATUSES:
        terminal = OrderState.CANCELED
    elif status == "INVALID":
        terminal = OrderState.REJECTED
    else:
        p.mismatch("order", f"order {order.order_id}: unknown venue status {status!r}")
        return
    if order.phase is not OrderPhase.CLOSED:
        p.closed.append(
            ClosedRecord(order.order_id, terminal.value, venue.size_matched, f"venue: {status}")
        )


def _check_filled(
    p: _Pass, order: JournalOrder, size_matched: int, trades: VenueTrades | CouldNotAsk
) -> None:
    """The venue's size_matched must equal our fills, once trades covering it are known."""
    if isinstance(trades, CouldNotAsk) or not _covers_life(p.journal, trades, order):
        return
    ours = p.state.filled(order.order_id)
    if ours == size_matched:
        return
    pending = any(
        not f.status.final for f in p.state.fills.values() if f.order_id == order.order_id
    )
    text = (
        f"order {order.order_id}: the venue matched {format_units(size_matched)}, "
        f"fills here add up to {format_units(ours)}"
    )
    if pending:
        p.deferred.append(text)
    else:
        p.mismatch("fills", text)


def _covers_life(journal: JournalState, trades: VenueTrades, order: JournalOrder) -> bool:
    """Whether the trade answer (plus the baseline) covers every trade the order could
    have: the answer starts no later than the baseline, or before the order was signed."""
    if trades.after is None:
        return True
    if journal.trades_after is not None and trades.after <= journal.trades_after:
        return True
    return trades.after < order.signed.signed_at_ms // 1000 - CLOCK_SLACK_S


CLOCK_SLACK_S = 60
"""Allowed difference between the signing clock and the venue's match clock."""


def _not_found(p: _Pass, order: JournalOrder, trades: VenueTrades | CouldNotAsk) -> None:
    """The venue does not know the order by id: its trades decide what became of it."""
    if isinstance(trades, CouldNotAsk):
        p.could_not_ask.append(f"order {order.order_id}: not found, and no trades to decide")
        return
    if not _covers_life(p.journal, trades, order):
        p.mismatch(
            "lost_order",
            f"order {order.order_id} is unknown to the venue and its trades before "
            f"{trades.after} were not asked",
        )
        return
    filled = p.state.filled(order.order_id)
    if filled >= order.signed.size:
        state, reason = OrderState.FILLED, "venue: not found; fully filled by its trades"
    elif filled > 0:
        state, reason = OrderState.CANCELED, "venue: not found; partly filled, rest gone"
    elif order.phase is OrderPhase.LIVE:
        state, reason = OrderState.CANCELED, "venue: not found; no fills"
    else:
        state, reason = OrderState.REJECTED, "venue: not found; never reached the venue"
    p.closed.append(ClosedRecord(order.order_id, state.value, filled, reason))


def _genesis(p: _Pass, trades: VenueTrades, balances: VenueBalances) -> BaselineRecord:
    """The first round of a journal: what the account holds now is the baseline, and
    every trade so far is history (older than the baseline)."""
    times = [_trade_time(t) for t in trades.trades]
    latest = max((when for _, when in times), default=None)
    boundary = tuple(sorted(trade_id for trade_id, when in times if when == latest))
    fills = p.state.positions
    positions = {t: amount - fills.get(t, 0) for t, amount in balances.tokens.items()}
    cash_fills = sum(
        f.cash_delta for f in p.state.fills.values() if f.status is not FillStatus.FAILED
    )
    return BaselineRecord(
        positions=positions,
        cash=balances.collateral - cash_fills,
        trades_after=None if latest is None else latest - 1,
        boundary_trades=boundary,
    )


def _match_balances(p: _Pass, balances: VenueBalances) -> BaselineRecord | None:
    """Positions and cash after every correction, against the venue's balances."""
    state = p.state
    positions = state.positions
    pending_tokens = {f.token_id for f in state.fills.values() if not f.status.final}
    pending_tokens.update(p.settling)
    new: dict[str, int] = {}
    for token in tokens_to_query(p.journal):
        if token not in balances.tokens:
            p.could_not_ask.append(f"the balance of token {token} was not asked")
    for token, amount in sorted(balances.tokens.items()):
        expected = positions.get(token, 0)
        if token not in state.baseline_positions:
            new[token] = amount - expected
            if expected:
                p.unverified.append(f"token {token}: baseline inferred with fills booked")
            continue
        if amount != expected:
            text = (
                f"position in token {token}: venue {format_units(amount)}, "
                f"journal {format_units(expected)}"
            )
            if token in pending_tokens:
                p.deferred.append(text)
            else:
                p.mismatch("position", text)
    cash = state.cash
    new_cash: int | None = None
    if cash is None:
        new_cash = balances.collateral - sum(
            f.cash_delta for f in state.fills.values() if f.status is not FillStatus.FAILED
        )
    elif cash != balances.collateral:
        text = f"cash: venue {format_units(balances.collateral)}, journal {format_units(cash)}"
        if pending_tokens:
            p.deferred.append(text)
        else:
            p.mismatch("cash", text)
    if new or new_cash is not None:
        return BaselineRecord(positions=new, cash=new_cash)
    return None
