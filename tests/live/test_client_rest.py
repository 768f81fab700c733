"""The REST client against the real venue server: L2 auth, orders, cancels, listings
with pagination, balances, books, and the network gateway."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import trio
from client_live_support import Account, credentials, open_account, quick_config
from pydantic import SecretStr
from venue_client import listed_market, market

from engine.client.errors import NotFound, Unauthorized
from engine.client.gateway import NetworkGateway
from engine.client.rest import MAX_BATCH, RestClient
from engine.gateway import VenueOrderState
from engine.units import UNIT, Side
from engine.venue.matching import MarketStatus
from engine.venue.server import trading
from engine.venue.server.app import VenueServer

TRADE_KEYS = {
    "id",
    "taker_order_id",
    "market",
    "asset_id",
    "side",
    "size",
    "price",
    "fee_rate_bps",
    "status",
    "match_time",
    "last_update",
    "outcome",
    "owner",
    "maker_address",
    "bucket_index",
    "trader_side",
    "transaction_hash",
    "maker_orders",
}
"""A user-channel trade event's fields without the frame's own (spec 2 Trade)."""


@pytest.fixture
async def alice(venue_server: VenueServer) -> AsyncIterator[Account]:
    account = await open_account(venue_server, "client-alice", quick_config())
    async with account.client:
        yield account


@pytest.fixture
async def bob(venue_server: VenueServer) -> AsyncIterator[Account]:
    account = await open_account(venue_server, "client-bob", quick_config())
    async with account.client:
        yield account


async def test_l2_auth_is_accepted_and_a_wrong_passphrase_is_unauthorized(
    venue_server: VenueServer, alice: Account
) -> None:
    with trio.fail_after(20):
        assert await alice.client.open_orders() == []
        good = alice.client.credentials
        assert good is not None
        bad = good.model_copy(update={"passphrase": SecretStr("f" * 64)})
        async with RestClient(venue_server.urls["clob"], bad, quick_config()) as client:
            with pytest.raises(Unauthorized) as caught:
                await client.open_orders()
        assert caught.value.status == 401
        assert caught.value.endpoint == "GET /data/orders"
        assert caught.value.text  # the venue's own words
        assert "f" * 64 not in str(caught.value)


async def test_time_and_book(venue_server: VenueServer, alice: Account) -> None:
    with trio.fail_after(20):
        assert abs(await alice.client.time() - time.time()) < 5
        spec = market(venue_server)
        posted = await alice.client.post_order(alice.order(spec, 0, Side.BUY, "0.40", "5"))
        assert posted.success
        book = await alice.client.get_book(spec.token_ids[0])
        assert book.token_id == spec.token_ids[0]
        assert (400_000, 5 * UNIT) in book.bids


async def test_post_get_and_cancel_one_order(venue_server: VenueServer, alice: Account) -> None:
    with trio.fail_after(20):
        spec = market(venue_server)
        order = alice.order(spec, 0, Side.BUY, "0.40", "5")
        result = await alice.client.post_order(order)
        assert result.success, result.error
        assert (result.order_id, result.status, result.matched) == (order.order_id, "live", 0)
        listed = await alice.client.open_orders()
        assert [o["id"] for o in listed] == [order.order_id]
        assert listed[0]["owner"] == alice.client.api_key
        fetched = await alice.client.get_order(order.order_id)
        assert fetched is not None and fetched["status"] == "LIVE"
        assert await alice.client.cancel_order(order.order_id) is True
        assert await alice.client.cancel_order(order.order_id) is False  # no longer live
        fetched = await alice.client.get_order(order.order_id)
        assert fetched is not None and fetched["status"] == "CANCELED"
        assert await alice.client.get_order("0x" + "ab" * 32) is None
        resolved = await alice.client.resolve_unknown(order.order_id)
        assert resolved.state is VenueOrderState.CANCELED


async def test_a_refused_order_comes_back_with_the_venues_text(
    venue_server: VenueServer, alice: Account
) -> None:
    with trio.fail_after(20):
        spec = market(venue_server)
        small = alice.order(spec, 0, Side.BUY, "0.40", "1")
        result = await alice.client.post_order(small)
        assert not result.success
        assert "lower than the minimum" in result.error
        assert result.order_id == small.order_id
        assert await alice.client.open_orders() == []


async def test_a_batch_of_fifteen_is_judged_leg_by_leg(
    venue_server: VenueServer, alice: Account
) -> None:
    with trio.fail_after(30):
        spec = market(venue_server)
        orders = [alice.order(spec, 0, Side.BUY, f"0.{10 + i}", "5") for i in range(MAX_BATCH)]
        orders[7] = alice.order(spec, 0, Side.BUY, "0.30", "1")  # below the minimum size
        results = await alice.client.post_orders(orders)
        assert [r.order_id for r in results] == [o.order_id for o in orders]
        assert [r.success for r in results] == [i != 7 for i in range(MAX_BATCH)]
        assert "lower than the minimum" in results[7].error
        live = {o["id"] for o in await alice.client.open_orders()}
        assert live == {o.order_id for i, o in enumerate(orders) if i != 7}
        with pytest.raises(ValueError, match="1 to 15"):
            await alice.client.post_orders([*orders, alice.order(spec, 1, Side.BUY, "0.2", "5")])


async def test_cancel_many_all_and_by_market(venue_server: VenueServer, alice: Account) -> None:
    with trio.fail_after(30):
        first = market(venue_server)
        venue_server.venue.list_market(listed_market(2), MarketStatus.OPEN)
        second = venue_server.venue.specs[listed_market(2).condition_id]
        up = [alice.order(first, 0, Side.BUY, f"0.{20 + i}", "5") for i in range(3)]
        down = [alice.order(first, 1, Side.BUY, f"0.{20 + i}", "5") for i in range(3)]
        other = [alice.order(second, 0, Side.BUY, f"0.{20 + i}", "5") for i in range(3)]
        assert all(r.success for r in await alice.client.post_orders(up + down + other))

        reply = await alice.client.cancel_orders([up[0].order_id, "0x" + "cd" * 32])
        assert reply.canceled == (up[0].order_id,)
        assert "0x" + "cd" * 32 in reply.not_canceled

        canceled = await alice.client.cancel_market(asset_id=first.token_ids[0])
        assert set(canceled) == {o.order_id for o in up[1:]}
        canceled = await alice.client.cancel_market(market=first.condition_id)
        assert set(canceled) == {o.order_id for o in down}
        assert {o["id"] for o in await alice.client.open_orders()} == {o.order_id for o in other}
        assert set(await alice.client.cancel_all()) == {o.order_id for o in other}
        assert await alice.client.open_orders() == []
        assert await alice.client.cancel_all() == []


async def test_open_orders_and_trades_follow_every_page(
    venue_server: VenueServer, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trading, "PAGE_SIZE", 7)
    with trio.fail_after(60):
        spec = market(venue_server)
        resting = [alice.order(spec, 0, Side.BUY, "0.50", "5") for _ in range(10)]
        resting += [alice.order(spec, 0, Side.BUY, f"0.{10 + i}", "5") for i in range(10)]
        for start in range(0, len(resting), MAX_BATCH):
            assert all(r.success for r in await alice.client.post_orders(resting[start:][:15]))
        listed = await alice.client.open_orders(market=spec.condition_id)
        assert sorted(o["id"] for o in listed) == sorted(o.order_id for o in resting)
        assert len(await alice.client.open_orders(asset_id=spec.token_ids[1])) == 0

        # Bob's BUY Down at 0.50 meets Alice's BUY Up at 0.50 (a mint): ten trades.
        takers = [bob.order(spec, 1, Side.BUY, "0.50", "5") for _ in range(10)]
        results = [await bob.client.post_order(o) for o in takers]
        assert all(r.success and r.matched == 5 * UNIT for r in results), results
        trades = await bob.client.trades(market=spec.condition_id)
        assert len(trades) == 10
        assert {t["taker_order_id"] for t in trades} == {o.order_id for o in takers}
        assert all(set(t) == TRADE_KEYS for t in trades)
        theirs = await alice.client.trades(market=spec.condition_id)
        assert sorted(t["id"] for t in theirs) == sorted(t["id"] for t in trades)
        assert len(await alice.client.open_orders()) == 10
        filled = await alice.client.resolve_unknown(resting[0].order_id)
        assert filled.state is VenueOrderState.FILLED
        assert filled.size_matched == 5 * UNIT
        assert len(filled.trades) == 1


async def test_balances_in_micro_units(
    venue_server: VenueServer, alice: Account, bob: Account
) -> None:
    with trio.fail_after(30):
        spec = market(venue_server)
        start = await alice.client.balance_allowance()
        assert start == venue_server.config.initial_balance
        assert await alice.client.balance_allowance("CONDITIONAL", spec.token_ids[0]) == 0
        assert (await alice.client.post_order(alice.order(spec, 0, Side.BUY, "0.60", "10"))).success
        taken = await bob.client.post_order(bob.order(spec, 1, Side.BUY, "0.40", "10"))
        assert taken.success and taken.matched == 10 * UNIT
        assert await alice.client.balance_allowance("CONDITIONAL", spec.token_ids[0]) == 10 * UNIT
        assert await alice.client.balance_allowance() == start - 6 * UNIT


async def test_network_gateway_speaks_for_the_order_actors(
    venue_server: VenueServer,
) -> None:
    with trio.fail_after(30):
        account = await open_account(venue_server, "client-gateway", quick_config())
        async with account.client:
            gateway = NetworkGateway(account.client)
            assert gateway.account == account.signer.address
            spec = market(venue_server)
            order = account.order(spec, 0, Side.BUY, "0.40", "5")
            result = await gateway.post_order(order)
            assert result.success and result.order_id == order.order_id
            refused = await gateway.post_order(account.order(spec, 0, Side.BUY, "0.4", "1"))
            assert not refused.success and "minimum" in refused.error
            assert (await gateway.get_book(spec.token_ids[0])).bids[0] == (400_000, 5 * UNIT)
            assert await gateway.collateral_balance() == venue_server.config.initial_balance
            assert await gateway.cancel_order(order.order_id)
            again = account.order(spec, 0, Side.BUY, "0.41", "5")
            assert (await gateway.post_order(again)).success
            assert await gateway.cancel_all() == [again.order_id]
            with pytest.raises(NotFound):
                await account.client.get_book("12345")


async def test_public_calls_need_no_credentials(venue_server: VenueServer) -> None:
    with trio.fail_after(20):
        async with RestClient(venue_server.urls["clob"], None, quick_config()) as client:
            assert (await client.get_book(market(venue_server).token_ids[0])).bids == ()
            with pytest.raises(RuntimeError, match="no API credentials"):
                await client.open_orders()
        assert (await credentials(venue_server, "client-someone")).api_key
