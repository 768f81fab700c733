"""Reconciliation against the venue server: a crashed engine's journal is made whole.

Our account signs and journals orders as the engine would, but "crashes" at different
points (after signing, after sending, before the answer, in the middle of fills); a
second account fills and a cancel happens behind the journal's back. A new engine opens
the same state directory and its Reconciler's barrier must bring the journal to exactly
the venue's state (orders, fills, positions, cash) before anything else may trade.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from venue_client import Client, market, new_client

from actors.reconciler import (
    HttpCall,
    HttpVenueQueries,
    Reconciler,
    ReconciliationHalt,
)
from engine.config import StateConfig
from engine.journal import FillStatus, Journal, OrderPhase, SettlementRecord, iter_journal
from engine.mailbox import Mailbox, Overflow
from engine.messages import (
    Fill,
    OrderAdopted,
    OrderClosed,
    ReconciliationDone,
    ReconciliationIncomplete,
    ResolutionRead,
)
from engine.orderfsm import OrderState
from engine.units import OrderType, Side, parse_units
from engine.venue.matching import MarketSpec
from engine.venue.server.app import VenueServer
from engine.venue.server.orders import parse_order_body
from engine.venue.server.signing import order_digest, order_domain

FAST = StateConfig(reconcile_interval_s=0.2, retry_interval_s=0.05, confirm_delay_s=0.05)


def caller(client: Client) -> HttpCall:
    """An L2-signed HTTP call through the test client (the engine passes its RestClient)."""

    async def call(method: str, path: str, params: Mapping[str, str] | None) -> tuple[int, Any]:
        response = await client.call(method, path, params=dict(params) if params else None)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return response.status_code, body

    return call


@dataclass
class Accounts:
    server: VenueServer
    spec: MarketSpec
    ours: Client
    theirs: Client

    @property
    def up(self) -> str:
        return self.spec.token_ids[0]

    @property
    def down(self) -> str:
        return self.spec.token_ids[1]

    def queries(self) -> HttpVenueQueries:
        return HttpVenueQueries(caller(self.ours))

    async def place(
        self,
        journal: Journal,
        token: str,
        side: str,
        price: str,
        size: str,
        *,
        send: bool = True,
        record_answer: bool = True,
    ) -> str:
        """Sign, journal, then (unless the crash came first) send; the order id."""
        body = self.ours.order(token, side, price, size)
        parsed = parse_order_body(body)
        order_id = "0x" + order_digest(parsed.struct, order_domain(int(token), False)).hex()
        journal.signed(
            order_id,
            body,
            strategy="maker",
            key=f"{side}-{price}",
            condition_id=self.spec.condition_id,
            token_id=token,
            side=Side.parse(side),
            price=parse_units(price),
            size=parse_units(size),
            order_type=OrderType.GTC,
            post_only=False,
            fees=self.spec.fees,
        )
        if send:
            response = await self.ours.call("POST", "/order", body)
            assert response.status_code == 200, response.text
            if record_answer:
                journal.submitted(order_id, "accepted", status=response.json()["status"])
        return order_id

    async def their_order(
        self, token: str, side: str, price: str, size: str, order_type: str = "GTC"
    ) -> None:
        response = await self.theirs.place(token, side, price, size, order_type=order_type)
        assert response.status_code == 200, response.text

    async def venue_view(self) -> tuple[set[str], int, dict[str, int]]:
        queries = self.queries()
        live = {o["id"] for o in await queries.open_orders()}
        balances = await queries.balances([self.up, self.down])
        return live, balances.collateral, dict(balances.tokens)


@pytest.fixture
async def accounts(venue_server: VenueServer) -> AsyncIterator[Accounts]:
    async with httpx.AsyncClient(base_url=venue_server.urls["clob"]) as http:
        ours = await new_client(http, "reconcile-ours")
        theirs = await new_client(http, "reconcile-theirs")
        yield Accounts(venue_server, market(venue_server), ours, theirs)


def events(out: Mailbox[Any]) -> list[Any]:
    found = []
    while True:
        try:
            found.append(out.receive_nowait())
        except trio.WouldBlock:
            return found


async def genesis(accounts: Accounts, state_dir: Path) -> None:
    """The first run on a fresh state directory: the account's holdings become the
    baseline; nothing is traded yet."""
    out: Mailbox[Any] = Mailbox("reconciled", 100, Overflow.BLOCK)
    with Journal(state_dir) as journal:
        reconciler = Reconciler(
            journal, accounts.queries(), out, FAST, tokens=lambda: (accounts.up, accounts.down)
        )
        result = await reconciler.round()
        assert result.ok, result.message()
        assert journal.state.has_baseline and journal.state.positions == {
            accounts.up: 0,
            accounts.down: 0,
        }


async def test_restart_after_a_crash_restores_exactly_the_venues_state(
    accounts: Accounts, tmp_path: Path
) -> None:
    with trio.fail_after(30):
        await genesis(accounts, tmp_path)
        a = accounts
        with Journal(tmp_path) as journal:
            # Journal complete; then partly filled by a mint against their BUY Down.
            partly = await a.place(journal, a.up, "BUY", "0.50", "10")
            # Crash after sending, before the answer was journaled: still live.
            unanswered = await a.place(journal, a.up, "BUY", "0.45", "6", record_answer=False)
            # Crash after signing, before sending: never reached the venue.
            unsent = await a.place(journal, a.up, "BUY", "0.44", "7", send=False)
            # Fully filled behind the journal's back.
            filled = await a.place(journal, a.down, "BUY", "0.30", "5")
            # Cancelled behind the journal's back.
            cancelled = await a.place(journal, a.down, "BUY", "0.20", "8")
            # Our crossing BUY takes their resting BUY Down (a mint, we are the taker,
            # with a taker fee); the answer was never journaled.
            await a.their_order(a.down, "BUY", "0.35", "5")
            taker = await a.place(journal, a.up, "BUY", "0.65", "5", record_answer=False)
        # The engine is gone (its journal closed as a SIGKILL would); the venue goes on.
        await a.their_order(a.down, "BUY", "0.50", "4", "FAK")  # 4 of `partly`
        await a.their_order(a.up, "BUY", "0.70", "5")  # all of `filled`
        response = await a.ours.call("DELETE", "/order", {"orderID": cancelled})
        assert cancelled in response.json()["canceled"]

        out: Mailbox[Any] = Mailbox("reconciled", 100, Overflow.BLOCK)
        with Journal(tmp_path) as journal:
            reconciler = Reconciler(journal, a.queries(), out, FAST, tokens=lambda: (a.up, a.down))
            async with trio.open_nursery() as nursery:
                await nursery.start(reconciler.run)  # the barrier
                nursery.cancel_scope.cancel()
            state = journal.state
            live, cash, positions = await a.venue_view()

            assert live == {partly, unanswered}
            assert {o.order_id for o in state.open_orders()} == live
            assert state.orders[unanswered].phase is OrderPhase.LIVE
            assert state.orders[unsent].terminal is OrderState.REJECTED
            assert state.orders[filled].terminal is OrderState.FILLED
            assert state.orders[cancelled].terminal is OrderState.CANCELED
            assert state.orders[taker].terminal is OrderState.FILLED
            assert state.positions == positions == {a.up: 9_000_000, a.down: 5_000_000}
            assert state.cash == cash
            assert state.filled(partly) == 4_000_000

            sent = events(out)
            fills = [e for e in sent if isinstance(e, Fill)]
            assert sorted((f.order_id, f.size) for f in fills) == sorted(
                [(partly, 4_000_000), (filled, 5_000_000), (taker, 5_000_000)]
            )
            taker_fill = next(f for f in fills if f.order_id == taker)
            assert taker_fill.price == 650_000 and taker_fill.fee == a.spec.fees.taker_fee(
                650_000, 5_000_000
            )
            assert [e.order_id for e in sent if isinstance(e, OrderAdopted)] == [unanswered]
            closed = {e.order_id: e.state for e in sent if isinstance(e, OrderClosed)}
            assert closed == {
                unsent: "rejected",
                filled: "filled",
                cancelled: "canceled",
                taker: "filled",
            }
            assert isinstance(sent[-1], ReconciliationDone)

            # A second round books nothing twice; at most the trades settled further.
            keys = set(state.fills)
            again = await reconciler.round()
            assert again.ok and (again.booked, again.adopted, again.closed) == ((), (), ())
            assert {f.fill_key for f in again.updated} <= keys and set(state.fills) == keys
            assert all(f.status is not FillStatus.FAILED for f in state.fills.values())


async def test_an_order_on_the_account_the_journal_never_signed_halts_at_the_barrier(
    accounts: Accounts, tmp_path: Path
) -> None:
    with trio.fail_after(30):
        await genesis(accounts, tmp_path)
        response = await accounts.ours.place(accounts.up, "BUY", "0.40", "5")
        foreign = response.json()["orderID"]
        out: Mailbox[Any] = Mailbox("reconciled", 100, Overflow.BLOCK)
        with Journal(tmp_path) as journal:
            reconciler = Reconciler(journal, accounts.queries(), out, FAST)
            halts: list[ReconciliationHalt] = []
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(reconciler.run)
                    pytest.fail("the barrier opened despite a foreign order")
            except* ReconciliationHalt as group:
                halts = [e for e in group.exceptions if isinstance(e, ReconciliationHalt)]
        assert len(halts) == 1
        message = str(halts[0])
        assert message.startswith("reconciliation mismatch, trading halted: order " + foreign)
        assert "never signed here" in message and "\n" not in message


async def test_the_barrier_waits_while_the_venue_cannot_be_asked(
    accounts: Accounts, tmp_path: Path
) -> None:
    with trio.fail_after(30):
        await genesis(accounts, tmp_path)
        with Journal(tmp_path) as journal:
            order = await accounts.place(journal, accounts.up, "BUY", "0.40", "5", send=False)
        failures = 3
        real = caller(accounts.ours)

        async def flaky(
            method: str, path: str, params: Mapping[str, str] | None
        ) -> tuple[int, Any]:
            nonlocal failures
            if path.startswith("/data/order/") and failures:
                failures -= 1
                return 503, {"error": "Trading is currently disabled"}
            return await real(method, path, params)

        out: Mailbox[Any] = Mailbox("reconciled", 100, Overflow.BLOCK)
        with Journal(tmp_path) as journal:
            reconciler = Reconciler(journal, HttpVenueQueries(flaky), out, FAST)
            async with trio.open_nursery() as nursery:
                await nursery.start(reconciler.run)
                nursery.cancel_scope.cancel()
            sent = events(out)
            incomplete = [e for e in sent if isinstance(e, ReconciliationIncomplete)]
            assert len(incomplete) == 3
            assert "HTTP 503: Trading is currently disabled" in incomplete[0].reason
            # Not one of the failed lookups closed the order; the answer that came did.
            closing = [e for e in sent if isinstance(e, OrderClosed)]
            assert [(e.order_id, e.state) for e in closing] == [(order, "rejected")]
            assert sent.index(closing[0]) > sent.index(incomplete[-1])


async def test_periodic_rounds_book_fills_the_engine_missed(
    accounts: Accounts, tmp_path: Path
) -> None:
    with trio.fail_after(30):
        await genesis(accounts, tmp_path)
        out: Mailbox[Any] = Mailbox("reconciled", 100, Overflow.BLOCK)
        with Journal(tmp_path) as journal:
            order = await accounts.place(journal, accounts.up, "BUY", "0.50", "10")
            reconciler = Reconciler(journal, accounts.queries(), out, FAST)
            async with trio.open_nursery() as nursery:
                await nursery.start(reconciler.run)
                events(out)
                await accounts.their_order(accounts.down, "BUY", "0.50", "3", "FAK")
                while True:
                    message = await out.receive()
                    if isinstance(message, Fill):
                        break
                nursery.cancel_scope.cancel()
            assert (message.order_id, message.size, message.price) == (order, 3_000_000, 500_000)
            assert journal.state.filled(order) == 3_000_000


async def test_every_page_of_open_orders_is_read(accounts: Accounts, tmp_path: Path) -> None:
    with trio.fail_after(60):
        await genesis(accounts, tmp_path)
        with Journal(tmp_path, fsync="never") as journal:
            placed = {
                await accounts.place(journal, accounts.up, "BUY", "0.01", "5", record_answer=False)
                for _ in range(105)  # the venue pages 100 at a time
            }
            listed = await accounts.queries().open_orders()
            assert {o["id"] for o in listed} == placed
            out: Mailbox[Any] = Mailbox("reconciled", 200, Overflow.BLOCK)
            result = await Reconciler(journal, accounts.queries(), out, FAST).round()
            assert result.ok and {a.order_id for a in result.adopted} == placed


async def test_a_resolution_whose_frame_never_came_is_read_settled_and_journaled_once(
    accounts: Accounts, tmp_path: Path
) -> None:
    # The engine holds shares of a market that ends and resolves; its market_resolved
    # frame never reaches the engine (a dropped socket at that moment). Once the market
    # is `resolution_delay_s` past its end, a periodic round reads the resolution over
    # REST, journals the settlement once and announces it; later rounds announce it again
    # only while the ledger has not booked it.
    with trio.fail_after(30):
        await genesis(accounts, tmp_path)
        out: Mailbox[Any] = Mailbox("reconciled", 100, Overflow.BLOCK)
        booked: set[str] = set()
        cid = accounts.spec.condition_id
        ends = {cid: 1_000}
        config = StateConfig(
            reconcile_interval_s=0.1, retry_interval_s=0.05, confirm_delay_s=0.05,
            resolution_delay_s=60,
        )  # fmt: skip
        clock = [1_030.0]
        with Journal(tmp_path, fsync="never") as journal:
            order = await accounts.place(journal, accounts.up, "BUY", "0.40", "10")
            await accounts.their_order(accounts.down, "BUY", "0.60", "10", "FAK")
            reconciler = Reconciler(
                journal, accounts.queries(), out, config,
                tokens=lambda: (accounts.up, accounts.down),
                market_ends=lambda: ends, now=lambda: clock[0],
                ledger_settled=lambda: booked,
                # as in a session: an ended market the ledger has not settled is deferred
                settling=lambda: (
                    {accounts.up, accounts.down} if clock[0] >= ends[cid] and not booked else set()
                ),
            )  # fmt: skip
            async with trio.open_nursery() as nursery:
                await nursery.start(reconciler.run)
                fills = [e for e in events(out) if isinstance(e, Fill)]
                assert [(f.order_id, f.size) for f in fills] == [(order, 10_000_000)]
                accounts.server.venue.engine.close_market(cid)
                accounts.server.venue.engine.resolve_market(cid, 0)
                # Not yet 60 s past the end: the frame may still come; nothing is read.
                await trio.sleep(0.5)
                assert cid not in journal.state.settled
                assert not [e for e in events(out) if isinstance(e, ResolutionRead)]
                clock[0] = 1_061.0
                read = await _next(out, ResolutionRead)
                assert (read.condition_id, read.payout_per_share, read.winner) == (
                    cid, (1_000_000, 0), 0,
                )  # fmt: skip
                assert journal.state.settled[cid] == {accounts.up: 1_000_000, accounts.down: 0}
                again = await _next(out, ResolutionRead)  # the ledger has not booked it yet
                assert again.condition_id == cid
                booked.add(cid)
                events(out)
                await trio.sleep(0.5)
                assert not [e for e in events(out) if isinstance(e, ResolutionRead)]
                nursery.cancel_scope.cancel()
            settlements = [r for r in iter_journal(journal.path.read_bytes(), journal.path)]
            assert sum(isinstance(r, SettlementRecord) for _, r in settlements) == 1
            _, venue_cash, venue_tokens = await accounts.venue_view()
            assert journal.state.cash == venue_cash and venue_tokens[accounts.up] == 0


async def _next(out: Mailbox[Any], kind: type[Any]) -> Any:
    while True:
        message = await out.receive()
        if isinstance(message, kind):
            return message


class CancelledDuringTheRead(HttpVenueQueries):
    """The venue's open orders, read just before the engine's cancel of one of them is
    confirmed and journaled: the answer lists as live an order the journal has closed."""

    def __init__(self, accounts: Accounts, journal: Journal, order_id: str) -> None:
        super().__init__(caller(accounts.ours))
        self.accounts, self.journal, self.order_id = accounts, journal, order_id

    async def open_orders(self) -> list[dict[str, Any]]:
        stale = await super().open_orders()
        response = await self.accounts.ours.call("DELETE", "/order", {"orderID": self.order_id})
        assert self.order_id in response.json()["canceled"], response.text
        self.journal.cancel_requested(self.order_id, "requote")
        self.journal.closed(self.order_id, OrderState.CANCELED, 0)
        return stale


async def test_an_order_closed_while_the_venue_was_read_is_not_adopted_back(
    accounts: Accounts, tmp_path: Path
) -> None:
    with trio.fail_after(30):
        await genesis(accounts, tmp_path)
        out: Mailbox[Any] = Mailbox("reconciled", 100, Overflow.BLOCK)
        with Journal(tmp_path, fsync="never") as journal:
            # Sent; its answer not journaled yet when the round takes its snapshot.
            order = await accounts.place(
                journal, accounts.up, "BUY", "0.40", "10", record_answer=False
            )
            queries = CancelledDuringTheRead(accounts, journal, order)
            reconciler = Reconciler(journal, queries, out, FAST)
            result = await reconciler.round()
            assert result.ok, result.message()
            assert reconciler.stale_adoptions == 1
            assert not [e for e in events(out) if isinstance(e, OrderAdopted)]
            assert journal.state.orders[order].phase is OrderPhase.CLOSED
            assert journal.state.orders[order].terminal is OrderState.CANCELED
