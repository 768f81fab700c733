"""FeedActor: the venue's market channel in, one MarketFrame per market out.

It parses each frame once, groups its events by market and hands them to that market's
actor through a drop-and-resync mailbox: a slow market actor loses its backlog and
rebuilds from a snapshot instead of blocking the feed for every other market. A
malformed frame is counted and skipped; the feed survives it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import trio

from engine.gateway import VenueGateway
from engine.mailbox import Mailbox
from engine.messages import MarketFrame
from engine.stats import EngineStats

log = logging.getLogger("polyengine.feed")


def split_by_market(payload: object) -> dict[str, list[Mapping[str, Any]]]:
    """Group a decoded frame (one event or an array of them) by its `market` field.

    Raises ValueError when the frame is not an event object or a list of them.
    """
    events = payload if isinstance(payload, list) else [payload]
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("market"), str):
            raise ValueError("market frame without an event object carrying 'market'")
        grouped.setdefault(event["market"], []).append(event)
    return grouped


class FeedActor:
    def __init__(
        self,
        gateway: VenueGateway,
        asset_ids: Sequence[str],
        routes: Mapping[str, Mailbox[MarketFrame]],
        stats: EngineStats,
    ) -> None:
        self.gateway = gateway
        self.asset_ids = list(asset_ids)
        self.routes = routes
        self.stats = stats

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self.gateway.market_stream(self.asset_ids) as stream:
            task_status.started()
            async for raw in stream:
                self.on_frame(raw, time.perf_counter_ns())

    def on_frame(self, raw: bytes, received_ns: int) -> None:
        self.stats.frames += 1
        if raw in (b"PONG", b"NO NEW ASSETS"):
            return
        try:
            grouped = split_by_market(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValueError) as exc:
            self.stats.malformed_frames += 1
            log.warning("skipped a malformed market frame: %s", exc)
            return
        for condition_id, events in grouped.items():
            mailbox = self.routes.get(condition_id)
            if mailbox is not None:
                self.stats.market_events += len(events)
                mailbox.send_nowait(MarketFrame(received_ns, condition_id, tuple(events)))
