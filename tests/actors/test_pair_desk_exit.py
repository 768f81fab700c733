"""The pair desk's pre-settlement exit in a session: a hedged pair inside T-180 s..T-45 s
whose market gives one side more than 80 % sells the other side and keeps the likely
winner to resolution; below the threshold, or outside the window, it holds both."""

from __future__ import annotations

import time
from pathlib import Path

import trio

from actors.pair_desk import PairDesk, desk_mailbox
from engine.clock import SessionClock
from engine.config import PairsConfig, RiskConfig
from engine.fees import NO_FEES
from engine.gateway import OrderSpec, PostResult, Resolution
from engine.journal import Journal
from engine.messages import (
    EnterPair,
    Fill,
    Liquidity,
    MarketInfo,
    MarketPhase,
    MarketView,
    OrderReport,
    TokenTop,
)
from engine.order_factory import OrderFactory, paper_signer
from engine.registry import OrderRegistry
from engine.risk import RiskGate
from engine.stats import EngineStats
from engine.units import UNIT, Side

CID = "0x" + "e1" * 32
NOW = 1_000.0


class AcceptingGateway:
    """Takes every order; records what was posted."""

    def __init__(self) -> None:
        self.posted: list[OrderSpec] = []

    async def post_order(self, order: OrderSpec) -> PostResult:
        self.posted.append(order)
        return PostResult(True, "", order.order_id, "live")

    async def post_orders(self, orders: list[OrderSpec]) -> list[PostResult]:
        self.posted.extend(orders)
        return [PostResult(True, "", o.order_id, "live") for o in orders]

    async def cancel_order(self, order_id: str) -> bool:
        return True

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution:
        raise AssertionError("nothing here is unknown")


def market(seconds_left: float) -> MarketInfo:
    end = int(NOW + seconds_left)
    return MarketInfo(CID, "m", ("111", "222"), ("Up", "Down"), 10_000, 5 * UNIT, NO_FEES, 0, end)


def book(info: MarketInfo, up_bid: int, down_bid: int) -> MarketView:
    return MarketView(
        0, 0, info, NOW, MarketPhase.TRADING, True,
        TokenTop("111", up_bid, UNIT, up_bid + 20_000, UNIT),
        TokenTop("222", down_bid, UNIT, down_bid + 20_000, UNIT),
    )  # fmt: skip


async def hedged_desk(tmp_path: Path, info: MarketInfo) -> tuple[PairDesk, AcceptingGateway]:
    """A desk whose one pair has both legs filled (HEDGED)."""
    clock = SessionClock.starting_at(NOW)
    gateway = AcceptingGateway()
    desk = PairDesk(
        desk_mailbox(), gateway, OrderFactory(paper_signer(1), "owner", clock, 1),
        OrderRegistry(), Journal(tmp_path, fsync="never"), {CID: info}, clock,
        PairsConfig(enabled=True, size="10", min_time_left_s=0), EngineStats(), trio.Event(),
        seed=1, risk=RiskGate(RiskConfig()), initial_cash=1_000 * UNIT,
    )  # fmt: skip
    entry = EnterPair(time.perf_counter_ns(), 0, "pairs", "p1", CID, (470_000, 490_000), 10 * UNIT)
    assert await desk.enter(entry)
    for index, spec in enumerate(gateway.posted):
        await desk.on_message(OrderReport(0, spec.order_id, "PLACEMENT", 0))
        fill = Fill(
            0, f"t{index}", spec.order_id, "pairs", CID, spec.token_id, Side.BUY,
            spec.price, 10 * UNIT, 0, Liquidity.MAKER,
        )  # fmt: skip
        await desk.on_message(fill)
    assert desk.desk_stats.hedged == 1
    return desk, gateway


async def test_a_confident_market_in_the_window_sells_the_loser_and_keeps_the_winner(
    tmp_path: Path,
) -> None:
    with trio.fail_after(20):
        info = market(seconds_left=150)
        desk, gateway = await hedged_desk(tmp_path, info)
        await desk.on_message(book(info, up_bid=880_000, down_bid=90_000))  # Up ~ 0.9
        exits = gateway.posted[2:]
        assert [(o.token_id, o.side, o.price, o.size) for o in exits] == [
            ("222", Side.SELL, 90_000, 10 * UNIT)
        ]
        steps = [a.step for a in desk.audit]
        assert "pre-settlement exit" in steps
        executor = desk.pairs["p1"].executor
        assert executor.kept == 0 and executor.position() == (10 * UNIT, 10 * UNIT)


async def test_an_unsure_market_or_one_outside_the_window_keeps_both_sides(
    tmp_path: Path,
) -> None:
    with trio.fail_after(20):
        info = market(seconds_left=150)
        desk, gateway = await hedged_desk(tmp_path / "a", info)
        await desk.on_message(book(info, up_bid=700_000, down_bid=280_000))  # Up ~ 0.71
        assert len(gateway.posted) == 2
        early = market(seconds_left=400)
        desk, gateway = await hedged_desk(tmp_path / "b", early)
        await desk.on_message(book(early, up_bid=880_000, down_bid=90_000))
        assert len(gateway.posted) == 2 and desk.pairs["p1"].executor.kept is None
