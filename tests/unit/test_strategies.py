"""The two seed-bot strategies as pure functions of a MarketView and holdings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import MakerConfig, ParityConfig
from engine.fees import FeeSchedule
from engine.messages import MarketInfo, MarketPhase, MarketView, SetQuotes, TokenTop
from engine.strategies.parity import ParityArbitrage, price_pair
from engine.strategies.spread_maker import SpreadMaker, complement_view
from engine.units import UNIT, OrderType, Side

TICK = 10_000
MARKET = MarketInfo(
    condition_id="0x" + "cd" * 32,
    slug="btc-updown-15m-1793404800",
    token_ids=("1" * 77, "2" * 77),
    outcomes=("Up", "Down"),
    tick=TICK,
    min_size=5 * UNIT,
    fees=FeeSchedule(rate_ppm=70_000),
    start_ts=1_793_404_800,
    end_ts=1_793_405_700,
)


def view(
    yes: tuple[int | None, int | None],
    no: tuple[int | None, int | None],
    *,
    size: int = 100 * UNIT,
    now: float = 1_793_405_000.0,
    phase: MarketPhase = MarketPhase.TRADING,
) -> MarketView:
    def top(token: str, bid: int | None, ask: int | None) -> TokenTop:
        return TokenTop(token, bid, size if bid else 0, ask, size if ask else 0)

    return MarketView(
        ts_ns=1,
        frame_ts_ns=1,
        market=MARKET,
        now_s=now,
        phase=phase,
        healthy=True,
        yes=top(MARKET.token_ids[0], *yes),
        no=top(MARKET.token_ids[1], *no),
    )


# --- parity arbitrage -------------------------------------------------------------


def test_parity_buys_both_outcomes_when_asks_sum_well_below_one() -> None:
    strategy = ParityArbitrage(ParityConfig(max_size=20))
    intent = strategy.on_view(view((400_000, 450_000), (450_000, 500_000)), (0, 0))
    assert intent is not None
    assert [(leg.side, leg.price, leg.size, leg.order_type) for leg in intent.legs] == [
        (Side.BUY, 450_000, 20 * UNIT, OrderType.FOK),
        (Side.BUY, 500_000, 20 * UNIT, OrderType.FOK),
    ]


def test_parity_ignores_a_pair_whose_edge_the_fees_eat() -> None:
    # 0.49 + 0.50 = 0.99: 1 cent of edge, but fees at these prices are ~1.75 cents.
    strategy = ParityArbitrage(ParityConfig(min_edge=0))
    assert strategy.on_view(view((None, 490_000), (None, 500_000)), (0, 0)) is None


def test_parity_edge_accounts_for_fees_exactly() -> None:
    quote = price_pair(view((None, 450_000), (None, 500_000), size=10 * UNIT), 50 * UNIT)
    assert quote is not None
    fees = MARKET.fees.taker_fee(450_000, 10 * UNIT) + MARKET.fees.taker_fee(500_000, 10 * UNIT)
    assert quote.edge == 10 * UNIT - 4_500_000 - 5_000_000 - fees


def test_parity_waits_out_its_cooldown_and_skips_closed_markets() -> None:
    strategy = ParityArbitrage(ParityConfig(cooldown_s=5))
    cheap = ((None, 400_000), (None, 450_000))
    assert strategy.on_view(view(*cheap), (0, 0)) is not None
    assert strategy.on_view(view(*cheap, now=1_793_405_002.0), (0, 0)) is None
    assert strategy.on_view(view(*cheap, now=1_793_405_006.0), (0, 0)) is not None
    closed = view(*cheap, phase=MarketPhase.CLOSED)
    assert ParityArbitrage(ParityConfig()).on_view(closed, (0, 0)) is None


def test_parity_never_sizes_below_the_venue_minimum() -> None:
    thin = view((None, 400_000), (None, 450_000), size=4 * UNIT)
    assert ParityArbitrage(ParityConfig()).on_view(thin, (0, 0)) is None


# --- spread maker -----------------------------------------------------------------


def quotes(intent: SetQuotes | None) -> dict[str, int]:
    assert intent is not None
    return {q.key: q.price for q in intent.quotes}


def test_complement_view_combines_both_books_in_yes_space() -> None:
    book = complement_view(view((400_000, 700_000), (350_000, 550_000)))
    assert (book.bid, book.ask) == (450_000, 650_000)


def test_maker_quotes_one_tick_inside_a_wide_spread() -> None:
    maker = SpreadMaker(MakerConfig(min_spread_ticks=3))
    got = quotes(maker.on_view(view((400_000, 500_000), (500_000, 600_000)), (0, 0)))
    assert got == {"bid-yes": 410_000, "bid-no": UNIT - 490_000}


def test_maker_pulls_quotes_when_the_spread_is_narrow() -> None:
    maker = SpreadMaker(MakerConfig(min_spread_ticks=3))
    assert quotes(maker.on_view(view((400_000, 500_000), (500_000, 600_000)), (0, 0))) != {}
    assert quotes(maker.on_view(view((480_000, 500_000), (500_000, 520_000)), (0, 0))) == {}


def test_maker_does_not_step_over_its_own_quote() -> None:
    maker = SpreadMaker(MakerConfig(min_spread_ticks=3))
    maker.on_view(view((400_000, 500_000), (500_000, 600_000)), (0, 0))
    # Our quotes are now the best levels; the next view shows them and nothing changes.
    assert maker.on_view(view((410_000, 500_000), (510_000, 600_000)), (0, 0)) is None


def test_maker_skews_against_inventory_and_stops_growing_it() -> None:
    cfg = MakerConfig(min_spread_ticks=3, quote_size=10, max_inventory=30, skew_ticks_per_quote=1)
    wide = view((300_000, 700_000), (300_000, 700_000))
    flat = quotes(SpreadMaker(cfg).on_view(wide, (0, 0)))
    long_yes = quotes(SpreadMaker(cfg).on_view(wide, (20 * UNIT, 0)))
    assert long_yes["bid-yes"] == flat["bid-yes"] - 2 * TICK
    assert long_yes["bid-no"] == flat["bid-no"] + 2 * TICK
    at_limit = quotes(SpreadMaker(cfg).on_view(wide, (30 * UNIT, 0)))
    assert "bid-yes" not in at_limit and "bid-no" in at_limit


def test_maker_stops_before_the_window_ends() -> None:
    maker = SpreadMaker(MakerConfig(stop_before_end_s=60))
    early = view((300_000, 700_000), (300_000, 700_000), now=MARKET.end_ts - 90)
    late = view((300_000, 700_000), (300_000, 700_000), now=MARKET.end_ts - 30)
    assert quotes(maker.on_view(early, (0, 0))) != {}
    assert quotes(maker.on_view(late, (0, 0))) == {}  # the quotes are pulled
    assert SpreadMaker(MakerConfig()).on_view(late, (0, 0)) is None  # nothing to pull


levels = st.integers(1, 99).map(lambda c: c * TICK)


@settings(max_examples=300, deadline=None)
@given(
    yes_bid=st.none() | levels,
    yes_ask=st.none() | levels,
    no_bid=st.none() | levels,
    no_ask=st.none() | levels,
    net=st.integers(-200, 200).map(lambda n: n * UNIT),
)
def test_maker_quotes_never_cross_the_book_or_leave_the_price_range(
    yes_bid: int | None, yes_ask: int | None, no_bid: int | None, no_ask: int | None, net: int
) -> None:
    v = view((yes_bid, yes_ask), (no_bid, no_ask))
    book = complement_view(v)
    intent = SpreadMaker(MakerConfig()).on_view(v, (max(net, 0), max(-net, 0)))
    if intent is None:
        return
    got = {q.key: q for q in intent.quotes}
    for quote in got.values():
        assert TICK <= quote.price <= UNIT - TICK
        assert quote.post_only and quote.side is Side.BUY
    if "bid-yes" in got and book.ask is not None:
        assert got["bid-yes"].price < book.ask
    if "bid-no" in got and book.bid is not None:
        assert UNIT - got["bid-no"].price > book.bid
    if len(got) == 2:
        assert got["bid-yes"].price + got["bid-no"].price < UNIT
