"""A full paper session (seed 7, two 15-minute windows) as a specification of the engine.

The session runs once per module on Trio's autojump clock; each test checks one promise
of the report: both strategies trade, every fill is counted exactly once, and the ledger
reconciles to the micro-USDC with itself and with the venue's own balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import trio
import trio.testing

from engine.clock import SessionClock
from engine.config import load_config
from engine.running import seed_trio_scheduler
from engine.session import (
    LEAD_S,
    Session,
    build_session,
    run_session,
    session_report,
)

REQUIRED_REPORT_KEYS = {
    "fills_by_strategy",
    "initial_cash",
    "final_cash",
    "realized_pnl",
    "fees",
    "settlement",
    "latency_ns",
}


@dataclass
class Finished:
    session: Session
    user_frames: list[dict[str, Any]]
    report: dict[str, Any]


def run_default_session() -> Finished:
    config = load_config(None, {}, {"run.progress": False})
    frames: list[dict[str, Any]] = []
    holder: list[Session] = []
    report: dict[str, Any] = {}

    async def main() -> None:
        with trio.fail_after(4 * 3600):  # virtual seconds; the session needs ~1810
            session = build_session(
                config, SessionClock.starting_at(config.venue.start_ts - LEAD_S)
            )
            holder.append(session)
            async with trio.open_nursery() as nursery:

                async def listen() -> None:
                    async with session.venue.user_subscription(session.account) as stream:
                        async for raw in stream:
                            frames.append(orjson.loads(raw))

                nursery.start_soon(listen)
                await run_session(session)
                report.update(session_report(session, wall_s=0.0))
                nursery.cancel_scope.cancel()

    # The same seeded task order as `polyengine run --mode sim`: this is that session, not
    # one of the other interleavings that earlier tests in this process would leave.
    seed_trio_scheduler(config.venue.seed)
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return Finished(holder[0], frames, report)


@pytest.fixture(scope="module")
def finished() -> Finished:
    return run_default_session()


def test_the_session_runs_both_windows_to_resolution(finished: Finished) -> None:
    report = finished.report
    assert report["session"]["shutdown_reason"] == "all windows resolved"
    assert len(report["settlement"]["markets"]) == 2
    assert report["frames_processed"] > 1000
    assert report["malformed_frames"] == 0


def test_both_strategies_get_fills(finished: Finished) -> None:
    by_strategy = finished.report["fills_by_strategy"]
    assert by_strategy.get("parity", 0) > 0
    assert by_strategy.get("maker", 0) > 0


def test_the_ledger_reconciles_exactly_in_integer_units(finished: Finished) -> None:
    ledger = finished.session.ledger
    assert ledger.open_cost == 0  # every position was settled
    assert ledger.cash == (
        ledger.initial_cash + ledger.realized_pnl - ledger.fees + ledger.settlement_pnl
    )
    assert all(isinstance(v, int) for v in (ledger.cash, ledger.fees, ledger.settlement_pnl))
    assert finished.report["ledger_identity"]["holds"]


def test_final_cash_equals_the_venues_own_balance(finished: Finished) -> None:
    venue_balance = finished.session.venue.engine.balance(finished.session.account)
    assert venue_balance.collateral_total == finished.session.ledger.cash
    assert venue_balance.collateral_reserved == 0
    assert finished.report["venue_cash_matches"] is True


def our_legs_in(trade: dict[str, Any], account: str) -> int:
    """How many fills one MATCHED trade frame means for our account."""
    legs = trade["maker_orders"]
    ours_as_maker = sum(1 for leg in legs if leg["owner"] == account)
    ours_as_taker = len(legs) if trade["trader_side"] == "TAKER" else 0
    return ours_as_maker + ours_as_taker


def test_every_fill_the_venue_reported_is_booked_exactly_once(finished: Finished) -> None:
    matched = [
        f for f in finished.user_frames if f["event_type"] == "trade" and f["status"] == "MATCHED"
    ]
    expected = sum(our_legs_in(trade, finished.session.account) for trade in matched)
    fills = finished.session.ledger.fills
    assert len(fills) == expected
    assert len({(f.trade_id, f.order_id) for f in fills}) == len(fills)
    # Later statuses (MINED, CONFIRMED) re-send the same trades and add no fill.
    assert any(f.get("status") == "CONFIRMED" for f in finished.user_frames)


def test_markets_settle_as_the_spot_path_says(finished: Finished) -> None:
    scenario = finished.session.venue.scenario
    by_id = {m["condition_id"]: m for m in finished.report["settlement"]["markets"]}
    for spec in scenario.markets:
        assert by_id[spec.condition_id]["winner"] == spec.outcomes[scenario.winner(spec)]


def test_no_order_is_left_open_at_the_venue_or_in_the_engine(finished: Finished) -> None:
    assert finished.session.venue.engine.open_orders(finished.session.account) == []
    assert finished.session.manager.open == {}


def test_the_report_carries_what_a_researcher_needs(finished: Finished) -> None:
    report = finished.report
    assert report.keys() >= REQUIRED_REPORT_KEYS
    latency = report["latency_ns"]["frame_to_order"]
    assert 0 < latency["count"] <= report["orders"]["sent"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert sum(report["fills_by_strategy"].values()) == report["fills_total"]
    orjson.dumps(report)  # JSON-serialisable as it stands
