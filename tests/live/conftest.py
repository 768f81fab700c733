"""Fixtures for the live-facing actors: a venue server on loopback, and accounts on it.

The venue server's test helpers live in tests/venue; they are shared from there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "venue"))

from venue_client import start_server

from engine.venue.server.app import VenueServer


@pytest.fixture
async def venue_server(nursery: trio.Nursery) -> VenueServer:
    """A quiet venue server (no traders, no rate limits, one open test market) on a
    loopback port, stopped with the test's nursery. Tests needing faults or limits call
    `start_server(nursery, faults=..., limiter=...)` themselves."""
    return await start_server(nursery)
