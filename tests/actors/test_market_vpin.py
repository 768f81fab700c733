"""The MarketActor feeds VPIN from trades on the wire, never from book updates."""

from __future__ import annotations

import orjson
import trio

from actors.market import MarketActor
from engine.clock import SessionClock
from engine.config import MarketDataConfig
from engine.fees import FeeSchedule
from engine.gateway import BookSnapshot
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketInfo
from engine.stats import EngineStats
from engine.units import UNIT

CID = "0x" + "ab" * 32
YES, NO = "1" * 77, "2" * 77
INFO = MarketInfo(CID, "m", (YES, NO), ("Up", "Down"), 10_000, 5 * UNIT, FeeSchedule(), 0, 900)


class NoGateway:
    """Only snapshots are needed by a MarketActor built but not run."""

    async def get_book(self, token_id: str) -> BookSnapshot:
        return BookSnapshot(token_id, (), ())


def actor() -> MarketActor:
    box: Mailbox[object] = Mailbox("m", 8, Overflow.DROP_AND_RESYNC)
    return MarketActor(
        INFO,
        box,  # type: ignore[arg-type]
        [],
        Mailbox("p", 8, Overflow.BLOCK),
        NoGateway(),  # type: ignore[arg-type]
        SessionClock(0.0),
        EngineStats(),
        market_data=MarketDataConfig(vpin_bucket=10, vpin_window=2, vpin_classification="side"),
    )


def trade(price: str, size: str, side: str) -> bytes:
    return orjson.dumps(
        {
            "event_type": "last_trade_price",
            "asset_id": YES,
            "market": CID,
            "price": price,
            "side": side,
            "size": size,
            "fee_rate_bps": "0",
            "timestamp": "1",
        }
    )


def book_change() -> bytes:
    change = {"asset_id": YES, "price": "0.5", "size": "500", "side": "BUY", "hash": "h"}
    return orjson.dumps(
        {"event_type": "price_change", "market": CID, "timestamp": "1", "price_changes": [change]}
    )


async def test_vpin_comes_from_trades_and_not_from_book_updates() -> None:
    with trio.fail_after(5):
        market = actor()
        for _ in range(50):
            market.apply(book_change())
        assert market.vpin[YES].value is None  # book updates are not volume
        for _ in range(2):
            market.apply(trade("0.5", "10", "BUY"))
        assert market.vpin[YES].value == 1.0  # all taker buys: fully one-sided
        market.apply(trade("0.5", "5", "BUY"))
        market.apply(trade("0.5", "5", "SELL"))  # a balanced bucket beside a one-sided one
        assert market.vpin[YES].value == 0.5
        market.apply(trade("0.5", "5", "SELL"))
        market.apply(trade("0.5", "5", "BUY"))  # two balanced buckets in the window
        assert market.vpin[YES].value == 0.0
        assert market.view(0).vpin[0] == market.vpin[YES].value
        assert market.vpin[NO].value is None
