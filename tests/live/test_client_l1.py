"""API credentials are created natively (L1), with the venue's clock, then derived."""

from __future__ import annotations

import trio
from venue_client import start_server

from engine.client.errors import Unauthorized
from engine.client.rest import RestClient
from engine.order_factory import paper_signer

VENUE_START = 1_900_000_000.0
"""A venue clock years away from the real one, as an accelerated paper venue has."""


async def test_credentials_are_created_then_derived_on_the_venues_clock(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(30):
        server = await start_server(nursery, clock_start=VENUE_START)
        signer = paper_signer(5)
        venue_now = server.venue.clock.now_s
        async with RestClient(server.urls["clob"], None, wallclock=venue_now) as public:
            created = await public.create_or_derive_credentials(signer)
            again = await public.create_or_derive_credentials(signer)
        assert created.address == signer.address
        assert again == created  # the second call derives the same key
        async with RestClient(server.urls["clob"], created, wallclock=venue_now) as client:
            assert await client.open_orders() == []


async def test_real_time_stamps_are_refused_by_a_venue_on_another_clock(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(30):
        server = await start_server(nursery, clock_start=VENUE_START)
        async with RestClient(server.urls["clob"], None) as public:
            try:
                await public.create_or_derive_credentials(paper_signer(5))
            except Unauthorized as exc:
                assert exc.status == 401
            else:
                raise AssertionError("a stale L1 timestamp was accepted")
