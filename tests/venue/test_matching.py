"""The simulated venue's matching engine, rule by rule (spec sections 1, 4, 5 and 7)."""

from __future__ import annotations

import pytest

from engine.fees import NO_FEES, FeeSchedule
from engine.units import UNIT, OrderType, Side, parse_units
from engine.venue.matching import (
    ERR_BALANCE,
    ERR_DUPLICATED,
    ERR_EXPIRATION,
    ERR_FAK,
    ERR_FOK,
    ERR_MARKET_CLOSED,
    ERR_MARKET_NOT_FOUND,
    ERR_MARKET_NOT_READY,
    ERR_POST_ONLY_CROSSES,
    ERR_POST_ONLY_TYPE,
    ERR_SIZE_PRECISION,
    ERR_TICK,
    AccountBalance,
    BookModel,
    LevelChanged,
    MakerLeg,
    MarketResolved,
    MarketSpec,
    MarketStatus,
    MatchingEngine,
    OrderCancelled,
    OrderPlaced,
    OrderRequest,
    OrderStatus,
    OrderUpdated,
    TradeExecuted,
    TradeVoided,
    VoidError,
    buy_reservation,
)

CID = "0x" + "ab" * 32
YES = "1001"
NO = "1002"
T0 = 1_800_000_000_000  # ms


def u(text: str) -> int:
    return parse_units(text)


def make_spec(fees: FeeSchedule = NO_FEES, tick: int = 10_000) -> MarketSpec:
    return MarketSpec(
        condition_id=CID,
        question="Bitcoin Up or Down?",
        slug="btc-updown-15m-1800000000",
        token_ids=(YES, NO),
        outcomes=("Up", "Down"),
        tick=tick,
        fees=fees,
        start_ts=1_800_000_000,
        end_ts=1_800_000_900,
    )


def make_engine(
    fees: FeeSchedule = NO_FEES,
    status: MarketStatus = MarketStatus.OPEN,
    cash: str = "1000",
    accounts: tuple[str, ...] = ("alice", "bob", "carol"),
    book_model: BookModel = "per_token",
) -> MatchingEngine:
    engine = MatchingEngine(book_model=book_model)
    engine.add_market(make_spec(fees), status)
    for name in accounts:
        engine.deposit(name, u(cash))
    return engine


def order(
    account: str,
    token: str,
    side: Side,
    price: str,
    size: str,
    order_type: OrderType = OrderType.GTC,
    **kw: object,
) -> OrderRequest:
    return OrderRequest(
        account=account,
        token_id=token,
        side=side,
        price=u(price),
        size=u(size),
        order_type=order_type,
        **kw,  # type: ignore[arg-type]
    )


def give_shares(engine: MatchingEngine, account: str, token: str, size: str) -> None:
    """Mint `size` pairs between `account` and a helper, leaving `account` the shares."""
    other = engine.market(CID).other_token(token)
    engine.deposit("minter", u("1000"))
    rest = max(u(size), engine.market(CID).min_size)
    minter = OrderRequest(
        account="minter", token_id=other, side=Side.BUY, price=u("0.5"), size=rest
    )
    assert engine.submit(minter, T0).success
    assert engine.submit(order(account, token, Side.BUY, "0.5", size, OrderType.FOK), T0).success
    engine.cancel_all("minter")
    engine.drain_events()


def snapshot(engine: MatchingEngine) -> list[AccountBalance]:
    return [engine.balance(a) for a in engine.accounts()]


# Validation: each rejection carries the venue's text and changes nothing.


def reject(engine: MatchingEngine, req: OrderRequest, now_ms: int = T0, **kw: str) -> str:
    before = snapshot(engine)
    books = (engine.book(YES), engine.book(NO))
    result = engine.submit(req, now_ms, **kw)
    assert not result.success
    assert result.status == "unmatched"
    assert result.trades == ()
    assert snapshot(engine) == before
    assert (engine.book(YES), engine.book(NO)) == books
    return result.error


def test_unknown_token_is_rejected() -> None:
    engine = make_engine()
    assert reject(engine, order("alice", "999", Side.BUY, "0.5", "10")) == ERR_MARKET_NOT_FOUND


def test_pending_market_is_not_ready() -> None:
    engine = make_engine(status=MarketStatus.PENDING)
    error = reject(engine, order("alice", YES, Side.BUY, "0.5", "10"))
    assert error == "the market is not yet ready to process new orders" == ERR_MARKET_NOT_READY
    engine.open_market(CID)
    assert engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0).success


def test_closed_market_refuses_orders() -> None:
    engine = make_engine()
    engine.close_market(CID)
    assert reject(engine, order("alice", YES, Side.BUY, "0.5", "10")) == ERR_MARKET_CLOSED


@pytest.mark.parametrize("price", ["0.505", "0", "1", "0.999", "0.001"])
def test_limit_price_must_be_on_tick_and_inside_the_range(price: str) -> None:
    engine = make_engine()
    error = reject(engine, order("alice", YES, Side.BUY, price, "10"))
    assert error == "order is invalid. Price breaks minimum tick size rules" == ERR_TICK


def test_extreme_ticks_are_valid_prices() -> None:
    engine = make_engine()
    assert engine.submit(order("alice", YES, Side.BUY, "0.01", "100"), T0).success
    assert engine.submit(order("alice", NO, Side.BUY, "0.99", "5"), T0).status == "matched"


def test_fak_worst_price_may_be_off_the_market_grid() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    assert engine.submit(order("bob", YES, Side.SELL, "0.5", "10"), T0).success
    result = engine.submit(order("alice", YES, Side.BUY, "0.555", "10", OrderType.FAK), T0)
    assert result.success
    assert result.trades[0].price == u("0.5")


def test_size_must_have_at_most_two_decimals() -> None:
    engine = make_engine()
    assert reject(engine, order("alice", YES, Side.BUY, "0.5", "10.001")) == ERR_SIZE_PRECISION


@pytest.mark.parametrize("size", ["4.99", "0"])
def test_resting_size_below_minimum_quotes_the_order_id(size: str) -> None:
    engine = make_engine()
    oid = "0x" + "11" * 32
    error = reject(engine, order("alice", YES, Side.BUY, "0.5", size), order_id=oid)
    assert error == f"order {oid} is invalid. Size ({size}) lower than the minimum: 5"


def test_marketable_buy_needs_one_dollar() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.1", "10"), T0)
    error = reject(engine, order("alice", YES, Side.BUY, "0.1", "5"))
    assert error == "invalid amount for a marketable BUY order ($0.5), min size: $1"
    error = reject(engine, order("alice", YES, Side.BUY, "0.1", "5", OrderType.FOK))
    assert error == "invalid amount for a marketable BUY order ($0.5), min size: $1"
    # The same BUY that does not cross may rest: the $1 rule is for marketable orders.
    assert engine.submit(order("alice", YES, Side.BUY, "0.09", "5"), T0).status == "live"


def test_marketable_sell_below_minimum_size_is_allowed() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "3")
    engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0)
    result = engine.submit(order("bob", YES, Side.SELL, "0.5", "3", OrderType.FAK), T0)
    assert result.success and result.making_amount == u("3")


@pytest.mark.parametrize("order_type", [OrderType.FOK, OrderType.FAK])
def test_post_only_is_only_for_resting_orders(order_type: OrderType) -> None:
    engine = make_engine()
    error = reject(engine, order("alice", YES, Side.BUY, "0.5", "10", order_type, post_only=True))
    assert error == "invalid post-only order: only GTC and GTD order types are allowed"
    assert error == ERR_POST_ONLY_TYPE


def test_post_only_that_would_cross_is_rejected() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.55", "10"), T0)
    error = reject(engine, order("alice", YES, Side.BUY, "0.55", "10", post_only=True))
    assert error == "invalid post-only order: order crosses book" == ERR_POST_ONLY_CROSSES


def test_post_only_that_would_mint_is_rejected() -> None:
    engine = make_engine()
    engine.submit(order("bob", NO, Side.BUY, "0.45", "10"), T0)
    assert reject(engine, order("alice", YES, Side.BUY, "0.55", "10", post_only=True)) == (
        ERR_POST_ONLY_CROSSES
    )


def test_post_only_that_does_not_cross_rests() -> None:
    engine = make_engine()
    engine.submit(order("bob", NO, Side.BUY, "0.45", "10"), T0)
    result = engine.submit(order("alice", YES, Side.BUY, "0.54", "10", post_only=True), T0)
    assert result.success and result.status == "live"


def test_fok_that_cannot_fill_completely_is_killed() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.5", "10"), T0)
    engine.drain_events()
    error = reject(engine, order("alice", YES, Side.BUY, "0.5", "11", OrderType.FOK))
    assert error == "order couldn't be fully filled. FOK orders are fully filled or killed."
    assert error == ERR_FOK
    # The venue reports the kill on the user channel as a CANCELLATION.
    (event,) = engine.drain_events()
    assert isinstance(event, OrderCancelled) and event.reason == "fok_killed"


def test_fak_with_nothing_to_match_is_rejected() -> None:
    engine = make_engine()
    error = reject(engine, order("alice", YES, Side.BUY, "0.5", "10", OrderType.FAK))
    assert error == (
        "no orders found to match with FAK order. "
        "FAK orders are partially filled or killed if no match is found."
    )
    assert error == ERR_FAK


def test_buy_needs_notional_plus_the_fee_bound() -> None:
    fees = FeeSchedule(rate_ppm=70_000, exponent=1)
    engine = make_engine(fees=fees, cash="5")
    # 10 @ 0.50 costs 5.00 plus at most 10 * 0.07 * 0.25 = 0.175 of fees.
    error = reject(engine, order("alice", YES, Side.BUY, "0.5", "10"))
    assert error == (
        "not enough balance / allowance: the balance is not enough -> "
        "balance: 5000000, order amount: 5175000"
    )
    assert error == ERR_BALANCE.format(balance=5_000_000, amount=5_175_000)
    engine.deposit("alice", u("0.175"))
    assert engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0).success


def test_sell_needs_free_shares() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.6", "6"), T0)  # reserves 6 of 10
    error = reject(engine, order("bob", YES, Side.SELL, "0.6", "5"))
    assert error == ERR_BALANCE.format(balance=u("4"), amount=u("5"))


def test_open_buys_reserve_collateral_for_later_orders() -> None:
    engine = make_engine(cash="10")
    assert engine.submit(order("alice", YES, Side.BUY, "0.5", "15"), T0).success
    error = reject(engine, order("alice", NO, Side.BUY, "0.4", "10"))
    assert error == ERR_BALANCE.format(balance=u("2.5"), amount=u("4"))


def test_gtd_needs_an_expiration_a_minute_ahead() -> None:
    engine = make_engine()
    now_s = T0 // 1000
    gtd = order("alice", YES, Side.BUY, "0.5", "10", OrderType.GTD, expiration=now_s + 59)
    assert reject(engine, gtd) == "invalid expiration" == ERR_EXPIRATION
    gtc = order("alice", YES, Side.BUY, "0.5", "10", expiration=now_s + 600)
    assert reject(engine, gtc) == ERR_EXPIRATION


def test_duplicate_order_id_is_rejected() -> None:
    engine = make_engine()
    oid = "0x" + "22" * 32
    first = engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0, order_id=oid)
    assert first.success and first.order_id == oid
    error = reject(engine, order("alice", YES, Side.BUY, "0.5", "10"), order_id=oid)
    assert error == (
        "order is invalid. Duplicated. Same order has already been placed, can't be placed again"
    )
    assert error == ERR_DUPLICATED


def test_a_rejected_order_id_may_be_retried() -> None:
    engine = make_engine(cash="1")
    oid = "0x" + "33" * 32
    reject(engine, order("alice", YES, Side.BUY, "0.5", "10"), order_id=oid)
    engine.deposit("alice", u("10"))
    assert engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0, order_id=oid).success


# Resting, matching, priority.


def test_gtc_rests_and_reserves_its_notional_and_fee_bound() -> None:
    fees = FeeSchedule(rate_ppm=70_000, exponent=1)
    engine = make_engine(fees=fees, cash="100")
    result = engine.submit(order("alice", YES, Side.BUY, "0.3", "10"), T0)
    assert (result.success, result.status, result.trades) == (True, "live", ())
    assert result.order_id.startswith("0x") and len(result.order_id) == 66
    reserved = u("3") + fees.max_taker_fee(u("0.3"), True, u("10"))
    assert reserved == buy_reservation(engine.market(CID), u("0.3"), u("10"))
    bal = engine.balance("alice")
    assert (bal.collateral_free, bal.collateral_reserved) == (u("100") - reserved, reserved)
    assert engine.book(YES) == ([(u("0.3"), u("10"))], [])
    view = engine.order(result.order_id)
    assert view is not None and view.status is OrderStatus.LIVE and view.remaining == u("10")


def test_book_levels_are_aggregated_and_best_first() -> None:
    engine = make_engine()
    for price, size in [("0.3", "10"), ("0.32", "5"), ("0.3", "7"), ("0.1", "50")]:
        engine.submit(order("alice", YES, Side.BUY, price, size), T0)
    give_shares(engine, "bob", YES, "30")
    for price in ["0.7", "0.6", "0.65"]:
        engine.submit(order("bob", YES, Side.SELL, price, "10"), T0)
    bids, asks = engine.book(YES)
    assert bids == [(u("0.32"), u("5")), (u("0.3"), u("17")), (u("0.1"), u("50"))]
    assert asks == [(u("0.6"), u("10")), (u("0.65"), u("10")), (u("0.7"), u("10"))]
    assert engine.best_bid_ask(YES) == (u("0.32"), u("0.6"))
    assert engine.best_bid_ask(NO) == (None, None)


def test_buy_fills_at_the_makers_price() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.55", "10"), T0)
    result = engine.submit(order("alice", YES, Side.BUY, "0.6", "10"), T0 + 1)
    assert result.status == "matched"
    assert (result.making_amount, result.taking_amount) == (u("5.5"), u("10"))
    (trade,) = result.trades
    assert (trade.price, trade.size, trade.side, trade.token_id) == (
        u("0.55"),
        u("10"),
        Side.BUY,
        YES,
    )
    assert trade.maker_legs == (
        MakerLeg(
            trade.maker_legs[0].order_id, "bob", YES, Side.SELL, u("0.55"), u("10"), "complementary"
        ),
    )
    assert engine.balance("alice").collateral_free == u("1000") - u("5.5")
    assert engine.balance("alice").shares(YES) == u("10")
    assert engine.balance("bob").shares(YES) == 0


def test_sell_fills_at_the_best_bid_first() -> None:
    engine = make_engine()
    engine.submit(order("alice", YES, Side.BUY, "0.4", "10"), T0)
    engine.submit(order("carol", YES, Side.BUY, "0.45", "10"), T0)
    give_shares(engine, "bob", YES, "15")
    result = engine.submit(order("bob", YES, Side.SELL, "0.4", "15"), T0)
    legs = result.trades[0].maker_legs
    assert [(leg.account, leg.price, leg.size) for leg in legs] == [
        ("carol", u("0.45"), u("10")),
        ("alice", u("0.4"), u("5")),
    ]
    assert result.taking_amount == u("4.5") + u("2")
    assert result.trades[0].price == u("0.4")  # the last (worst) leg's price


def test_mint_pairs_two_buyers_of_opposite_outcomes() -> None:
    engine = make_engine()
    engine.submit(order("alice", YES, Side.BUY, "0.4", "10"), T0)
    result = engine.submit(order("bob", NO, Side.BUY, "0.65", "10"), T0 + 1)
    (trade,) = result.trades
    # The maker pays its own 0.40; the taker pays 1 - 0.40 = 0.60, below its 0.65 limit.
    assert trade.price == u("0.6")
    assert trade.maker_legs[0].match_kind == "mint"
    assert trade.maker_legs[0].token_id == YES and trade.maker_legs[0].price == u("0.4")
    assert result.making_amount == u("6")
    assert engine.vault(CID) == u("10")
    assert engine.balance("alice").shares(YES) == u("10")
    assert engine.balance("bob").shares(NO) == u("10")
    assert engine.balance("alice").collateral_total == u("996")
    assert engine.balance("bob").collateral_total == u("994")


def test_buys_that_do_not_sum_to_one_both_rest() -> None:
    engine = make_engine()
    engine.submit(order("alice", YES, Side.BUY, "0.4", "10"), T0)
    assert engine.submit(order("bob", NO, Side.BUY, "0.59", "10"), T0).status == "live"
    assert engine.vault(CID) == 0


def test_complementary_and_mint_share_one_queue_by_effective_price() -> None:
    engine = make_engine()
    give_shares(engine, "carol", YES, "10")
    engine.submit(order("carol", YES, Side.SELL, "0.62", "10"), T0)  # costs 0.62
    engine.submit(order("bob", NO, Side.BUY, "0.4", "10"), T0)  # costs 1 - 0.40 = 0.60
    result = engine.submit(order("alice", YES, Side.BUY, "0.62", "15"), T0)
    legs = result.trades[0].maker_legs
    assert [(leg.account, leg.match_kind, leg.size) for leg in legs] == [
        ("bob", "mint", u("10")),
        ("carol", "complementary", u("5")),
    ]
    assert result.making_amount == u("6") + u("3.1")


def test_equal_effective_prices_fill_first_come_first_served() -> None:
    engine = make_engine()
    engine.submit(order("bob", NO, Side.BUY, "0.4", "10"), T0)  # effective 0.60, first
    give_shares(engine, "carol", YES, "10")
    engine.submit(order("carol", YES, Side.SELL, "0.6", "10"), T0 + 5)  # 0.60, later
    result = engine.submit(order("alice", YES, Side.BUY, "0.6", "10"), T0 + 6)
    assert [leg.account for leg in result.trades[0].maker_legs] == ["bob"]
    assert engine.book(YES)[1] == [(u("0.6"), u("10"))]


def test_fifo_within_a_level() -> None:
    engine = make_engine()
    give_shares(engine, "carol", YES, "15")
    first = engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0).order_id
    second = engine.submit(order("bob", YES, Side.BUY, "0.5", "10"), T0 + 1).order_id
    result = engine.submit(order("carol", YES, Side.SELL, "0.5", "15"), T0 + 2)
    legs = result.trades[0].maker_legs
    assert [(leg.order_id, leg.size) for leg in legs] == [(first, u("10")), (second, u("5"))]
    assert [o.order_id for o in engine.level_orders(YES, Side.BUY, u("0.5"))] == [second]


def test_partial_fill_then_the_remainder_rests() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    maker = engine.submit(order("bob", YES, Side.SELL, "0.5", "10"), T0).order_id
    result = engine.submit(order("alice", YES, Side.BUY, "0.5", "25"), T0)
    assert (result.status, result.taking_amount) == ("matched", u("10"))
    view = engine.order(result.order_id)
    assert view is not None and view.status is OrderStatus.LIVE
    assert (view.size_matched, view.remaining) == (u("10"), u("15"))
    assert engine.book(YES) == ([(u("0.5"), u("15"))], [])
    maker_view = engine.order(maker)
    assert maker_view is not None and maker_view.status is OrderStatus.MATCHED
    assert engine.balance("alice").collateral_reserved == u("7.5")


def test_partially_filled_maker_keeps_its_place_and_remainder() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    maker = engine.submit(order("alice", YES, Side.BUY, "0.5", "20"), T0).order_id
    engine.submit(order("bob", YES, Side.SELL, "0.5", "8"), T0)
    view = engine.order(maker)
    assert view is not None and (view.size_matched, view.remaining) == (u("8"), u("12"))
    assert engine.balance("alice").collateral_reserved == u("6")
    assert engine.book(YES)[0] == [(u("0.5"), u("12"))]


def test_fok_that_can_fill_fills_completely() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "20")
    engine.submit(order("bob", YES, Side.SELL, "0.5", "10"), T0)
    engine.submit(order("bob", YES, Side.SELL, "0.52", "10"), T0)
    result = engine.submit(order("alice", YES, Side.BUY, "0.52", "15", OrderType.FOK), T0)
    assert (result.status, result.taking_amount, result.making_amount) == (
        "matched",
        u("15"),
        u("5") + u("2.6"),
    )
    assert engine.open_orders("alice") == []


def test_fak_fills_what_it_can_and_cancels_the_rest() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.5", "10"), T0)
    result = engine.submit(order("alice", YES, Side.BUY, "0.6", "30", OrderType.FAK), T0)
    assert (result.success, result.status, result.taking_amount) == (True, "matched", u("10"))
    assert engine.book(YES) == ([], [])
    assert engine.balance("alice").collateral_reserved == 0
    view = engine.order(result.order_id)
    assert view is not None and view.status is OrderStatus.CANCELED


# Fees.


def test_taker_pays_the_fee_at_the_fill_price_and_maker_pays_nothing() -> None:
    fees = FeeSchedule(rate_ppm=70_000, exponent=1)
    engine = make_engine(fees=fees)
    engine.submit(order("alice", YES, Side.BUY, "0.4", "100"), T0)
    result = engine.submit(order("bob", NO, Side.BUY, "0.7", "100"), T0)
    # Taker fills at 1 - 0.40 = 0.60: 100 * 0.07 * 0.6 * 0.4 = 1.68.
    assert result.fee == result.trades[0].fee == fees.taker_fee(u("0.6"), u("100")) == u("1.68")
    assert engine.balance("bob").collateral_total == u("1000") - u("60") - u("1.68")
    assert engine.balance("alice").collateral_total == u("1000") - u("40")
    assert engine.fees_collected == u("1.68")
    assert engine.balance(engine.fee_account).collateral_free == u("1.68")


def test_sell_taker_fee_comes_out_of_the_proceeds() -> None:
    fees = FeeSchedule(rate_ppm=70_000, exponent=1)
    engine = make_engine(fees=fees)
    give_shares(engine, "bob", YES, "100")
    engine.submit(order("alice", YES, Side.BUY, "0.8", "100"), T0)
    cash_before = engine.balance("bob").collateral_total
    result = engine.submit(order("bob", YES, Side.SELL, "0.8", "100"), T0)
    assert result.taking_amount == u("80") and result.fee == u("1.12")
    assert engine.balance("bob").collateral_total == cash_before + u("80") - u("1.12")


def test_unused_fee_bound_returns_when_the_buy_fills() -> None:
    fees = FeeSchedule(rate_ppm=70_000, exponent=1)
    engine = make_engine(fees=fees)
    engine.submit(order("alice", YES, Side.BUY, "0.3", "10"), T0)
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.3", "10"), T0)
    bal = engine.balance("alice")
    assert bal.collateral_reserved == 0
    assert bal.collateral_free == u("1000") - u("3")


# Cancels and expiry.


def test_cancel_releases_reserved_collateral_and_shares() -> None:
    engine = make_engine()
    buy = engine.submit(order("alice", YES, Side.BUY, "0.3", "10"), T0).order_id
    give_shares(engine, "bob", YES, "10")
    sell = engine.submit(order("bob", YES, Side.SELL, "0.7", "10"), T0).order_id
    assert engine.balance("bob").positions[YES].reserved == u("10")
    assert engine.cancel("alice", buy) and engine.cancel("bob", sell)
    assert engine.balance("alice").collateral_free == u("1000")
    assert engine.balance("alice").collateral_reserved == 0
    assert engine.balance("bob").positions[YES].free == u("10")
    assert engine.balance("bob").positions[YES].reserved == 0
    assert engine.book(YES) == ([], [])
    view = engine.order(buy)
    assert view is not None and view.status is OrderStatus.CANCELED


def test_only_the_owner_can_cancel_and_only_once() -> None:
    engine = make_engine()
    oid = engine.submit(order("alice", YES, Side.BUY, "0.3", "10"), T0).order_id
    assert not engine.cancel("bob", oid)
    assert engine.cancel("alice", oid)
    assert not engine.cancel("alice", oid)
    assert not engine.cancel("alice", "0xnope")


def test_cancel_all_and_cancel_market() -> None:
    engine = make_engine()
    a = engine.submit(order("alice", YES, Side.BUY, "0.3", "10"), T0).order_id
    b = engine.submit(order("alice", NO, Side.BUY, "0.3", "10"), T0).order_id
    c = engine.submit(order("bob", YES, Side.BUY, "0.2", "10"), T0).order_id
    assert engine.cancel_market("alice", CID, NO) == [b]
    assert engine.cancel_all("alice") == [a]
    assert [o.order_id for o in engine.open_orders()] == [c]
    assert engine.cancel_market("bob", CID) == [c]


def test_gtd_orders_expire_and_release_their_reservation() -> None:
    engine = make_engine()
    now_s = T0 // 1000
    gtd = order("alice", YES, Side.BUY, "0.3", "10", OrderType.GTD, expiration=now_s + 120)
    oid = engine.submit(gtd, T0).order_id
    engine.drain_events()
    assert engine.expire(now_s + 119) == []
    assert engine.expire(now_s + 120) == [oid]
    assert engine.balance("alice").collateral_reserved == 0
    cancelled, level = engine.drain_events()
    assert isinstance(cancelled, OrderCancelled) and cancelled.reason == "expired"
    assert isinstance(level, LevelChanged)
    assert level == LevelChanged(CID, YES, Side.BUY, u("0.3"), 0, (now_s + 120) * 1000, level.step)


# Settlement.


def settled_engine() -> MatchingEngine:
    """alice holds 10 YES, bob 10 NO and 5 YES, carol 5 NO; a resting order is left open."""
    engine = make_engine()
    engine.submit(order("alice", YES, Side.BUY, "0.6", "10"), T0)
    engine.submit(order("bob", NO, Side.BUY, "0.4", "10"), T0)
    engine.submit(order("bob", YES, Side.BUY, "0.5", "5"), T0)
    engine.submit(order("carol", NO, Side.BUY, "0.5", "8"), T0)  # 5 minted, 3 rest
    assert engine.vault(CID) == u("15")
    return engine


@pytest.mark.parametrize(
    ("winner", "payouts"),
    [
        (0, {"alice": u("10"), "bob": u("5"), "carol": 0}),
        (1, {"alice": 0, "bob": u("10"), "carol": u("5")}),
        (None, {"alice": u("5"), "bob": u("7.5"), "carol": u("2.5")}),
    ],
)
def test_resolution_pays_the_winner_from_the_vault(
    winner: int | None, payouts: dict[str, int]
) -> None:
    engine = settled_engine()
    before = {a: engine.balance(a).collateral_total for a in engine.accounts()}
    assert engine.resolve_market(CID, winner) == payouts
    for account, paid in payouts.items():
        bal = engine.balance(account)
        assert bal.collateral_total == before[account] + paid
        assert bal.collateral_reserved == 0
        assert bal.shares(YES) == bal.shares(NO) == 0
    assert engine.vault(CID) == 0
    assert engine.market_status(CID) is MarketStatus.RESOLVED
    assert engine.market_winner(CID) == winner
    assert engine.open_orders() == []
    assert isinstance(engine.drain_events()[-1], MarketResolved)


def test_closing_cancels_resting_orders_and_stops_trading() -> None:
    engine = settled_engine()
    engine.drain_events()
    (rest,) = engine.open_orders()
    assert engine.close_market(CID) == [rest.order_id]
    cancelled = engine.drain_events()[0]
    assert isinstance(cancelled, OrderCancelled) and cancelled.reason == "market_closed"
    assert engine.balance("carol").collateral_reserved == 0
    assert not engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0).success
    engine.resolve_market(CID, 0)
    with pytest.raises(ValueError):
        engine.resolve_market(CID, 1)


def test_resolution_rejects_an_invalid_winner() -> None:
    engine = settled_engine()
    with pytest.raises(ValueError):
        engine.resolve_market(CID, 2)


# Events.


def test_one_taker_sweeping_several_makers_is_one_trade_event() -> None:
    engine = make_engine()
    give_shares(engine, "carol", YES, "20")
    engine.submit(order("alice", YES, Side.BUY, "0.5", "10"), T0)
    engine.submit(order("bob", YES, Side.BUY, "0.49", "10"), T0)
    engine.drain_events()
    result = engine.submit(order("carol", YES, Side.SELL, "0.49", "20"), T0 + 7)
    events = engine.drain_events()
    trades = [e for e in events if isinstance(e, TradeExecuted)]
    assert trades == list(result.trades) and len(trades[0].maker_legs) == 2
    assert [type(e) for e in events] == [
        TradeExecuted,
        OrderUpdated,
        OrderUpdated,
        LevelChanged,
        LevelChanged,
    ]
    updates = [e for e in events if isinstance(e, OrderUpdated)]
    assert all(
        e.size_matched == e.original_size and e.trade_id == trades[0].trade_id for e in updates
    )
    levels = [e for e in events if isinstance(e, LevelChanged)]
    assert [(e.price, e.size) for e in levels] == [(u("0.5"), 0), (u("0.49"), 0)]
    assert len({e.step for e in levels}) == 1


def test_placement_event_reports_a_partly_filled_remainder() -> None:
    engine = make_engine()
    give_shares(engine, "bob", YES, "10")
    engine.submit(order("bob", YES, Side.SELL, "0.5", "10"), T0)
    engine.drain_events()
    result = engine.submit(order("alice", YES, Side.BUY, "0.5", "25"), T0 + 3)
    placed = [e for e in engine.drain_events() if isinstance(e, OrderPlaced)]
    assert len(placed) == 1
    assert (placed[0].order_id, placed[0].size_matched, placed[0].original_size) == (
        result.order_id,
        u("10"),
        u("25"),
    )


def test_same_calls_give_the_same_ids_and_events() -> None:
    def run() -> list[object]:
        engine = make_engine()
        engine.submit(order("alice", YES, Side.BUY, "0.4", "10"), T0)
        engine.submit(order("bob", NO, Side.BUY, "0.65", "15"), T0 + 1)
        engine.cancel_all("bob", now_ms=T0 + 2)
        return list(engine.drain_events())

    assert run() == run()


def test_trade_ids_are_uuid_shaped() -> None:
    engine = make_engine()
    engine.submit(order("alice", YES, Side.BUY, "0.4", "10"), T0)
    trade_id = engine.submit(order("bob", NO, Side.BUY, "0.65", "10"), T0).trade_ids[0]
    parts = trade_id.split("-")
    assert [len(p) for p in parts] == [8, 4, 4, 4, 12] and parts[2][0] == "4"


def test_money_is_conserved_through_a_full_lifecycle() -> None:
    engine = make_engine(fees=FeeSchedule(rate_ppm=70_000, exponent=1))
    engine.submit(order("alice", YES, Side.BUY, "0.45", "33.33"), T0)
    engine.submit(order("bob", NO, Side.BUY, "0.6", "20"), T0)
    engine.submit(order("alice", YES, Side.SELL, "0.5", "10"), T0)
    engine.submit(order("carol", YES, Side.BUY, "0.55", "7"), T0)

    def total() -> int:
        accounts = sum(engine.balance(a).collateral_total for a in engine.accounts())
        return accounts + engine.fees_collected + engine.vault(CID)

    assert total() == engine.total_deposited
    engine.resolve_market(CID, 1)
    assert total() == engine.total_deposited
    assert engine.total_deposited == 3 * UNIT * 1000


# The unified book model (spec section 1): mirrored books and SELL + SELL merges.


def test_unified_books_show_every_order_in_both_outcomes() -> None:
    engine = make_engine(book_model="unified")
    give_shares(engine, "bob", NO, "30")
    engine.submit(order("alice", YES, Side.BUY, "0.5", "200"), T0)
    engine.submit(order("bob", NO, Side.SELL, "0.7", "30"), T0 + 1)
    assert engine.book(YES) == ([(u("0.5"), u("200")), (u("0.3"), u("30"))], [])
    assert engine.book(NO) == ([], [(u("0.5"), u("200")), (u("0.7"), u("30"))])
    assert engine.best_bid_ask(YES) == (u("0.5"), None)
    assert engine.best_bid_ask(NO) == (None, u("0.5"))
    # Queues stay per token: the mirrored level has no orders of its own.
    assert engine.level_orders(NO, Side.SELL, u("0.5")) == []


def test_unified_level_changes_carry_both_outcomes() -> None:
    engine = make_engine(book_model="unified")
    engine.drain_events()
    engine.submit(order("alice", YES, Side.BUY, "0.5", "200"), T0)
    changes = [e for e in engine.drain_events() if isinstance(e, LevelChanged)]
    assert [(c.token_id, c.side, c.price, c.size) for c in changes] == [
        (YES, Side.BUY, u("0.5"), u("200")),
        (NO, Side.SELL, u("0.5"), u("200")),
    ]
    assert len({c.step for c in changes}) == 1


def test_a_mirrored_level_sums_own_and_mirrored_orders() -> None:
    engine = make_engine(book_model="unified")
    give_shares(engine, "bob", NO, "20")
    engine.submit(order("bob", NO, Side.SELL, "0.6", "20"), T0)  # shows as BUY YES 0.40
    engine.drain_events()
    engine.submit(order("alice", YES, Side.BUY, "0.4", "10"), T0 + 1)
    changes = [e for e in engine.drain_events() if isinstance(e, LevelChanged)]
    assert [(c.token_id, c.side, c.price, c.size) for c in changes] == [
        (YES, Side.BUY, u("0.4"), u("30")),
        (NO, Side.SELL, u("0.6"), u("30")),
    ]


def test_merge_pairs_two_sellers_of_opposite_outcomes() -> None:
    engine = make_engine(book_model="unified")
    give_shares(engine, "alice", YES, "10")
    give_shares(engine, "bob", NO, "10")
    vault = engine.vault(CID)
    cash = {a: engine.balance(a).collateral_total for a in ("alice", "bob")}
    engine.submit(order("alice", YES, Side.SELL, "0.4", "10"), T0)
    result = engine.submit(order("bob", NO, Side.SELL, "0.55", "10"), T0 + 1)
    (trade,) = result.trades
    # The maker receives its own 0.40; the taker 1 - 0.40 = 0.60, above its 0.55 limit.
    assert trade.price == u("0.6")
    (leg,) = trade.maker_legs
    assert (leg.account, leg.match_kind, leg.token_id, leg.price) == (
        "alice", "merge", YES, u("0.4")
    )  # fmt: skip
    assert (result.making_amount, result.taking_amount) == (u("10"), u("6"))
    assert engine.vault(CID) == vault - u("10")
    assert engine.balance("alice").collateral_total == cash["alice"] + u("4")
    assert engine.balance("bob").collateral_total == cash["bob"] + u("6")
    assert engine.balance("alice").shares(YES) == engine.balance("bob").shares(NO) == 0


def test_per_token_books_do_not_merge_sellers() -> None:
    engine = make_engine()
    give_shares(engine, "alice", YES, "10")
    give_shares(engine, "bob", NO, "10")
    engine.submit(order("alice", YES, Side.SELL, "0.4", "10"), T0)
    assert engine.submit(order("bob", NO, Side.SELL, "0.55", "10"), T0 + 1).status == "live"
    assert engine.book(YES) == ([], [(u("0.4"), u("10"))])


def test_sell_takes_bids_and_merges_by_effective_price_then_time() -> None:
    engine = make_engine(book_model="unified")
    give_shares(engine, "carol", NO, "10")
    give_shares(engine, "alice", YES, "30")
    engine.submit(order("bob", YES, Side.BUY, "0.6", "10"), T0)  # pays 0.60
    engine.submit(order("carol", NO, Side.SELL, "0.4", "10"), T0 + 1)  # pays 1 - 0.40
    engine.submit(order("bob", YES, Side.BUY, "0.62", "10"), T0 + 2)  # pays 0.62
    result = engine.submit(order("alice", YES, Side.SELL, "0.6", "30"), T0 + 3)
    legs = result.trades[0].maker_legs
    assert [(leg.account, leg.match_kind, leg.price) for leg in legs] == [
        ("bob", "complementary", u("0.62")),
        ("bob", "complementary", u("0.6")),
        ("carol", "merge", u("0.4")),
    ]


def test_post_only_that_would_merge_is_rejected() -> None:
    engine = make_engine(book_model="unified")
    give_shares(engine, "alice", YES, "10")
    give_shares(engine, "bob", NO, "10")
    engine.submit(order("alice", YES, Side.SELL, "0.4", "10"), T0)
    req = order("bob", NO, Side.SELL, "0.6", "10", post_only=True)
    assert reject(engine, req) == ERR_POST_ONLY_CROSSES


def test_unknown_book_model_is_refused() -> None:
    with pytest.raises(ValueError, match="book_model"):
        MatchingEngine(book_model="mirror")  # type: ignore[arg-type]


# Voiding trades whose settlement failed.


@pytest.mark.parametrize("book_model", ["per_token", "unified"])
def test_void_reverses_every_leg_and_refunds_the_fee(book_model: BookModel) -> None:
    fees = FeeSchedule(rate_ppm=70_000, exponent=1)
    engine = make_engine(fees, book_model=book_model)
    give_shares(engine, "carol", YES, "10")
    engine.submit(order("carol", YES, Side.SELL, "0.62", "10"), T0)
    engine.submit(order("bob", NO, Side.BUY, "0.4", "10"), T0)
    before = {a: engine.balance(a) for a in ("alice", "bob", "carol")}
    totals = {a: (b.collateral_total, b.shares(YES), b.shares(NO)) for a, b in before.items()}
    fees_before, vault_before = engine.fees_collected, engine.vault(CID)
    result = engine.submit(order("alice", YES, Side.BUY, "0.62", "15"), T0 + 1)
    (trade,) = result.trades
    assert trade.fee > 0 and engine.vault(CID) > vault_before
    engine.drain_events()
    voided = engine.void_trade(trade.trade_id, T0 + 2)
    assert voided == TradeVoided(trade.trade_id, CID, T0 + 2)
    assert engine.drain_events() == [voided]
    after = {a: engine.balance(a) for a in ("alice", "bob", "carol")}
    assert {a: (b.collateral_total, b.shares(YES), b.shares(NO)) for a, b in after.items()} == (
        totals
    )
    assert (engine.fees_collected, engine.vault(CID)) == (fees_before, vault_before)
    # The orders stay consumed: the makers' orders are filled, nothing went back on a book.
    assert engine.open_orders("bob") == [] and engine.open_orders("carol") != []
    carol = engine.open_orders("carol")[0]
    assert carol.size_matched == u("5")
    assert engine.balance("bob").collateral_reserved == 0


def test_void_of_a_merge_puts_the_pair_back_in_the_vault() -> None:
    engine = make_engine(book_model="unified")
    give_shares(engine, "alice", YES, "10")
    give_shares(engine, "bob", NO, "10")
    vault = engine.vault(CID)
    engine.submit(order("alice", YES, Side.SELL, "0.4", "10"), T0)
    (trade,) = engine.submit(order("bob", NO, Side.SELL, "0.55", "10"), T0 + 1).trades
    engine.void_trade(trade.trade_id, T0 + 2)
    assert engine.vault(CID) == vault
    assert engine.balance("alice").positions[YES].free == u("10")
    assert engine.balance("bob").positions[NO].free == u("10")


def test_void_is_refused_once_the_proceeds_have_moved() -> None:
    engine = make_engine()
    engine.submit(order("alice", YES, Side.BUY, "0.4", "10"), T0)
    (trade,) = engine.submit(order("bob", NO, Side.BUY, "0.6", "10"), T0).trades
    engine.submit(order("bob", NO, Side.SELL, "0.9", "10"), T0 + 1)  # the shares now rest
    before = snapshot(engine)
    with pytest.raises(VoidError, match="free shares"):
        engine.void_trade(trade.trade_id, T0 + 2)
    assert snapshot(engine) == before
    engine.cancel_all("bob")
    engine.void_trade(trade.trade_id, T0 + 3)
    with pytest.raises(VoidError, match="already void"):
        engine.void_trade(trade.trade_id, T0 + 4)
    with pytest.raises(VoidError, match="not found"):
        engine.void_trade("nope", T0 + 4)


# Maker rebates (spec section 7): a share of each leg's taker fee, paid at resolution.

REBATED = FeeSchedule(rate_ppm=70_000, exponent=1, rebate_ppm=200_000)


def held_total(engine: MatchingEngine) -> int:
    """Everything the venue holds: balances, fee account, unpaid rebates, vault."""
    accounts = sum(engine.balance(a).collateral_total for a in engine.accounts())
    return accounts + engine.fees_collected + engine.rebates_accrued() + engine.vault(CID)


def rebated_two_leg_trade(engine: MatchingEngine) -> TradeExecuted:
    """bob buys 30 YES: 10 from carol's ask at 0.55, 20 minted against alice's NO bid 0.42.

    carol must hold 10 YES (give_shares) beforehand.
    """
    engine.submit(order("carol", YES, Side.SELL, "0.55", "10"), T0)
    engine.submit(order("alice", NO, Side.BUY, "0.42", "20"), T0)
    (trade,) = engine.submit(order("bob", YES, Side.BUY, "0.6", "30"), T0 + 1).trades
    return trade


def test_each_maker_leg_accrues_its_share_of_that_legs_taker_fee() -> None:
    engine = make_engine(REBATED)
    give_shares(engine, "carol", YES, "10")
    fees_before = engine.fees_collected
    trade = rebated_two_leg_trade(engine)
    # Leg 1 at 0.55: 10 * 0.07 * 0.55 * 0.45 = 0.17325, rebate 20% = 0.03465.
    # Leg 2 at 0.58: 20 * 0.07 * 0.58 * 0.42 = 0.34104, rebate 20% = 0.068208.
    assert trade.fee == u("0.17325") + u("0.34104")
    assert engine.balance("carol").rebates_accrued == u("0.03465")
    assert engine.balance("alice").rebates_accrued == u("0.068208")
    assert engine.balance("bob").rebates_accrued == 0
    assert engine.fees_collected - fees_before == trade.fee - u("0.03465") - u("0.068208")
    assert held_total(engine) == engine.total_deposited
    # Accrued rebates are not spendable before resolution.
    assert engine.balance("alice").collateral_total == u("1000") - notional_of("0.42", "20")


def notional_of(price: str, size: str) -> int:
    return u(price) * u(size) // UNIT


def test_rebates_are_paid_into_collateral_when_the_market_resolves() -> None:
    engine = make_engine(REBATED)
    give_shares(engine, "carol", YES, "10")
    rebated_two_leg_trade(engine)
    cash_before = engine.balance("carol").collateral_total
    payouts = engine.resolve_market(CID, 1, now_ms=T0 + 2)
    carol = engine.balance("carol")
    # carol sold her YES, so she holds nothing that pays: only the rebate arrives.
    assert "carol" not in payouts
    assert carol.collateral_total == cash_before + u("0.03465")
    assert (carol.rebates_accrued, carol.rebates_paid) == (0, u("0.03465"))
    alice = engine.balance("alice")
    assert (alice.rebates_accrued, alice.rebates_paid) == (0, u("0.068208"))
    assert engine.rebates_accrued() == 0
    assert held_total(engine) == engine.total_deposited


def test_rebates_floor_to_the_micro_usdc_and_the_remainder_stays_with_the_venue() -> None:
    schedule = FeeSchedule(rate_ppm=70_000, exponent=1, rebate_ppm=333_333)
    assert schedule.maker_rebate(10) == 3  # 3.33333 micro-USDC floors to 3
    assert schedule.maker_rebate(0) == 0
    assert FeeSchedule().rebate_ppm == 0 and FeeSchedule().maker_rebate(10**9) == 0
    with pytest.raises(ValueError, match="rebate_ppm"):
        FeeSchedule(rebate_ppm=UNIT + 1)


def test_void_withdraws_an_unpaid_rebate_accrual() -> None:
    engine = make_engine(REBATED)
    give_shares(engine, "carol", YES, "10")
    fees_before = engine.fees_collected
    trade = rebated_two_leg_trade(engine)
    assert engine.balance("alice").rebates_accrued > 0
    engine.void_trade(trade.trade_id, T0 + 2)
    assert engine.balance("alice").rebates_accrued == 0
    assert engine.balance("carol").rebates_accrued == 0
    assert engine.fees_collected == fees_before
    assert held_total(engine) == engine.total_deposited
    engine.resolve_market(CID, 0, now_ms=T0 + 3)
    assert engine.balance("alice").rebates_paid == 0


def test_void_after_resolution_takes_a_paid_rebate_back() -> None:
    engine = make_engine(REBATED, book_model="unified")
    give_shares(engine, "alice", YES, "10")
    give_shares(engine, "bob", NO, "10")
    engine.submit(order("alice", YES, Side.SELL, "0.4", "10"), T0)
    # bob's SELL NO at 0.6 merges with alice's ask: both receive cash, no shares remain.
    (trade,) = engine.submit(order("bob", NO, Side.SELL, "0.6", "10"), T0 + 1).trades
    rebate = REBATED.maker_rebate(trade.fee)
    assert rebate > 0 and engine.balance("alice").rebates_accrued == rebate
    engine.resolve_market(CID, 0, now_ms=T0 + 2)
    assert engine.balance("alice").rebates_paid == rebate
    cash = engine.balance("alice").collateral_total
    engine.void_trade(trade.trade_id, T0 + 3)
    alice = engine.balance("alice")
    assert alice.rebates_paid == 0
    assert alice.collateral_total == cash - notional_of("0.4", "10") - rebate
    assert held_total(engine) == engine.total_deposited
