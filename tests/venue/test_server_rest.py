"""The venue server's CLOB REST API on loopback: shapes, auth, validation texts, lifecycle.

Every test starts its own server (port 0, real clock, no scenario traders) and talks
to it with httpx and orders signed by eth_account from spec-written typed data.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import httpx
import pytest
import trio
from venue_client import Venue, listed_market, market, new_client, start_server

from engine.venue.matching import MarketStatus
from engine.venue.scenario import CRYPTO_FEES_WITH_REBATES
from engine.venue.server import trading as trading_module
from engine.venue.server.options import add_arguments
from engine.venue.server.payloads import iso
from engine.venue.server.ratelimit import RateLimiter, parse_rule
from engine.venue.server.runner import UsageError, server_config

LIMIT_S = 20
COLLATERAL = {"asset_type": "COLLATERAL"}
NO_WALLET = "maker address not allowed, please use the deposit wallet flow"


def amounts(maker: int, taker: int) -> dict[str, int]:
    return {"maker_amount": maker, "taker_amount": taker}


async def test_public_info_and_market_metadata(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        http = venue.http
        assert (await http.get("/")).json() == "OK"
        assert abs((await http.get("/time")).json() - time.time()) < 5
        assert (await http.get("/version")).json() == {"version": 2}
        assert (await http.get("/tick-size", params={"token_id": venue.up})).json() == {
            "minimum_tick_size": 0.01
        }
        assert (await http.get("/neg-risk", params={"token_id": venue.up})).json() == {
            "neg_risk": False
        }
        spec = market(venue.server)
        clob = (await http.get(f"/clob-markets/{spec.condition_id}")).json()
        assert clob["t"] == [{"t": venue.up, "o": "Up"}, {"t": venue.down, "o": "Down"}]
        assert (clob["mts"], clob["mos"], clob["nr"]) == (0.01, 5, False)
        assert clob["fd"] == {"r": 0.07, "e": 1, "to": True}
        by_token = (await http.get(f"/markets-by-token/{venue.down}")).json()
        assert by_token == {
            "condition_id": spec.condition_id,
            "primary_token_id": venue.up,
            "secondary_token_id": venue.down,
        }
        full = (await http.get(f"/markets/{spec.condition_id}")).json()
        assert full["accepting_orders"] is True and full["market_slug"] == spec.slug
        assert [t["token_id"] for t in full["tokens"]] == [venue.up, venue.down]
        missing = await http.get("/book", params={"token_id": "123"})
        assert missing.status_code == 404
        assert missing.json() == {"error": "No orderbook exists for the requested token id"}


async def test_api_keys_create_derive_list(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "keys")
        again = await venue.http.post("/auth/api-key", headers=client.l1_headers())
        assert again.status_code == 400
        derived = await venue.http.get("/auth/derive-api-key", headers=client.l1_headers())
        assert derived.status_code == 200
        assert client.creds is not None and derived.json()["apiKey"] == client.creds.key
        assert len(derived.json()["secret"]) == 44 and len(derived.json()["passphrase"]) == 64
        listed = await client.call("GET", "/auth/api-keys")
        assert listed.json() == {"apiKeys": [client.creds.key]}
        other_nonce = await venue.http.get(
            "/auth/derive-api-key", headers=client.l1_headers(nonce=1)
        )
        assert other_nonce.status_code == 400
        balance = await client.call("GET", "/balance-allowance", params=COLLATERAL)
        assert balance.json()["balance"] == "10000000000"


async def test_auth_failures_answer_401(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "auth")
        other = await new_client(venue.http, "auth-other")
        assert client.creds is not None and other.creds is not None
        path = "/data/orders"

        async def get(headers: dict[str, str]) -> httpx.Response:
            return await venue.http.get(path, headers=headers)

        good = client.l2_headers("GET", path, b"")
        assert (await get(good)).status_code == 200
        bad_hmac = {**good, "POLY_SIGNATURE": good["POLY_SIGNATURE"][:-6] + "AAAAA="}
        wrong_key = {**good, "POLY_API_KEY": other.creds.key}
        unknown_key = {**good, "POLY_API_KEY": "00000000-0000-4000-8000-000000000000"}
        stale = client.l2_headers("GET", path, b"", timestamp=int(time.time()) - 3600)
        wrong_passphrase = {**good, "POLY_PASSPHRASE": "0" * 64}
        wrong_path = client.l2_headers("GET", "/data/trades", b"")
        for headers in (bad_hmac, wrong_key, unknown_key, stale, wrong_passphrase, wrong_path):
            response = await get(headers)
            assert response.status_code == 401
            assert response.json() == {"error": "Unauthorized/Invalid api key"}
        assert (await venue.http.get(path)).status_code == 401
        l1 = client.l1_headers(timestamp=int(time.time()) - 3600)
        stale_l1 = await venue.http.get("/auth/derive-api-key", headers=l1)
        assert stale_l1.status_code == 401
        forged = {**client.l1_headers(), "POLY_ADDRESS": other.address}
        assert (await venue.http.post("/auth/api-key", headers=forged)).status_code == 401


async def test_book_prices_and_a_mint_between_two_accounts(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        maker = await new_client(venue.http, "mint-maker")
        taker = await new_client(venue.http, "mint-taker")
        rested = await maker.place(venue.up, "BUY", "0.55", "10")
        assert rested.status_code == 200, rested.text
        reply = rested.json()
        assert reply["success"] and reply["status"] == "live" and reply["errorMsg"] == ""
        assert (reply["makingAmount"], reply["takingAmount"], reply["tradeIDs"]) == ("", "", [])
        await maker.place(venue.up, "BUY", "0.50", "20")
        book = (await venue.http.get("/book", params={"token_id": venue.up})).json()
        assert book["bids"] == [{"price": "0.5", "size": "20"}, {"price": "0.55", "size": "10"}]
        assert set(book) >= {
            "market", "asset_id", "timestamp", "hash", "bids", "asks", "min_order_size",
            "tick_size", "neg_risk", "last_trade_price",
        }  # fmt: skip
        price = await venue.http.get("/price", params={"token_id": venue.up, "side": "BUY"})
        assert price.json() == {"price": "0.55"}

        taken = await taker.place(venue.down, "BUY", "0.45", "10", order_type="FAK")
        assert taken.status_code == 200, taken.text
        fill = taken.json()
        assert fill["status"] == "matched" and len(fill["tradeIDs"]) == 1
        assert (fill["makingAmount"], fill["takingAmount"]) == ("4.5", "10")
        last = await venue.http.get("/last-trade-price", params={"token_id": venue.down})
        assert last.json() == {"price": "0.45", "side": "BUY"}
        shares = {"asset_type": "CONDITIONAL", "token_id": venue.down}
        balance = await taker.call("GET", "/balance-allowance", params=shares)
        assert balance.json()["balance"] == "10000000"

        await taker.place(venue.down, "SELL", "0.60", "5")
        both = [{"token_id": venue.up}, {"token_id": venue.down}]
        books = await venue.http.post("/books", json=both)
        assert [b["asset_id"] for b in books.json()] == [venue.up, venue.down]
        # Unified books: the BUY Up 0.50 left over shows as a SELL Down 0.50.
        down_asks = [{"price": "0.6", "size": "5"}, {"price": "0.5", "size": "20"}]
        assert books.json()[1]["asks"] == down_asks
        assert books.json()[0]["bids"] == [
            {"price": "0.4", "size": "5"},
            {"price": "0.5", "size": "20"},
        ]
        empty = await venue.http.get("/midpoint", params={"token_id": venue.up})
        assert empty.status_code == 404
        await taker.place(venue.down, "BUY", "0.30", "10")
        mids = await venue.http.post("/midpoints", json=[{"token_id": venue.down}])
        assert mids.json() == {venue.down: "0.4"}
        spread = await venue.http.get("/spread", params={"token_id": venue.down})
        assert spread.json() == {"spread": "0.2"}
        asked = [{"token_id": venue.down, "side": "SELL"}, {"token_id": venue.up, "side": "BUY"}]
        prices = await venue.http.post("/prices", json=asked)
        assert prices.json() == {venue.down: {"SELL": "0.5"}, venue.up: {"BUY": "0.5"}}
        mid = await venue.http.get("/midpoint", params={"token_id": venue.up})
        assert mid.json() == {"mid": "0.6"}


async def test_trades_settle_and_both_sides_see_them(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        maker = await new_client(venue.http, "settle-maker")
        taker = await new_client(venue.http, "settle-taker")
        resting = (await maker.place(venue.up, "BUY", "0.60", "10")).json()["orderID"]
        fill = (await taker.place(venue.down, "BUY", "0.40", "10", order_type="FOK")).json()
        (trade_id,) = fill["tradeIDs"]
        first = (await taker.call("GET", "/data/trades", params={"id": trade_id})).json()
        assert first["data"][0]["status"] in ("MATCHED", "MINED")
        await trio.sleep(0.3)
        seen = (await taker.call("GET", "/data/trades")).json()
        assert seen["next_cursor"] == "LTE="
        (trade,) = seen["data"]
        assert trade["status"] == "CONFIRMED" and trade["transaction_hash"].startswith("0x")
        assert trade["trader_side"] == "TAKER" and trade["owner"] == taker.creds.key  # type: ignore[union-attr]
        assert trade["maker_orders"][0]["order_id"] == resting
        assert trade["maker_orders"][0]["maker_address"] == maker.address
        mine = (await maker.call("GET", "/data/trades")).json()["data"]
        assert mine[0]["id"] == trade_id and mine[0]["trader_side"] == "MAKER"
        order = (await maker.call("GET", f"/data/order/{resting}")).json()
        assert (order["status"], order["size_matched"], order["associate_trades"]) == (
            "MATCHED",
            "10",
            [trade_id],
        )
        assert (await taker.call("GET", f"/data/order/{resting}")).status_code == 404


async def test_order_validation_answers_the_venue_texts(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "validation")
        other = await new_client(venue.http, "validation-other")
        up = venue.up

        async def rejected(body: dict[str, object]) -> str:
            response = await client.call("POST", "/order", body)
            assert response.status_code == 400, response.text
            return str(response.json()["error"])

        v1 = client.order(up, "BUY", "0.5", "10")
        v1["order"] |= {"taker": "0x" + "00" * 20, "nonce": "0", "feeRateBps": "0"}
        for key in ("timestamp", "metadata", "builder"):
            del v1["order"][key]
        assert await rejected(v1) == "order_version_mismatch"

        tampered = client.order(up, "BUY", "0.5", "10")
        tampered["order"]["makerAmount"] = "4000000"
        assert await rejected(tampered) == "invalid signature"

        foreign = other.order(up, "BUY", "0.5", "10")
        assert await rejected(foreign) == "the order owner has to be the owner of the API KEY"

        assert await rejected(client.order(up, "BUY", "0.555", "10")) == (
            "order is invalid. Price breaks minimum tick size rules"
        )
        assert await rejected(client.order(up, "BUY", "0.5", "10.001")) == (
            "invalid amounts, the buy orders maker amount supports a max accuracy of 4 decimals, "
            "taker amount a max of 2 decimals"
        )
        small = await rejected(client.order(up, "BUY", "0.5", "2"))
        assert small.startswith("order 0x") and small.endswith("Size (2) lower than the minimum: 5")
        soon = int(time.time()) + 30
        gtd = client.order(up, "BUY", "0.5", "10", order_type="GTD", expiration=soon)
        assert await rejected(gtd) == "invalid expiration"
        assert await rejected(client.order(up, "BUY", "0.5", "10", expiration=soon + 600)) == (
            "invalid expiration"
        )
        assert (await rejected(client.order(up, "BUY", "0.5", "100000"))).startswith(
            "not enough balance / allowance: the balance is not enough -> balance: 10000000000"
        )
        ok = await client.place(up, "BUY", "0.5", "19000")
        assert ok.status_code == 200
        reserved = await rejected(client.order(up, "BUY", "0.5", "1000"))
        assert reserved.startswith("not enough balance / allowance")

        body = client.order(up, "BUY", "0.4", "10")
        assert (await client.call("POST", "/order", body)).status_code == 200
        assert (await rejected(body)).startswith("order is invalid. Duplicated. Same order has")
        await other.place(venue.down, "BUY", "0.3", "10")
        assert await rejected(client.order(up, "BUY", "0.7", "10", post_only=True)) == (
            "invalid post-only order: order crosses book"
        )
        assert await rejected(client.order(up, "BUY", "0.6", "100", order_type="FOK")) == (
            "order couldn't be fully filled. FOK orders are fully filled or killed."
        )
        assert await rejected(client.order(up, "SELL", "0.9", "10", order_type="FAK")) == (
            "not enough balance / allowance: the balance is not enough -> balance: 0, "
            "order amount: 10000000"
        )
        assert await rejected(client.order(venue.down, "BUY", "0.05", "40", order_type="FAK")) == (
            "no orders found to match with FAK order. "
            "FAK orders are partially filled or killed if no match is found."
        )
        typed = client.order(up, "BUY", "0.5", "10")
        typed["order"]["signatureType"] = 7
        assert await rejected(typed) == "invalid signature type"
        proxy = client.order(up, "BUY", "0.5", "10", signature_type=1, maker="0x" + "12" * 20)
        assert await rejected(proxy) == NO_WALLET
        assert await rejected(client.order("42", "BUY", "0.5", "10")) == "market not found"
        garbage = await client.call("POST", "/order", {"order": "nope"})
        assert garbage.json() == {"error": "Invalid order payload"}
        orders = (await client.call("GET", "/data/orders")).json()["data"]
        assert len(orders) == 2, "rejections must leave nothing behind"


async def test_market_orders_spend_at_most_the_maker_amount(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        seller = await new_client(venue.http, "market-seller")
        buyer = await new_client(venue.http, "market-buyer")
        await seller.place(venue.down, "BUY", "0.40", "100")
        await buyer.place(venue.up, "BUY", "0.60", "100", order_type="FOK")
        await buyer.place(venue.up, "SELL", "0.60", "100")
        # A market BUY of $25 at 0.60 as polymarket-client builds it: 25 / 41.6666.
        fill = await seller.place(
            venue.up, "BUY", "0.6", "1", order_type="FOK", **amounts(25_000_000, 41_666_600)
        )
        assert fill.status_code == 200, fill.text
        assert (fill.json()["makingAmount"], fill.json()["takingAmount"]) == ("24.996", "41.66")
        bad = seller.order(
            venue.up, "BUY", "0.6", "1", order_type="FOK", **amounts(25_000_001, 41_666_600)
        )
        response = await seller.call("POST", "/order", bad)
        assert response.json()["error"] == (
            "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 "
            "decimals, taker amount a max of 4 decimals"
        )


async def test_cancels_and_their_reasons(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "cancels")
        ids = [
            (await client.place(venue.up, "BUY", f"0.{40 + i}", "10")).json()["orderID"]
            for i in range(5)
        ]
        down = (await client.place(venue.down, "BUY", "0.30", "10")).json()["orderID"]
        one = (await client.call("DELETE", "/order", {"orderID": ids[0]})).json()
        assert one == {"canceled": [ids[0]], "not_canceled": {}}
        again = (await client.call("DELETE", "/order", {"orderID": ids[0]})).json()
        assert again == {"canceled": [], "not_canceled": {ids[0]: "already canceled or matched"}}
        unknown = "0x" + "ab" * 32
        many = (await client.call("DELETE", "/orders", [ids[1], ids[2], unknown])).json()
        assert many == {"canceled": [ids[1], ids[2]], "not_canceled": {unknown: "order not found"}}
        by_market = await client.call("DELETE", "/cancel-market-orders", {"asset_id": venue.down})
        assert by_market.json()["canceled"] == [down]
        rest = (await client.call("DELETE", "/cancel-all")).json()
        assert rest == {"canceled": [ids[3], ids[4]], "not_canceled": {}}
        assert (await client.call("GET", "/data/orders")).json()["data"] == []


async def test_open_orders_paginate_until_LTE(
    venue: Venue, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(LIMIT_S):
        monkeypatch.setattr(trading_module, "PAGE_SIZE", 2)
        client = await new_client(venue.http, "pages")
        placed = [
            (await client.place(venue.up, "BUY", f"0.{30 + i}", "10")).json()["orderID"]
            for i in range(5)
        ]
        seen: list[str] = []
        cursor = "MA=="
        pages = 0
        while cursor != "LTE=":
            page = (await client.call("GET", "/data/orders", params={"next_cursor": cursor})).json()
            seen += [o["id"] for o in page["data"]]
            cursor = page["next_cursor"]
            pages += 1
        assert seen == placed and pages == 3
        done = await client.call("GET", "/data/orders", params={"next_cursor": "LTE="})
        assert done.status_code == 400


async def test_batch_orders_answer_per_leg(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "batch")
        legs = [
            client.order(venue.up, "BUY", "0.40", "10"),
            client.order(venue.up, "BUY", "0.401", "10"),
            client.order(venue.down, "BUY", "0.30", "10"),
        ]
        replies = (await client.call("POST", "/orders", legs)).json()
        assert [r["success"] for r in replies] == [True, False, True]
        assert replies[1]["errorMsg"] == "order is invalid. Price breaks minimum tick size rules"
        assert replies[1]["orderID"] == ""
        too_many = [client.order(venue.up, "BUY", "0.20", "10") for _ in range(16)]
        response = await client.call("POST", "/orders", too_many)
        assert response.status_code == 400 and "max 15" in response.json()["error"]


async def test_balances_report_the_new_shape(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "balances")
        await client.place(venue.up, "BUY", "0.50", "10")
        cash = (await client.call("GET", "/balance-allowance", params=COLLATERAL)).json()
        assert cash["balance"] == "10000000000"
        assert cash["allowances"]["0xE111180000d2663C0091e4f400237545B87B996B"].isdigit()
        v2_query = {"asset_type": "CONDITIONAL-V2", "token_id": venue.up}
        v2 = await client.call("GET", "/balance-allowance", params=v2_query)
        assert v2.json()["balance"] == "0"
        assert list(v2.json()["allowances"]) == ["0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"]
        updated = await client.call("GET", "/balance-allowance/update", params=COLLATERAL)
        assert updated.status_code == 200


async def test_wallet_signature_types_need_a_registered_wallet(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "wallets")
        proxy = "0x" + "34" * 20
        venue.server.exchange.register_wallet(proxy, client.address, 1)
        placed = await client.place(venue.up, "BUY", "0.5", "10", signature_type=1, maker=proxy)
        assert placed.status_code == 200, placed.text
        orders = (await client.call("GET", "/data/orders")).json()["data"]
        assert orders[0]["maker_address"].lower() == proxy
        cash = await client.call(
            "GET", "/balance-allowance", params={"asset_type": "COLLATERAL", "signature_type": "1"}
        )
        assert cash.json()["balance"] == "10000000000"
        intruder = await new_client(venue.http, "wallets-intruder")
        stolen = await intruder.place(venue.up, "BUY", "0.5", "10", signature_type=1, maker=proxy)
        assert stolen.json() == {"error": NO_WALLET}
        deployed = await venue.http.get("/relayer/deployed", params={"address": proxy})
        assert deployed.json() == {"deployed": True}


async def test_neg_risk_markets_sign_under_the_neg_risk_exchange(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        spec = listed_market(2, neg_risk=True)
        venue.server.venue.list_market(spec, MarketStatus.OPEN)
        client = await new_client(venue.http, "neg-risk")
        token = spec.token_ids[0]
        assert (await venue.http.get("/neg-risk", params={"token_id": token})).json() == {
            "neg_risk": True
        }
        good = await client.place(token, "BUY", "0.5", "10", neg_risk=True)
        assert good.status_code == 200, good.text
        wrong = await client.place(token, "BUY", "0.5", "10", neg_risk=False)
        assert wrong.json() == {"error": "invalid signature"}


async def test_heartbeats_chain_and_mismatch(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        client = await new_client(venue.http, "heartbeats")
        first = (await client.call("POST", "/v1/heartbeats", {"heartbeat_id": ""})).json()
        assert first["status"] == "ok" and first["heartbeat_id"]
        second = await client.call("POST", "/heartbeats", {"heartbeat_id": first["heartbeat_id"]})
        assert second.status_code == 200
        wrong = await client.call("POST", "/v1/heartbeats", {"heartbeat_id": first["heartbeat_id"]})
        assert wrong.status_code == 400
        assert wrong.json() == {
            "error": "Invalid Heartbeat ID",
            "error_msg": "Invalid Heartbeat ID",
            "heartbeat_id": second.json()["heartbeat_id"],
        }


async def test_missing_heartbeats_cancel_every_order(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, heartbeat_timeout_s=1.0)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "dead-man")
            up = market(server).token_ids[0]
            order = (await client.place(up, "BUY", "0.5", "10")).json()["orderID"]
            beat = (await client.call("POST", "/v1/heartbeats", {"heartbeat_id": None})).json()
            for _ in range(3):
                await trio.sleep(0.3)
                beat = (await client.call("POST", "/v1/heartbeats", beat)).json()
            assert (await client.call("GET", f"/data/order/{order}")).json()["status"] == "LIVE"
            await trio.sleep(2.0)
            assert (await client.call("GET", f"/data/order/{order}")).json()["status"] == "CANCELED"
            restart = await client.call("POST", "/v1/heartbeats", beat)
            assert restart.status_code == 200


async def test_rate_limits_answer_429(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        limiter = RateLimiter(()).with_rules(parse_rule("POST /order=2/60"))
        server = await start_server(nursery, limiter=limiter)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "limited")
            up = market(server).token_ids[0]
            codes = [(await client.place(up, "BUY", "0.3", "10")).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
            limited = await client.place(up, "BUY", "0.3", "10")
            assert limited.json() == {"error": "Too Many Requests"}
            assert int(limited.headers["Retry-After"]) >= 1
            assert (await client.call("GET", "/data/orders")).status_code == 200


async def test_gamma_lists_the_rolling_windows(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, windows=3)
        scenario = server.venue.scenario.markets
        async with httpx.AsyncClient(base_url=server.urls["gamma"] + "/") as http:
            listed = (await http.get("markets", params={"slug": scenario[1].slug})).json()
            (gamma,) = listed
            import orjson

            assert gamma["slug"] == f"btc-updown-15m-{scenario[1].start_ts}"
            assert orjson.loads(gamma["clobTokenIds"]) == list(scenario[1].token_ids)
            assert orjson.loads(gamma["outcomes"]) == ["Up", "Down"]
            assert gamma["orderPriceMinTickSize"] == 0.01 and gamma["orderMinSize"] == 5
            assert gamma["feeSchedule"]["rate"] == 0.07 and gamma["negRisk"] is False
            assert gamma["feeSchedule"]["rebateRate"] == 0.2
            assert gamma["eventStartTime"].endswith("Z")
            assert gamma["conditionId"] == scenario[1].condition_id
            by_slug = (await http.get(f"markets/slug/{scenario[1].slug}")).json()
            assert by_slug["id"] == gamma["id"]
            assert (await http.get(f"markets/{gamma['id']}")).json()["slug"] == gamma["slug"]
            events = (await http.get("events", params={"slug": scenario[2].slug})).json()
            assert events[0]["markets"][0]["conditionId"] == scenario[2].condition_id
            every = (await http.get("markets")).json()
            assert {m["slug"] for m in every} >= {s.slug for s in scenario}
            assert (await http.get("markets/slug/nope")).status_code == 404


async def test_makers_accrue_the_crypto_rebate_and_the_ledger_shows_it(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        assert server.config.fees == CRYPTO_FEES_WITH_REBATES
        spec = replace(listed_market(2), fees=server.config.fees)
        server.venue.list_market(spec, MarketStatus.OPEN)
        up, down = spec.token_ids
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            maker = await new_client(http, "rebate-maker")
            taker = await new_client(http, "rebate-taker")
            assert (await maker.place(up, "BUY", "0.55", "10")).status_code == 200
            reply = await taker.place(down, "BUY", "0.45", "10", order_type="FAK")
            assert reply.status_code == 200 and reply.json()["status"] == "matched"
            await trio.sleep(0.2)
        ledger = server.ledger()
        rows = {a["account"]: a for a in ledger["accounts"] if a["kind"] == "api"}
        # The taker's fee: 10 * 0.07 * 0.45 * 0.55 = 0.17325; the maker's 20% = 0.03465.
        assert rows[maker.address]["rebates"] == {"accrued": 34_650, "paid": 0}
        assert rows[taker.address]["rebates"] == {"accrued": 0, "paid": 0}
        assert ledger["rebates_accrued"] == 34_650


async def test_coinbase_ticker_follows_the_spot_path(venue: Venue) -> None:
    with trio.fail_after(LIMIT_S):
        async with httpx.AsyncClient(base_url=venue.server.urls["coinbase"] + "/") as http:
            ticker = (await http.get("products/BTC-USD/ticker")).json()
            second = int(venue.server.venue.clock.now_s())
            cents = venue.server.venue.scenario.spot.price_at(second)
            assert abs(float(ticker["price"]) * 100 - cents) < 500
            assert set(ticker) == {"ask", "bid", "volume", "trade_id", "price", "size", "time"}
            assert (await http.get("products/ETH-USD/ticker")).status_code == 404


async def test_the_same_seed_and_actions_give_the_same_venue(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        ledgers = []
        bodies: list[tuple[str, dict[str, object]]] = []
        for _ in range(2):
            server = await start_server(nursery, seed=21)
            async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
                maker = await new_client(http, "same-maker")
                taker = await new_client(http, "same-taker")
                up, down = market(server).token_ids
                if not bodies:  # the same signed orders (same keys: same seed) both times
                    bodies += [
                        ("maker", maker.order(up, "BUY", "0.55", "10")),
                        ("maker", maker.order(up, "BUY", "0.50", "10")),
                        ("taker", taker.order(down, "BUY", "0.45", "15", order_type="FAK")),
                    ]
                for who, body in bodies:
                    sender = maker if who == "maker" else taker
                    assert (await sender.call("POST", "/order", body)).status_code == 200
                await trio.sleep(0.2)
            ledger = server.ledger()
            del ledger["now_ms"]
            for account in ledger["accounts"]:
                for trade in account["trades"]:
                    del trade["match_time_ms"]
            ledgers.append(ledger)
        assert ledgers[0] == ledgers[1]
        api = [a for a in ledgers[0]["accounts"] if a["kind"] == "api"]
        assert len(api) == 2 and all(a["trades"] for a in api)


@pytest.mark.parametrize(
    ("flag", "model"), [([], "unified"), (["--book-model", "per-token"], "per_token")]
)
async def test_book_model_option_defaults_to_unified(
    nursery: trio.Nursery, flag: list[str], model: str
) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = server_config(parser.parse_args(flag))
    assert config.book_model == model
    server = await start_server(nursery, book_model=config.book_model)
    assert server.venue.engine.book_model == model


# Five-minute windows (spec section 6): listed, served and traded like the 15m ones.

FUTURE_START = 1_900_000_800  # a multiple of 900, far ahead: every window is PENDING


async def test_gamma_lists_both_series_by_default(nursery: trio.Nursery) -> None:
    import orjson

    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery, windows=2, start_ts=FUTURE_START)
        async with httpx.AsyncClient(base_url=server.urls["gamma"] + "/") as http:
            every = (await http.get("markets")).json()
            by_slug = {m["slug"]: m for m in every}
            for i in range(6):
                start = FUTURE_START + 300 * i
                five = by_slug[f"btc-updown-5m-{start}"]
                assert five["eventStartTime"] == iso(start) and five["endDate"] == iso(start + 300)
                (event,) = five["events"]
                assert event["seriesSlug"] == "btc-up-or-down-5m"
                assert event["series"] == [{"slug": "btc-up-or-down-5m", "recurrence": "5m"}]
            for i in range(2):
                start = FUTURE_START + 900 * i
                fifteen = by_slug[f"btc-updown-15m-{start}"]
                assert fifteen["endDate"] == iso(start + 900)
                assert fifteen["events"][0]["seriesSlug"] == "btc-up-or-down-15m"
            assert len({m["id"] for m in every}) == len(every)
            slug = f"btc-updown-5m-{FUTURE_START + 600}"
            single = (await http.get(f"markets/slug/{slug}")).json()
            assert (await http.get(f"markets/{single['id']}")).json()["slug"] == slug
            events = (await http.get(f"events/slug/{slug}")).json()
            assert events["markets"][0]["clobTokenIds"] == single["clobTokenIds"]
            assert (await http.get(f"events/{events['id']}")).json()["slug"] == slug
            assert len(orjson.loads(single["clobTokenIds"])) == 2


@pytest.mark.parametrize(("flag", "series"), [([], ("15m", "5m")), (["--series", "15m"], ("15m",))])
async def test_series_option(flag: list[str], series: tuple[str, ...]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert server_config(parser.parse_args(flag)).series == series
    with pytest.raises(UsageError, match="--series"):
        server_config(parser.parse_args(["--series", "1h"]))


async def test_a_client_trades_a_five_minute_market(nursery: trio.Nursery) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        engine = server.venue.engine
        while True:
            now = server.venue.clock.now_s()
            live = [
                spec
                for spec in server.venue.scenario.markets
                if spec.slug.startswith("btc-updown-5m-")
                and engine.market_status(spec.condition_id) is MarketStatus.OPEN
                and spec.end_ts - now >= 5
            ]
            if live:
                break
            await trio.sleep(0.5)
        (spec,) = live
        up, down = spec.token_ids
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            maker = await new_client(http, "five-maker")
            taker = await new_client(http, "five-taker")
            assert (await maker.place(up, "BUY", "0.55", "10")).status_code == 200
            book = (await http.get("/book", params={"token_id": up})).json()
            assert book["market"] == spec.condition_id and book["bids"]
            reply = await taker.place(down, "BUY", "0.45", "10", order_type="FAK")
            assert reply.status_code == 200 and reply.json()["status"] == "matched"
        assert engine.balance(taker.address.lower()).shares(down) == 10_000_000
