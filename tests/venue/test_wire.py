"""Wire frames as the venue sends them (spec sections 5 and 11.3), built from engine events."""

from __future__ import annotations

from typing import Any

import orjson

from engine.fees import FeeSchedule
from engine.units import Side, parse_units
from engine.venue.matching import (
    LevelChanged,
    MarketResolved,
    MarketSpec,
    MatchingEngine,
    OrderCancelled,
    OrderPlaced,
    OrderRequest,
    OrderType,
    OrderUpdated,
    TradeExecuted,
    VenueEvent,
)
from engine.venue.wire import (
    Identity,
    MarketDataPublisher,
    PriceChange,
    book_frame,
    book_hash,
    fake_transaction_hash,
    last_trade_price_frame,
    market_resolved_frame,
    order_event_frame,
    price_change_frame,
    tick_size_change_frame,
    trade_event_frame,
)

CID = "0x" + "dd" * 32
UP = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
DOWN = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
T0 = 1_800_000_000_000

SPEC = MarketSpec(
    condition_id=CID,
    question="Bitcoin Up or Down?",
    slug="btc-updown-15m-1800000000",
    token_ids=(UP, DOWN),
    outcomes=("Up", "Down"),
    tick=10_000,
    fees=FeeSchedule(rate_ppm=70_000, exponent=1),
    start_ts=1_800_000_000,
    end_ts=1_800_000_900,
)


def u(text: str) -> int:
    return parse_units(text)


def load(frame: bytes) -> dict[str, Any]:
    value = orjson.loads(frame)
    assert isinstance(value, dict)
    return value


def order(account: str, token: str, side: Side, price: str, size: str, **kw: Any) -> OrderRequest:
    return OrderRequest(
        account=account, token_id=token, side=side, price=u(price), size=u(size), **kw
    )


def engine_with_trade() -> tuple[MatchingEngine, TradeExecuted, list[VenueEvent]]:
    """alice rests BUY Up 0.40 x 10 and BUY Up 0.39 x 5; bob mints 12 Down against them."""
    engine = MatchingEngine()
    engine.add_market(SPEC)
    engine.deposit("alice", u("100"))
    engine.deposit("bob", u("100"))
    engine.submit(order("alice", UP, Side.BUY, "0.4", "10"), T0)
    engine.submit(order("alice", UP, Side.BUY, "0.39", "5"), T0 + 1)
    result = engine.submit(order("bob", DOWN, Side.BUY, "0.61", "12"), T0 + 2)
    return engine, result.trades[0], engine.drain_events()


# Market channel.


def test_book_frame_lists_best_last_with_decimal_strings() -> None:
    bids = [(u("0.5"), u("200")), (u("0.49"), u("350"))]
    asks = [(u("0.51"), u("150")), (u("0.52"), u("250.5"))]
    frame = book_frame(SPEC, UP, bids, asks, 1703875200000, "0xabc")
    assert frame == (
        b'{"event_type":"book","asset_id":"' + UP.encode() + b'","market":"' + CID.encode() + b'",'
        b'"bids":[{"price":"0.49","size":"350"},{"price":"0.5","size":"200"}],'
        b'"asks":[{"price":"0.52","size":"250.5"},{"price":"0.51","size":"150"}],'
        b'"timestamp":"1703875200000","hash":"0xabc"}'
    )


def test_book_frame_hashes_the_book_when_no_hash_is_given() -> None:
    frame = load(book_frame(SPEC, UP, [(u("0.5"), u("10"))], [], T0))
    assert frame["hash"] == book_hash(CID, UP, [(u("0.5"), u("10"))], [])
    assert len(frame["hash"]) == 40 and frame["asks"] == []


def test_price_change_frame_is_the_array_form() -> None:
    changes = [
        PriceChange(UP, Side.BUY, u("0.5"), u("200"), "h1", u("0.5"), u("0.52")),
        PriceChange(DOWN, Side.SELL, u("0.5"), 0, "h2", None, None),
    ]
    frame = load(price_change_frame(CID, changes, 1703875201000))
    assert frame == {
        "event_type": "price_change",
        "market": CID,
        "timestamp": "1703875201000",
        "price_changes": [
            {
                "asset_id": UP,
                "price": "0.5",
                "size": "200",
                "side": "BUY",
                "hash": "h1",
                "best_bid": "0.5",
                "best_ask": "0.52",
            },
            # An empty book reports best_bid "0" and best_ask "1".
            {
                "asset_id": DOWN,
                "price": "0.5",
                "size": "0",
                "side": "SELL",
                "hash": "h2",
                "best_bid": "0",
                "best_ask": "1",
            },
        ],
    }


def test_last_trade_price_tick_size_and_resolution_frames() -> None:
    tx = fake_transaction_hash("trade-1")
    assert tx.startswith("0x") and len(tx) == 66
    assert load(last_trade_price_frame(CID, UP, u("0.51"), Side.BUY, u("25"), T0, tx)) == {
        "event_type": "last_trade_price",
        "asset_id": UP,
        "market": CID,
        "price": "0.51",
        "side": "BUY",
        "size": "25",
        "fee_rate_bps": "0",
        "timestamp": str(T0),
        "transaction_hash": tx,
    }
    assert load(tick_size_change_frame(CID, UP, u("0.01"), u("0.001"), T0)) == {
        "event_type": "tick_size_change",
        "asset_id": UP,
        "market": CID,
        "old_tick_size": "0.01",
        "new_tick_size": "0.001",
        "timestamp": str(T0),
    }
    down = load(market_resolved_frame(SPEC, 1, T0, market_id="1031769"))
    assert down == {
        "event_type": "market_resolved",
        "id": "1031769",
        "market": CID,
        "assets_ids": [UP, DOWN],
        "winning_asset_id": DOWN,
        "winning_outcome": "Down",
        "timestamp": str(T0),
        "tags": [],
    }
    assert load(market_resolved_frame(SPEC, 0, T0))["winning_outcome"] == "Up"
    split = load(market_resolved_frame(SPEC, None, T0))
    assert (split["winning_asset_id"], split["winning_outcome"]) == ("", "")


# User channel.

ORDER_KEYS = {
    "event_type",
    "type",
    "id",
    "owner",
    "order_owner",
    "market",
    "asset_id",
    "side",
    "original_size",
    "size_matched",
    "price",
    "associate_trades",
    "outcome",
    "order_type",
    "status",
    "expiration",
    "created_at",
    "maker_address",
    "timestamp",
}


def test_order_frames_for_placement_update_and_cancellation() -> None:
    engine, trade, events = engine_with_trade()
    who = Identity(owner="00000000-0000-4000-8000-000000000001", address="0xA11CE")
    placed = next(e for e in events if isinstance(e, OrderPlaced))
    frame = load(order_event_frame(placed, SPEC, who))
    assert set(frame) == ORDER_KEYS
    assert (frame["type"], frame["status"], frame["side"], frame["outcome"]) == (
        "PLACEMENT",
        "LIVE",
        "BUY",
        "Up",
    )
    assert (frame["price"], frame["original_size"], frame["size_matched"]) == ("0.4", "10", "0")
    assert (frame["owner"], frame["maker_address"]) == (who.owner, "0xA11CE")
    assert (frame["created_at"], frame["timestamp"], frame["expiration"]) == (
        str(T0 // 1000),
        str(T0),
        "0",
    )
    assert frame["associate_trades"] is None and frame["order_type"] == "GTC"

    updates = [load(order_event_frame(e, SPEC, who)) for e in events if isinstance(e, OrderUpdated)]
    assert [(f["type"], f["status"], f["size_matched"]) for f in updates] == [
        ("UPDATE", "MATCHED", "10"),
        ("UPDATE", "LIVE", "2"),
    ]
    assert updates[0]["associate_trades"] == [trade.trade_id]

    (rest,) = engine.open_orders("alice")
    engine.cancel("alice", rest.order_id, now_ms=T0 + 9)
    (cancelled,) = [e for e in engine.drain_events() if isinstance(e, OrderCancelled)]
    frame = load(order_event_frame(cancelled, SPEC, who))
    assert (frame["type"], frame["status"], frame["size_matched"]) == (
        "CANCELLATION",
        "CANCELED",
        "2",
    )


def test_fok_kill_is_reported_as_the_venue_does() -> None:
    engine = MatchingEngine()
    engine.add_market(SPEC)
    engine.deposit("alice", u("100"))
    req = order("alice", UP, Side.BUY, "0.6", "12", order_type=OrderType.FOK)
    assert not engine.submit(req, T0).success
    (killed,) = engine.drain_events()
    assert isinstance(killed, OrderCancelled)
    frame = load(order_event_frame(killed, SPEC, Identity("k", "0xA")))
    assert frame["status"] == (
        "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."
    )
    assert (frame["size_matched"], frame["order_type"]) == ("", "FOK")


def test_trade_frame_for_the_taker() -> None:
    _, trade, _ = engine_with_trade()
    frame = load(trade_event_frame(trade, SPEC, recipient="bob", bucket_index=0))
    assert frame["event_type"] == "trade" and frame["type"] == "TRADE"
    assert (frame["id"], frame["taker_order_id"], frame["market"]) == (
        trade.trade_id,
        trade.taker_order_id,
        CID,
    )
    # Top-level fields are the taker's: BUY Down, 12 shares, last leg at 1 - 0.39.
    assert (frame["asset_id"], frame["side"], frame["size"], frame["price"], frame["outcome"]) == (
        DOWN,
        "BUY",
        "12",
        "0.61",
        "Down",
    )
    assert (frame["trader_side"], frame["owner"], frame["trade_owner"]) == ("TAKER", "bob", "bob")
    assert frame["status"] == "MATCHED" and frame["bucket_index"] == 0
    assert frame["fee_rate_bps"] == "0"
    assert frame["transaction_hash"] == fake_transaction_hash(trade.trade_id)
    assert frame["match_time"] == str(T0 // 1000 + 0)
    assert frame["maker_orders"] == [
        {
            "order_id": trade.maker_legs[0].order_id,
            "owner": "alice",
            "maker_address": "alice",
            "matched_amount": "10",
            "price": "0.4",
            "fee_rate_bps": "0",
            "asset_id": UP,
            "outcome": "Up",
            "outcome_index": 0,
            "side": "BUY",
        },
        {
            "order_id": trade.maker_legs[1].order_id,
            "owner": "alice",
            "maker_address": "alice",
            "matched_amount": "2",
            "price": "0.39",
            "fee_rate_bps": "0",
            "asset_id": UP,
            "outcome": "Up",
            "outcome_index": 0,
            "side": "BUY",
        },
    ]


def test_trade_frame_for_a_maker_and_later_statuses() -> None:
    _, trade, _ = engine_with_trade()

    def identity_of(account: str) -> Identity:
        return Identity(owner=f"key-{account}", address=f"0x{account}")

    frame = load(
        trade_event_frame(
            trade,
            SPEC,
            recipient="alice",
            status="CONFIRMED",
            identity_of=identity_of,
            ts_ms=T0 + 5_000,
        )
    )
    assert (frame["trader_side"], frame["owner"], frame["maker_address"]) == (
        "MAKER",
        "key-alice",
        "0xalice",
    )
    assert frame["status"] == "CONFIRMED"
    assert (frame["match_time"], frame["last_update"], frame["timestamp"]) == (
        str(T0 // 1000),
        str(T0 // 1000 + 5),
        str(T0 + 5_000),
    )
    assert {m["owner"] for m in frame["maker_orders"]} == {"key-alice"}


# From events to market-channel frames.


def test_publisher_groups_one_operation_into_one_price_change() -> None:
    engine, _, events = engine_with_trade()
    publisher = MarketDataPublisher(SPEC, book_after_trade=False)
    frames = [load(f) for f in publisher.publish(events)]
    kinds = [f["event_type"] for f in frames]
    # Two placements (one frame each), then the mint: two trade prints and one price_change.
    assert kinds == [
        "price_change",
        "price_change",
        "last_trade_price",
        "last_trade_price",
        "price_change",
    ]
    taker_print, maker_print, change = frames[2], frames[3], frames[4]
    assert (taker_print["asset_id"], taker_print["price"], taker_print["size"]) == (
        DOWN,
        "0.61",
        "12",
    )
    assert (maker_print["asset_id"], maker_print["price"], maker_print["size"]) == (
        UP,
        "0.39",
        "12",
    )
    assert [(c["asset_id"], c["side"], c["price"], c["size"]) for c in change["price_changes"]] == [
        (UP, "BUY", "0.4", "0"),
        (UP, "BUY", "0.39", "3"),
    ]
    assert {(c["best_bid"], c["best_ask"]) for c in change["price_changes"]} == {("0.39", "1")}
    assert publisher.levels(UP) == engine.book(UP)
    assert publisher.levels(DOWN) == engine.book(DOWN)


def test_publisher_sends_books_after_trades_and_the_resolution() -> None:
    engine, _, events = engine_with_trade()
    publisher = MarketDataPublisher(SPEC)
    frames = [load(f) for f in publisher.publish(events)]
    books = [f for f in frames if f["event_type"] == "book"]
    assert [b["asset_id"] for b in books] == [UP, DOWN]
    assert books[0]["bids"] == [{"price": "0.39", "size": "3"}]
    assert frames[-2:] == books
    engine.resolve_market(CID, 1, now_ms=T0 + 10)
    frames = [load(f) for f in publisher.publish(engine.drain_events())]
    assert frames[-1]["event_type"] == "market_resolved"
    assert frames[-1]["winning_asset_id"] == DOWN
    assert publisher.levels(UP) == ([], [])


def test_publisher_tracks_the_engine_through_random_looking_flow() -> None:
    engine = MatchingEngine()
    engine.add_market(SPEC)
    for name in ("a", "b", "c"):
        engine.deposit(name, u("500"))
    publisher = MarketDataPublisher(SPEC)
    flow = [
        ("a", UP, "0.45", "20"),
        ("b", DOWN, "0.5", "10"),
        ("c", DOWN, "0.56", "30"),
        ("a", UP, "0.47", "15"),
        ("b", UP, "0.46", "8"),
    ]
    for i, (who, token, price, size) in enumerate(flow):
        engine.submit(order(who, token, Side.BUY, price, size), T0 + i)
        for frame in map(load, publisher.publish(engine.drain_events())):
            if frame["event_type"] != "price_change":
                continue
            for change in frame["price_changes"]:
                bid, ask = engine.best_bid_ask(change["asset_id"])
                assert parse_units(change["best_bid"]) == (bid if bid is not None else 0)
                assert parse_units(change["best_ask"]) == (ask if ask is not None else 10**6)
    for token in SPEC.token_ids:
        assert publisher.levels(token) == engine.book(token)


def test_publisher_ignores_other_markets_and_user_only_events() -> None:
    publisher = MarketDataPublisher(SPEC)
    other = LevelChanged("0x" + "ee" * 32, "9", Side.BUY, u("0.5"), u("10"), T0, 1)
    assert publisher.publish([other]) == []
    resolved = MarketResolved(CID, None, T0)
    (frame,) = publisher.publish([resolved])
    assert load(frame)["winning_outcome"] == ""


# Unified (mirrored) books.


def test_unified_price_change_carries_both_outcomes() -> None:
    engine = MatchingEngine(book_model="unified")
    engine.add_market(SPEC)
    engine.deposit("alice", u("500"))
    publisher = MarketDataPublisher(SPEC)
    engine.submit(order("alice", UP, Side.BUY, "0.5", "200"), T0)
    (frame,) = map(load, publisher.publish(engine.drain_events()))
    assert frame["event_type"] == "price_change"
    entries = [
        (c["asset_id"], c["side"], c["price"], c["size"], c["best_bid"], c["best_ask"])
        for c in frame["price_changes"]
    ]
    assert entries == [
        (UP, "BUY", "0.5", "200", "0.5", "1"),
        (DOWN, "SELL", "0.5", "200", "0", "0.5"),
    ]
    hashes = {c["asset_id"]: c["hash"] for c in frame["price_changes"]}
    assert hashes[UP] == book_hash(CID, UP, *engine.book(UP))
    assert hashes[DOWN] == book_hash(CID, DOWN, *engine.book(DOWN))


def test_unified_publisher_tracks_mirrored_books_through_mints_and_merges() -> None:
    engine = MatchingEngine(book_model="unified")
    engine.add_market(SPEC)
    for name in ("a", "b", "c"):
        engine.deposit(name, u("500"))
    publisher = MarketDataPublisher(SPEC)
    flow = [
        ("a", UP, Side.BUY, "0.45", "20"),
        ("b", DOWN, Side.BUY, "0.56", "20"),  # mints 20 against a
        ("c", DOWN, Side.BUY, "0.45", "10"),
        ("a", UP, Side.SELL, "0.52", "10"),  # rests: shows as BUY Down 0.48
        ("b", DOWN, Side.SELL, "0.47", "10"),  # merges with a's SELL Up 0.52 (pays 0.48)
        ("b", DOWN, Side.SELL, "0.45", "5"),  # takes c's bid
    ]
    kinds: list[str] = []
    prints: list[tuple[str, str, str]] = []
    for i, (who, token, side, price, size) in enumerate(flow):
        result = engine.submit(order(who, token, side, price, size), T0 + i)
        assert result.success, result.error
        kinds += [leg.match_kind for t in result.trades for leg in t.maker_legs]
        for frame in map(load, publisher.publish(engine.drain_events())):
            if frame["event_type"] == "last_trade_price":
                prints.append((frame["asset_id"], frame["side"], frame["price"]))
            if frame["event_type"] != "price_change":
                continue
            assert {c["asset_id"] for c in frame["price_changes"]} == {UP, DOWN}
            for change in frame["price_changes"]:
                bid, ask = engine.best_bid_ask(change["asset_id"])
                assert parse_units(change["best_bid"]) == (bid if bid is not None else 0)
                assert parse_units(change["best_ask"]) == (ask if ask is not None else 10**6)
        for token in SPEC.token_ids:
            assert publisher.levels(token) == engine.book(token)
    assert kinds == ["mint", "merge", "complementary"]
    # A merge prints on both outcomes: the taker's SELL Down and the maker's SELL Up.
    assert (DOWN, "SELL", "0.48") in prints and (UP, "SELL", "0.52") in prints


def test_unified_trade_sends_both_books_after_it() -> None:
    engine = MatchingEngine(book_model="unified")
    engine.add_market(SPEC)
    engine.deposit("alice", u("100"))
    engine.deposit("bob", u("100"))
    engine.submit(order("alice", UP, Side.BUY, "0.4", "5"), T0)  # a mint source for bob
    engine.submit(order("bob", DOWN, Side.BUY, "0.6", "5"), T0 + 1)
    engine.submit(order("bob", DOWN, Side.SELL, "0.7", "5"), T0 + 2)
    publisher = MarketDataPublisher(SPEC)
    publisher.publish(engine.drain_events())
    engine.submit(order("alice", DOWN, Side.BUY, "0.7", "5", order_type=OrderType.FAK), T0 + 3)
    frames = [load(f) for f in publisher.publish(engine.drain_events())]
    # A complementary trade on Down only, yet Up's mirrored book changed with it.
    books = [f for f in frames if f["event_type"] == "book"]
    assert [b["asset_id"] for b in books] == [UP, DOWN]
    assert books[0]["bids"] == [] and books[1]["asks"] == []
