"""The user-event router reads a trade the same whether the socket or REST delivered it."""

from __future__ import annotations

from typing import Any

import orjson
import trio

from actors.user_feed import UserEventRouter
from engine.fees import NO_FEES
from engine.gateway import OrderSpec
from engine.mailbox import Mailbox, Overflow
from engine.messages import Fill, FillConfirmed, FillVoided, Liquidity, MarketInfo, OrderReport
from engine.registry import OrderMeta, OrderRegistry
from engine.stats import EngineStats
from engine.units import OrderType, Side

CID = "0x" + "cd" * 32
UP, DOWN = "101", "202"
OURS, THEIRS = "0x" + "aa" * 32, "0x" + "bb" * 32
INFO = MarketInfo(CID, "m", (UP, DOWN), ("Up", "Down"), 10_000, 5_000_000, NO_FEES, 0, 900)


def setup(capacity: int = 64) -> tuple[UserEventRouter, Mailbox[Any], Mailbox[Any]]:
    registry = OrderRegistry()
    spec = OrderSpec(OURS, UP, Side.BUY, 400_000, 10_000_000, OrderType.GTC, False, b"")
    order_box: Mailbox[Any] = Mailbox("order", 64, Overflow.BLOCK)
    registry.register(OrderMeta(spec, "s", CID, "bid"), order_box)
    out: Mailbox[Any] = Mailbox("portfolio", capacity, Overflow.BLOCK)
    return UserEventRouter(registry, {CID: INFO}, out, EngineStats()), out, order_box


def rest_trade(status: str, trade_id: str = "t-1") -> dict[str, Any]:
    """A REST Trade (spec 2) in which our resting BUY Up was the maker."""
    return {
        "id": trade_id,
        "taker_order_id": THEIRS,
        "market": CID,
        "asset_id": DOWN,
        "side": "BUY",
        "size": "10",
        "price": "0.6",
        "status": status,
        "match_time": "1700000000",
        "trader_side": "MAKER",
        "maker_orders": [
            {
                "order_id": OURS,
                "matched_amount": "10",
                "price": "0.4",
                "asset_id": UP,
                "side": "BUY",
            }
        ],
    }


def ws_event(status: str, trade_id: str = "t-1") -> bytes:
    """The same trade as a user-channel event (the REST fields plus the event's own)."""
    event = rest_trade(status, trade_id) | {"event_type": "trade", "type": "TRADE"}
    return orjson.dumps(event)


def drain(box: Mailbox[Any]) -> list[Any]:
    items = []
    while len(box):
        items.append(box.receive_nowait())
    return items


async def test_a_socket_match_then_a_rest_confirmation_book_one_final_fill() -> None:
    with trio.fail_after(5):
        router, out, order_box = setup()
        await router.on_frame(ws_event("MATCHED"))
        await router.on_rest_trades([rest_trade("MATCHED"), rest_trade("CONFIRMED")])
        await router.on_frame(ws_event("CONFIRMED"))
        fill, confirmed = drain(out)
        assert isinstance(fill, Fill) and isinstance(confirmed, FillConfirmed)
        assert (fill.trade_id, fill.order_id, fill.side, fill.price, fill.size) == (
            "t-1", OURS, Side.BUY, 400_000, 10_000_000,
        )  # fmt: skip
        assert fill.liquidity is Liquidity.MAKER and fill.fee == 0
        assert (confirmed.trade_id, confirmed.order_id) == ("t-1", OURS)
        assert drain(order_box) == [fill]


async def test_a_trade_first_seen_failed_in_a_backfill_books_nothing_later() -> None:
    with trio.fail_after(5):
        router, out, _ = setup()
        await router.on_rest_trades([rest_trade("FAILED")])
        await router.on_frame(ws_event("MATCHED"))
        assert drain(out) == []


async def test_a_matched_fill_that_fails_is_voided_once() -> None:
    with trio.fail_after(5):
        router, out, _ = setup()
        await router.on_frame(ws_event("MATCHED"))
        await router.on_frame(ws_event("RETRYING"))
        await router.on_frame(ws_event("FAILED"))
        await router.on_rest_trades([rest_trade("FAILED")])
        kinds = [type(m) for m in drain(out)]
        assert kinds == [Fill, FillVoided]


async def test_a_malformed_event_is_counted_and_skipped_and_the_next_is_handled() -> None:
    with trio.fail_after(5):
        router, out, _ = setup()
        broken = rest_trade("MATCHED", "t-2")
        del broken["maker_orders"][0]["price"]
        await router.on_rest_trades([broken, rest_trade("SETTLED", "t-3")])
        await router.on_frame(b"not json")
        await router.on_frame(b"[1, 2]")
        assert router.stats.malformed_frames == 5
        await router.on_frame(ws_event("MATCHED", "t-2"))  # not poisoned by the bad copy
        assert [type(m) for m in drain(out)] == [Fill]


async def test_order_events_go_to_their_order_by_id() -> None:
    with trio.fail_after(5):
        router, _, order_box = setup()
        event = {"event_type": "order", "type": "UPDATE", "id": OURS, "size_matched": "4"}
        other = event | {"id": THEIRS}
        await router.on_frame(orjson.dumps([event, other]))
        (report,) = drain(order_box)
        assert isinstance(report, OrderReport)
        assert (report.order_id, report.kind, report.size_matched) == (OURS, "UPDATE", 4_000_000)
        assert router.stats.unknown_order_events == 1


async def test_a_frame_cancelled_halfway_is_still_handled_whole() -> None:
    """A dropped socket cancels its reader; a trade already decided must still be sent,
    or the dedupe would skip it forever."""
    with trio.fail_after(5):
        router, out, _ = setup(capacity=1)
        out.send_nowait("backlog")  # the portfolio is behind: the send will wait
        scope = trio.CancelScope()

        async def read() -> None:
            with scope:
                await router.on_frame(ws_event("CONFIRMED"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            await trio.sleep(0.05)
            scope.cancel()
            await trio.sleep(0.05)
            received = [await out.receive() for _ in range(3)]
        assert received[0] == "backlog"
        assert [type(m) for m in received[1:]] == [Fill, FillConfirmed]
