"""The user channel books every fill of the account exactly once, whatever the socket
does: duplicated and reordered events, drops during fills (backfilled from REST after
every reconnect), and trades that fail after matching (reversed exactly)."""

from __future__ import annotations

from typing import Any

import httpx
import trio
from user_channel_kit import Desk, open_desk, positions_and_cash
from venue_client import start_server

from engine.health import Health
from engine.venue.server.faults import FaultPlan

LIMIT_S = 90
ROUNDS = 12


def faults(*names: str, **params: Any) -> FaultPlan:
    return FaultPlan.none(23).with_faults(*names, **params)


async def trade(desk: Desk, rounds: int = ROUNDS, pause_s: float = 0.0) -> None:
    for index in range(rounds):
        await desk.trade_round(30 + index % 20)
        await trio.sleep(pause_s)


async def assert_ledger_is_the_venues(desk: Desk) -> list[dict[str, Any]]:
    trades = await desk.converge(timeout=20)
    assert trades, "the scenario traded"
    assert desk.booked() == desk.expected(trades)
    # None twice: the router itself sent each fill once (the ledger would also refuse).
    assert desk.router.fills_booked == len(desk.ledger.fills) + len(desk.ledger.voided)
    assert desk.ledger.cash == await desk.venue_cash()
    desk.ledger.check_identity()
    return trades


async def test_without_faults_every_fill_is_booked_and_confirmed_once(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            desk = await open_desk(nursery, server, http)
            assert desk.actor.health is Health.RUNNING
            await trade(desk, rounds=4)
            trades = await assert_ledger_is_the_venues(desk)
            assert len(desk.ledger.fills) == 2 * 4 == len(trades)
            assert desk.ledger.confirmed == set(desk.booked())
            assert {r.kind for r in desk.reports()} >= {"PLACEMENT", "UPDATE"}


async def test_duplicated_and_reordered_events_book_each_fill_once(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        plan = faults(
            "duplicate-events", "out-of-order-events", duplicate_rate=0.5, reorder_rate=0.5
        )
        server = await start_server(nursery, faults=plan)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            desk = await open_desk(nursery, server, http)
            await trade(desk)
            await assert_ledger_is_the_venues(desk)
            assert desk.router.tracker.repeats > 0  # duplicates did arrive, and were skipped


async def test_fills_during_socket_drops_are_backfilled_and_none_is_booked_twice(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, faults=faults("ws-drop", drop_after_s=(0.4, 0.8)))
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            desk = await open_desk(nursery, server, http)
            await trade(desk, rounds=20, pause_s=0.1)
            await assert_ledger_is_the_venues(desk)
            assert desk.actor.connects >= 3 and desk.actor.syncs >= 3
            assert desk.router.backfill_bookings > 0  # fills only REST knew about


async def test_failed_trades_are_reversed_and_cash_ends_equal_to_the_venues(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, faults=faults("trades-failed", trade_fail_rate=0.5))
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            desk = await open_desk(nursery, server, http)
            await trade(desk)
            trades = await assert_ledger_is_the_venues(desk)
            failed = {t["id"] for t in trades if t["status"] == "FAILED"}
            assert failed and desk.ledger.voided
            assert {f.trade_id.split("#")[0] for f in desk.ledger.voided} == failed
            assert all(
                desk.ledger.status(f.trade_id, f.order_id) == "FAILED" for f in desk.ledger.voided
            )
            position, cash = positions_and_cash(desk)
            assert cash is not None and cash.cash == desk.ledger.cash
            held = desk.ledger.holdings("s", desk.info.token_ids)
            assert position is not None and (position.yes_size, position.no_size) == held


async def test_trades_that_fail_while_the_socket_is_down_are_still_reversed(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        plan = faults("ws-drop", "trades-failed", drop_after_s=(0.4, 0.8), trade_fail_rate=0.5)
        server = await start_server(nursery, faults=plan)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            desk = await open_desk(nursery, server, http)
            await trade(desk, rounds=20, pause_s=0.1)
            trades = await assert_ledger_is_the_venues(desk)
            assert any(t["status"] == "FAILED" for t in trades)
            assert desk.actor.connects >= 3
