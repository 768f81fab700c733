"""Fixtures shared by the venue server tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio
from venue_client import Venue, start_server


@pytest.fixture
async def venue(nursery: trio.Nursery) -> AsyncIterator[Venue]:
    """A venue server on a loopback port, stopped with the test's nursery."""
    server = await start_server(nursery)
    async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
        yield Venue(server, http)
