"""The graceful stop's close-out against the venue server: every order the journal still
lists as open is closed with the venue's word, its missed fills booked (journal and
ledger) first; a venue that cannot be asked leaves them open, each with a logged line."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import trio
from client_live_support import Account, open_account, quick_config
from venue_client import market

from actors.portfolio import PortfolioActor
from engine.client.gateway import NetworkGateway
from engine.client.rest import RestClient
from engine.closeout import close_out
from engine.gateway import OrderSpec
from engine.journal import Journal, OrderPhase
from engine.ledger import Ledger
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketInfo
from engine.orderfsm import OrderState
from engine.stats import EngineStats
from engine.units import UNIT, OrderType, Side
from engine.venue.matching import MarketSpec
from engine.venue.server.app import VenueServer
from engine.venue.sim import market_info


def journal_and_post_later(journal: Journal, spec: OrderSpec, info: MarketInfo, key: str) -> None:
    """What an order actor journals before it sends (the id is known first)."""
    journal.signed(
        spec.order_id, spec.body, strategy="maker", key=key, condition_id=info.condition_id,
        token_id=spec.token_id, side=spec.side, price=spec.price, size=spec.size,
        order_type=spec.order_type, post_only=spec.post_only, fees=info.fees,
    )  # fmt: skip


async def place(
    account: Account, journal: Journal, spec: MarketSpec, price: str, key: str
) -> OrderSpec:
    """A resting BUY of YES, journaled signed then accepted, as an order actor does."""
    order = account.order(spec, 0, Side.BUY, price, "10")
    journal_and_post_later(journal, order, market_info(spec), key)
    result = await account.client.post_order(order)
    assert result.success, result.error
    journal.submitted(order.order_id, "accepted", status=result.status)
    return order


async def test_a_stop_closes_every_journal_open_order_with_the_venues_word_and_its_fills(
    venue_server: VenueServer, nursery: trio.Nursery, tmp_path: Path
) -> None:
    with trio.fail_after(60):
        config = quick_config()
        engine = await open_account(venue_server, "closeout-engine", config)
        other = await open_account(venue_server, "closeout-other", config)
        async with engine.client, other.client:
            spec = market(venue_server)
            info = market_info(spec)
            journal = Journal(tmp_path / "state", fsync="never")
            ledger = Ledger(initial_cash=await engine.client.balance_allowance("COLLATERAL"))
            portfolio_box: Mailbox[Any] = Mailbox("portfolio", 64, Overflow.BLOCK)
            cash_box: Mailbox[Any] = Mailbox("cash", 64, Overflow.BLOCK)
            portfolio = PortfolioActor(
                ledger, portfolio_box, {info.condition_id: info}, {}, cash_box, journal=journal
            )
            await nursery.start(portfolio.run)

            part = await place(engine, journal, spec, "0.40", "part")
            plain = await place(engine, journal, spec, "0.30", "plain")
            # The counterparty mints against `part` (BUY NO at 0.60 + BUY YES at 0.40): a
            # fill no user channel delivers here, as if it came during the shutdown.
            cross = other.order(spec, 1, Side.BUY, "0.60", "4", order_type=OrderType.FAK)
            assert (await other.client.post_order(cross)).success
            canceled = await engine.client.cancel_all()
            assert set(canceled) == {part.order_id, plain.order_id}
            late = await place(engine, journal, spec, "0.20", "late")  # lands after cancel-all
            unsent = engine.order(spec, 0, Side.BUY, "0.10", "10")
            journal_and_post_later(journal, unsent, info, "unsent")  # signed, never posted
            assert len(journal.state.open_orders()) == 4

            stats = EngineStats()
            report = await close_out(
                journal, NetworkGateway(engine.client), portfolio_box.send, stats, grace_s=0.2
            )

            assert journal.state.open_orders() == []
            assert report.left_open == {}
            orders = journal.state.orders
            assert report.closed == {
                part.order_id: OrderState.CANCELED.value,
                plain.order_id: OrderState.CANCELED.value,
                late.order_id: OrderState.CANCELED.value,
                unsent.order_id: OrderState.REJECTED.value,
            }
            assert [orders[o.order_id].terminal for o in (part, plain, late, unsent)] == [
                OrderState.CANCELED, OrderState.CANCELED, OrderState.CANCELED,
                OrderState.REJECTED,
            ]  # fmt: skip
            # The missed fill: journaled, booked in the ledger, and the money is the venue's.
            assert report.fills_booked == 1
            assert journal.state.filled(part.order_id) == 4 * UNIT
            assert [(f.order_id, f.size) for f in ledger.fills] == [(part.order_id, 4 * UNIT)]
            assert ledger.cash == await engine.client.balance_allowance("COLLATERAL")
            # The late order was live: cancelled by the close-out, so nothing rests.
            assert orders[late.order_id].cancel_requested
            assert venue_server.venue.engine.open_orders(engine.signer.address) == []
            assert stats.closeout_queries == {"CANCELED": 3, "LIVE": 1, "NOT_FOUND": 1}
            journal.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_venue_that_cannot_be_asked_leaves_the_orders_open_with_a_logged_line(
    venue_server: VenueServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(60):
        engine = await open_account(venue_server, "closeout-unreachable", quick_config())
        async with engine.client:
            spec = market(venue_server)
            journal = Journal(tmp_path / "state", fsync="never")
            order = await place(engine, journal, spec, "0.40", "q")
            credentials = engine.client.credentials
            assert credentials is not None
            gone = RestClient(
                f"http://127.0.0.1:{closed_port()}", credentials, quick_config(retries=1)
            )
            booked: list[Any] = []

            async def book(fill: Any) -> None:
                booked.append(fill)

            stats = EngineStats()
            with caplog.at_level(logging.WARNING, logger="polyengine.closeout"):
                async with gone:
                    report = await close_out(
                        journal, NetworkGateway(gone), book, stats, grace_s=0.1
                    )
            assert journal.state.orders[order.order_id].phase is OrderPhase.LIVE
            assert report.closed == {}
            assert "could not ask the venue" in report.left_open[order.order_id]
            assert stats.closeout_queries == {"UNREACHABLE": 1}
            assert booked == []
            lines = [r.getMessage() for r in caplog.records]
            assert any(order.order_id in line and "left open" in line for line in lines), lines
            journal.close()
