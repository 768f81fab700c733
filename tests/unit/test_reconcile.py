"""Reconciliation (pure): a journal that missed events is brought back to the venue's state.

A small model venue plays random order histories (rejections, resting orders, partial
and full fills as maker or taker, cross-asset legs, cancels, failed trades, orders the
venue has forgotten) and answers in the venue's own shapes. The journal of that history
is cut at a random point, as a crash would cut it; reconciling the cut journal must give
back exactly the full journal's state, book no fill twice, and never close an order on a
query that failed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fees import FeeSchedule
from engine.journal import (
    BaselineRecord,
    ClosedRecord,
    FillRecord,
    FillStatus,
    JournalState,
    OrderPhase,
    Record,
    SignedRecord,
    SubmittedRecord,
)
from engine.orderfsm import OrderState
from engine.reconcile import (
    NOT_FOUND,
    CouldNotAsk,
    Lookup,
    Reconciliation,
    VenueBalances,
    VenueTrades,
    fills_of_trade,
    reconcile,
)
from engine.units import UNIT, OrderType, Side, format_units

MARKET = "0x" + "cd" * 32
YES, NO = "1111", "2222"
OURS, THEIRS = "our-key", "their-key"
FEES = FeeSchedule(rate_ppm=70_000, exponent=1)


@dataclass
class ModelOrder:
    order_id: str
    token: str
    side: Side
    price: int
    size: int
    fate: str  # rejected | live | filled | canceled
    forgotten: bool = False
    fills: list[FillRecord] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return sum(f.size for f in self.fills if f.status is not FillStatus.FAILED)

    def signed(self) -> SignedRecord:
        body = {"order": {"timestamp": "1000000", "tokenId": self.token}, "owner": OURS}
        return SignedRecord(
            self.order_id, "s", f"key-{self.order_id}", MARKET, self.token, self.side,
            self.price, self.size, OrderType.GTC, False, FEES.rate_ppm, FEES.exponent,
            1_000_000, body,
        )  # fmt: skip


@dataclass
class ModelVenue:
    orders: list[ModelOrder]
    trades: list[dict[str, Any]]
    baseline: BaselineRecord
    journal: list[Record]
    """The full journal in the order the engine would have written it."""
    signed_at: dict[str, int]
    """Index in `journal` of each order's signed record."""

    def present(self, cut: int) -> set[str]:
        """Orders that reached the venue when the journal was cut at `cut`: only
        those signed before the cut (the journal is written before sending)."""
        return {oid for oid, index in self.signed_at.items() if index < cut}

    def answers(
        self, cut: int
    ) -> tuple[list[dict[str, Any]], VenueTrades, VenueBalances, dict[str, Lookup]]:
        present = self.present(cut)
        orders = [o for o in self.orders if o.order_id in present]
        open_orders = [_open_order(o, "LIVE") for o in orders if o.fate == "live"]
        trades = [t for t in self.trades if t["_order"] in present]
        positions = dict(self.baseline.positions)
        cash = self.baseline.cash or 0
        for order in orders:
            for f in order.fills:
                if f.status is not FillStatus.FAILED:
                    positions[f.token_id] = positions.get(f.token_id, 0) + f.share_delta
                    cash += f.cash_delta
        lookups: dict[str, Lookup] = {}
        for o in orders:
            if o.fate == "rejected" or o.forgotten:
                lookups[o.order_id] = NOT_FOUND
            elif o.fate == "live":
                lookups[o.order_id] = _open_order(o, "LIVE")
            else:
                lookups[o.order_id] = _open_order(
                    o, "MATCHED" if o.fate == "filled" else "CANCELED"
                )
        public = [{k: v for k, v in t.items() if not k.startswith("_")} for t in trades]
        return open_orders, VenueTrades(public), VenueBalances(cash, positions), lookups


def _open_order(o: ModelOrder, status: str) -> dict[str, Any]:
    return {
        "id": o.order_id,
        "status": status,
        "owner": OURS,
        "market": MARKET,
        "asset_id": o.token,
        "side": o.side.name,
        "original_size": format_units(o.size),
        "size_matched": format_units(o.matched),
        "price": format_units(o.price),
        "outcome": "Up",
        "expiration": "0",
        "order_type": "GTC",
        "associate_trades": [],
        "created_at": 1000,
    }


prices = st.integers(5, 95).map(lambda n: n * 10_000)


@st.composite
def venues(draw: st.DrawFn) -> ModelVenue:
    trade_ids = itertools.count(1)
    clock = itertools.count(2_000)
    baseline = BaselineRecord(
        {YES: draw(st.integers(0, 100)) * UNIT, NO: draw(st.integers(0, 100)) * UNIT},
        cash=draw(st.integers(0, 10_000)) * UNIT,
    )
    orders: list[ModelOrder] = []
    trades: list[dict[str, Any]] = []
    per_order: list[list[Record]] = []
    for n in range(draw(st.integers(1, 5))):
        order = ModelOrder(
            f"0x{n:064x}",
            draw(st.sampled_from([YES, NO])),
            draw(st.sampled_from(list(Side))),
            draw(prices),
            draw(st.integers(5, 30)) * UNIT,
            draw(st.sampled_from(["rejected", "live", "filled", "canceled"])),
        )
        records: list[Record] = [order.signed()]
        if order.fate == "rejected":
            records.append(SubmittedRecord(order.order_id, "rejected", error="not enough balance"))
            orders.append(order)
            per_order.append(records)
            continue
        records.append(SubmittedRecord(order.order_id, "accepted", status="live"))
        if order.fate == "filled":
            parts = draw(st.integers(1, 3))
            sizes = [order.size // parts // 10_000 * 10_000] * (parts - 1)
            sizes.append(order.size - sum(sizes))
        else:
            sizes = draw(st.lists(st.integers(1, 4).map(lambda k: k * UNIT), max_size=2))
            sizes = sizes if sum(sizes) < order.size else []
        for size in sizes:
            status = (
                FillStatus.CONFIRMED
                if order.fate == "filled"
                else draw(
                    st.sampled_from([FillStatus.CONFIRMED, FillStatus.MATCHED, FillStatus.FAILED])
                )
            )
            trade_id = f"trade-{next(trade_ids)}"
            when = next(clock)
            as_taker = draw(st.booleans())
            cross = draw(st.booleans())
            if as_taker:
                trade, fills = _taker_trade(order, trade_id, size, status, when, cross)
            else:
                trade, fills = _maker_trade(order, trade_id, size, status, when)
            trade["_order"] = order.order_id
            trades.append(trade)
            order.fills.extend(fills)
            for f in fills:
                if status is not FillStatus.MATCHED and draw(st.booleans()):
                    # seen first as MATCHED on the user channel, then settled
                    records.append(_with_status(f, FillStatus.MATCHED))
                records.append(f)
        if order.fate == "filled":
            records.append(ClosedRecord(order.order_id, "filled", order.matched, "full"))
        elif order.fate == "canceled":
            records.append(ClosedRecord(order.order_id, "canceled", order.matched, "cancel"))
            order.forgotten = draw(st.booleans())
        if order.fate == "filled":
            order.forgotten = draw(st.booleans())
        orders.append(order)
        per_order.append(records)
    # Interleave the orders' records as concurrent order actors would write them.
    journal: list[Record] = [baseline]
    signed_at: dict[str, int] = {}
    queues = [list(r) for r in per_order]
    while any(queues):
        pick = draw(st.sampled_from([i for i, q in enumerate(queues) if q]))
        record = queues[pick].pop(0)
        if isinstance(record, SignedRecord):
            signed_at[record.order_id] = len(journal)
        journal.append(record)
    return ModelVenue(orders, trades, baseline, journal, signed_at)


def _with_status(f: FillRecord, status: FillStatus) -> FillRecord:
    return FillRecord(**{**{k: getattr(f, k) for k in f.__dataclass_fields__}, "status": status})


def _maker_trade(
    order: ModelOrder, trade_id: str, size: int, status: FillStatus, when: int
) -> tuple[dict[str, Any], list[FillRecord]]:
    """A foreign taker hits our resting order at our price."""
    leg = {
        "order_id": order.order_id, "owner": OURS, "maker_address": "0xours",
        "matched_amount": format_units(size), "price": format_units(order.price),
        "fee_rate_bps": "0", "asset_id": order.token, "outcome": "Up", "side": order.side.name,
    }  # fmt: skip
    trade = _trade(trade_id, "0xforeign", order.token, order.side.opposite, size, order.price,
                   status, when, "MAKER", [leg])  # fmt: skip
    fill = FillRecord(trade_id, trade_id, order.order_id, "s", MARKET, order.token, order.side,
                      order.price, size, 0, "maker", status, when)  # fmt: skip
    return trade, [fill]


def _taker_trade(
    order: ModelOrder, trade_id: str, size: int, status: FillStatus, when: int, cross: bool
) -> tuple[dict[str, Any], list[FillRecord]]:
    """Our order takes one or two foreign makers; a cross leg rests on the other token
    (a mint or merge) at the complement price."""
    half = (size // 2 // 10_000) * 10_000
    sizes = [half, size - half] if half else [size]
    legs, fills = [], []
    other = NO if order.token == YES else YES
    for index, leg_size in enumerate(sizes):
        px = order.price  # execution price for us
        on_other = cross and index == 0
        leg = {
            "order_id": f"0xtheirs-{trade_id}-{index}", "owner": THEIRS,
            "maker_address": "0xtheirs", "matched_amount": format_units(leg_size),
            "price": format_units(UNIT - px if on_other else px), "fee_rate_bps": "0",
            "asset_id": other if on_other else order.token, "outcome": "Up",
            "side": (order.side if on_other else order.side.opposite).name,
        }  # fmt: skip
        legs.append(leg)
        fills.append(
            FillRecord(
                f"{trade_id}#{index}",
                trade_id,
                order.order_id,
                "s",
                MARKET,
                order.token,
                order.side,
                px,
                leg_size,
                FEES.taker_fee(px, leg_size),
                "taker",
                status,
                when,
            )
        )
    trade = _trade(trade_id, order.order_id, order.token, order.side, size, order.price, status,
                   when, "TAKER", legs)  # fmt: skip
    return trade, fills


def _trade(
    trade_id: str, taker: str, token: str, side: Side, size: int, price: int,
    status: FillStatus, when: int, trader_side: str, legs: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": trade_id, "taker_order_id": taker, "market": MARKET, "asset_id": token,
        "side": side.name, "size": format_units(size), "price": format_units(price),
        "fee_rate_bps": "0", "status": status.value, "match_time": str(when),
        "last_update": str(when), "outcome": "Up", "bucket_index": 0, "owner": OURS,
        "maker_address": "0xours", "transaction_hash": "0x00", "trader_side": trader_side,
        "maker_orders": legs,
    }  # fmt: skip


def _state(records: list[Record]) -> JournalState:
    state = JournalState()
    for record in records:
        state.apply(record)
    return state


def _two_pass(
    state: JournalState,
    open_orders: Any,
    trades: Any,
    balances: Any,
    lookups: dict[str, Lookup],
) -> Reconciliation:
    first = reconcile(state, open_orders, trades, balances)
    if not first.needs_lookup:
        return first
    asked = {oid: lookups[oid] for oid in first.needs_lookup}
    return reconcile(state, open_orders, trades, balances, asked)


def _apply(state: JournalState, result: Reconciliation) -> JournalState:
    fixed = state.copy()
    for record in result.records:
        fixed.apply(record)
    return fixed


@settings(max_examples=300, deadline=None)
@given(venues(), st.data())
def test_a_journal_cut_anywhere_is_restored_to_the_venues_state(
    venue: ModelVenue, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(1, len(venue.journal)), label="cut")
    present = venue.present(cut)
    truth = _state(
        [
            r
            for r in venue.journal
            if getattr(r, "order_id", None) in present or isinstance(r, BaselineRecord)
        ]
    )
    cut_state = _state(venue.journal[:cut])
    open_orders, trades, balances, lookups = venue.answers(cut)

    result = _two_pass(cut_state, open_orders, trades, balances, lookups)
    assert result.ok, result.message()
    fixed = _apply(cut_state, result)

    assert fixed.fills == truth.fills
    assert fixed.positions == truth.positions
    assert fixed.cash == truth.cash
    by_id = {o.order_id: o for o in venue.orders}
    for order_id, want in truth.orders.items():
        got = fixed.orders[order_id]
        assert got.phase == want.phase, order_id
        if want.terminal != got.terminal:
            # Only ambiguity: an unfilled order the venue forgot, never known as accepted.
            model = by_id[order_id]
            assert model.forgotten and model.matched == 0
            assert (want.terminal, got.terminal) == (OrderState.CANCELED, OrderState.REJECTED)
            assert cut_state.orders[order_id].phase is not OrderPhase.LIVE
    # Reconciling again finds nothing to do: no fill is ever booked twice.
    again = _two_pass(fixed, open_orders, trades, balances, lookups)
    assert again.ok and again.records == ()


@settings(max_examples=300, deadline=None)
@given(venues(), st.data())
def test_could_not_ask_never_clears_an_order_nor_halts(
    venue: ModelVenue, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(1, len(venue.journal)), label="cut")
    cut_state = _state(venue.journal[:cut])
    open_orders, trades, balances, lookups = venue.answers(cut)
    failed = CouldNotAsk("x", "HTTP 503: busy")
    ask_orders = data.draw(st.booleans())
    ask_trades = data.draw(st.booleans())
    ask_balances = data.draw(st.booleans())
    answered = {
        oid: (answer if data.draw(st.booleans()) else failed) for oid, answer in lookups.items()
    }
    result = _two_pass(
        cut_state,
        open_orders if ask_orders else failed,
        trades if ask_trades else failed,
        balances if ask_balances else failed,
        answered,
    )
    assert not result.halt, result.message()
    if not (ask_orders and ask_trades and ask_balances):
        assert not result.complete
    if not ask_orders:
        assert result.closed == () and result.adopted == ()
    for closed in result.closed:
        answer = answered[closed.order_id]
        assert not isinstance(answer, CouldNotAsk)
        if answer is NOT_FOUND:
            assert ask_trades
    if not ask_trades:
        assert result.booked == () and result.voided == ()


# --- single cases -----------------------------------------------------------------


def _order(order_id: str = "0xa", size: int = 10 * UNIT) -> ModelOrder:
    return ModelOrder(order_id, YES, Side.BUY, 500_000, size, "live")


def _base(*records: Record) -> JournalState:
    return _state([BaselineRecord({YES: 0, NO: 0}, cash=100 * UNIT), *records])


def test_an_order_at_the_venue_never_signed_here_halts_trading() -> None:
    foreign = _open_order(_order("0xforeign"), "LIVE")
    result = reconcile(_base(), [foreign], VenueTrades([]), VenueBalances(100 * UNIT, {}))
    assert result.halt
    assert result.message().startswith("reconciliation mismatch, trading halted: order 0xforeign")
    assert "\n" not in result.message()


def test_a_journal_order_missing_from_the_open_orders_is_looked_up_before_it_is_closed() -> None:
    order = _order()
    state = _base(order.signed(), SubmittedRecord("0xa", "accepted", status="live"))
    balances = VenueBalances(100 * UNIT, {YES: 0, NO: 0})
    first = reconcile(state, [], VenueTrades([]), balances)
    assert first.needs_lookup == ("0xa",) and first.closed == () and not first.complete
    failed = reconcile(state, [], VenueTrades([]), balances, {"0xa": CouldNotAsk("order", "504")})
    assert failed.closed == () and not failed.complete and not failed.halt
    gone = reconcile(state, [], VenueTrades([]), balances, {"0xa": NOT_FOUND})
    assert [(c.order_id, c.state, c.filled) for c in gone.closed] == [("0xa", "canceled", 0)]


def test_a_fill_the_venue_does_not_list_within_its_range_is_reversed() -> None:
    order = _order()
    ghost = FillRecord("t9", "t9", "0xa", "s", MARKET, YES, Side.BUY, 500_000, UNIT, 0,
                       "maker", FillStatus.MATCHED, 5_000)  # fmt: skip
    state = _base(order.signed(), SubmittedRecord("0xa", "accepted", status="live"), ghost)
    live = [_open_order(order, "LIVE")]
    balances = VenueBalances(100 * UNIT, {YES: 0, NO: 0})
    covering = reconcile(state, live, VenueTrades([], after=4_000), balances)
    assert [f.status for f in covering.voided] == [FillStatus.FAILED] and covering.ok
    older = reconcile(state, live, VenueTrades([], after=5_000), balances)
    assert older.voided == ()  # not in the range the venue answered for: no evidence


def test_a_position_that_differs_with_everything_settled_halts() -> None:
    result = reconcile(
        _base(), [], VenueTrades([]), VenueBalances(100 * UNIT, {YES: 5 * UNIT, NO: 0})
    )
    assert [m.kind for m in result.mismatches] == ["position"]
    assert "position in token 1111: venue 5, journal 0" in result.message()


def test_a_market_awaiting_settlement_defers_its_differences_instead_of_halting() -> None:
    # The venue redeemed 5 YES at 1.00 before the engine heard of the resolution.
    held = _state([BaselineRecord({YES: 5 * UNIT, NO: 0}, cash=100 * UNIT)])
    redeemed = VenueBalances(105 * UNIT, {YES: 0, NO: 0})
    assert reconcile(held, [], VenueTrades([]), redeemed).halt
    waiting = reconcile(held, [], VenueTrades([]), redeemed, settling={YES, NO})
    assert not waiting.halt and waiting.deferred
    assert any("position in token 1111" in text for text in waiting.deferred)


def test_genesis_takes_the_accounts_holdings_as_baseline_and_older_trades_as_history() -> None:
    old = _trade("old", "0xsomeone", YES, Side.BUY, UNIT, 500_000, FillStatus.CONFIRMED, 77,
                 "TAKER", [])  # fmt: skip
    result = reconcile(JournalState(), [], VenueTrades([old]), VenueBalances(9 * UNIT, {YES: UNIT}))
    assert result.ok and result.baseline is not None
    assert result.baseline.positions == {YES: UNIT} and result.baseline.cash == 9 * UNIT
    after = _state([result.baseline])
    assert (after.trades_after, after.boundary_trades) == (76, frozenset({"old"}))
    again = reconcile(after, [], VenueTrades([old], after=76), VenueBalances(9 * UNIT, {YES: UNIT}))
    assert again.ok and again.records == ()


def test_a_taker_fill_against_a_cross_asset_maker_is_priced_at_the_complement() -> None:
    order = _order()
    trade, expected = _taker_trade(order, "t1", 10 * UNIT, FillStatus.MATCHED, 10, cross=True)
    fills, foreign = fills_of_trade(trade, _base(order.signed()).orders)
    assert foreign == [] and fills == expected
    assert all(f.price == 500_000 for f in fills)
