"""The venue server's WebSocket channels, and recorded venue frames replayed through them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
from venue_client import Socket, Venue, market, new_client, start_server

from engine.units import parse_units
from engine.venue.server.replay import load_recording

LIMIT_S = 20
RECORDING = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "adriancova__polymarket-bot-v2"
    / "tools/bench/host/tests/fixtures/market-ws-frames-h1-run-8.jsonl"
)


async def until(socket: Socket, event_type: str, **match: Any) -> dict[str, Any]:
    """The next event of this type (matching the given fields), skipping others."""
    while True:
        value = await socket.recv_json()
        for event in value if isinstance(value, list) else [value]:
            if event.get("event_type") == event_type and all(
                event.get(k) == v for k, v in match.items()
            ):
                return dict(event)


class FrameBook:
    """A market-channel client's books, built only from `book` and `price_change` frames."""

    def __init__(self) -> None:
        self.levels: dict[tuple[str, str], dict[str, str]] = {}

    def apply(self, value: Any) -> None:
        for event in value if isinstance(value, list) else [value]:
            if not isinstance(event, dict):
                continue
            if event.get("event_type") == "book":
                asset = event["asset_id"]
                self.levels[(asset, "BUY")] = {lv["price"]: lv["size"] for lv in event["bids"]}
                self.levels[(asset, "SELL")] = {lv["price"]: lv["size"] for lv in event["asks"]}
            elif event.get("event_type") == "price_change":
                for change in event["price_changes"]:
                    side = self.levels.setdefault((change["asset_id"], change["side"]), {})
                    if parse_units(change["size"]):
                        side[change["price"]] = change["size"]
                    else:
                        side.pop(change["price"], None)

    def side(self, asset: str, side: str) -> dict[str, str]:
        return self.levels.get((asset, side), {})


async def test_a_book_built_from_frames_matches_rest_in_both_outcomes(venue: Venue) -> None:
    """Unified books: every change carries both outcomes, so frames rebuild both books."""
    with trio.fail_after(LIMIT_S):
        alice = await new_client(venue.http, "frames-alice")
        bob = await new_client(venue.http, "frames-bob")
        socket = await Socket.open(venue.server.urls["ws-market"])
        await socket.send({"assets_ids": [venue.up, venue.down], "type": "market"})
        books = FrameBook()
        books.apply(await socket.recv_json())
        orders = [
            (alice, venue.up, "BUY", "0.45", "20", "GTC"),
            (bob, venue.down, "BUY", "0.56", "20", "GTC"),  # mints 20 against alice
            (bob, venue.down, "BUY", "0.40", "10", "GTC"),
            (alice, venue.up, "SELL", "0.52", "15", "GTC"),
            (bob, venue.down, "SELL", "0.47", "10", "FAK"),  # merges with alice's SELL Up
            (alice, venue.up, "BUY", "0.30", "25", "GTC"),
        ]
        for client, token, side, price, size, kind in orders:
            reply = await client.place(token, side, price, size, order_type=kind)
            assert reply.status_code == 200 and reply.json()["success"], reply.text
        for frame in await socket.quiet(0.5):
            books.apply(orjson.loads(frame))
        engine = venue.server.venue.engine
        assert engine.vault(market(venue.server).condition_id) == parse_units("10")
        for token in (venue.up, venue.down):
            rest = (await venue.http.get("/book", params={"token_id": token})).json()
            assert books.side(token, "BUY") == {lv["price"]: lv["size"] for lv in rest["bids"]}
            assert books.side(token, "SELL") == {lv["price"]: lv["size"] for lv in rest["asks"]}
        # Mirrored: Up's bids are Down's asks at 1 - p.
        up_bids = {parse_units(p) for p in books.side(venue.up, "BUY")}
        down_asks = {parse_units(p) for p in books.side(venue.down, "SELL")}
        assert up_bids and up_bids == {1_000_000 - p for p in down_asks}


async def test_market_channel_snapshots_updates_and_pings(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        maker = await new_client(venue.http, "ws-maker")
        await maker.place(venue.up, "BUY", "0.40", "10")
        socket = await Socket.open(venue.server.urls["ws-market"])
        await socket.send(
            {"assets_ids": [venue.up, venue.down], "type": "market", "custom_feature_enabled": True}
        )
        snapshot = await socket.recv_json()
        assert isinstance(snapshot, list)
        assert [b["asset_id"] for b in snapshot] == [venue.up, venue.down]
        assert snapshot[0]["bids"] == [{"price": "0.4", "size": "10"}]
        await socket.send("PING")
        assert await socket.recv() == "PONG"

        await maker.place(venue.up, "BUY", "0.45", "20")
        change = await until(socket, "price_change")
        # Unified books: the BUY Up 0.45 is also a SELL Down 0.55.
        assert change["price_changes"] == [
            {
                "asset_id": venue.up,
                "price": "0.45",
                "size": "20",
                "side": "BUY",
                "hash": change["price_changes"][0]["hash"],
                "best_bid": "0.45",
                "best_ask": "1",
            },
            {
                "asset_id": venue.down,
                "price": "0.55",
                "size": "20",
                "side": "SELL",
                "hash": change["price_changes"][1]["hash"],
                "best_bid": "0",
                "best_ask": "0.55",
            },
        ]
        best = await until(socket, "best_bid_ask")
        assert (best["asset_id"], best["best_bid"], best["best_ask"]) == (venue.up, "0.45", "1")

        taker = await new_client(venue.http, "ws-taker")
        await taker.place(venue.down, "BUY", "0.55", "5", order_type="FOK")
        trade = await until(socket, "last_trade_price", asset_id=venue.down)
        assert (trade["price"], trade["side"], trade["size"]) == ("0.55", "BUY", "5")

        spec = market(venue.server)
        engine = venue.server.venue.engine
        engine.set_tick(spec.condition_id, 1_000, now_ms=venue.server.venue.clock.now_ms())
        venue.server.venue.flush()
        tick = await until(socket, "tick_size_change", asset_id=venue.up)
        assert (tick["old_tick_size"], tick["new_tick_size"]) == ("0.01", "0.001")
        fine = await maker.place(venue.up, "BUY", "0.451", "10")
        assert fine.status_code == 200, fine.text

        await socket.send({"assets_ids": [venue.down], "operation": "unsubscribe"})
        await socket.send({"assets_ids": [venue.up], "operation": "subscribe"})
        await until_text(socket, "NO NEW ASSETS")
        await socket.send({"assets_ids": [venue.down], "operation": "subscribe"})
        again = await until(socket, "book")
        assert again["asset_id"] == venue.down
        await socket.send("not json")
        await until_text(socket, "INVALID OPERATION")
        await socket.close()


async def test_user_channel_reports_orders_and_trades_by_api_key(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        maker = await new_client(venue.http, "user-maker")
        taker = await new_client(venue.http, "user-taker")
        assert maker.creds is not None and taker.creds is not None
        socket = await Socket.open(venue.server.urls["ws-user"])
        auth = {"apiKey": maker.creds.key, "secret": maker.creds.secret}
        auth["passphrase"] = maker.creds.passphrase
        await socket.send({"auth": auth, "markets": [], "type": "user"})
        await socket.synced()
        order_id = (await maker.place(venue.up, "BUY", "0.60", "10")).json()["orderID"]
        placed = await until(socket, "order", type="PLACEMENT")
        assert (placed["id"], placed["status"], placed["owner"]) == (
            order_id,
            "LIVE",
            maker.creds.key,
        )
        assert placed["maker_address"] == maker.address
        await taker.place(venue.down, "BUY", "0.40", "4", order_type="FAK")
        events = [orjson.loads(f) for f in await socket.quiet(0.6)]
        (update,) = [e for e in events if e["event_type"] == "order"]
        assert (update["type"], update["size_matched"], update["status"]) == ("UPDATE", "4", "LIVE")
        trades = [e for e in events if e["event_type"] == "trade"]
        assert len({t["id"] for t in trades}) == 1
        for trade in trades:
            assert trade["trader_side"] == "MAKER" and trade["owner"] == maker.creds.key
            assert trade["maker_orders"][0]["owner"] == maker.creds.key
            assert trade["maker_orders"][0]["maker_address"] == maker.address
        statuses = [(t["status"], bool(t["transaction_hash"])) for t in trades]
        assert statuses == [("MATCHED", False), ("MINED", True), ("CONFIRMED", True)]
        await maker.call("DELETE", "/order", {"orderID": order_id})
        cancelled = await until(socket, "order", type="CANCELLATION")
        assert (cancelled["status"], cancelled["size_matched"]) == ("CANCELED", "4")
        await socket.send("PING")
        assert await socket.recv() == "PONG"
        await socket.close()


async def test_user_channel_filters_markets_and_refuses_bad_credentials(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "user-filter")
        assert client.creds is not None
        creds = {"apiKey": client.creds.key, "secret": client.creds.secret}
        bad = await Socket.open(venue.server.urls["ws-user"])
        await bad.send({"auth": {**creds, "passphrase": "wrong"}, "type": "user"})
        with pytest.raises(Exception) as closed:
            await bad.recv()
        assert "1008" in str(closed.value)

        socket = await Socket.open(venue.server.urls["ws-user"])
        auth = {**creds, "passphrase": client.creds.passphrase}
        await socket.send({"auth": auth, "markets": ["0x" + "00" * 32], "type": "user"})
        await socket.synced()
        await client.place(venue.up, "BUY", "0.30", "10")
        assert await socket.quiet(0.3) == []
        condition = market(venue.server).condition_id
        await socket.send({"operation": "subscribe", "markets": [condition]})
        await socket.synced()
        await client.place(venue.up, "BUY", "0.31", "10")
        placed = await until(socket, "order")
        assert placed["price"] == "0.31"
        await socket.close()


async def until_text(socket: Socket, text: str) -> None:
    """Skip frames until this plain-text one arrives."""
    while await socket.recv() != text:
        pass


def book_from(frames: list[bytes]) -> tuple[dict[str, dict[str, dict[int, int]]], int]:
    """A client's books built from market frames; checks each price_change's best bid/ask."""
    books: dict[str, dict[str, dict[int, int]]] = {}
    checked = 0
    for raw in frames:
        value = orjson.loads(raw)
        for event in value if isinstance(value, list) else [value]:
            if event["event_type"] == "book":
                books[event["asset_id"]] = {
                    side: {parse_units(lv["price"]): parse_units(lv["size"]) for lv in event[side]}
                    for side in ("bids", "asks")
                }
            elif event["event_type"] == "price_change":
                for change in event["price_changes"]:
                    book = books[change["asset_id"]]
                    levels = book["bids" if change["side"] == "BUY" else "asks"]
                    price, size = parse_units(change["price"]), parse_units(change["size"])
                    if size:
                        levels[price] = size
                    else:
                        levels.pop(price, None)
                    assert max(book["bids"]) == parse_units(change["best_bid"])
                    assert min(book["asks"]) == parse_units(change["best_ask"])
                    checked += 1
    return books, checked


@pytest.mark.skipif(not RECORDING.exists(), reason=f"recorded frames not found at {RECORDING}")
async def test_recorded_frames_reach_a_client_byte_for_byte(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        frames = load_recording(RECORDING)
        assets = sorted({a for f in frames for a in f.assets})
        assert len(frames) == 26 and len(assets) == 2  # 28 lines less the recorder's PONGs
        socket = await Socket.open(venue.server.urls["ws-market"])
        await socket.send({"assets_ids": assets, "type": "market"})
        await socket.send("PING")
        assert await socket.recv() == "PONG"  # subscribed: nothing to snapshot yet
        sent = await venue.server.replay(frames)
        received = [(await socket.recv()).encode() for _ in range(sent)]
        assert received == [f.raw for f in frames]
        books, checked = book_from(received)
        assert checked == 40
        for asset in assets:
            rest = (await venue.http.get("/book", params={"token_id": asset})).json()
            best_bid = max(parse_units(level["price"]) for level in rest["bids"])
            best_ask = min(parse_units(level["price"]) for level in rest["asks"])
            assert (best_bid, best_ask) == (max(books[asset]["bids"]), min(books[asset]["asks"]))
            assert parse_units(rest["bids"][-1]["price"]) == best_bid  # best level last
        late = await Socket.open(venue.server.urls["ws-market"])
        await late.send({"assets_ids": assets[:1], "type": "market"})
        (snapshot,) = await late.recv_json()
        assert {parse_units(lv["price"]) for lv in snapshot["bids"]} == set(
            books[assets[0]]["bids"]
        )
        await socket.close()
        await late.close()


async def test_the_server_closes_idle_sockets(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, ws_idle_timeout_s=0.5)
        socket = await Socket.open(server.urls["ws-market"])
        await socket.send({"assets_ids": [], "type": "market"})
        assert await socket.recv() == "NO NEW ASSETS"
        with pytest.raises(Exception) as closed:
            await socket.recv(timeout=3)
        assert "1000" in str(closed.value) and "idle" in str(closed.value)
