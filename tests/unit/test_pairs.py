"""PairExecutor, as a specification: the seed bots' atomic entry+hedge pair."""

from __future__ import annotations

import pytest

from engine.order_tracker import (
    Ack,
    CancelConfirmed,
    Reject,
    TrackerEvent,
    TradeStatus,
    TradeUpdate,
)
from engine.pairs import (
    AGGRESSIVE,
    BALANCED,
    CENT,
    PATIENT,
    Band,
    Cancel,
    Intent,
    MarketUpdate,
    PairEffect,
    PairExecutor,
    PairParams,
    PairPhase,
    PairSpec,
    PostBatch,
    PostOnlyBook,
    PostOrder,
    Start,
    Tick,
    VenueUpdate,
    is_post_only_cross,
)
from engine.units import UNIT, OrderType, Side

TICK = 10_000
SIZE = 10 * UNIT
T0 = 1_000.0
CROSSES = "invalid post-only order: order crosses book"


def spec(time_left: float = 900.0, prices: tuple[int, int] = (480_000, 500_000)) -> PairSpec:
    return PairSpec("p1", "0xc", ("yes", "no"), prices, SIZE, TICK, 5 * UNIT, T0 + time_left)


class Driver:
    """Runs a pair at a settable time and remembers the effects of the last call."""

    def __init__(
        self, time_left: float = 900.0, book: PostOnlyBook | None = None, seed: int = 7
    ) -> None:
        self.now = T0
        self.pair = PairExecutor(spec(time_left), PairParams(), book, seed=seed)
        self.effects = self.pair.handle(Start(), self.now)
        batch = self.effects[0]
        assert isinstance(batch, PostBatch)
        self.entry, self.hedge = (leg.key for leg in batch.legs)

    def send(self, key: str, event: TrackerEvent) -> list[PairEffect]:
        self.effects = self.pair.handle(VenueUpdate(key, event), self.now)
        return self.effects

    def fill(self, key: str, size: int, trade: str | None = None) -> list[PairEffect]:
        trade = trade or f"t-{key}-{size}-{len(self.pair.audit)}"
        return self.send(key, TradeUpdate(trade, size, TradeStatus.MATCHED))

    def at(self, now: float) -> list[PairEffect]:
        self.now = now
        self.effects = self.pair.handle(Tick(), now)
        return self.effects

    def market(
        self,
        bids: tuple[int, int],
        asks: tuple[int, int],
        confidence: tuple[float, float] | None = None,
    ) -> None:
        self.effects = self.pair.handle(MarketUpdate(bids, asks, confidence), self.now)

    def posted(self) -> list[PostOrder]:
        return [e for e in self.effects if isinstance(e, PostOrder)]

    def one_legged_at_timeout(self) -> PostOrder:
        """Entry filled, hedge not: the timeout cancels the hedge; once confirmed, the
        entry is liquidated. Returns the first liquidation order."""
        self.send(self.entry, Ack())
        self.send(self.hedge, Ack())
        self.fill(self.entry, SIZE)
        assert self.at(T0 + 120) == [Cancel(self.hedge)]
        self.send(self.hedge, CancelConfirmed())
        (post,) = self.posted()
        return post


# --- entry -------------------------------------------------------------------------


def test_both_outcomes_are_bought_in_one_post_only_batch() -> None:
    d = Driver()
    (batch,) = d.effects
    assert isinstance(batch, PostBatch)
    legs = batch.legs
    assert [(leg.token_id, leg.side, leg.price, leg.size) for leg in legs] == [
        ("yes", Side.BUY, 480_000, SIZE),
        ("no", Side.BUY, 500_000, SIZE),
    ]
    assert all(leg.post_only and leg.order_type is OrderType.GTC for leg in legs)
    assert d.pair.phase is PairPhase.WORKING


def test_a_pair_above_the_threshold_is_refused_and_posts_nothing() -> None:
    pair = PairExecutor(
        PairSpec("p", "0xc", ("y", "n"), (500_000, 500_000), SIZE, TICK, 5 * UNIT, 2e3)
    )
    assert pair.handle(Start(), T0) == []
    assert pair.phase is PairPhase.REFUSED and pair.may_retry


def test_the_threshold_is_inclusive() -> None:
    pair = PairExecutor(spec(prices=(490_000, 500_000)))
    assert isinstance(pair.handle(Start(), T0)[0], PostBatch)


def test_three_post_only_crossings_switch_the_market_to_gtc_until_a_success() -> None:
    book = PostOnlyBook(limit=3)
    for _ in range(3):
        d = Driver(book=book)
        d.send(d.entry, Reject(CROSSES))
        d.send(d.hedge, Ack())
    assert book.failures("0xc") == 3
    d = Driver(book=book)
    (batch,) = d.effects
    assert isinstance(batch, PostBatch)
    assert not any(leg.post_only for leg in batch.legs)
    d.send(d.entry, Ack())
    d.send(d.hedge, Ack())
    assert book.failures("0xc") == 0
    assert all(leg.post_only for leg in Driver(book=book).effects[0].legs)  # type: ignore[union-attr]


def test_other_rejections_do_not_count_as_crossings() -> None:
    book = PostOnlyBook(limit=3)
    d = Driver(book=book)
    d.send(d.entry, Reject("not enough balance / allowance"))
    d.send(d.hedge, Ack())
    assert book.failures("0xc") == 0


def test_post_only_crossings_are_recognized_by_the_venue_text() -> None:
    assert is_post_only_cross(CROSSES)
    assert is_post_only_cross("INVALID_POST_ONLY_ORDER")
    assert not is_post_only_cross(
        "invalid post-only order: only GTC and GTD order types are allowed"
    )
    assert not is_post_only_cross("not enough balance / allowance")


# --- fill monitoring -----------------------------------------------------------------


def test_both_legs_filled_is_hedged() -> None:
    d = Driver()
    d.fill(d.entry, SIZE)
    d.fill(d.hedge, 4 * UNIT)
    assert d.pair.phase is PairPhase.WORKING
    d.fill(d.hedge, 6 * UNIT)
    assert d.pair.phase is PairPhase.HEDGED
    assert d.pair.position() == (SIZE, SIZE)


def test_neither_filled_at_the_timeout_cancels_both_and_is_flat_once_confirmed() -> None:
    d = Driver()
    d.send(d.entry, Ack())
    d.send(d.hedge, Ack())
    assert d.at(T0 + 119.9) == []
    assert d.pair.next_deadline() == T0 + 120
    assert d.at(T0 + 120) == [Cancel(d.entry), Cancel(d.hedge)]
    d.send(d.entry, CancelConfirmed())
    assert d.pair.phase is PairPhase.UNWINDING  # a cancel counts once confirmed
    d.send(d.hedge, CancelConfirmed())
    assert d.pair.phase is PairPhase.FLAT and d.pair.may_retry


def test_a_rejected_leg_cancels_the_other_at_once() -> None:
    d = Driver()
    d.send(d.hedge, Ack())
    assert d.send(d.entry, Reject("not enough balance / allowance")) == [Cancel(d.hedge)]


def test_the_timeout_is_configurable() -> None:
    pair = PairExecutor(spec(), PairParams(fill_timeout_s=30.0))
    pair.handle(Start(), T0)
    assert pair.next_deadline() == T0 + 30


def test_one_leg_filled_at_the_timeout_is_liquidated_with_a_sell() -> None:
    d = Driver()
    post = d.one_legged_at_timeout()
    leg = post.leg
    assert (leg.intent, leg.token_id, leg.side, leg.size) == (
        Intent.LIQUIDATE,
        "yes",
        Side.SELL,
        SIZE,
    )
    assert leg.price == 480_000  # no market seen: start at the entry price
    assert d.pair.phase is PairPhase.LIQUIDATING


def test_a_partial_leg_liquidates_only_the_unhedged_excess() -> None:
    d = Driver()
    d.fill(d.entry, 9 * UNIT)
    d.fill(d.hedge, 2 * UNIT)
    d.at(T0 + 120)
    d.send(d.entry, CancelConfirmed())
    d.send(d.hedge, CancelConfirmed())
    (post,) = d.posted()
    assert post.leg.size == 7 * UNIT
    assert d.pair.position() == (9 * UNIT, 2 * UNIT)


# --- time-aware liquidation ------------------------------------------------------------


def reprice(d: Driver, key: str) -> PostOrder:
    """Wait until the re-price time, see the cancel, confirm it, return the new order."""
    deadline = d.pair.next_deadline()
    assert deadline is not None
    assert d.at(deadline) == [Cancel(key)]
    d.send(key, CancelConfirmed())
    (post,) = d.posted()
    return post


@pytest.mark.parametrize(
    ("time_left", "band"),
    [
        (900.0, PATIENT),
        (600.0 + 120 + 1, PATIENT),
        (500.0, BALANCED),
        (420.0, BALANCED),
        (250.0, AGGRESSIVE),
    ],
)
def test_each_reprice_cancels_then_steps_down_within_the_band(time_left: float, band: Band) -> None:
    d = Driver(time_left=time_left)
    d.market((470_000, 480_000), (490_000, 510_000))
    post = d.one_legged_at_timeout()
    assert post.leg.price == 490_000 - TICK  # one tick under the best ask
    assert band is d.pair.params.band(d.pair.time_to_resolution())
    price, key = post.leg.price, post.leg.key
    for _ in range(3):
        posted_in = d.pair.params.band(d.pair.time_to_resolution())
        deadline = d.pair.next_deadline()
        assert deadline is not None
        assert posted_in.wait_s[0] <= deadline - d.now <= posted_in.wait_s[1]
        new = reprice(d, key)
        priced_in = d.pair.params.band(d.pair.time_to_resolution())
        assert d.pair.audit[-1].note == priced_in.name
        step = price - new.leg.price
        assert priced_in.step_cents[0] * CENT <= step <= priced_in.step_cents[1] * CENT
        price, key = new.leg.price, new.leg.key


def test_the_band_follows_the_time_left_at_each_reprice() -> None:
    d = Driver(time_left=760.0)  # patient at the timeout (640 s left), balanced soon
    key = d.one_legged_at_timeout().leg.key
    bands = []
    for _ in range(6):
        new = reprice(d, key)
        bands.append(d.pair.audit[-1].note)
        key = new.leg.key
    assert bands[0] == "patient" and "balanced" in bands


def test_liquidation_never_prices_below_one_tick() -> None:
    d = Driver(time_left=200.0)
    d.market((10_000, 980_000), (30_000, 990_000))
    key = d.one_legged_at_timeout().leg.key
    prices = []
    for _ in range(4):
        new = reprice(d, key)
        prices.append(new.leg.price)
        key = new.leg.key
    assert prices[-1] == TICK and min(prices) == TICK


def test_a_liquidation_filled_in_full_is_liquidated() -> None:
    d = Driver()
    post = d.one_legged_at_timeout()
    d.send(post.leg.key, Ack())
    d.fill(post.leg.key, SIZE)
    assert d.pair.phase is PairPhase.LIQUIDATED
    assert d.pair.position() == (0, 0)


def test_a_rejected_liquidation_is_posted_again_at_the_same_price_after_a_wait() -> None:
    d = Driver()
    post = d.one_legged_at_timeout()
    assert d.send(post.leg.key, Reject("not enough balance / allowance")) == []
    deadline = d.pair.next_deadline()
    assert deadline is not None and deadline > d.now
    d.at(deadline)
    (again,) = d.posted()
    assert again.leg.price == post.leg.price and again.leg.size == SIZE


def test_same_seed_same_decisions() -> None:
    def run(seed: int) -> list[tuple[str, tuple[int, ...], float]]:
        d = Driver(seed=seed)
        key = d.one_legged_at_timeout().leg.key
        for _ in range(3):
            key = reprice(d, key).leg.key
        return [(r.step, r.prices, r.at) for r in d.pair.audit]

    assert run(3) == run(3)


# --- minimum-size smart hold ---------------------------------------------------------------


def small_leftover(d: Driver) -> None:
    d.fill(d.entry, 8 * UNIT)
    d.fill(d.hedge, 5 * UNIT)  # 3 shares one-sided: below the 5-share minimum
    d.at(T0 + 120)
    d.send(d.entry, CancelConfirmed())
    d.send(d.hedge, CancelConfirmed())


def test_a_leftover_below_the_minimum_on_the_winning_side_is_held() -> None:
    d = Driver()
    d.market((600_000, 380_000), (620_000, 400_000))  # yes mid 0.61
    small_leftover(d)
    assert d.pair.phase is PairPhase.HELD
    assert not d.posted()


def test_a_losing_leftover_below_the_minimum_is_recorded_orphaned() -> None:
    d = Driver()
    d.market((300_000, 680_000), (320_000, 700_000))
    small_leftover(d)
    assert d.pair.phase is PairPhase.ORPHANED
    assert d.pair.audit[-1].step == "orphaned"


def test_the_confidence_input_decides_over_the_mid() -> None:
    d = Driver()
    d.market((300_000, 680_000), (320_000, 700_000), confidence=(0.7, 0.3))
    small_leftover(d)
    assert d.pair.phase is PairPhase.HELD


# --- pre-settlement exit ---------------------------------------------------------------


def hedged(time_left: float) -> Driver:
    d = Driver(time_left=time_left)
    d.fill(d.entry, SIZE)
    d.fill(d.hedge, SIZE)
    assert d.pair.phase is PairPhase.HEDGED
    return d


def test_inside_the_window_a_confident_winner_is_kept_and_the_loser_sold() -> None:
    d = hedged(time_left=300.0)
    d.now = T0 + 300 - 120  # T-120 s
    d.market((900_000, 60_000), (920_000, 80_000), confidence=(0.9, 0.1))
    (post,) = d.posted()
    assert (post.leg.intent, post.leg.token_id, post.leg.side) == (Intent.EXIT, "no", Side.SELL)
    assert (post.leg.price, post.leg.size) == (60_000, SIZE)
    d.send(post.leg.key, Ack())
    d.fill(post.leg.key, SIZE)
    assert d.pair.phase is PairPhase.HELD and d.pair.kept == 0
    assert d.pair.position() == (SIZE, 0)


@pytest.mark.parametrize(
    ("time_left", "confidence"),
    [(200.0, (0.9, 0.1)), (40.0, (0.9, 0.1)), (120.0, (0.8, 0.2)), (120.0, None)],
)
def test_no_exit_outside_the_window_or_without_enough_confidence(
    time_left: float, confidence: tuple[float, float] | None
) -> None:
    d = hedged(time_left=300.0)
    d.now = T0 + 300 - time_left
    d.market((900_000, 60_000), (920_000, 80_000), confidence=confidence)
    assert d.effects == [] and d.pair.phase is PairPhase.HEDGED


def test_an_unfilled_exit_is_canceled_when_the_window_closes() -> None:
    d = hedged(time_left=300.0)
    d.now = T0 + 300 - 100
    d.market((900_000, 60_000), (920_000, 80_000), confidence=(0.1, 0.9))
    (post,) = d.posted()
    assert post.leg.token_id == "yes"
    assert d.at(T0 + 300 - 44) == [Cancel(post.leg.key)]
    d.send(post.leg.key, CancelConfirmed())
    assert d.pair.phase is PairPhase.HEDGED


def test_a_liquidation_of_the_likely_winner_stops_and_the_leg_is_held() -> None:
    d = Driver(time_left=290.0)
    post = d.one_legged_at_timeout()  # selling "yes" with 170 s left
    d.market((800_000, 150_000), (850_000, 200_000), confidence=(0.85, 0.15))
    assert d.effects == [Cancel(post.leg.key)]
    d.send(post.leg.key, CancelConfirmed())
    assert d.pair.phase is PairPhase.HELD and d.pair.kept == 0


# --- failures and the audit trail ---------------------------------------------------------


def test_a_failed_trade_after_hedging_liquidates_the_leg_left_alone() -> None:
    d = Driver()
    d.fill(d.entry, SIZE, trade="a")
    d.fill(d.hedge, SIZE, trade="b")
    d.send(d.hedge, TradeUpdate("b", SIZE, TradeStatus.FAILED))
    (post,) = d.posted()
    assert (post.leg.token_id, post.leg.side, post.leg.size) == ("yes", Side.SELL, SIZE)
    assert d.pair.phase is PairPhase.LIQUIDATING


def test_every_step_is_in_the_audit_trail_with_ids_sizes_prices_and_times() -> None:
    d = Driver()
    post = d.one_legged_at_timeout()
    steps = [(r.step, r.keys, r.sizes, r.prices, r.at) for r in d.pair.audit]
    assert steps[0] == ("post batch", (d.entry, d.hedge), (SIZE, SIZE), (480_000, 500_000), T0)
    assert ("fill", (d.entry,), (SIZE,), (480_000,), T0) in steps
    assert ("cancel", (d.hedge,), (SIZE,), (500_000,), T0 + 120) in steps
    assert steps[-1] == ("liquidate", (post.leg.key,), (SIZE,), (480_000,), T0 + 120)
    assert all(r.pair_id == "p1" for r in d.pair.audit)


def test_news_about_an_unknown_order_is_an_error() -> None:
    d = Driver()
    with pytest.raises(KeyError, match="no order"):
        d.send("p1:nope", Ack())
