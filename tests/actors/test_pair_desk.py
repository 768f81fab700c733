"""The pair desk's own rules, with a scripted gateway for what the venue server cannot be
made to do on demand: a batch whose outcome is unknown is never re-sent and is resolved
by id; a venue that cannot be asked is asked again later (never read as "not found");
the risk gate's kill switch and `stopping` keep new pairs out. The entry rule and the
mapping of venue news are pure and tested directly."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio
import trio.testing

from actors.pair_desk import PairDesk, desk_mailbox
from engine.client.errors import SubmitUnknown, TransportError
from engine.clock import SessionClock
from engine.config import PairsConfig, RiskConfig
from engine.fees import NO_FEES
from engine.gateway import OrderSpec, PostResult, Resolution, VenueOrderState
from engine.journal import Journal
from engine.messages import (
    EnterPair,
    Fill,
    FillVoided,
    Liquidity,
    MarketInfo,
    MarketPhase,
    MarketView,
    OrderReport,
    TokenTop,
)
from engine.order_factory import OrderFactory, paper_signer
from engine.order_tracker import Ack, CancelConfirmed, TradeStatus, TradeUpdate
from engine.orderfsm import OrderState
from engine.pair_desk_core import EntryRule, FillSizes, news_event
from engine.registry import OrderRegistry
from engine.risk import RiskGate
from engine.stats import EngineStats
from engine.units import UNIT, Side

CID = "0x" + "c1" * 32
INFO = MarketInfo(CID, "m", ("111", "222"), ("Up", "Down"), 10_000, 5 * UNIT, NO_FEES, 0, 10**6)


class ScriptedGateway:
    """Answers from a script; records every call."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.cancels: list[str] = []
        self.queries: list[str] = []
        self.batch_error: Exception | None = None
        self.query_answers: list[Exception | VenueOrderState] = []

    async def post_order(self, order: OrderSpec) -> PostResult:
        self.singles.append(order.order_id)
        return PostResult(True, "", order.order_id, "live")

    async def post_orders(self, orders: Sequence[OrderSpec]) -> list[PostResult]:
        self.batches.append([o.order_id for o in orders])
        if self.batch_error is not None:
            raise self.batch_error
        return [PostResult(True, "", o.order_id, "live") for o in orders]

    async def cancel_order(self, order_id: str) -> bool:
        self.cancels.append(order_id)
        return True

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution:
        self.queries.append(order_id)
        answer = self.query_answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Resolution(order_id, answer, None, (), 0)


def make_desk(
    tmp_path: Path, gateway: ScriptedGateway, *, risk: RiskGate | None = None, **cfg: Any
) -> tuple[PairDesk, Journal, trio.Event]:
    clock = SessionClock.starting_at(1_000.0)
    config = PairsConfig(enabled=True, size="10", min_time_left_s=0, **cfg)
    journal = Journal(tmp_path, fsync="never")
    stopping = trio.Event()
    desk = PairDesk(
        desk_mailbox(), gateway, OrderFactory(paper_signer(1), "owner", clock, 1),
        OrderRegistry(), journal, {CID: INFO}, clock, config, EngineStats(), stopping,
        seed=1, risk=risk or RiskGate(RiskConfig()), initial_cash=1_000 * UNIT,
    )  # fmt: skip
    return desk, journal, stopping


def enter(pair_id: str = "p1") -> EnterPair:
    return EnterPair(time.perf_counter_ns(), 0, "test", pair_id, CID, (480_000, 500_000), 10 * UNIT)


def view(ask_up: int, ask_down: int, *, healthy: bool = True) -> MarketView:
    return MarketView(
        0, 0, INFO, 1_000.0, MarketPhase.TRADING, healthy,
        TokenTop("111", ask_up - 10_000, UNIT, ask_up, UNIT),
        TokenTop("222", ask_down - 10_000, UNIT, ask_down, UNIT),
    )  # fmt: skip


async def test_an_unknown_batch_is_never_resent_and_is_resolved_by_id(tmp_path: Path) -> None:
    with trio.fail_after(20):
        gateway = ScriptedGateway()
        gateway.batch_error = SubmitUnknown("POST /orders", "timeout", ("a", "b"))
        gateway.query_answers = [VenueOrderState.LIVE, VenueOrderState.NOT_FOUND]
        desk, journal, _ = make_desk(tmp_path, gateway)
        async with desk._lock:
            assert await desk.enter(enter())
        assert len(gateway.batches) == 1 and gateway.singles == []
        up, down = gateway.batches[0]
        assert gateway.queries == [up, down]
        assert journal.state.orders[up].terminal is OrderState.CANCELED  # live, then cancelled
        assert journal.state.orders[down].terminal is OrderState.REJECTED
        assert desk.stats.orders_unknown == 2
        # the live leg's partner is dead: the live one is cancelled, nothing re-posted
        assert gateway.cancels == [up]
        assert desk.desk_stats.flat == 1
        assert len(gateway.batches) == 1 and gateway.singles == []
        journal.close()


async def test_could_not_ask_is_asked_again_later_never_taken_as_not_found(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):
        gateway = ScriptedGateway()
        gateway.batch_error = SubmitUnknown("POST /orders", "timeout", ("a", "b"))
        down = TransportError("GET /data/order", "refused", sent=False)
        gateway.query_answers = [down, down, VenueOrderState.LIVE, VenueOrderState.LIVE]
        desk, journal, _ = make_desk(tmp_path, gateway, query_retry_s=2.0)
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.run)
            await desk.mailbox.send(enter())
            while len(gateway.queries) < 4:
                await trio.sleep(0.5)
            up, dn = gateway.batches[0]
            assert gateway.queries == [up, dn, up, dn]
            assert desk.desk_stats.queries_failed == 2
            pair = desk.pairs["p1"]
            assert all(
                o.tracker.state is OrderState.ACCEPTED for o in pair.executor.orders.values()
            )
            nursery.cancel_scope.cancel()
        journal.close()


async def test_the_kill_switch_and_stopping_keep_new_pairs_out(tmp_path: Path) -> None:
    with trio.fail_after(20):
        gateway = ScriptedGateway()
        risk = RiskGate(RiskConfig())
        desk, journal, stopping = make_desk(tmp_path, gateway, risk=risk)
        risk.kill("test")
        async with desk._lock:
            assert not await desk.enter(enter("p1"))
            assert desk.desk_stats.denials == {"kill switch: test": 1}
            risk.killed = False
            stopping.set()
            assert not await desk.enter(enter("p2"))
            await desk.on_view(view(480_000, 500_000))
        assert gateway.batches == [] and desk.pairs == {}
        journal.close()


async def test_risk_limits_count_both_legs_and_the_desks_own_open_orders(tmp_path: Path) -> None:
    with trio.fail_after(20):
        gateway = ScriptedGateway()
        risk = RiskGate(RiskConfig(max_open_orders=3))
        desk, journal, _ = make_desk(tmp_path, gateway, risk=risk)
        async with desk._lock:
            assert await desk.enter(enter("p1"))  # two open orders now
            assert risk.open_orders == 2
            assert not await desk.enter(enter("p2"))  # a third and a fourth: refused
        assert desk.desk_stats.denials == {"risk.max_open_orders reached": 1}
        assert len(gateway.batches) == 1
        journal.close()


async def test_routed_news_moves_the_pair_and_a_filled_pair_closes_its_orders(
    tmp_path: Path,
) -> None:
    with trio.fail_after(20):
        gateway = ScriptedGateway()
        desk, journal, _ = make_desk(tmp_path, gateway)
        async with desk._lock:
            await desk.enter(enter())
            for index, order_id in enumerate(gateway.batches[0]):
                assert order_id in desk.registry.mailboxes
                await desk.on_message(OrderReport(0, order_id, "PLACEMENT", 0))
                fill = Fill(
                    0, f"t{index}", order_id, "test", CID, INFO.token_ids[index], Side.BUY,
                    500_000, 10 * UNIT, 0, Liquidity.MAKER,
                )  # fmt: skip
                await desk.on_message(fill)
        assert desk.desk_stats.hedged == 1
        for order_id in gateway.batches[0]:
            assert journal.state.orders[order_id].terminal is OrderState.FILLED
            assert order_id not in desk.registry.mailboxes
        assert desk.risk.open_orders == 0 and sum(desk.reserved.values()) == 0
        journal.close()


def test_entry_rule_wants_a_tradable_market_under_the_threshold_and_no_running_pair() -> None:
    rule = EntryRule(PairsConfig(size="10", min_time_left_s=100, cooldown_s=5))
    assert rule.decide(view(480_000, 500_000), 1_000, False, 0, False).prices == (
        470_000,
        490_000,
    )
    assert rule.decide(view(500_000, 500_000), 1_000, False, 0, False).prices is None
    assert rule.decide(view(480_000, 500_000, healthy=False), 1_000, False, 0, False).prices is None
    assert rule.decide(view(480_000, 500_000), 1_000, True, 0, False).prices is None
    assert rule.decide(view(480_000, 500_000), 1_000, False, 4, False).prices is None
    assert rule.decide(view(480_000, 500_000), 1_000, False, 0, True).prices is None
    assert rule.decide(view(480_000, 500_000), 10**6 - 50, False, 0, False).prices is None
    rule.cool_down(CID, 1_000)
    assert rule.decide(view(480_000, 500_000), 1_004, False, 0, False).reason == "cooling down"
    assert rule.decide(view(480_000, 500_000), 1_005, False, 0, False).prices is not None


def test_news_maps_to_tracker_events_and_a_voided_fill_fails_its_trade() -> None:
    sizes = FillSizes()
    fill = Fill(0, "t#0", "o", "s", CID, "111", Side.BUY, 1, 7 * UNIT, 0, Liquidity.TAKER)
    assert news_event(fill, sizes) == TradeUpdate("t#0", 7 * UNIT, TradeStatus.MATCHED)
    assert news_event(FillVoided(0, "t#0", "o"), sizes) == TradeUpdate(
        "t#0", 7 * UNIT, TradeStatus.FAILED
    )
    assert news_event(FillVoided(0, "never", "o"), sizes) is None
    assert news_event(OrderReport(0, "o", "PLACEMENT", 0), sizes) == Ack()
    assert news_event(OrderReport(0, "o", "CANCELLATION", 0), sizes) == CancelConfirmed()
    assert news_event(OrderReport(0, "o", "UPDATE", 5), sizes) is None
