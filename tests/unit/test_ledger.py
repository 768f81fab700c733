"""The ledger counts every fill once and reconciles to the micro-USDC."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ledger import Ledger, LedgerError
from engine.messages import Fill, Liquidity
from engine.units import SIZE_STEP, UNIT, Side

CID = "0x" + "ab" * 32
YES, NO = "111", "222"


def fill(
    trade: str,
    side: Side,
    price: int,
    size: int,
    *,
    token: str = YES,
    fee: int = 0,
    strategy: str = "s",
    order: str = "o",
) -> Fill:
    liquidity = Liquidity.TAKER if fee else Liquidity.MAKER
    return Fill(0, trade, order, strategy, CID, token, side, price, size, fee, liquidity)


def test_buy_then_sell_realizes_the_difference_and_charges_fees() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 400_000, 10 * UNIT, fee=16_800))
    ledger.apply_fill(fill("t2", Side.SELL, 550_000, 10 * UNIT, fee=17_330))
    assert ledger.realized_pnl == 1_500_000
    assert ledger.fees == 34_130
    assert ledger.cash == 100 * UNIT + 1_500_000 - 34_130
    ledger.check_identity()


def test_a_repeated_fill_is_counted_once() -> None:
    ledger = Ledger(initial_cash=10 * UNIT)
    assert ledger.apply_fill(fill("t1", Side.BUY, 500_000, 5 * UNIT))
    assert not ledger.apply_fill(fill("t1", Side.BUY, 500_000, 5 * UNIT))
    assert ledger.cash == 10 * UNIT - 2_500_000
    assert len(ledger.fills) == 1


def test_the_same_trade_on_two_of_our_orders_is_two_fills() -> None:
    ledger = Ledger(initial_cash=10 * UNIT)
    assert ledger.apply_fill(fill("t1", Side.BUY, 500_000, 5 * UNIT, order="a"))
    assert ledger.apply_fill(fill("t1", Side.BUY, 500_000, 5 * UNIT, token=NO, order="b"))
    assert len(ledger.fills) == 2


def test_selling_more_than_the_account_holds_is_refused() -> None:
    ledger = Ledger(initial_cash=10 * UNIT)
    ledger.apply_fill(fill("t0", Side.BUY, 500_000, 2 * UNIT, strategy="other"))
    with pytest.raises(LedgerError, match="holds 0 \\(the account 2000000\\)"):
        ledger.apply_fill(fill("t1", Side.SELL, 500_000, 5 * UNIT))
    assert ledger.cash == 9 * UNIT and ledger.holdings("other", (YES,)) == (2 * UNIT,)
    assert not ledger.transfers


def test_a_sale_beyond_the_strategys_own_shares_takes_the_rest_from_the_others_at_cost() -> None:
    # The venue holds shares per account: a strategy whose purchase was voided can still
    # sell, and what it sold was another strategy's. Cash and the account's shares stay
    # exact; the other strategy's book shrinks by what was taken, at its cost.
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("m1", Side.BUY, 400_000, 10 * UNIT, strategy="maker"))
    ledger.apply_fill(fill("p1", Side.BUY, 500_000, 3 * UNIT, strategy="pairs", order="p"))
    ledger.apply_fill(fill("p2", Side.SELL, 450_000, 10 * UNIT, strategy="pairs", order="q"))
    assert ledger.holdings("maker", (YES,)) == (3 * UNIT,)
    assert ledger.holdings("pairs", (YES,)) == (0,)
    assert [(t.from_strategy, t.to_strategy, t.size, t.cost) for t in ledger.transfers] == [
        ("maker", "pairs", 7 * UNIT, 2_800_000)
    ]
    # pairs sold 3 bought at 0.50 and 7 taken at 0.40 for 0.45 each.
    assert ledger.by_strategy["pairs"].realized_pnl == 4_500_000 - 1_500_000 - 2_800_000
    assert ledger.cash == 100 * UNIT - 4 * UNIT - 1_500_000 + 4_500_000
    ledger.check_identity()


def test_voiding_a_purchase_after_its_shares_were_sold_covers_the_sale_from_the_others() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("m1", Side.BUY, 400_000, 10 * UNIT, strategy="maker"))
    ledger.apply_fill(fill("p1", Side.BUY, 500_000, 7 * UNIT, strategy="pairs", order="p"))
    ledger.apply_fill(fill("p2", Side.SELL, 450_000, 7 * UNIT, strategy="pairs", order="q"))
    assert ledger.void("p1", "p") is not None
    assert ledger.holdings("maker", (YES,)) == (3 * UNIT,)
    assert ledger.cash == 100 * UNIT - 4 * UNIT + 3_150_000
    ledger.check_identity()


def test_settlement_pays_the_winner_and_zero_to_the_loser() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 450_000, 10 * UNIT))
    ledger.apply_fill(fill("t2", Side.BUY, 500_000, 10 * UNIT, token=NO))
    result = ledger.settle(CID, (YES, NO), (UNIT, 0), winner=0)
    assert result.payout == 10 * UNIT
    assert result.pnl == 10 * UNIT - 9_500_000
    assert ledger.cash == 100 * UNIT + 500_000
    assert ledger.open_cost == 0
    ledger.check_identity()


def test_a_fifty_fifty_resolution_pays_half_on_each_share() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 300_000, 10 * UNIT))
    result = ledger.settle(CID, (YES, NO), (UNIT // 2, UNIT // 2), winner=None)
    assert result.payout == 5 * UNIT
    assert result.pnl == 2 * UNIT


def test_pnl_is_attributed_per_strategy_and_market() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 400_000, 10 * UNIT, strategy="a"))
    ledger.apply_fill(fill("t2", Side.BUY, 400_000, 10 * UNIT, strategy="b", token=NO))
    ledger.settle(CID, (YES, NO), (UNIT, 0), winner=0)
    assert ledger.by_strategy["a"].settlement_pnl == 6 * UNIT
    assert ledger.by_strategy["b"].settlement_pnl == -4 * UNIT
    assert ledger.by_market[CID].settlement_pnl == 2 * UNIT


prices = st.integers(1, 99).map(lambda c: c * 10_000)
sizes = st.integers(500, 5_000).map(lambda n: n * SIZE_STEP)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.sampled_from([YES, NO]), prices, sizes, st.integers(0, 50_000)),
        max_size=40,
    ),
    winner=st.sampled_from([0, 1, None]),
)
def test_cash_reconciles_exactly_after_any_sequence_and_settlement(
    steps: list[tuple[bool, str, int, int, int]], winner: int | None
) -> None:
    ledger = Ledger(initial_cash=1_000_000 * UNIT)
    for index, (is_buy, token, price, size, fee) in enumerate(steps):
        held = ledger.holdings("s", (token,))[0]
        if not is_buy:
            size = min(size, held) - min(size, held) % SIZE_STEP
            if size == 0:
                continue
        side = Side.BUY if is_buy else Side.SELL
        ledger.apply_fill(fill(f"t{index}", side, price, size, token=token, fee=fee))
        ledger.check_identity()
    payout = (UNIT // 2, UNIT // 2) if winner is None else ((UNIT, 0) if winner == 0 else (0, UNIT))
    ledger.settle(CID, (YES, NO), payout, winner)
    ledger.check_identity()
    assert ledger.open_cost == 0
    assert ledger.cash == (
        ledger.initial_cash + ledger.realized_pnl - ledger.fees + ledger.settlement_pnl
    )


# Voids: a FAILED trade's fill is reversed exactly.


def view(ledger: Ledger) -> dict[str, object]:
    """Everything a ledger reports (a copy), with empty entries (left by a reversal) dropped."""
    return copy.deepcopy(
        {
            "cash": ledger.cash,
            "fees": ledger.fees,
            "realized_pnl": ledger.realized_pnl,
            "settlement_pnl": ledger.settlement_pnl,
            "settlement_payout": ledger.settlement_payout,
            "positions": {
                k: (p.size, p.cost) for k, p in ledger.positions.items() if p.size or p.cost
            },
            "by_strategy": {k: a for k, a in ledger.by_strategy.items() if a != type(a)()},
            "by_market": {k: a for k, a in ledger.by_market.items() if a != type(a)()},
            "settlements": ledger.settlements,
            "fills": ledger.fills,
        }
    )


def test_voiding_a_fill_restores_cash_fees_position_and_pnl() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 400_000, 10 * UNIT, fee=16_800))
    before = view(ledger)
    ledger.apply_fill(fill("t2", Side.SELL, 550_000, 4 * UNIT, fee=9_000))
    voided = ledger.void("t2", "o")
    assert voided is not None and voided.trade_id == "t2"
    assert view(ledger) == before
    assert ledger.voided == [voided]
    assert ledger.status("t2", "o") == "FAILED"
    ledger.check_identity()


def test_voiding_an_unknown_or_already_voided_fill_changes_nothing() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 400_000, 10 * UNIT))
    assert ledger.void("nope", "o") is None
    assert ledger.void("t1", "o") is not None
    after = view(ledger)
    assert ledger.void("t1", "o") is None
    assert view(ledger) == after and len(ledger.voided) == 1


def test_a_voided_fill_is_never_booked_again() -> None:
    ledger = Ledger(initial_cash=10 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 500_000, 5 * UNIT))
    ledger.void("t1", "o")
    assert not ledger.apply_fill(fill("t1", Side.BUY, 500_000, 5 * UNIT))
    assert ledger.cash == 10 * UNIT


def test_a_void_that_would_leave_a_sale_of_unheld_shares_is_refused_and_changes_nothing() -> None:
    ledger = Ledger(initial_cash=100 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 400_000, 10 * UNIT))
    ledger.apply_fill(fill("t2", Side.SELL, 500_000, 10 * UNIT))
    before = view(ledger)
    with pytest.raises(LedgerError, match="cannot void t1"):
        ledger.void("t1", "o")
    assert view(ledger) == before and ledger.status("t1", "o") == "MATCHED"


def test_confirming_marks_a_booked_fill_final_and_nothing_else() -> None:
    ledger = Ledger(initial_cash=10 * UNIT)
    ledger.apply_fill(fill("t1", Side.BUY, 500_000, 5 * UNIT))
    assert ledger.status("t1", "o") == "MATCHED"
    assert ledger.confirm("t1", "o")
    assert not ledger.confirm("t9", "o")
    assert ledger.status("t1", "o") == "CONFIRMED"
    assert ledger.status("t9", "o") is None


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from([YES, NO]),
            st.sampled_from(["a", "b"]),
            prices,
            sizes,
            st.integers(0, 50_000),
        ),
        max_size=30,
    ),
    voids=st.lists(st.integers(0, 40), max_size=15),
    settle_at=st.one_of(st.none(), st.integers(0, 30)),
)
def test_after_any_fills_and_voids_the_ledger_equals_the_one_built_without_the_voided(
    steps: list[tuple[bool, str, str, int, int, int]],
    voids: list[int],
    settle_at: int | None,
) -> None:
    ledger = Ledger(initial_cash=1_000_000 * UNIT)
    voided: set[str] = set()
    events: list[Fill | None] = []  # None: the settlement
    to_void = iter(voids)
    for index, (is_buy, token, strategy, price, size, fee) in enumerate(steps):
        if index == settle_at:
            ledger.settle(CID, (YES, NO), (UNIT, 0), winner=0)
            events.append(None)
        held = ledger.holdings(strategy, (token,))[0]
        if not is_buy:
            size = min(size, held) - min(size, held) % SIZE_STEP
            if size == 0:
                continue
        side = Side.BUY if is_buy else Side.SELL
        new = fill(f"t{index}", side, price, size, token=token, fee=fee, strategy=strategy)
        ledger.apply_fill(new)
        events.append(new)
        target = f"t{next(to_void, -1)}"
        try:
            if ledger.void(target, "o") is not None:
                voided.add(target)
        except LedgerError:
            pass  # its shares were sold since: refused, nothing changed
        ledger.check_identity()
    reference = Ledger(initial_cash=1_000_000 * UNIT)
    for event in events:
        if event is None:
            reference.settle(CID, (YES, NO), (UNIT, 0), winner=0)
        elif event.trade_id not in voided:
            reference.apply_fill(event)
    assert view(ledger) == view(reference)
    assert {f.trade_id for f in ledger.voided} == voided
