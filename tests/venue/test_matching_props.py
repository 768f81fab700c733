"""Properties of the matching engine under random order flow from several accounts.

A hypothesis state machine drives the engine and, after every step, checks it against
a slow reference matcher (every fill must be the one a naive sort of the open orders
predicts) and against the invariants: books never crossed, no pair of resting BUYs on
the two outcomes summing to 1.00 or more, FIFO within a level, reservations equal to
the sum over open orders, collateral and shares conserved. It runs over both book
models; in "unified" the reference also merges SELLs and the books checked are the
mirrored ones. Trades are voided at random (and right after matching, where the
balances must come back exactly). A second test replays one random flow twice and
requires identical events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from engine.fees import FeeSchedule
from engine.units import SIZE_STEP, UNIT, Side
from engine.venue.matching import (
    ERR_FAK,
    ERR_FOK,
    ERR_POST_ONLY_CROSSES,
    BookModel,
    MarketSpec,
    MarketStatus,
    MatchingEngine,
    OrderRequest,
    OrderType,
    OrderView,
    TradeExecuted,
    VenueEvent,
    VoidError,
    buy_reservation,
)

ACCOUNTS = ("a", "b", "c", "d")
T0 = 1_800_000_000_000


def make_spec(n: int, tick: int, fees: FeeSchedule) -> MarketSpec:
    return MarketSpec(
        condition_id="0x" + f"{n:064x}",
        question=f"market {n}",
        slug=f"m-{n}",
        token_ids=(f"{n}1", f"{n}2"),
        outcomes=("Yes", "No"),
        tick=tick,
        fees=fees,
        start_ts=0,
        end_ts=900,
    )


# Two market kinds: a 0.01 tick crypto-like market with the 20% maker rebate and a coarse
# 0.1 tick one with exponent-2 fees and a 1/3 rebate, so fee and rebate rounding and level
# sharing all get exercised.
MARKET_KINDS = (
    (10_000, FeeSchedule(rate_ppm=70_000, exponent=1, rebate_ppm=200_000)),
    (100_000, FeeSchedule(rate_ppm=250_000, exponent=2, rebate_ppm=333_333)),
)


@dataclass(frozen=True)
class Op:
    """One randomly drawn order: ticks away from mid-price, on a given market slot."""

    account: str
    market: int
    outcome: int
    side: Side
    ticks: int
    size_steps: int
    order_type: OrderType
    post_only: bool


ops = st.builds(
    Op,
    account=st.sampled_from(ACCOUNTS),
    market=st.integers(0, 1),
    outcome=st.integers(0, 1),
    side=st.sampled_from(Side),
    ticks=st.integers(-4, 4),
    size_steps=st.one_of(st.integers(500, 2500), st.integers(500, 2500), st.sampled_from([1, 499])),
    order_type=st.sampled_from(OrderType),
    post_only=st.booleans(),
)


def request_for(op: Op, spec: MarketSpec, now_s: int) -> OrderRequest:
    """Prices cluster around 0.5 so orders cross often; sizes in 0.01 share steps."""
    mid = UNIT // 2 // spec.tick * spec.tick
    price = min(max(mid + op.ticks * spec.tick, spec.tick), UNIT - spec.tick)
    return OrderRequest(
        account=op.account,
        token_id=spec.token_ids[op.outcome],
        side=op.side,
        price=price,
        size=op.size_steps * SIZE_STEP,
        order_type=op.order_type,
        post_only=op.post_only and op.order_type.rests,
        expiration=now_s + 90 if op.order_type is OrderType.GTD else 0,
    )


def expected_fills(engine: MatchingEngine, req: OrderRequest) -> list[tuple[str, int, str]]:
    """The reference matcher: sort every eligible open order, fill greedily."""
    unified = engine.book_model == "unified"
    spec = engine.market_for_token(req.token_id)
    assert spec is not None
    other = spec.other_token(req.token_id)
    candidates: list[tuple[int, int, OrderView, str]] = []
    for o in engine.open_orders():
        if req.side is Side.BUY:
            if o.token_id == req.token_id and o.side is Side.SELL and o.price <= req.price:
                candidates.append((o.price, o.arrival, o, "complementary"))
            if o.token_id == other and o.side is Side.BUY and UNIT - o.price <= req.price:
                candidates.append((UNIT - o.price, o.arrival, o, "mint"))
        elif o.token_id == req.token_id and o.side is Side.BUY and o.price >= req.price:
            candidates.append((-o.price, o.arrival, o, "complementary"))
        elif (
            unified and o.token_id == other and o.side is Side.SELL and o.price + req.price <= UNIT
        ):
            candidates.append((o.price - UNIT, o.arrival, o, "merge"))
    candidates.sort(key=lambda c: (c[0], c[1]))
    fills = []
    left = req.size
    for _, _, o, kind in candidates:
        if left == 0:
            break
        size = min(left, o.remaining)
        fills.append((o.order_id, size, kind))
        left -= size
    return fills


Snapshot = tuple[dict[str, tuple[int, dict[str, int], int, int]], int, list[int]]


class VenueMachine(RuleBasedStateMachine):
    BOOK_MODEL: BookModel = "per_token"

    def __init__(self) -> None:
        super().__init__()
        self.engine = MatchingEngine(id_seed="props", book_model=self.BOOK_MODEL)
        self.trade_ids: list[str] = []
        self.now_s = T0 // 1000
        self.specs: list[MarketSpec] = []
        self.listed = 0

    def list_market(self, kind: int) -> None:
        tick, fees = MARKET_KINDS[kind]
        spec = make_spec(self.listed, tick, fees)
        self.listed += 1
        self.engine.add_market(spec)
        if len(self.specs) <= kind:
            self.specs.append(spec)
        else:
            self.specs[kind] = spec

    @initialize(cash=st.lists(st.integers(100, 1000), min_size=4, max_size=4))
    def setup(self, cash: list[int]) -> None:
        self.list_market(0)
        self.list_market(1)
        for account, dollars in zip(ACCOUNTS, cash, strict=True):
            self.engine.deposit(account, dollars * UNIT)

    @rule(op=ops)
    def submit(self, op: Op) -> None:
        spec = self.specs[op.market]
        req = request_for(op, spec, self.now_s)
        expected = expected_fills(self.engine, req)
        self.now_s += 1
        result = self.engine.submit(req, self.now_s * 1000)
        event(f"submit {req.order_type} {'ok' if result.success else result.error[:30]}")
        if not result.success:
            if result.error == ERR_FOK:
                assert sum(size for _, size, _ in expected) < req.size
            elif result.error == ERR_FAK:
                assert expected == []
            elif result.error == ERR_POST_ONLY_CROSSES:
                assert expected
            return
        self.trade_ids.extend(result.trade_ids)
        legs = [leg for trade in result.trades for leg in trade.maker_legs]
        for kind in sorted({leg.match_kind for leg in legs}):
            event(f"fill {kind}")
        assert [(leg.order_id, leg.size, leg.match_kind) for leg in legs] == expected
        filled = sum(leg.size for leg in legs)
        view = self.engine.order(result.order_id)
        assert view is not None and view.size_matched == filled
        assert result.status == ("matched" if legs else "live")
        rests = req.order_type.rests and filled < req.size
        assert (view in self.engine.open_orders()) == rests

    @rule(batch=st.lists(ops, min_size=1, max_size=4))
    def submit_many(self, batch: list[Op]) -> None:
        """Bursts of orders, so that order flow dominates the other actions."""
        for op in batch:
            self.submit(op)

    @rule(seed=st.integers(0, 2**32 - 1), count=st.integers(5, 25))
    def random_burst(self, seed: int, count: int) -> None:
        """Uniformly random orders from a seeded generator, to build deep books quickly.

        Hypothesis prefers simple values (same side, same outcome), which rarely cross;
        a burst of uniform orders reaches crossed, minted and partly filled states.
        """
        rng = random.Random(seed)
        for _ in range(count):
            account = rng.choice(ACCOUNTS)
            market = rng.randrange(2)
            outcome = rng.randrange(2)
            token = self.specs[market].token_ids[outcome]
            held = self.engine.balance(account).positions.get(token)
            side = Side.SELL if held and held.free and rng.random() < 0.6 else Side.BUY
            steps = rng.randint(500, 2500)
            if side is Side.SELL and held is not None:
                steps = rng.randint(1, held.free // SIZE_STEP)
            order_type = rng.choice(
                [OrderType.GTC, OrderType.GTC, OrderType.GTD, OrderType.FOK, OrderType.FAK]
            )
            ticks = rng.randint(-4, 4)
            self.submit(
                Op(account, market, outcome, side, ticks, steps, order_type, rng.random() < 0.1)
            )

    @rule(data=st.data(), market=st.integers(0, 1), outcome=st.integers(0, 1))
    def sell_holdings(self, data: st.DataObject, market: int, outcome: int) -> None:
        """Sell part of a real position, so SELL orders mostly pass the balance check."""
        spec = self.specs[market]
        token = spec.token_ids[outcome]
        holders = [a for a in ACCOUNTS if self.engine.balance(a).positions.get(token)]
        if not holders:
            return
        account = data.draw(st.sampled_from(holders))
        free = self.engine.balance(account).positions[token].free
        if free < SIZE_STEP:
            return
        steps = data.draw(st.integers(1, free // SIZE_STEP))
        op = Op(account, market, outcome, Side.SELL, data.draw(st.integers(-3, 3)), steps,
                data.draw(st.sampled_from(OrderType)), False)  # fmt: skip
        self.submit(op)

    @rule(data=st.data(), wrong_owner=st.booleans())
    def cancel(self, data: st.DataObject, wrong_owner: bool) -> None:
        opens = self.engine.open_orders()
        if not opens:
            return
        victim = data.draw(st.sampled_from(opens))
        account = victim.account
        if wrong_owner:
            account = next(a for a in ACCOUNTS if a != victim.account)
        before = self.engine.balance(victim.account)
        self.now_s += 1
        done = self.engine.cancel(account, victim.order_id, now_ms=self.now_s * 1000)
        assert done == (not wrong_owner)
        if wrong_owner:
            assert self.engine.balance(victim.account) == before

    def snapshot(self) -> Snapshot:
        """Every account's collateral, shares and rebates, the fees and the vaults."""
        engine = self.engine
        accounts = {}
        for account in engine.accounts():
            bal = engine.balance(account)
            accounts[account] = (
                bal.collateral_total,
                {t: p.total for t, p in bal.positions.items()},
                bal.rebates_accrued,
                bal.rebates_paid,
            )
        vaults = [engine.vault(s.condition_id) for s in engine.markets()]
        return accounts, engine.fees_collected, vaults

    @rule(op=ops)
    def submit_then_void(self, op: Op) -> None:
        """A trade voided right after it matched leaves every balance as before it.

        The order is aimed at the oldest resting order so that it usually trades: the
        same side on the other outcome at the complement (mint or merge) when that is
        open to the model, else the opposite side on the same token at its price.
        """
        opens = self.engine.open_orders()
        if opens:
            target = opens[0]
            spec = self.engine.market(target.condition_id)
            market = next((i for i, s in enumerate(self.specs) if s == spec), None)
            if market is not None:
                index = spec.outcome_index(target.token_id)
                crossed = target.side is Side.BUY or self.BOOK_MODEL == "unified"
                side = target.side if crossed else Side.BUY
                price = UNIT - target.price if crossed else target.price
                outcome = 1 - index if crossed else index
                mid = UNIT // 2 // spec.tick * spec.tick
                ticks = (price - mid) // spec.tick
                op = Op(
                    op.account, market, outcome, side, ticks, op.size_steps, op.order_type, False
                )
        before = self.snapshot()
        count = len(self.trade_ids)
        self.submit(op)
        if len(self.trade_ids) == count:
            return
        trade = self.engine.trade(self.trade_ids[-1])
        assert trade is not None
        self.engine.void_trade(trade.trade_id, self.now_s * 1000)
        event("void right after")
        assert self.snapshot() == before
        with pytest.raises(VoidError):
            self.engine.void_trade(trade.trade_id, self.now_s * 1000)

    @rule(data=st.data())
    def void_some_trade(self, data: st.DataObject) -> None:
        """Void any past trade: applied exactly, or refused without changing anything."""
        if not self.trade_ids:
            return
        trade_id = data.draw(st.sampled_from(self.trade_ids))
        before = self.snapshot()
        try:
            self.engine.void_trade(trade_id, self.now_s * 1000)
        except VoidError:
            event("void refused")
            assert self.snapshot() == before
        else:
            event("void applied")

    @rule(account=st.sampled_from(ACCOUNTS))
    def cancel_all(self, account: str) -> None:
        self.engine.cancel_all(account)
        assert self.engine.open_orders(account) == []

    @rule(seconds=st.integers(1, 120))
    def time_passes(self, seconds: int) -> None:
        self.now_s += seconds
        self.engine.expire(self.now_s)
        for o in self.engine.open_orders():
            assert o.order_type is not OrderType.GTD or o.expiration > self.now_s

    @rule(account=st.sampled_from(ACCOUNTS), dollars=st.integers(1, 100))
    def deposit(self, account: str, dollars: int) -> None:
        self.engine.deposit(account, dollars * UNIT)

    @precondition(lambda self: self.listed < 6)
    @rule(market=st.integers(0, 1), winner=st.sampled_from([0, 1, None]))
    def resolve(self, market: int, winner: int | None) -> None:
        """Settle a market and list a fresh one in its slot."""
        spec = self.specs[market]
        vault = self.engine.vault(spec.condition_id)
        paid = self.engine.resolve_market(spec.condition_id, winner)
        assert sum(paid.values()) == vault
        self.list_market(market)

    # Invariants, checked after every step.

    @invariant()
    def books_are_not_crossed(self) -> None:
        for spec in self.engine.markets():
            bests = [self.engine.best_bid_ask(t) for t in spec.token_ids]
            for bid, ask in bests:
                assert bid is None or ask is None or bid < ask
            bid_yes, bid_no = bests[0][0], bests[1][0]
            assert bid_yes is None or bid_no is None or bid_yes + bid_no < UNIT
            if self.BOOK_MODEL == "unified":
                # Mirrored: each book is the other's reflection, and resting SELLs of the
                # two outcomes never sum to 1.00 or less (they would have merged).
                yes, no = (self.engine.book(t) for t in spec.token_ids)
                assert yes[0] == [(UNIT - p, s) for p, s in no[1]]
                assert yes[1] == [(UNIT - p, s) for p, s in no[0]]
                asks = [
                    min((o.price for o in self.engine.open_orders()
                         if o.token_id == t and o.side is Side.SELL), default=UNIT)
                    for t in spec.token_ids
                ]  # fmt: skip
                assert asks[0] + asks[1] > UNIT

    @invariant()
    def levels_are_fifo_and_sum_their_orders(self) -> None:
        for spec in self.engine.markets():
            for token in spec.token_ids:
                bids, asks = self.engine.book(token)
                other = spec.other_token(token)
                for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
                    for price, size in levels:
                        queue = self.engine.level_orders(token, side, price)
                        arrivals = [o.arrival for o in queue]
                        assert arrivals == sorted(arrivals)
                        shown = sum(o.remaining for o in queue)
                        if self.BOOK_MODEL == "unified":
                            mirror = Side.SELL if side is Side.BUY else Side.BUY
                            mirrored = self.engine.level_orders(other, mirror, UNIT - price)
                            shown += sum(o.remaining for o in mirrored)
                        assert size == shown > 0

    @invariant()
    def reservations_equal_open_orders(self) -> None:
        opens = self.engine.open_orders()
        for account in self.engine.accounts():
            bal = self.engine.balance(account)
            mine = [o for o in opens if o.account == account]
            buys = sum(
                buy_reservation(self.engine.market(o.condition_id), o.price, o.remaining)
                for o in mine
                if o.side is Side.BUY
            )
            assert bal.collateral_reserved == buys
            assert bal.collateral_free >= 0
            for token, pos in bal.positions.items():
                sells = sum(
                    o.remaining for o in mine if o.side is Side.SELL and o.token_id == token
                )
                assert pos.reserved == sells
                assert pos.free >= 0

    @invariant()
    def collateral_is_conserved(self) -> None:
        engine = self.engine
        held = sum(engine.balance(a).collateral_total for a in engine.accounts())
        vaults = sum(engine.vault(s.condition_id) for s in engine.markets())
        rebates = engine.rebates_accrued()
        assert held + engine.fees_collected + rebates + vaults == engine.total_deposited
        assert rebates >= 0 and engine.fees_collected >= 0

    @invariant()
    def shares_match_the_vault(self) -> None:
        engine = self.engine
        for spec in engine.markets():
            supply = [
                sum(engine.balance(a).shares(t) for a in engine.accounts()) for t in spec.token_ids
            ]
            if engine.market_status(spec.condition_id) is MarketStatus.RESOLVED:
                assert supply == [0, 0] and engine.vault(spec.condition_id) == 0
            else:
                assert supply[0] == supply[1] == engine.vault(spec.condition_id)


VenueMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
TestVenueMachine = VenueMachine.TestCase


class UnifiedVenueMachine(VenueMachine):
    BOOK_MODEL: BookModel = "unified"


UnifiedVenueMachine.TestCase.settings = VenueMachine.TestCase.settings
TestUnifiedVenueMachine = UnifiedVenueMachine.TestCase


def replay(flow: list[Op], cash: int) -> list[VenueEvent]:
    engine = MatchingEngine(id_seed="replay")
    specs = [make_spec(i, *MARKET_KINDS[i]) for i in range(2)]
    for spec in specs:
        engine.add_market(spec)
    for account in ACCOUNTS:
        engine.deposit(account, cash * UNIT)
    now_s = T0 // 1000
    for i, op in enumerate(flow):
        now_s += 1
        engine.submit(request_for(op, specs[op.market], now_s), now_s * 1000)
        if i % 7 == 6:
            engine.cancel_all(op.account, now_ms=now_s * 1000)
    return engine.drain_events()


@settings(max_examples=100, deadline=None, derandomize=True)
@given(flow=st.lists(ops, max_size=60), cash=st.integers(10, 300))
def test_same_flow_gives_same_fills(flow: list[Op], cash: int) -> None:
    first = replay(flow, cash)
    assert first == replay(flow, cash)
    trades = [e for e in first if isinstance(e, TradeExecuted)]
    assert len({t.trade_id for t in trades}) == len(trades)
