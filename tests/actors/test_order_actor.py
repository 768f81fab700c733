"""The OrderActor drives one order on the tracker and journals it: specifications.

The venue here is a script (what a real venue would answer, chosen per test) so that each
race can be set up exactly: the order's reports and fills are put in its mailbox in the
order the venue would deliver them, and every test says what the journal holds after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
import trio.testing

from actors.order import OrderActor, OrderInput
from engine.client.errors import SubmitUnknown, TransportError
from engine.fees import FeeSchedule
from engine.gateway import BookSnapshot, OrderSpec, PostResult, Resolution, VenueOrderState
from engine.journal import Journal, OrderPhase, read_journal
from engine.mailbox import Mailbox, Overflow
from engine.messages import CancelOrder, Fill, FillVoided, Liquidity, OrderReport
from engine.orderfsm import OrderState
from engine.registry import OrderRegistry
from engine.stats import EngineStats
from engine.units import OrderType, Side

ORDER_ID = "0x" + "ab" * 32
SIZE = 10_000_000
BODY = orjson.dumps({"order": {"tokenId": "1", "timestamp": "1700000000000"}, "owner": "k"})


class ScriptedVenue:
    """Answers as told; records what was asked, and what the journal held at each post."""

    account = "0xabc"

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal
        self.post_answers: list[PostResult | Exception] = []
        self.cancel_answers: list[bool | Exception] = []
        self.resolutions: list[Resolution | Exception] = []
        self.posts = 0
        self.cancels = 0
        self.queries = 0
        self.journaled_at_post: list[OrderPhase | None] = []

    async def post_order(self, order: OrderSpec) -> PostResult:
        self.posts += 1
        if self.journal is not None:
            known = self.journal.state.orders.get(order.order_id)
            self.journaled_at_post.append(None if known is None else known.phase)
        answer = self.post_answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def cancel_order(self, order_id: str) -> bool:
        self.cancels += 1
        answer = self.cancel_answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution:
        self.queries += 1
        answer = self.resolutions.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def cancel_all(self) -> list[str]:
        return []

    async def get_book(self, token_id: str) -> BookSnapshot:
        raise AssertionError("not asked in these tests")

    async def collateral_balance(self) -> int:
        return 0


def accepted(matched: int = 0) -> PostResult:
    return PostResult(True, "", ORDER_ID, "live", matched)


def resolution(state: VenueOrderState, matched: int = 0) -> Resolution:
    return Resolution(ORDER_ID, state, None, (), matched)


def fill(trade_id: str, size: int) -> Fill:
    return Fill(0, trade_id, ORDER_ID, "s", "c", "1", Side.BUY, 500_000, size, 0, Liquidity.MAKER)


def report(kind: str, matched: int = 0) -> OrderReport:
    return OrderReport(0, ORDER_ID, kind, matched)


def cancel() -> CancelOrder:
    return CancelOrder(0, ORDER_ID, "requote")


class Desk:
    def __init__(self, tmp_path: Path, order_type: OrderType = OrderType.GTC) -> None:
        self.journal = Journal(tmp_path / "state", fsync="never")
        self.venue = ScriptedVenue(self.journal)
        self.mailbox: Mailbox[OrderInput] = Mailbox("order", 64, Overflow.BLOCK)
        self.closed: Mailbox[Any] = Mailbox("closed", 64, Overflow.BLOCK)
        self.registry = OrderRegistry()
        spec = OrderSpec(ORDER_ID, "1", Side.BUY, 500_000, SIZE, order_type, False, BODY)
        self.stats = EngineStats()
        self.actor = OrderActor(
            spec, "s", "c", "q0", 0, self.registry, self.mailbox, self.venue, self.closed,
            self.stats, journal=self.journal,
        )  # fmt: skip

    def records(self) -> list[str]:
        return [orjson.loads(line)["kind"] for line in self.journal.path.read_bytes().splitlines()]


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def test_the_order_is_journaled_as_signed_before_it_is_sent(tmp_path: Path) -> None:
    with trio.fail_after(10):
        desk = Desk(tmp_path)
        desk.venue.post_answers.append(accepted())
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.actor.run)
            await settle()
            assert desk.venue.journaled_at_post == [OrderPhase.SIGNED]
            assert desk.actor.state is OrderState.ACCEPTED
            await desk.mailbox.send(fill("t1", SIZE))
        assert desk.actor.state is OrderState.FILLED
        assert desk.records() == ["signed", "submitted", "closed"]
        assert ORDER_ID in desk.registry.orders


async def test_a_cancel_is_done_only_when_the_venue_confirms_it(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(30):
        desk = Desk(tmp_path)
        desk.venue.post_answers.append(accepted())
        # The first cancel is refused ("not canceled"): the actor asks, the order is still
        # live, so it cancels again; only the venue's yes makes it CANCELED.
        desk.venue.cancel_answers += [False, True]
        desk.venue.resolutions.append(resolution(VenueOrderState.LIVE))
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.actor.run)
            await settle()
            await desk.mailbox.send(cancel())
        assert desk.actor.state is OrderState.CANCELED
        assert (desk.venue.cancels, desk.venue.queries) == (2, 1)
        assert desk.records() == ["signed", "submitted", "cancel_requested", "closed"]


async def test_a_cancel_that_cannot_be_answered_is_followed_up_not_assumed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(30):
        desk = Desk(tmp_path)
        desk.venue.post_answers.append(accepted())
        lost = TransportError("DELETE /order", "read timeout", sent=True)
        desk.venue.cancel_answers += [lost, True]
        # The first query cannot be asked either: that is not "the order is gone".
        desk.venue.resolutions += [lost, resolution(VenueOrderState.LIVE)]
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.actor.run)
            await settle()
            await desk.mailbox.send(cancel())
            await settle()
            assert desk.actor.state is OrderState.PENDING_CANCEL
        assert desk.actor.state is OrderState.CANCELED
        assert (desk.venue.cancels, desk.venue.queries) == (2, 2)
        # A query after a cancel is counted apart from resolving an unknown submit.
        assert desk.stats.cancel_queries == {"LIVE": 1}
        assert desk.stats.unknown_resolved == {}


async def test_fills_that_arrive_before_the_cancellation_are_applied_first(
    tmp_path: Path,
) -> None:
    with trio.fail_after(10):
        desk = Desk(tmp_path)
        desk.venue.post_answers.append(accepted())
        desk.venue.cancel_answers.append(True)
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.actor.run)
            await settle()
            # The venue matched 4 shares, then our cancel reached it: the fill is reported
            # first, then the cancellation, and a late repeat of the fill changes nothing.
            await desk.mailbox.send(fill("t1", 4_000_000))
            await desk.mailbox.send(cancel())
            await desk.mailbox.send(fill("t1", 4_000_000))
        assert desk.actor.state is OrderState.CANCELED
        assert desk.actor.filled == 4_000_000


async def test_a_fill_before_the_post_answer_is_kept(tmp_path: Path) -> None:
    with trio.fail_after(10):
        desk = Desk(tmp_path)
        desk.venue.post_answers.append(accepted(matched=SIZE))
        await desk.mailbox.send(fill("t1", SIZE))  # the user channel was faster
        await desk.mailbox.send(report("PLACEMENT"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(desk.actor.run)
        assert desk.actor.state is OrderState.FILLED
        assert desk.actor.filled == SIZE


async def test_a_failed_trade_takes_its_fill_back(tmp_path: Path) -> None:
    with trio.fail_after(10):
        desk = Desk(tmp_path)
        desk.venue.post_answers.append(accepted())
        desk.venue.cancel_answers.append(True)
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.actor.run)
            await settle()
            await desk.mailbox.send(fill("t1", 3_000_000))
            await desk.mailbox.send(FillVoided(0, "t1", ORDER_ID))
            await settle()
            assert desk.actor.filled == 0
            assert desk.actor.state is OrderState.PARTIALLY_FILLED  # it did trade, once
            await desk.mailbox.send(cancel())


@pytest.mark.parametrize(
    ("venue_says", "ends"),
    [
        (VenueOrderState.NOT_FOUND, OrderState.REJECTED),
        (VenueOrderState.LIVE, OrderState.ACCEPTED),
        (VenueOrderState.CANCELED, OrderState.CANCELED),
    ],
    ids=["never-placed", "live", "canceled"],
)
async def test_an_unknown_submit_is_never_sent_again_and_is_resolved_by_query(
    tmp_path: Path,
    autojump_clock: trio.testing.MockClock,
    venue_says: VenueOrderState,
    ends: OrderState,
) -> None:
    with trio.fail_after(30):
        desk = Desk(tmp_path)
        desk.venue.post_answers.append(SubmitUnknown("POST /order", "read timeout", (ORDER_ID,)))
        desk.venue.resolutions.append(resolution(venue_says))
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.actor.run)
            await trio.sleep(5)  # past the wait for the user channel
            assert desk.actor.state is ends
            assert desk.venue.posts == 1
            assert desk.stats.unknown_resolved == {venue_says.value: 1}
            assert desk.stats.cancel_queries == {}
            nursery.cancel_scope.cancel()
        journal, _ = read_journal(desk.journal.path)
        phase = journal.orders[ORDER_ID].phase
        assert phase is (OrderPhase.CLOSED if ends.terminal else OrderPhase.LIVE)


async def test_an_adopted_order_is_tracked_and_never_sent(tmp_path: Path) -> None:
    with trio.fail_after(10):
        desk = Desk(tmp_path)
        desk.actor.adopted = True
        spec = desk.actor.spec  # journaled by the run before the restart
        desk.journal.signed(
            spec.order_id, spec.body, strategy="s", key="q0", condition_id="c",
            token_id=spec.token_id, side=spec.side, price=spec.price, size=spec.size,
            order_type=spec.order_type, post_only=False, fees=FeeSchedule(0, 0),
        )  # fmt: skip
        desk.venue.cancel_answers.append(True)
        async with trio.open_nursery() as nursery:
            await nursery.start(desk.actor.run)
            await settle()
            assert desk.actor.state is OrderState.ACCEPTED
            await desk.mailbox.send(cancel())
        assert desk.actor.state is OrderState.CANCELED
        assert desk.venue.posts == 0
