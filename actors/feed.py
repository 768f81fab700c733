"""FeedActor: the venue's market channel in, each frame to the markets it concerns.

Frames are not decoded in Python: one native scan (`frame_markets`) names the markets
a frame carries events for, and the raw bytes go to each of those markets' actors
through a drop-and-resync mailbox, so a slow market actor loses its backlog and rebuilds
from a snapshot instead of blocking the feed for every other market. A malformed frame
is counted and skipped; the feed survives it. Text frames (PONG) concern no market.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import trio

from engine._native import FrameError, frame_markets
from engine.gateway import StreamingGateway
from engine.mailbox import Mailbox
from engine.messages import MarketFrame
from engine.stats import EngineStats

log = logging.getLogger("polyengine.feed")


class FeedActor:
    def __init__(
        self,
        gateway: StreamingGateway,
        asset_ids: Sequence[str],
        routes: Mapping[str, Mailbox[Any]],
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
        route_frame(raw, received_ns, self.routes, self.stats)


def route_frame(
    raw: bytes,
    received_ns: int,
    routes: Mapping[str, Mailbox[Any]],
    stats: EngineStats,
) -> list[str] | None:
    """Send one raw frame to the mailbox of every market it carries events for.

    Returns the markets the frame named ([] for text frames such as PONG), or None for
    a malformed frame, which is counted and skipped. Shared by the in-process FeedActor
    and the network MarketFeedActor, so both route byte for byte alike.
    """
    stats.frames += 1
    try:
        markets = frame_markets(raw)
    except FrameError as exc:
        stats.malformed_frames += 1
        log.warning("skipped a malformed market frame: %s", exc)
        return None
    if not markets:
        return markets
    frame = MarketFrame(received_ns, raw)
    for condition_id in markets:
        mailbox = routes.get(condition_id)
        if mailbox is not None:
            mailbox.send_nowait(frame)
    return markets
