"""MarketActor: owns the native books of one market's two outcome tokens.

Each MarketFrame is one native call: the raw frame is parsed and applied to the books,
which are checked against the venue's own best bid/ask after every price change. A
mismatch, a tick size change (a new, empty book epoch) or a malformed frame means the
books can no longer be trusted: they are rebuilt from snapshots. The actor publishes a
MarketView to the strategies through conflating edges, so a slow strategy always sees
the latest state rather than a backlog, and also on a timer so that strategies react to
time (a window closing) without new data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import trio

from engine._native import FrameError, FrameSummary, MarketBooks, Vpin
from engine.clock import SessionClock
from engine.config import MarketDataConfig
from engine.gateway import VenueGateway
from engine.mailbox import Mailbox, Resync
from engine.messages import (
    MarketFrame,
    MarketInfo,
    MarketPhase,
    MarketSettled,
    MarketView,
    TokenTop,
)
from engine.stats import EngineStats
from engine.units import UNIT

log = logging.getLogger("polyengine.market")


class MarketActor:
    def __init__(
        self,
        info: MarketInfo,
        mailbox: Mailbox[MarketFrame],
        views_out: Sequence[Mailbox[Any]],
        settlements_out: Mailbox[Any],
        gateway: VenueGateway,
        clock: SessionClock,
        stats: EngineStats,
        view_every_s: float = 1.0,
        market_data: MarketDataConfig | None = None,
    ) -> None:
        self.info = info
        self.mailbox = mailbox
        self.views_out = views_out
        self.settlements_out = settlements_out
        self.gateway = gateway
        self.clock = clock
        self.stats = stats
        self.view_every_s = view_every_s
        self.tick = info.tick
        self.books = MarketBooks(info.tick, info.token_ids)
        # VPIN is fed by trades only (last_trade_price), never by book updates.
        md = market_data or MarketDataConfig()
        self.vpin = {
            t: Vpin(md.vpin_bucket_micro, md.vpin_window, classification=md.vpin_classification)
            for t in info.token_ids
        }
        self.resolved_winner: int | None = None
        self.resolved = False
        self.healthy = False
        self._settled: list[MarketSettled] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Snapshot first (readiness means holding a book), then frames and timer views."""
        await self.resync()
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._publish_on_timer)
            while True:
                message = await self.mailbox.receive()
                if isinstance(message, Resync):
                    self.stats.overflow_resyncs += 1
                    await self.resync()
                    continue
                try:
                    summary = self.apply(message.raw)
                except FrameError as exc:
                    # Nothing was applied, but the frame's changes are lost: resync.
                    self.stats.malformed_frames += 1
                    log.warning("%s: malformed frame (%s); resyncing", self.info.slug, exc)
                    await self.resync()
                else:
                    if summary.needs_resync:
                        self.stats.integrity_resyncs += 1
                        log.info("%s: %s; resyncing", self.info.slug, _why(summary))
                        await self.resync()
                while self._settled:
                    await self.settlements_out.send(self._settled.pop(0))
                await self.publish(message.ts_ns)

    async def resync(self) -> None:
        """Replace both books with the venue's snapshots (a snapshot never merges)."""
        self.healthy = False
        for token_id in self.info.token_ids:
            snapshot = await self.gateway.get_book(token_id)
            self.books.apply_snapshot(
                token_id, list(snapshot.bids), list(snapshot.asks), tick=self.tick
            )
        self.healthy = True

    def apply(self, raw: bytes) -> FrameSummary:
        """Apply one raw frame to the books (one native call) and act on what it says.

        Raises FrameError for a malformed frame, which then changed nothing.
        """
        summary = self.books.apply_frame(raw)
        self.stats.market_events += summary.events
        for asset_id, price, size, taker_side in summary.trades:
            toxicity = self.vpin.get(asset_id)
            if toxicity is not None:
                toxicity.on_trade(price, size, taker_side)
        for _, _, new_tick in summary.tick_changes:
            self.tick = new_tick
        if summary.resolved is not None:
            self._resolve(summary.resolved)
        return summary

    def _resolve(self, winning_asset_id: str) -> None:
        if self.resolved:
            return
        self.resolved = True
        if winning_asset_id in self.info.token_ids:
            winner: int | None = self.info.token_ids.index(winning_asset_id)
            payout = (UNIT, 0) if winner == 0 else (0, UNIT)
        else:
            winner, payout = None, (UNIT // 2, UNIT // 2)  # a 50/50 resolution
        self.resolved_winner = winner
        self._settled.append(
            MarketSettled(time.perf_counter_ns(), self.info.condition_id, payout, winner)
        )

    def phase(self) -> MarketPhase:
        now = self.clock.now_s()
        if self.resolved:
            return MarketPhase.RESOLVED
        if now < self.info.start_ts:
            return MarketPhase.PRE_OPEN
        if now < self.info.end_ts:
            return MarketPhase.TRADING
        return MarketPhase.CLOSED

    def view(self, frame_ts_ns: int) -> MarketView:
        yes, no = (self._top(t) for t in self.info.token_ids)
        return MarketView(
            ts_ns=time.perf_counter_ns(),
            frame_ts_ns=frame_ts_ns,
            market=self.info,
            now_s=self.clock.now_s(),
            phase=self.phase(),
            healthy=self.healthy,
            yes=yes,
            no=no,
            vpin=(self.vpin[self.info.token_ids[0]].value, self.vpin[self.info.token_ids[1]].value),
        )

    def _top(self, token_id: str) -> TokenTop:
        return TokenTop(token_id, *self.books.top(token_id))

    async def publish(self, frame_ts_ns: int) -> None:
        view = self.view(frame_ts_ns)
        for out in self.views_out:
            out.send_nowait(view)

    async def _publish_on_timer(self) -> None:
        """Views driven by time alone carry frame_ts_ns 0: no frame to measure from."""
        while True:
            await trio.sleep(self.view_every_s)
            await self.publish(0)


def _why(summary: FrameSummary) -> str:
    """Why a frame asks for a resync, for the log."""
    if summary.mismatches:
        token, mine, theirs = summary.mismatches[0]
        return f"book best {mine} but venue says {theirs} for {token[:12]}"
    return f"tick size changed {summary.tick_changes}: new book epoch"
