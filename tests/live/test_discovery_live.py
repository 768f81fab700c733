"""DiscoveryActor against the venue server's Gamma and market channel, over loopback.

The venue and discovery share one session clock. Tests that wait for real window
boundaries run on MockClock(rate=RATE): time runs RATE times faster than the wall clock,
so a 5-minute window passes in seconds while sockets still work (no jumping while a
socket waits). Margins are in simulated seconds and generous against a loaded machine.
"""

from __future__ import annotations

import math
import time
from typing import Any

import orjson
import pytest
import trio
import trio.testing
from trio_websocket import open_websocket_url
from venue_client import start_server

from actors.discovery import DiscoveryActor
from engine.config import DiscoveryConfig
from engine.discovery import DiscoveryEvent, market_channel_notices
from engine.mailbox import Mailbox, Overflow, Resync
from engine.messages import (
    LifecyclePhase,
    MarketDiscovered,
    MarketInfo,
    MarketInfoUpdated,
    MarketPhaseChanged,
    MarketRetired,
)
from engine.venue.matching import MarketSpec
from engine.venue.server.app import VenueServer

RATE = 50.0


@pytest.fixture
def fast_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(rate=RATE)


def expected_info(spec: MarketSpec) -> MarketInfo:
    return MarketInfo(
        condition_id=spec.condition_id,
        slug=spec.slug,
        token_ids=spec.token_ids,
        outcomes=spec.outcomes,
        tick=spec.tick,
        min_size=spec.min_size,
        fees=spec.fees,
        start_ts=spec.start_ts,
        end_ts=spec.end_ts,
        neg_risk=spec.neg_risk,
    )


async def scenario_server(nursery: trio.Nursery, **overrides: Any) -> VenueServer:
    """Three 15-minute windows (and their 5-minute ones) from the current quarter hour."""
    start = int(time.time()) // 900 * 900
    settings: dict[str, Any] = {"start_ts": start, "windows": 3, "series": ("15m", "5m")}
    settings.update(overrides)
    return await start_server(nursery, **settings)


class Recorder:
    """Receives discovery's output, stamping each event with the session time it arrived."""

    def __init__(self, server: VenueServer, out: Mailbox[DiscoveryEvent]) -> None:
        self.server = server
        self.out = out
        self.seen: list[tuple[float, DiscoveryEvent]] = []

    async def expect(self, wanted: type[Any], **fields: Any) -> tuple[float, Any]:
        """The next event of this type whose fields match (others are recorded)."""
        while True:
            event = await self.out.receive()
            now = self.server.venue.clock.now_s()
            assert not isinstance(event, Resync)  # a BLOCK mailbox never drops
            self.seen.append((now, event))
            if isinstance(event, wanted) and all(_field(event, k) == v for k, v in fields.items()):
                return now, event


def _field(event: Any, name: str) -> Any:
    if name == "condition_id" and isinstance(event, MarketDiscovered):
        return event.info.condition_id
    return getattr(event, name)


def actor_for(
    server: VenueServer, config: DiscoveryConfig, **kwargs: Any
) -> tuple[DiscoveryActor, Mailbox[DiscoveryEvent]]:
    out: Mailbox[DiscoveryEvent] = Mailbox("discovery", 64, Overflow.BLOCK)
    actor = DiscoveryActor(config, server.urls["gamma"], server.venue.clock, out, **kwargs)
    return actor, out


async def test_discovery_announces_the_next_window_before_it_opens_and_retires_it_once_resolved(
    nursery: trio.Nursery, fast_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(3_000):  # simulated seconds: about a minute of wall time
        server = await scenario_server(nursery)
        clock = server.venue.clock
        config = DiscoveryConfig(
            series=("15m", "5m"), lead_s=60, closing_s=30, poll_s=5, retire_delay_s=5
        )
        actor, out = actor_for(server, config)
        await nursery.start(actor.run)
        recorder = Recorder(server, out)

        # The windows open now are announced at once, as the venue lists them.
        now = clock.now_s()
        open_now = {
            spec.condition_id: spec
            for spec in server.venue.scenario.markets
            if spec.start_ts - config.lead_s <= now < spec.end_ts
        }
        assert {s.slug.split("-")[2] for s in open_now.values()} == {"15m", "5m"}
        announced: dict[str, MarketInfo] = {}
        while set(announced) < set(open_now):
            _, event = await recorder.expect(MarketDiscovered)
            announced[event.info.condition_id] = event.info
        for cid, info in announced.items():
            assert info == expected_info(server.venue.specs[cid])

        # The next 5-minute window: announced within its lead time, before it opens.
        start = math.floor(clock.now_s()) // 300 * 300 + 300
        nxt = next(s for s in server.venue.scenario.markets if s.slug == f"btc-updown-5m-{start}")
        if nxt.condition_id not in announced:
            at, event = await recorder.expect(MarketDiscovered, condition_id=nxt.condition_id)
            assert nxt.start_ts - config.lead_s <= at < nxt.start_ts
            assert event.phase is LifecyclePhase.PRE_OPEN
            assert event.info == expected_info(nxt)

        # Its phases follow the clock, then the venue's resolution, then retirement.
        cid = nxt.condition_id
        at, _ = await recorder.expect(
            MarketPhaseChanged, condition_id=cid, phase=LifecyclePhase.TRADING
        )
        assert at >= nxt.start_ts
        at, _ = await recorder.expect(
            MarketPhaseChanged, condition_id=cid, phase=LifecyclePhase.CLOSING
        )
        assert nxt.end_ts - config.closing_s <= at < nxt.end_ts
        at, resolved = await recorder.expect(
            MarketPhaseChanged, condition_id=cid, phase=LifecyclePhase.RESOLVED
        )
        assert at >= nxt.end_ts
        assert resolved.winner == server.venue.engine.market_winner(cid)
        assert resolved.winner in (0, 1)
        at_retired, retired = await recorder.expect(MarketRetired, condition_id=cid)
        assert retired.resolved and retired.token_ids == nxt.token_ids
        assert at_retired >= at + config.retire_delay_s - 1

        # Every event of that market came in lifecycle order, each phase once.
        phases = [
            e.phase
            for _, e in recorder.seen
            if isinstance(e, MarketPhaseChanged) and e.condition_id == cid
        ]
        # CLOSED shows unless the resolution is already known at the end.
        closed = [p for p in phases if p is LifecyclePhase.CLOSED]
        assert [p for p in phases if p is not LifecyclePhase.CLOSED] == [
            LifecyclePhase.TRADING,
            LifecyclePhase.CLOSING,
            LifecyclePhase.RESOLVED,
        ]
        assert closed in ([], [LifecyclePhase.CLOSED])
        if closed:
            assert phases.index(LifecyclePhase.CLOSED) == 2
        assert actor.metadata(cid) is None  # retired markets leave the cache
        assert actor.stats.gamma_errors == 0 and actor.stats.malformed == 0


async def test_a_fifty_fifty_resolution_on_the_venue_resolves_without_a_winner(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(30):
        server = await scenario_server(nursery, series=("5m",))
        config = DiscoveryConfig(
            series=("5m",), lead_s=0, poll_s=0.1, refresh_s=0.2, retire_delay_s=0.0
        )
        actor, out = actor_for(server, config)
        await nursery.start(actor.run)
        recorder = Recorder(server, out)
        _, found = await recorder.expect(MarketDiscovered)
        cid = found.info.condition_id
        # The venue settles the open window 50/50 (as after a disputed resolution).
        engine = server.venue.engine
        engine.resolve_market(cid, None, now_ms=server.venue.clock.now_ms())
        server.venue.flush()
        _, resolved = await recorder.expect(
            MarketPhaseChanged, condition_id=cid, phase=LifecyclePhase.RESOLVED
        )
        assert resolved.winner is None
        _, retired = await recorder.expect(MarketRetired, condition_id=cid)
        assert retired.resolved


async def test_a_tick_size_change_on_the_market_channel_updates_the_cache_at_once(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(30):
        server = await scenario_server(nursery, series=("15m",))
        # Gamma is not asked again for a long time: only the channel can tell.
        config = DiscoveryConfig(series=("15m",), lead_s=0, poll_s=0.2, refresh_s=600)
        notices: Mailbox[Any] = Mailbox("notices", 16, Overflow.BLOCK)
        actor, out = actor_for(server, config, notices=notices)
        await nursery.start(actor.run)
        recorder = Recorder(server, out)
        _, found = await recorder.expect(MarketDiscovered)
        info = found.info
        assert actor.metadata(info.token_ids[0]).tick == 10_000  # type: ignore[union-attr]

        async with open_websocket_url(server.urls["ws-market"]) as ws:
            subscribe = {"assets_ids": list(info.token_ids), "type": "market"}
            await ws.send_message(orjson.dumps(subscribe).decode())
            await ws.get_message()  # the snapshot: subscribed
            # The venue moves the market to the finer tick, as its tick-size-change fault does.
            server.venue.engine.set_tick(info.condition_id, 1_000)
            server.venue.flush()
            while True:
                raw = await ws.get_message()
                frame = raw.encode() if isinstance(raw, str) else raw
                found_notices = market_channel_notices(frame, time.perf_counter_ns())
                for notice in found_notices:
                    await notices.send(notice)
                if found_notices:
                    break

        _, updated = await recorder.expect(MarketInfoUpdated)
        assert updated.info.condition_id == info.condition_id
        assert updated.info.tick == 1_000
        meta = actor.metadata(info.condition_id)
        assert meta is not None and meta.tick == 1_000
        assert actor.stats.notices >= 1
